"""What every loss shares: the `Loss` base class and its reductions, `LossFunctionWrapper` (a Loss around a
per-sample function), and the checks that bring y_true and y_pred to the same shape and dtype.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np

from .. import ops, registry
from ..tensor import Tensor, as_tensor

EPSILON = 1e-7  # Keras's backend.epsilon(): the clip applied to probabilities
_REDUCTIONS = ("sum_over_batch_size", "sum", "none", None, "mean", "mean_with_sample_weight")
_MEAN = ("sum_over_batch_size", "mean")


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


def _masked(values: Tensor, mask: Any, sample_weight: Any, reduction: str | None) -> Tensor:
    """Keras's rule for a prediction that carries a mask (padded steps): masked entries weigh 0 and a mean
    divides by the number of unmasked entries, so padding changes nothing."""
    m = np.asarray(mask, bool)
    if m.shape != values.shape:
        if m.size != values.size and m.shape != values.shape[:m.ndim]:
            raise ValueError(f"the mask of shape {m.shape} carried by y_pred does not fit per-entry losses of "
                             f"shape {values.shape}")
        m = np.broadcast_to(m.reshape(m.shape + (1,) * (values.ndim - m.ndim)), values.shape) \
            if m.size != values.size else m.reshape(values.shape)
    w = m.astype(values.dtype)
    if reduction in _MEAN:
        valid = float(w.sum())
        w = w * (w.size / valid if valid else 0.0)
    return _reduce(values * w, sample_weight, reduction)


def _const(value: float, like: Tensor) -> np.ndarray:
    """A constant in `like`'s dtype: a bare Python float would become float32 and cost float64 precision."""
    return np.asarray(value, like.dtype)


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


class Loss(registry.Serializable):
    """Base class: `call(y_true, y_pred)` gives per-sample losses; `__call__` weights and reduces them.

    Subclass it and override `call` for a custom loss, as in Keras.
    """

    registry_kind = "loss"

    from_logits = False

    def __init__(self, name: str | None = None, reduction: str | None = "sum_over_batch_size",
                 dtype: Any = None) -> None:
        if reduction not in _REDUCTIONS:
            raise ValueError(f"unknown reduction {reduction!r}; use one of 'sum_over_batch_size', 'sum', 'none'")
        self.name = name or _snake(type(self).__name__)
        self.reduction = reduction
        self.dtype = dtype

    def __call__(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> Tensor:
        mask = getattr(y_pred, "_keras_mask", None)
        y_pred = as_tensor(y_pred)
        if mask is not None:
            return _masked(self.call(y_true, y_pred), mask, sample_weight, self.reduction)
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
