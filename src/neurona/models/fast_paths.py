"""The per-batch bookkeeping of fit's built-in step, in as few Python operations as the common cases allow.

Each function here does exactly what the general code does (same arithmetic, same state afterwards), only
with fewer layers of Python in between, and falls back to the general code for anything unusual:

- `apply_gradients`: `optimizer.apply(grads, weights)` then `w.grad = None`, for optimizers that keep the base
  class's `apply` (not replaced on the instance either, as data-parallel training does) and use no clipping
  or weight decay (the per-weight `_update` kernel is the optimizer's own);
- `fast_metric_update`: the accuracy metrics' `update_state` without sample weights, as one comparison of two
  arg-maxes and a count (the values `MeanMetricWrapper` + `Mean` would add up).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..metrics.stateful import CategoricalAccuracy, SparseCategoricalAccuracy
from ..optimizers.base import Optimizer


def apply_gradients(opt: Any, weights: list[Any]) -> None:
    """One optimizer step from the weights' `.grad`, which are then cleared (None gradients are skipped)."""
    if type(opt).apply is not Optimizer.apply or "apply" in opt.__dict__ or opt.clipnorm or opt.global_clipnorm \
            or opt.clipvalue or opt.weight_decay:
        opt.apply([w.grad for w in weights], weights)
        for w in weights:
            w.grad = None
        return
    if not opt._variables:
        opt._variables = list(weights)
    lr = opt._current_lr()
    opt._begin_step()
    slots, update = opt._slots, opt._update
    for v in weights:
        g = v.grad
        if g is None:
            continue
        v.grad = None
        entry = slots.get(id(v)) or opt._add_slots(v)
        w = v.data
        if g.shape != w.shape:
            raise ValueError(f"{opt.name}: gradient of shape {g.shape} for variable {v.name or ''} of shape "
                             f"{w.shape}")
        update(w, g, entry[1], lr)
    opt.iterations += 1


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


__all__ = ["apply_gradients", "fast_metric_update"]
