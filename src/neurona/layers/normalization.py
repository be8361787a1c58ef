"""Normalisation layers: BatchNormalization (statistics over the batch) and LayerNormalization (per sample).

BatchNormalization keeps moving averages of the batch mean and variance as non-trainable weights,
updated in place while training and used at inference, with Keras's momentum (0.99) and epsilon (1e-3).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..ops.norm import batch_norm, layer_norm
from .base import InputSpec, Layer, serialize_object


def _axes(layer: Layer, axis: Any, ndim: int) -> tuple[int, ...]:
    items = [axis] if isinstance(axis, (int, np.integer)) else list(axis)
    out = []
    for a in items:
        if not -ndim <= a < ndim:
            raise ValueError(f"{type(layer).__name__} '{layer.name}': axis {axis} is out of range for inputs with "
                             f"{ndim} dimensions")
        out.append(int(a) % ndim)
    return tuple(sorted(set(out)))


class _Normalization(Layer):
    """Shared by both: which axes hold the features, and gamma/beta over those axes."""

    supports_masking = True

    def __init__(self, axis: int | Sequence[int] = -1, epsilon: float = 1e-3, center: bool = True,
                 scale: bool = True, beta_initializer: Any = "zeros", gamma_initializer: Any = "ones",
                 beta_regularizer: Any = None, gamma_regularizer: Any = None, **kwargs: Any) -> None:
        from .. import initializers, regularizers

        super().__init__(**kwargs)
        self.axis = int(axis) if isinstance(axis, (int, np.integer)) else [int(a) for a in axis]
        if not epsilon > 0:
            raise ValueError(f"{type(self).__name__} '{self.name}': epsilon must be positive, got {epsilon!r}")
        self.epsilon = float(epsilon)
        self.center, self.scale = bool(center), bool(scale)
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)

    def build(self, input_shape):
        self._build_scale_and_shift(input_shape)

    def _build_scale_and_shift(self, input_shape) -> tuple[int, ...]:
        """gamma and beta over the feature axes; returns the feature shape."""
        self._axes = _axes(self, self.axis, len(input_shape))
        shape = tuple(input_shape[a] for a in self._axes)
        if any(s is None for s in shape):
            raise ValueError(f"{type(self).__name__} '{self.name}' needs the size of axis {self.axis} to be known, "
                             f"got input shape {tuple(input_shape)}")
        self.gamma = (self.add_weight("gamma", shape, self.gamma_initializer, self.gamma_regularizer)
                      if self.scale else None)
        self.beta = (self.add_weight("beta", shape, self.beta_initializer, self.beta_regularizer)
                     if self.center else None)
        self.input_spec = InputSpec(ndim=len(input_shape), axes=dict(zip(self._axes, shape)))
        return shape

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        from .. import initializers, regularizers

        return {**super().get_config(), "axis": self.axis, "epsilon": self.epsilon, "center": self.center,
                "scale": self.scale,
                "beta_initializer": serialize_object(self.beta_initializer, initializers),
                "gamma_initializer": serialize_object(self.gamma_initializer, initializers),
                "beta_regularizer": serialize_object(self.beta_regularizer, regularizers),
                "gamma_regularizer": serialize_object(self.gamma_regularizer, regularizers)}


class BatchNormalization(_Normalization):
    """Normalise each feature by the batch's mean and variance while training, by moving averages after.

    Training updates moving = moving * momentum + batch * (1 - momentum) (biased batch variance), as
    Keras. A frozen layer (trainable=False) always uses the moving statistics, as Keras does when fine-tuning.
    """

    def __init__(self, axis: int | Sequence[int] = -1, momentum: float = 0.99, epsilon: float = 1e-3,
                 center: bool = True, scale: bool = True, beta_initializer: Any = "zeros",
                 gamma_initializer: Any = "ones", moving_mean_initializer: Any = "zeros",
                 moving_variance_initializer: Any = "ones", beta_regularizer: Any = None,
                 gamma_regularizer: Any = None, **kwargs: Any) -> None:
        from .. import initializers

        super().__init__(axis, epsilon, center, scale, beta_initializer, gamma_initializer, beta_regularizer,
                         gamma_regularizer, **kwargs)
        if not 0 <= momentum <= 1:
            raise ValueError(f"BatchNormalization '{self.name}': momentum must be in [0, 1], got {momentum!r}")
        self.momentum = float(momentum)
        self.moving_mean_initializer = initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = initializers.get(moving_variance_initializer)

    def build(self, input_shape):
        shape = self._build_scale_and_shift(input_shape)
        self.moving_mean = self.add_weight("moving_mean", shape, self.moving_mean_initializer, trainable=False)
        self.moving_variance = self.add_weight("moving_variance", shape, self.moving_variance_initializer,
                                               trainable=False)

    def call(self, inputs, training=False):
        return batch_norm(inputs, self.gamma, self.beta, self.moving_mean, self.moving_variance,
                          training=bool(training) and self.trainable, momentum=self.momentum, epsilon=self.epsilon,
                          axis=self._axes, sync=getattr(self, "_sync", None))

    def get_config(self):
        from .. import initializers

        return {**super().get_config(), "momentum": self.momentum,
                "moving_mean_initializer": serialize_object(self.moving_mean_initializer, initializers),
                "moving_variance_initializer": serialize_object(self.moving_variance_initializer, initializers)}


class LayerNormalization(_Normalization):
    """Normalise each sample over `axis` (its features), then scale by gamma and shift by beta.

    The statistics never mix samples, so training and inference compute the same thing.
    """

    def call(self, inputs, training=False):
        return layer_norm(inputs, self.gamma, self.beta, axis=self._axes, epsilon=self.epsilon)
