"""The per-batch bookkeeping of fit's built-in step, in as few Python operations as the common cases allow.

Each function here does exactly what the general code does (same arithmetic, same state afterwards), only
with fewer layers of Python in between, and falls back to the general code for anything unusual:

- `fast_metric_update`: the accuracy metrics' `update_state` without sample weights, as one comparison of two
  arg-maxes and a count (the values `MeanMetricWrapper` + `Mean` would add up).
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


__all__ = ["fast_metric_update"]
