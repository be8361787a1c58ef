"""Close names for a mistyped one: the "did you mean ...?" of every `get(name)` error message.

One small function shared by the registries (metrics, losses, optimizers, labs, ...) so that each error path
suggests the same way: difflib's close matches, case-insensitive, plus the names that start with what was typed.

>>> suggest("acuracy", ["accuracy", "auc", "mse"])
['accuracy']
>>> did_you_mean("mnist", ["cnn", "mnist-mlp", "sum"])
"did you mean 'mnist-mlp'?"
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def suggest(name: str, choices: Iterable[str], n: int = 3, cutoff: float = 0.7) -> list[str]:
    """Up to `n` of `choices` close to `name` (case-insensitive), best first; [] when none is close."""
    choices = list(dict.fromkeys(str(c) for c in choices))
    by_lower: dict[str, str] = {}
    for choice in choices:  # of 'Accuracy' and 'accuracy', suggest the lower-case spelling
        if choice.lower() not in by_lower or choice == choice.lower():
            by_lower[choice.lower()] = choice
    key = str(name).strip().lower()
    if not key:
        return []
    scored = sorted(((difflib.SequenceMatcher(None, key, c).ratio(), c) for c in by_lower), reverse=True)
    best = scored[0][0] if scored else 0.0
    # the close names only, and only those nearly as close as the best one
    found = [by_lower[c] for ratio, c in scored[:n] if ratio >= max(cutoff, best - 0.1)]
    found += [c for c in choices if c.lower().startswith(key) and c not in found]
    return found[:n]


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """"did you mean 'x'?" (or "'x' or 'y'") for the close choices, else ''."""
    close = suggest(name, choices)
    if not close:
        return ""
    return "did you mean " + " or ".join(repr(c) for c in close) + "?"


__all__ = ["did_you_mean", "suggest"]
