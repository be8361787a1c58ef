"""Activation functions as layers, with Keras's names and options: ReLU (capped, leaky, thresholded),
Softmax over any axis, LeakyReLU, ELU, and PReLU, whose negative slopes are learned weights.

`Activation("relu")` covers the plain functions; these layers carry parameters of their own (MobileNet's
`ReLU(6.0)`, a GAN's `LeakyReLU(0.2)`), so a Keras model written with them reads the same here.

>>> import numpy as np
>>> ReLU(max_value=10, negative_slope=0.5)(np.array([-10, -5, 0.0, 5, 10])).tolist()
[-5.0, -2.5, 0.0, 5.0, 10.0]
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import activations, ops
from ..ops.activation import prelu
from ..tensor import Tensor
from .base import InputSpec, Layer, serialize_object


def _non_negative(layer: Layer, what: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) or not value >= 0:
        raise ValueError(f"{type(layer).__name__} '{layer.name}': {what} must be a number >= 0, got {value!r}")
    return float(value)


class ReLU(Layer):
    """Keras's ReLU: `min(x, max_value)` above `threshold`, `negative_slope * (x - threshold)` below it.

    The defaults give max(x, 0); `ReLU(6.0)` is the capped ReLU of MobileNet.
    """

    supports_masking = True

    def __init__(self, max_value: float | None = None, negative_slope: float = 0.0, threshold: float = 0.0,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.max_value = None if max_value is None else _non_negative(self, "max_value", max_value)
        self.negative_slope = _non_negative(self, "negative_slope", negative_slope)
        self.threshold = _non_negative(self, "threshold", threshold)

    def call(self, inputs):
        if self.negative_slope == 0.0 and self.threshold == 0.0:
            y = ops.relu(inputs)
            return y if self.max_value is None else ops.clip(y, None, self.max_value)
        return activations.relu(inputs, negative_slope=self.negative_slope, max_value=self.max_value,
                                threshold=self.threshold)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "max_value": self.max_value, "negative_slope": self.negative_slope,
                "threshold": self.threshold}


class LeakyReLU(Layer):
    """x if x > 0 else `negative_slope * x` (Keras 3's default slope 0.3; `alpha=` is Keras 2's name)."""

    supports_masking = True

    def __init__(self, negative_slope: float = 0.3, **kwargs: Any) -> None:
        if "alpha" in kwargs:
            negative_slope = kwargs.pop("alpha")
            warnings.warn("LeakyReLU: the argument `alpha` is deprecated, use `negative_slope` instead",
                          DeprecationWarning, stacklevel=2)
        super().__init__(**kwargs)
        self.negative_slope = _non_negative(self, "negative_slope", negative_slope)

    def call(self, inputs):
        return ops.leaky_relu(inputs, self.negative_slope)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "negative_slope": self.negative_slope}


class ELU(Layer):
    """x if x > 0 else `alpha * (exp(x) - 1)`."""

    supports_masking = True

    def __init__(self, alpha: float = 1.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if isinstance(alpha, bool) or not isinstance(alpha, (int, float, np.integer, np.floating)):
            raise ValueError(f"ELU '{self.name}': alpha must be a number, got {alpha!r}")
        self.alpha = float(alpha)

    def call(self, inputs):
        return ops.elu(inputs, self.alpha)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        # Keras 3 leaves alpha out of its config (so a reloaded Keras ELU has alpha=1); neurona keeps it.
        return {**super().get_config(), "alpha": self.alpha}


class Softmax(Layer):
    """Exponentials normalised to sum 1 along `axis` (an int or a list of ints).

    `mask` (call argument, broadcastable to the inputs) leaves out the positions where it is 0/False: they
    get probability 0, as in Keras.
    """

    supports_masking = True

    def __init__(self, axis: int | Sequence[int] = -1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if isinstance(axis, (list, tuple)):
            if not axis or not all(isinstance(a, (int, np.integer)) for a in axis):
                raise ValueError(f"Softmax '{self.name}': axis must be an int or a non-empty list of ints, "
                                 f"got {axis!r}")
            self.axis: int | list[int] = [int(a) for a in axis]
        elif isinstance(axis, (int, np.integer)) and not isinstance(axis, bool):
            self.axis = int(axis)
        else:
            raise ValueError(f"Softmax '{self.name}': axis must be an int or a list of ints, got {axis!r}")

    def _check_axes(self, ndim: int) -> tuple[int, ...]:
        axes = self.axis if isinstance(self.axis, list) else [self.axis]
        if any(not -ndim <= a < ndim for a in axes):
            raise ValueError(f"Softmax '{self.name}': axis {self.axis} is out of range for inputs with {ndim} "
                             f"dimensions")
        return tuple(a % ndim for a in axes)

    def build(self, input_shape):
        self._check_axes(len(input_shape))

    def call(self, inputs, mask=None):
        axes = self._check_axes(inputs.ndim)
        axis = axes[0] if len(axes) == 1 else axes
        if mask is None:
            return ops.softmax(inputs, axis)
        keep = np.asarray(mask.data if isinstance(mask, Tensor) else mask)
        if keep.ndim > inputs.ndim or any(m not in (1, i) for m, i in zip(keep.shape[::-1], inputs.shape[::-1])):
            raise ValueError(f"Softmax '{self.name}': the mask must broadcast to the inputs, got mask shape "
                             f"{keep.shape} for inputs of shape {inputs.shape}")
        keep = np.broadcast_to(keep if keep.dtype == bool else keep > 0.5, inputs.shape)
        # a large negative logit rather than -inf: a fully masked row stays finite (and is zeroed below)
        large_negative = -3e4 if inputs.dtype == np.float16 else -1e9
        probs = ops.softmax(ops.where(keep, inputs, np.asarray(large_negative, inputs.dtype)), axis)
        return ops.where(keep, probs, np.zeros((), inputs.dtype))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


class PReLU(Layer):
    """x if x > 0 else `alpha * x`, with `alpha` learned: one slope per input value, or shared along
    `shared_axes` (`shared_axes=[1, 2]` after a Conv2D: one slope per channel)."""

    supports_masking = True

    def __init__(self, alpha_initializer: Any = "zeros", alpha_regularizer: Any = None,
                 alpha_constraint: Any = None, shared_axes: int | Sequence[int] | None = None,
                 **kwargs: Any) -> None:
        from .. import initializers, regularizers

        super().__init__(**kwargs)
        if alpha_constraint is not None:
            raise ValueError(f"PReLU '{self.name}': weight constraints are not supported by neurona "
                             f"(got alpha_constraint={alpha_constraint!r})")
        self.alpha_initializer = initializers.get(alpha_initializer)
        self.alpha_regularizer = regularizers.get(alpha_regularizer)
        if shared_axes is None:
            self.shared_axes = None
        else:
            axes = list(shared_axes) if isinstance(shared_axes, (list, tuple)) else [shared_axes]
            if not all(isinstance(a, (int, np.integer)) and not isinstance(a, bool) and a >= 1 for a in axes):
                raise ValueError(f"PReLU '{self.name}': shared_axes count from 1 (axis 0 is the batch), "
                                 f"got {shared_axes!r}")
            self.shared_axes = [int(a) for a in axes]

    def build(self, input_shape):
        ndim = len(input_shape)
        shared = set(self.shared_axes or ())
        if any(a >= ndim for a in shared):
            raise ValueError(f"PReLU '{self.name}': shared_axes {self.shared_axes} do not exist in inputs of shape "
                             f"{tuple(input_shape)}")
        unknown = [i for i in range(1, ndim) if i not in shared and input_shape[i] is None]
        if unknown:
            raise ValueError(f"PReLU '{self.name}' needs the size of axes {unknown} to create one slope per value, "
                             f"got input shape {tuple(input_shape)}; share those axes (shared_axes={unknown})")
        shape = [1 if i in shared else input_shape[i] for i in range(1, ndim)]
        self.alpha = self.add_weight("alpha", shape, self.alpha_initializer, self.alpha_regularizer)
        self.input_spec = InputSpec(ndim=ndim, axes={i: input_shape[i] for i in range(1, ndim) if i not in shared})

    def call(self, inputs):
        return prelu(inputs, self.alpha)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        from .. import initializers, regularizers

        return {**super().get_config(),
                "alpha_initializer": serialize_object(self.alpha_initializer, initializers),
                "alpha_regularizer": serialize_object(self.alpha_regularizer, regularizers),
                "alpha_constraint": None, "shared_axes": self.shared_axes}
