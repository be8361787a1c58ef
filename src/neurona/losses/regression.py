"""Regression losses: squared, absolute, percentage and logarithmic errors, Huber, log-cosh and cosine
similarity, each as a per-sample function (`mean_squared_error`) and as a Loss class (`MeanSquaredError`).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import ops
from ..ops.losses import MeanSquaredErrorMean  # noqa: F401  (moved to ops/losses.py)
from ..tensor import Tensor
from .base import EPSILON, LossFunctionWrapper, _const, _prepare


# ----------------------------------------------------------------------------- per-sample functions
def mean_squared_error(y_true: Any, y_pred: Any) -> Tensor:
    """mean((y_true - y_pred)²) over the last axis."""
    t, p = _prepare(y_true, y_pred, "mean_squared_error")
    return ops.mean(ops.square(p - t), axis=-1)


def mean_absolute_error(y_true: Any, y_pred: Any) -> Tensor:
    """mean(|y_true - y_pred|) over the last axis."""
    t, p = _prepare(y_true, y_pred, "mean_absolute_error")
    return ops.mean(ops.abs(p - t), axis=-1)


def mean_absolute_percentage_error(y_true: Any, y_pred: Any) -> Tensor:
    """100 * mean(|y_true - y_pred| / max(|y_true|, 1e-7)) over the last axis."""
    t, p = _prepare(y_true, y_pred, "mean_absolute_percentage_error")
    inv = 100.0 / np.maximum(np.abs(t), EPSILON)
    return ops.mean(ops.abs(p - t) * inv, axis=-1)


def mean_squared_logarithmic_error(y_true: Any, y_pred: Any) -> Tensor:
    """mean((log(1 + max(y_pred, eps)) - log(1 + max(y_true, eps)))²) over the last axis."""
    t, p = _prepare(y_true, y_pred, "mean_squared_logarithmic_error")
    log_t = np.log(np.maximum(t, EPSILON) + 1.0)
    return ops.mean(ops.square(ops.log(ops.clip(p, EPSILON, None) + 1.0) - log_t), axis=-1)


def huber(y_true: Any, y_pred: Any, delta: float = 1.0) -> Tensor:
    """Squared error below `delta`, linear above: mean over the last axis (robust regression)."""
    t, p = _prepare(y_true, y_pred, "huber")
    err = p - t
    small = np.abs(err.data) <= delta
    linear = ops.abs(err) * _const(delta, p) - _const(0.5 * delta * delta, p)
    return ops.mean(ops.where(small, ops.square(err) * 0.5, linear), axis=-1)


def log_cosh(y_true: Any, y_pred: Any) -> Tensor:
    """mean(log(cosh(y_pred - y_true))) over the last axis, as x + softplus(-2x) - log 2 (no overflow)."""
    t, p = _prepare(y_true, y_pred, "log_cosh")
    x = p - t
    return ops.mean(x + ops.softplus(x * -2.0) - _const(math.log(2.0), p), axis=-1)


def cosine_similarity(y_true: Any, y_pred: Any, axis: int = -1) -> Tensor:
    """-sum(normalize(y_true) * normalize(y_pred)) along `axis`: -1 when the vectors point the same way."""
    t, p = _prepare(y_true, y_pred, "cosine_similarity")
    t = t / np.maximum(np.sqrt((t * t).sum(axis=axis, keepdims=True)), EPSILON)
    norm = ops.sqrt(ops.clip(ops.sum(ops.square(p), axis=axis, keepdims=True), EPSILON * EPSILON, None))
    return -ops.sum(p / norm * t, axis=axis)


# ----------------------------------------------------------------------------- Loss classes
class MeanSquaredError(LossFunctionWrapper):
    def __init__(self, reduction: str | None = "sum_over_batch_size", name: str = "mean_squared_error",
                 dtype: Any = None) -> None:
        super().__init__(mean_squared_error, reduction=reduction, name=name, dtype=dtype)

    def _mean(self, y_true, y_pred):
        t, p = _prepare(y_true, y_pred, self.name)
        return MeanSquaredErrorMean()(p, t)


class MeanAbsoluteError(LossFunctionWrapper):
    def __init__(self, reduction: str | None = "sum_over_batch_size", name: str = "mean_absolute_error",
                 dtype: Any = None) -> None:
        super().__init__(mean_absolute_error, reduction=reduction, name=name, dtype=dtype)


class MeanAbsolutePercentageError(LossFunctionWrapper):
    def __init__(self, reduction: str | None = "sum_over_batch_size",
                 name: str = "mean_absolute_percentage_error", dtype: Any = None) -> None:
        super().__init__(mean_absolute_percentage_error, reduction=reduction, name=name, dtype=dtype)


class MeanSquaredLogarithmicError(LossFunctionWrapper):
    def __init__(self, reduction: str | None = "sum_over_batch_size",
                 name: str = "mean_squared_logarithmic_error", dtype: Any = None) -> None:
        super().__init__(mean_squared_logarithmic_error, reduction=reduction, name=name, dtype=dtype)


class Huber(LossFunctionWrapper):
    def __init__(self, delta: float = 1.0, reduction: str | None = "sum_over_batch_size", name: str = "huber_loss",
                 dtype: Any = None) -> None:
        super().__init__(huber, reduction=reduction, name=name, dtype=dtype, delta=float(delta))


class LogCosh(LossFunctionWrapper):
    def __init__(self, reduction: str | None = "sum_over_batch_size", name: str = "log_cosh",
                 dtype: Any = None) -> None:
        super().__init__(log_cosh, reduction=reduction, name=name, dtype=dtype)


class CosineSimilarity(LossFunctionWrapper):
    def __init__(self, axis: int = -1, reduction: str | None = "sum_over_batch_size",
                 name: str = "cosine_similarity", dtype: Any = None) -> None:
        super().__init__(cosine_similarity, reduction=reduction, name=name, dtype=dtype, axis=axis)
