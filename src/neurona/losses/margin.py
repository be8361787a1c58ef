"""Hinge losses for maximum-margin classification (labels -1/1, or 0/1 converted): `hinge` and
`squared_hinge`, as per-sample functions and as Loss classes.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import ops
from ..tensor import Tensor
from .base import LossFunctionWrapper, _prepare


def _hinge_labels(t: np.ndarray) -> np.ndarray:
    """0/1 labels become -1/1, as Keras converts them; -1/1 labels pass unchanged."""
    return 2.0 * t - 1.0 if np.isin(t, (0, 1)).all() else t


def hinge(y_true: Any, y_pred: Any) -> Tensor:
    """mean(max(1 - y_true * y_pred, 0)) over the last axis, labels -1/1 (0/1 converted)."""
    t, p = _prepare(y_true, y_pred, "hinge")
    return ops.mean(ops.relu(1.0 - p * _hinge_labels(t)), axis=-1)


def squared_hinge(y_true: Any, y_pred: Any) -> Tensor:
    """mean(max(1 - y_true * y_pred, 0)²) over the last axis."""
    t, p = _prepare(y_true, y_pred, "squared_hinge")
    return ops.mean(ops.square(ops.relu(1.0 - p * _hinge_labels(t))), axis=-1)


class Hinge(LossFunctionWrapper):
    def __init__(self, reduction: str | None = "sum_over_batch_size", name: str = "hinge",
                 dtype: Any = None) -> None:
        super().__init__(hinge, reduction=reduction, name=name, dtype=dtype)


class SquaredHinge(LossFunctionWrapper):
    def __init__(self, reduction: str | None = "sum_over_batch_size", name: str = "squared_hinge",
                 dtype: Any = None) -> None:
        super().__init__(squared_hinge, reduction=reduction, name=name, dtype=dtype)
