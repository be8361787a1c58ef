"""Loss functions with Keras's names, formulas and reductions.

A `Loss` object is called as `loss(y_true, y_pred, sample_weight=None)` and returns a scalar Tensor:
the per-sample losses (`call`) weighted and reduced ("sum_over_batch_size" = the mean over the
batch, "sum", or "none"). The lowercase functions (`mean_squared_error`, `mse`, ...) return the
per-sample values, as in Keras. Probabilities are clipped to [1e-7, 1 - 1e-7] before the log, as
Keras does; with `from_logits=True` the engine's fused cross-entropy ops are used instead.

>>> import numpy as np, neurona as nr
>>> from neurona import losses
>>> round(losses.get("mse")(np.array([[1.0], [3.0]]), nr.tensor([[2.0], [3.0]])).item(), 6)
0.5
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from . import ops
from .ops.activation import _sigmoid
from .tensor import Function, Tensor, as_tensor

EPSILON = 1e-7  # Keras's backend.epsilon(): the clip applied to probabilities
_REDUCTIONS = ("sum_over_batch_size", "sum", "none", None, "mean", "mean_with_sample_weight")
_MEAN = ("sum_over_batch_size", "mean")


# ----------------------------------------------------------------------------- fused ops
class MeanSquaredErrorMean(Function):
    """mean((p - t)²) over every value; backward 2 (p - t) / n. The regression hot path."""

    def forward(self, p, t):
        self.shape = p.shape
        self.d = d = (p - t).reshape(-1)
        return np.asarray(np.dot(d, d) / max(d.size, 1), dtype=p.dtype)  # a dot product: no temporary d²

    def backward(self, gy):
        return (gy * (2.0 / max(self.d.size, 1))) * self.d.reshape(self.shape), None


class SoftmaxCrossEntropyRows(Function):
    """-sum(t * log softmax(z)) along the last axis, one value per row; backward (p * sum(t) - t)."""

    def forward(self, z, t):
        m = z - z.max(axis=-1, keepdims=True)  # subtract the max so exp cannot overflow
        e = np.exp(m)
        s = e.sum(axis=-1, keepdims=True)
        self.p, self.t = e / s, t
        return -(t * (m - np.log(s))).sum(axis=-1)

    def backward(self, gy):
        return gy[..., None] * (self.p * self.t.sum(axis=-1, keepdims=True) - self.t), None


class SparseSoftmaxCrossEntropyRows(Function):
    """Like SoftmaxCrossEntropyRows with integer labels (already checked to be in range)."""

    def forward(self, z, labels):
        m = z - z.max(axis=-1, keepdims=True)
        e = np.exp(m)
        s = e.sum(axis=-1, keepdims=True)
        self.p, self.labels = e / s, labels
        picked = np.take_along_axis(m, labels[..., None], axis=-1)
        return (np.log(s) - picked)[..., 0]

    def backward(self, gy):
        g = self.p.copy()
        np.put_along_axis(g, self.labels[..., None], np.take_along_axis(g, self.labels[..., None], -1) - 1, -1)
        return g * gy[..., None], None


class SigmoidCrossEntropyElementwise(Function):
    """max(z, 0) - z t + log(1 + e^-|z|) per value (stable for any z); backward sigmoid(z) - t."""

    def forward(self, z, t):
        self.z, self.t = z, t
        return np.maximum(z, 0) - z * t + np.log1p(np.exp(-np.abs(z)))

    def backward(self, gy):
        return gy * (_sigmoid(self.z) - self.t), None


# ----------------------------------------------------------------------------- helpers
def _prepare(y_true: Any, y_pred: Any, name: str) -> tuple[np.ndarray, Tensor]:
    """y_true as an array of y_pred's dtype, both brought to the same rank and shape (Keras's rule)."""
    y_pred = as_tensor(y_pred)
    t = y_true.data if isinstance(y_true, Tensor) else np.asarray(y_true)
    if t.dtype != y_pred.dtype:
        t = t.astype(y_pred.dtype)
    if t.ndim == y_pred.ndim + 1 and t.shape[-1] == 1:
        t = t[..., 0]
    elif y_pred.ndim == t.ndim + 1 and y_pred.shape[-1] == 1:
        if t.ndim == 1:
            t = t[:, None]
        else:
            y_pred = ops.squeeze(y_pred, -1)
    if t.shape != y_pred.shape:
        raise ValueError(f"{name}: y_true of shape {t.shape} does not match y_pred of shape {y_pred.shape}")
    return t, y_pred


def _check_axis(axis: int, name: str) -> None:
    if axis != -1:
        raise ValueError(f"{name}: only axis=-1 (classes on the last axis) is supported, got axis={axis}")


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


def _reduce(values: Tensor, sample_weight: Any, reduction: str | None) -> Tensor:
    """Weight the per-sample values and reduce them as Keras does (sum_over_batch_size divides by their count)."""
    sw = None
    if sample_weight is not None:
        sw = np.asarray(sample_weight.data if isinstance(sample_weight, Tensor) else sample_weight, values.dtype)
        if sw.ndim == values.ndim + 1 and sw.shape[-1] == 1:
            sw = sw[..., 0]
        if sw.ndim > values.ndim or (sw.ndim and values.ndim and sw.shape[0] != values.shape[0]):
            raise ValueError(f"sample_weight of shape {sw.shape} does not fit per-sample losses of shape "
                             f"{values.shape}: give one weight per sample")
        sw = sw.reshape(sw.shape + (1,) * (values.ndim - sw.ndim))
        values = values * sw
    if reduction in (None, "none") or values.ndim == 0:
        return values
    total = ops.sum(values)
    if reduction == "sum":
        return total
    if reduction == "mean_with_sample_weight" and sw is not None:
        divisor = float(np.broadcast_to(sw, values.shape).sum())
    else:
        divisor = values.size
    return total / _const(divisor, total) if divisor else total * 0.0


def _const(value: float, like: Tensor) -> np.ndarray:
    """A constant in `like`'s dtype: a bare Python float would become float32 and cost float64 precision."""
    return np.asarray(value, like.dtype)


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


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


def kl_divergence(y_true: Any, y_pred: Any) -> Tensor:
    """sum(y_true * log(y_true / y_pred)) over the last axis, both clipped to [1e-7, 1]."""
    t, p = _prepare(y_true, y_pred, "kl_divergence")
    t = np.clip(t, EPSILON, 1.0)
    return ops.sum((np.log(t) - ops.log(ops.clip(p, EPSILON, 1.0))) * t, axis=-1)


def poisson(y_true: Any, y_pred: Any) -> Tensor:
    """mean(y_pred - y_true * log(y_pred + 1e-7)) over the last axis (count data)."""
    t, p = _prepare(y_true, y_pred, "poisson")
    return ops.mean(p - ops.log(p + _const(EPSILON, p)) * t, axis=-1)


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


def cosine_similarity(y_true: Any, y_pred: Any, axis: int = -1) -> Tensor:
    """-sum(normalize(y_true) * normalize(y_pred)) along `axis`: -1 when the vectors point the same way."""
    t, p = _prepare(y_true, y_pred, "cosine_similarity")
    t = t / np.maximum(np.sqrt((t * t).sum(axis=axis, keepdims=True)), EPSILON)
    norm = ops.sqrt(ops.clip(ops.sum(ops.square(p), axis=axis, keepdims=True), EPSILON * EPSILON, None))
    return -ops.sum(p / norm * t, axis=axis)


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


mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error
mape = MAPE = mean_absolute_percentage_error
msle = MSLE = mean_squared_logarithmic_error
kld = KLD = kullback_leibler_divergence = kl_divergence
logcosh = log_cosh
bce = binary_crossentropy


# ----------------------------------------------------------------------------- Loss objects
class Loss:
    """Base class: `call(y_true, y_pred)` gives per-sample losses; `__call__` weights and reduces them.

    Subclass it and override `call` for a custom loss, as in Keras.
    """

    from_logits = False

    def __init__(self, name: str | None = None, reduction: str | None = "sum_over_batch_size",
                 dtype: Any = None) -> None:
        if reduction not in _REDUCTIONS:
            raise ValueError(f"unknown reduction {reduction!r}; use one of 'sum_over_batch_size', 'sum', 'none'")
        self.name = name or _snake(type(self).__name__)
        self.reduction = reduction
        self.dtype = dtype

    def __call__(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> Tensor:
        y_pred = as_tensor(y_pred)
        if sample_weight is None and self.reduction in _MEAN:
            return self._mean(y_true, y_pred)
        return _reduce(self.call(y_true, y_pred), sample_weight, self.reduction)

    def _mean(self, y_true: Any, y_pred: Tensor) -> Tensor:
        """The unweighted batch mean; subclasses with a fused op override it (the training hot path)."""
        return _reduce(self.call(y_true, y_pred), None, self.reduction)

    def call(self, y_true: Any, y_pred: Tensor) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} must implement call(y_true, y_pred)")

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "reduction": self.reduction}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Loss:
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class LossFunctionWrapper(Loss):
    """A Loss around a function `fn(y_true, y_pred, **kwargs)` that returns per-sample values."""

    def __init__(self, fn: Callable[..., Tensor], reduction: str | None = "sum_over_batch_size",
                 name: str | None = None, dtype: Any = None, **kwargs: Any) -> None:
        super().__init__(name=name or getattr(fn, "__name__", None), reduction=reduction, dtype=dtype)
        self.fn, self._fn_kwargs = fn, kwargs

    def call(self, y_true: Any, y_pred: Tensor) -> Tensor:
        out = self.fn(y_true, y_pred, **self._fn_kwargs)
        if not isinstance(out, Tensor):
            raise TypeError(f"loss function {self.name!r} returned {type(out).__name__}, not a Tensor: build it "
                            f"from neurona.ops so that it can be differentiated")
        return out

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        if type(self) is LossFunctionWrapper:
            config["fn"] = getattr(self.fn, "__name__", repr(self.fn))
        return {**config, **self._fn_kwargs}


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


class KLDivergence(LossFunctionWrapper):
    def __init__(self, reduction: str | None = "sum_over_batch_size", name: str = "kl_divergence",
                 dtype: Any = None) -> None:
        super().__init__(kl_divergence, reduction=reduction, name=name, dtype=dtype)


class Poisson(LossFunctionWrapper):
    def __init__(self, reduction: str | None = "sum_over_batch_size", name: str = "poisson",
                 dtype: Any = None) -> None:
        super().__init__(poisson, reduction=reduction, name=name, dtype=dtype)


class Hinge(LossFunctionWrapper):
    def __init__(self, reduction: str | None = "sum_over_batch_size", name: str = "hinge",
                 dtype: Any = None) -> None:
        super().__init__(hinge, reduction=reduction, name=name, dtype=dtype)


class SquaredHinge(LossFunctionWrapper):
    def __init__(self, reduction: str | None = "sum_over_batch_size", name: str = "squared_hinge",
                 dtype: Any = None) -> None:
        super().__init__(squared_hinge, reduction=reduction, name=name, dtype=dtype)


class CosineSimilarity(LossFunctionWrapper):
    def __init__(self, axis: int = -1, reduction: str | None = "sum_over_batch_size",
                 name: str = "cosine_similarity", dtype: Any = None) -> None:
        super().__init__(cosine_similarity, reduction=reduction, name=name, dtype=dtype, axis=axis)


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


# ----------------------------------------------------------------------------- lookup
_CLASSES: dict[str, type[Loss]] = {
    cls.__name__: cls
    for cls in (MeanSquaredError, MeanAbsoluteError, MeanAbsolutePercentageError, MeanSquaredLogarithmicError,
                Huber, LogCosh, KLDivergence, Poisson, Hinge, SquaredHinge, CosineSimilarity, BinaryCrossentropy,
                CategoricalCrossentropy, SparseCategoricalCrossentropy)
}
_FUNCTIONS: dict[Callable[..., Tensor], type[Loss]] = {
    mean_squared_error: MeanSquaredError, mean_absolute_error: MeanAbsoluteError,
    mean_absolute_percentage_error: MeanAbsolutePercentageError,
    mean_squared_logarithmic_error: MeanSquaredLogarithmicError, huber: Huber, log_cosh: LogCosh,
    kl_divergence: KLDivergence, poisson: Poisson, hinge: Hinge, squared_hinge: SquaredHinge,
    cosine_similarity: CosineSimilarity, binary_crossentropy: BinaryCrossentropy,
    categorical_crossentropy: CategoricalCrossentropy, sparse_categorical_crossentropy: SparseCategoricalCrossentropy,
}
_NAMES: dict[str, type[Loss]] = {
    **_CLASSES, **{fn.__name__: cls for fn, cls in _FUNCTIONS.items()},
    "mse": MeanSquaredError, "MSE": MeanSquaredError, "mae": MeanAbsoluteError, "MAE": MeanAbsoluteError,
    "mape": MeanAbsolutePercentageError, "MAPE": MeanAbsolutePercentageError, "msle": MeanSquaredLogarithmicError,
    "MSLE": MeanSquaredLogarithmicError, "kld": KLDivergence, "KLD": KLDivergence,
    "kullback_leibler_divergence": KLDivergence, "logcosh": LogCosh, "huber_loss": Huber,
    "bce": BinaryCrossentropy, "BCE": BinaryCrossentropy,
}


def serialize(loss: Loss) -> dict[str, Any]:
    """{"class_name": ..., "config": ...}, the JSON form stored in model configs."""
    return {"class_name": type(loss).__name__, "config": loss.get_config()}


def deserialize(config: dict[str, Any], custom_objects: dict[str, Any] | None = None) -> Loss:
    """Rebuild a loss from `serialize`'s dict; unknown names are refused (configs never run code)."""
    custom_objects = custom_objects or {}
    name, kwargs = config.get("class_name"), dict(config.get("config") or {})
    if name == "LossFunctionWrapper":
        fn_name = kwargs.pop("fn", None)
        fn = custom_objects.get(fn_name) or next((f for f in _FUNCTIONS if f.__name__ == fn_name), None)
        if fn is None:
            raise ValueError(f"unknown loss function {fn_name!r}: pass it in custom_objects")
        return LossFunctionWrapper(fn, **kwargs)
    cls = custom_objects.get(name) or _NAMES.get(name)
    if cls is None:
        raise ValueError(f"unknown loss {name!r}; known: {', '.join(sorted(_CLASSES))}")
    return cls.from_config(kwargs)


def get(identifier: Any) -> Loss | None:
    """A Loss from a name ("mse", "categorical_crossentropy", "Huber"), a config dict, a class, a function
    or an instance; None stays None."""
    if identifier is None or isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, str):
        cls = _NAMES.get(identifier)
        if cls is None:
            known = ", ".join(sorted(n for n in _NAMES if n.islower()))
            raise ValueError(f"unknown loss {identifier!r}; known names: {known}")
        return cls()
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, type) and issubclass(identifier, Loss):
        return identifier()
    if callable(identifier):
        cls = _FUNCTIONS.get(identifier)
        return cls() if cls is not None else LossFunctionWrapper(identifier)
    raise TypeError(f"could not interpret loss {identifier!r} (type {type(identifier).__name__}); pass a name such "
                    f"as 'mse', a Loss object, or a function (y_true, y_pred) -> Tensor")


_FUSABLE = {"softmax": (CategoricalCrossentropy, SparseCategoricalCrossentropy), "sigmoid": (BinaryCrossentropy,)}


def fused(loss: Loss, activation_name: str | None) -> Loss | None:
    """The same loss computed on logits, when the model's last activation can be folded into it.

    softmax + (sparse) categorical cross-entropy and sigmoid + binary cross-entropy on probabilities
    become one stable op whose backward is simply p - y; the value equals the unfused loss (more
    exactly, since probabilities below 1e-7 are not clipped). Returns None when nothing can be fused.
    """
    if type(loss) not in _FUSABLE.get(activation_name, ()) or loss.from_logits:
        return None
    config = loss.get_config()
    config.pop("fn", None)
    return type(loss)(**{**config, "from_logits": True})


__all__ = [
    "EPSILON", "Loss", "LossFunctionWrapper", "bce", "deserialize", "fused", "get", "kld",
    "kullback_leibler_divergence", "logcosh", "mae", "mape", "mse", "msle", "serialize",
    *sorted(_CLASSES), *sorted(f.__name__ for f in _FUNCTIONS),
]
