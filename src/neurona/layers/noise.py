"""Noise layers, regularizers that act only while training (`training=True`; the identity otherwise):
GaussianNoise adds N(0, stddev²) noise, GaussianDropout multiplies by N(1, rate / (1 - rate)) noise, and
AlphaDropout drops values to SELU's negative saturation while keeping the mean and variance (for SELU nets).

Noise is drawn from `neurona.random.get_rng()` (so `set_random_seed` makes it repeatable), or from a
generator of the layer's own when it is given `seed=`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..ops.activation import SELU_ALPHA, SELU_SCALE
from ..ops.nn import DropoutMask
from ..random import get_rng
from .base import Layer


def _rate(layer: Layer, rate: Any) -> float:
    if isinstance(rate, bool) or not isinstance(rate, (int, float, np.integer, np.floating)) or not 0 <= rate < 1:
        raise ValueError(f"{type(layer).__name__} '{layer.name}': rate must be in [0, 1), got {rate!r}")
    return float(rate)


class _Noise(Layer):
    """What the noise layers share: their own generator when seeded, the identity outside training."""

    supports_masking = True

    def __init__(self, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.seed = seed
        self._rng = None if seed is None else np.random.default_rng(seed)

    def _generator(self) -> np.random.Generator:
        return self._rng or get_rng()

    @staticmethod
    def _normal(rng: np.random.Generator, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
        # standard_normal draws float32 directly (half the work of float64 then a cast)
        draw_dtype = dtype if dtype in (np.float32, np.float64) else np.float32
        return rng.standard_normal(shape, dtype=draw_dtype).astype(dtype, copy=False)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}


class GaussianNoise(_Noise):
    """Adds zero-mean Gaussian noise of standard deviation `stddev` while training (data augmentation for
    real-valued inputs)."""

    def __init__(self, stddev: float, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(seed=seed, **kwargs)
        if isinstance(stddev, bool) or not isinstance(stddev, (int, float, np.integer, np.floating)) \
                or not 0 <= stddev < math.inf:
            raise ValueError(f"GaussianNoise '{self.name}': stddev must be a finite number >= 0, got {stddev!r}")
        self.stddev = float(stddev)

    def call(self, inputs, training=False):
        if not training or self.stddev == 0:
            return inputs
        noise = self._normal(self._generator(), inputs.shape, inputs.dtype)
        noise *= inputs.dtype.type(self.stddev)
        return inputs + noise

    def get_config(self):
        return {**super().get_config(), "stddev": self.stddev}


class GaussianDropout(_Noise):
    """Multiplies by Gaussian noise of mean 1 and variance `rate / (1 - rate)` while training: dropout's
    mean and variance without zeros."""

    def __init__(self, rate: float, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(seed=seed, **kwargs)
        self.rate = _rate(self, rate)

    def call(self, inputs, training=False):
        if not training or self.rate == 0:
            return inputs
        noise = self._normal(self._generator(), inputs.shape, inputs.dtype)
        noise *= inputs.dtype.type(math.sqrt(self.rate / (1 - self.rate)))
        noise += 1
        return DropoutMask(noise)(inputs)

    def get_config(self):
        return {**super().get_config(), "rate": self.rate}


class AlphaDropout(_Noise):
    """Dropout for self-normalising (SELU) networks: dropped values become SELU's lower limit
    -scale * alpha, then an affine map restores the inputs' zero mean and unit variance."""

    def __init__(self, rate: float, noise_shape: Sequence[int | None] | None = None, seed: int | None = None,
                 **kwargs: Any) -> None:
        super().__init__(seed=seed, **kwargs)
        self.rate = _rate(self, rate)
        self.noise_shape = None if noise_shape is None else tuple(noise_shape)

    def call(self, inputs, training=False):
        if not training or self.rate == 0:
            return inputs
        shape = inputs.shape
        if self.noise_shape is not None:
            if len(self.noise_shape) != inputs.ndim:
                raise ValueError(f"AlphaDropout '{self.name}': noise_shape {self.noise_shape} needs one entry per "
                                 f"input axis, got inputs of shape {inputs.shape}")
            shape = tuple(n if s is None else s for n, s in zip(inputs.shape, self.noise_shape))
        keep = self._generator().random(shape, dtype=np.float32) >= self.rate
        alpha_p = -SELU_ALPHA * SELU_SCALE
        a = ((1 - self.rate) * (1 + self.rate * alpha_p**2)) ** -0.5
        b = -a * alpha_p * self.rate
        # a * (x * keep + alpha_p * (1 - keep)) + b, as one mask product plus a constant
        dtype = inputs.dtype
        offset = np.where(keep, dtype.type(b), dtype.type(a * alpha_p + b))
        return DropoutMask(keep.astype(dtype) * dtype.type(a))(inputs) + offset

    def get_config(self):
        noise = None if self.noise_shape is None else list(self.noise_shape)
        return {**super().get_config(), "rate": self.rate, "noise_shape": noise}
