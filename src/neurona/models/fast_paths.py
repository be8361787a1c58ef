"""The per-batch bookkeeping of fit's built-in step, in as few Python operations as the common cases allow.

Each function here does exactly what the general code does (same arithmetic, same state afterwards), only
with fewer layers of Python in between, and falls back to the general code for anything unusual:

- `fast_metric_update`: the accuracy metrics' `update_state` without sample weights, as one comparison of two
  arg-maxes and a count (the values `MeanMetricWrapper` + `Mean` would add up).
- `plain_tracker`: fit's whole per-batch bookkeeping (running loss, accuracy) for one output whose metrics are
  all plain accuracies, with the arg-maxes compared once for all of them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..metrics.stateful import CategoricalAccuracy, SparseCategoricalAccuracy


def fast_metric_update(m: Any, y: np.ndarray, p: np.ndarray, sw: Any) -> bool:
    """Update the common accuracy metrics directly; False when the general `update_state` must run."""
    if sw is not None or type(p) is not np.ndarray or p.ndim != 2 or type(y) is not np.ndarray:
        return False
    cls = type(m)
    if cls is CategoricalAccuracy and y.shape == p.shape:
        hits = np.count_nonzero(y.argmax(axis=1) == p.argmax(axis=1))
    elif cls is SparseCategoricalAccuracy and len(y) == len(p) and (y.ndim == 1 or y.ndim == 2 and y.shape[1] == 1):
        hits = np.count_nonzero((y if y.ndim == 1 else y[:, 0]) == p.argmax(axis=1))
    else:
        return False
    m.total += float(hits)
    m.count += p.shape[0]
    return True


def plain_tracker(specs: Any) -> Any:
    """A function `(totals, y, out, loss)` doing `_track_arrays`' work for the common case, or None.

    The case: one output, every metric a `CategoricalAccuracy` seeing the output as it is (argmax of logits =
    argmax of probabilities, `ModelSpec.probabilities`), no sample weights, no masks (the caller checks those).
    The state afterwards is exactly what `_track_arrays` leaves; it returns False (nothing done) for arrays
    it does not take, and the caller runs `_track_arrays`.
    """
    if len(specs) != 1 or not specs[0].metrics or specs[0].metrics_need_probs and specs[0].fused is not None:
        return None
    metrics = [m for m, _, _ in specs[0].metrics]
    if any(type(m) is not CategoricalAccuracy for m in metrics):
        return None

    def track(totals: list, y: np.ndarray, out: np.ndarray, loss: np.ndarray) -> bool:
        if type(out) is not np.ndarray or out.ndim != 2 or type(y) is not np.ndarray or y.shape != out.shape:
            return False
        n = len(y)
        totals[0] += float(loss) * n
        totals[1] += n
        hits = float(np.count_nonzero(y.argmax(axis=1) == out.argmax(axis=1)))
        for m in metrics:
            m.total += hits
            m.count += n
        return True

    return track


__all__ = ["fast_metric_update", "plain_tracker"]
