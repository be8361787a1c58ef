"""`pad_sequences`: lists of token ids of different lengths as one (samples, maxlen) array, as Keras does."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def pad_sequences(sequences: Sequence[Any], maxlen: int | None = None, dtype: str = "int32", padding: str = "pre",
                  truncating: str = "pre", value: float = 0.0) -> np.ndarray:
    """Pad (or cut) every sequence to `maxlen` (default: the longest).

    `padding`/`truncating` "pre" (default, Keras's) works at the start, "post" at the end.
    """
    if padding not in ("pre", "post") or truncating not in ("pre", "post"):
        raise ValueError(f"padding and truncating must be 'pre' or 'post', got {padding!r} and {truncating!r}")
    if not hasattr(sequences, "__len__"):
        raise ValueError("pad_sequences needs a list of sequences (something with a length)")
    rows = []
    for i, s in enumerate(sequences):
        if not hasattr(s, "__len__"):
            raise ValueError(f"pad_sequences: sequence {i} is {type(s).__name__}, not a list of values")
        rows.append(np.asarray(s))
    if maxlen is None:
        maxlen = max((len(r) for r in rows), default=0)
    trailing = next((r.shape[1:] for r in rows if len(r)), ())
    is_str = np.issubdtype(np.dtype(dtype), np.str_) or np.issubdtype(np.dtype(dtype), np.object_)
    if isinstance(value, str) and not is_str:
        raise ValueError(f"pad_sequences: dtype {dtype!r} cannot hold the padding value {value!r}")
    out = np.full((len(rows), maxlen) + tuple(trailing), value, dtype=dtype)
    for i, r in enumerate(rows):
        if not len(r) or maxlen == 0:
            continue
        r = r[-maxlen:] if truncating == "pre" else r[:maxlen]
        if r.shape[1:] != tuple(trailing):
            raise ValueError(f"pad_sequences: sequence {i} has items of shape {r.shape[1:]}, expected {trailing}")
        if padding == "post":
            out[i, :len(r)] = r
        else:
            out[i, -len(r):] = r
    return out
