"""Probabilistic losses: binary, categorical and sparse categorical cross-entropy, Kullback-Leibler
divergence and Poisson, each as a per-sample function and as a Loss class. With `from_logits=True` the
cross-entropies run as one fused, numerically stable op whose backward is p - y.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from .. import ops
from ..ops.crossentropy import (  # noqa: F401  (moved to ops/crossentropy.py; importable here as before)
    SigmoidCrossEntropyElementwise,
    SoftmaxCrossEntropyRows,
    SparseSoftmaxCrossEntropyRows,
)
from ..tensor import Tensor, as_tensor
from .base import EPSILON, LossFunctionWrapper, _check_axis, _const, _prepare


# ----------------------------------------------------------------------------- target checks
def _categorical_targets(y_true: Any, y_pred: Tensor, name: str) -> np.ndarray:
    t = y_true.data if isinstance(y_true, Tensor) else np.asarray(y_true)
    if t.shape != y_pred.shape:
        k = y_pred.shape[-1] if y_pred.ndim else 1
        hint = ""
        if t.shape in (y_pred.shape[:-1], y_pred.shape[:-1] + (1,)):
            hint = (f" These look like class indices: use loss='sparse_categorical_crossentropy' for integer "
                    f"labels, or one-hot encode them with neurona.utils.to_categorical(y, num_classes={k}).")
        raise ValueError(f"{name} expects one-hot targets with the shape of the predictions {y_pred.shape}, "
                         f"got y_true of shape {t.shape}.{hint}")
    if y_pred.shape[-1] == 1:
        warnings.warn(f"{name}: y_pred has a single class (shape {y_pred.shape}), so the loss is always 0; "
                      f"use binary_crossentropy for two classes", stacklevel=3)
    return t if t.dtype == y_pred.dtype else t.astype(y_pred.dtype)


def _sparse_labels(y_true: Any, y_pred: Tensor, name: str) -> np.ndarray:
    """Integer class labels with the shape of y_pred without its class axis, checked to be in range."""
    t = y_true.data if isinstance(y_true, Tensor) else np.asarray(y_true)
    k = y_pred.shape[-1]
    if t.ndim == y_pred.ndim and t.shape[-1] == 1:
        t = t[..., 0]
    if t.shape != y_pred.shape[:-1]:
        hint = (" These look like one-hot rows: use loss='categorical_crossentropy', or pass the class indices "
                "np.argmax(y, axis=-1).") if t.shape == y_pred.shape else ""
        raise ValueError(f"{name} expects integer class labels of shape {y_pred.shape[:-1]} for predictions of "
                         f"shape {y_pred.shape}, got y_true of shape {t.shape}.{hint}")
    labels = t if t.dtype.kind in "iu" else t.astype(np.intp)
    if t.dtype.kind == "f" and not np.array_equal(labels, t):
        bad = t.reshape(-1)[np.flatnonzero(labels.reshape(-1) != t.reshape(-1))[0]]
        raise ValueError(f"{name} expects integer class labels, got the value {bad}")
    if labels.size and (labels.min() < 0 or labels.max() >= k):
        bad = labels[(labels < 0) | (labels >= k)].reshape(-1)[0]
        raise ValueError(f"{name}: label {bad} is out of range for {k} classes (valid labels are 0..{k - 1}); "
                         f"does the last layer have one unit per class?")
    return labels


# ----------------------------------------------------------------------------- per-sample functions
def binary_crossentropy(y_true: Any, y_pred: Any, from_logits: bool = False, label_smoothing: float = 0.0,
                        axis: int = -1) -> Tensor:
    """-(t log p + (1 - t) log(1 - p)) averaged over the last axis; p clipped to [1e-7, 1 - 1e-7]."""
    _check_axis(axis, "binary_crossentropy")
    t, p = _prepare(y_true, y_pred, "binary_crossentropy")
    if label_smoothing:
        t = t * (1.0 - label_smoothing) + 0.5 * label_smoothing
    if from_logits:
        return ops.mean(SigmoidCrossEntropyElementwise()(p, t), axis=-1)
    pc = ops.clip(p, EPSILON, 1.0 - EPSILON)
    return -ops.mean(ops.log(pc) * t + ops.log(1.0 - pc) * (1.0 - t), axis=-1)


def categorical_crossentropy(y_true: Any, y_pred: Any, from_logits: bool = False, label_smoothing: float = 0.0,
                             axis: int = -1) -> Tensor:
    """-sum(t * log p) over the classes (last axis) for one-hot t; p renormalised and clipped as in Keras."""
    _check_axis(axis, "categorical_crossentropy")
    y_pred = as_tensor(y_pred)
    t = _categorical_targets(y_true, y_pred, "categorical_crossentropy")
    if label_smoothing:
        t = t * (1.0 - label_smoothing) + label_smoothing / t.shape[-1]
    if from_logits:
        return SoftmaxCrossEntropyRows()(y_pred, t)
    return _probability_crossentropy(t, y_pred)


def _probability_crossentropy(t: np.ndarray, p: Tensor) -> Tensor:
    p = p / ops.sum(p, axis=-1, keepdims=True)
    return -ops.sum(ops.log(ops.clip(p, EPSILON, 1.0 - EPSILON)) * t, axis=-1)


def sparse_categorical_crossentropy(y_true: Any, y_pred: Any, from_logits: bool = False,
                                    ignore_class: int | None = None, axis: int = -1) -> Tensor:
    """Categorical cross-entropy with integer class labels instead of one-hot rows."""
    _check_axis(axis, "sparse_categorical_crossentropy")
    if ignore_class is not None:
        raise ValueError("sparse_categorical_crossentropy: ignore_class is not supported")
    y_pred = as_tensor(y_pred)
    labels = _sparse_labels(y_true, y_pred, "sparse_categorical_crossentropy")
    if from_logits:
        return SparseSoftmaxCrossEntropyRows()(y_pred, labels)
    onehot = np.zeros(y_pred.shape, y_pred.dtype)
    np.put_along_axis(onehot, labels[..., None], 1.0, axis=-1)
    return _probability_crossentropy(onehot, y_pred)


def kl_divergence(y_true: Any, y_pred: Any) -> Tensor:
    """sum(y_true * log(y_true / y_pred)) over the last axis, both clipped to [1e-7, 1]."""
    t, p = _prepare(y_true, y_pred, "kl_divergence")
    t = np.clip(t, EPSILON, 1.0)
    return ops.sum((np.log(t) - ops.log(ops.clip(p, EPSILON, 1.0))) * t, axis=-1)


def poisson(y_true: Any, y_pred: Any) -> Tensor:
    """mean(y_pred - y_true * log(y_pred + 1e-7)) over the last axis (count data)."""
    t, p = _prepare(y_true, y_pred, "poisson")
    return ops.mean(p - ops.log(p + _const(EPSILON, p)) * t, axis=-1)


# ----------------------------------------------------------------------------- Loss classes
class BinaryCrossentropy(LossFunctionWrapper):
    """Cross-entropy of 0/1 targets; `from_logits=True` when the model outputs scores, not sigmoid probabilities."""

    def __init__(self, from_logits: bool = False, label_smoothing: float = 0.0, axis: int = -1,
                 reduction: str | None = "sum_over_batch_size", name: str = "binary_crossentropy",
                 dtype: Any = None) -> None:
        super().__init__(binary_crossentropy, reduction=reduction, name=name, dtype=dtype, from_logits=from_logits,
                         label_smoothing=float(label_smoothing), axis=axis)
        self.from_logits, self.label_smoothing, self.axis = from_logits, float(label_smoothing), axis

    def _mean(self, y_true, y_pred):
        if not self.from_logits:
            return super()._mean(y_true, y_pred)
        t, p = _prepare(y_true, y_pred, self.name)
        if self.label_smoothing:
            t = t * (1.0 - self.label_smoothing) + 0.5 * self.label_smoothing
        return ops.sigmoid_cross_entropy(p, t)


class CategoricalCrossentropy(LossFunctionWrapper):
    """Cross-entropy of one-hot targets; `from_logits=True` when the model outputs scores, not softmax."""

    def __init__(self, from_logits: bool = False, label_smoothing: float = 0.0, axis: int = -1,
                 reduction: str | None = "sum_over_batch_size", name: str = "categorical_crossentropy",
                 dtype: Any = None) -> None:
        super().__init__(categorical_crossentropy, reduction=reduction, name=name, dtype=dtype,
                         from_logits=from_logits, label_smoothing=float(label_smoothing), axis=axis)
        self.from_logits, self.label_smoothing, self.axis = from_logits, float(label_smoothing), axis

    def _mean(self, y_true, y_pred):
        if not self.from_logits:
            return super()._mean(y_true, y_pred)
        t = _categorical_targets(y_true, y_pred, self.name)
        if self.label_smoothing:
            t = t * (1.0 - self.label_smoothing) + self.label_smoothing / t.shape[-1]
        return ops.softmax_cross_entropy(y_pred, t)


class SparseCategoricalCrossentropy(LossFunctionWrapper):
    """Cross-entropy of integer class labels; `from_logits=True` when the model outputs scores, not softmax."""

    def __init__(self, from_logits: bool = False, ignore_class: int | None = None,
                 reduction: str | None = "sum_over_batch_size", axis: int = -1,
                 name: str = "sparse_categorical_crossentropy", dtype: Any = None) -> None:
        if ignore_class is not None:
            raise ValueError("SparseCategoricalCrossentropy: ignore_class is not supported")
        super().__init__(sparse_categorical_crossentropy, reduction=reduction, name=name, dtype=dtype,
                         from_logits=from_logits, axis=axis)
        self.from_logits, self.axis = from_logits, axis

    def _mean(self, y_true, y_pred):
        if not self.from_logits:
            return super()._mean(y_true, y_pred)
        return ops.sparse_softmax_cross_entropy(y_pred, _sparse_labels(y_true, y_pred, self.name))


class KLDivergence(LossFunctionWrapper):
    def __init__(self, reduction: str | None = "sum_over_batch_size", name: str = "kl_divergence",
                 dtype: Any = None) -> None:
        super().__init__(kl_divergence, reduction=reduction, name=name, dtype=dtype)


class Poisson(LossFunctionWrapper):
    def __init__(self, reduction: str | None = "sum_over_batch_size", name: str = "poisson",
                 dtype: Any = None) -> None:
        super().__init__(poisson, reduction=reduction, name=name, dtype=dtype)
