"""Preprocessing and augmentation as layers (Keras's names and arguments), so they travel with the model.

``Rescaling`` and ``Resizing`` always apply. The ``Random*`` layers transform only while training
(``fit``, or ``layer(x, training=True)``) and are the identity in ``evaluate``/``predict``::

    model = Sequential([Input((28, 28, 1)), Rescaling(1 / 255), RandomRotation(0.1), RandomZoom(0.1), ...])

Each random layer draws a parameter per image for the whole batch at once and, for the geometric ones,
resamples the batch through ``neurona.preprocessing.transforms`` in one gather. Randomness comes from the
layer's own generator when ``seed=`` is given, else from neurona's (``set_random_seed``). All of them pass
gradients back to their input.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import ops
from ..ops.image import AffineResample, Flip  # noqa: F401  (moved to ops/image.py)
from ..preprocessing.transforms import FILL_MODES, affine_matrices, resize_matrix
from ..random import get_rng
from ..tensor import Tensor
from .base import InputSpec, Layer

_IMAGES = "(batch, height, width, channels)"


class Rescaling(Layer):
    """``x * scale + offset``: ``Rescaling(1 / 255)`` maps pixels to [0, 1], ``Rescaling(1 / 127.5, -1)`` to [-1, 1]."""

    def __init__(self, scale: float, offset: float = 0.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.scale, self.offset = float(scale), float(offset)

    def call(self, inputs: Tensor, training: bool = False) -> Tensor:
        out = inputs * np.asarray(self.scale, inputs.dtype)
        return out + np.asarray(self.offset, inputs.dtype) if self.offset else out

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def get_config(self) -> dict:
        return {**super().get_config(), "scale": self.scale, "offset": self.offset}


class Resizing(Layer):
    """Resize images to ``(height, width)`` (bilinear or nearest, pixel centres aligned, no antialiasing).

    ``crop_to_aspect_ratio=True`` first crops the centre to the target's aspect ratio, so nothing is stretched.
    """

    def __init__(self, height: int, width: int, interpolation: str = "bilinear", crop_to_aspect_ratio: bool = False,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if interpolation not in ("bilinear", "nearest"):
            raise ValueError(f"Resizing '{self.name}': interpolation must be 'bilinear' or 'nearest', "
                             f"got {interpolation!r}")
        if int(height) < 1 or int(width) < 1:
            raise ValueError(f"Resizing '{self.name}': height and width must be positive, got {height}x{width}")
        self.height, self.width = int(height), int(width)
        self.interpolation = interpolation
        self.crop_to_aspect_ratio = crop_to_aspect_ratio
        self.input_spec = InputSpec(ndim=4, hint=_IMAGES)

    def call(self, inputs: Tensor, training: bool = False) -> Tensor:
        x = inputs
        h, w = x.shape[1], x.shape[2]
        if self.crop_to_aspect_ratio:
            crop_h = min(h, w * self.height // self.width)
            crop_w = min(w, h * self.width // self.height)
            top, left = (h - crop_h) // 2, (w - crop_w) // 2
            x = ops.getitem(x, (slice(None), slice(top, top + crop_h), slice(left, left + crop_w)))
            h, w = crop_h, crop_w
        if (h, w) == (self.height, self.width):
            return x
        mh = resize_matrix(h, self.height, self.interpolation).astype(x.dtype)
        mw = resize_matrix(w, self.width, self.interpolation).astype(x.dtype)
        x = ops.permute(x, (0, 3, 1, 2))  # (n, c, h, w): resize the last two axes with two matmuls
        x = ops.matmul(ops.matmul(mh, x), mw.T)
        return ops.permute(x, (0, 2, 3, 1))

    def compute_output_shape(self, input_shape: Any) -> Any:
        return (input_shape[0], self.height, self.width, input_shape[3])

    def get_config(self) -> dict:
        return {**super().get_config(), "height": self.height, "width": self.width,
                "interpolation": self.interpolation, "crop_to_aspect_ratio": self.crop_to_aspect_ratio}


# ----------------------------------------------------------------------------- differentiable helpers
def _factor_pair(factor: Any, name: str, layer: str) -> tuple[float, float]:
    """Keras's factor convention: a number f means (-f, f); a pair (lower, upper) is used as is."""
    if np.ndim(factor) == 0:
        f = float(factor)
        if f < 0:
            raise ValueError(f"{layer}: {name} must be non-negative when a single number, got {f}")
        return -f, f
    pair = tuple(float(v) for v in factor)
    if len(pair) != 2 or pair[0] > pair[1]:
        raise ValueError(f"{layer}: {name} must be a number or a (lower, upper) pair, got {factor!r}")
    return pair


class _RandomLayer(Layer):
    """Shared seeding, identity-at-inference and image input checks."""

    def __init__(self, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.seed = seed
        self._rng = None if seed is None else np.random.default_rng(seed)
        self.input_spec = InputSpec(ndim=4, hint=_IMAGES)

    @property
    def rng(self) -> np.random.Generator:
        return self._rng if self._rng is not None else get_rng()

    def call(self, inputs: Tensor, training: bool = False) -> Tensor:
        if not training:
            return inputs
        return self.augment(inputs)

    def augment(self, inputs: Tensor) -> Tensor:
        raise NotImplementedError

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def get_config(self) -> dict:
        return {**super().get_config(), "seed": self.seed}


class _RandomAffine(_RandomLayer):
    def __init__(self, fill_mode: str = "reflect", interpolation: str = "bilinear", seed: int | None = None,
                 fill_value: float = 0.0, **kwargs: Any) -> None:
        super().__init__(seed=seed, **kwargs)
        if fill_mode not in FILL_MODES:
            raise ValueError(f"{type(self).__name__} '{self.name}': fill_mode must be one of {FILL_MODES}, "
                             f"got {fill_mode!r}")
        if interpolation not in ("bilinear", "nearest"):
            raise ValueError(f"{type(self).__name__} '{self.name}': interpolation must be 'bilinear' or 'nearest', "
                             f"got {interpolation!r}")
        self.fill_mode, self.interpolation, self.fill_value = fill_mode, interpolation, float(fill_value)

    def matrices(self, n: int, h: int, w: int) -> np.ndarray:
        raise NotImplementedError

    def augment(self, inputs: Tensor) -> Tensor:
        n, h, w, _ = inputs.shape
        order = 1 if self.interpolation == "bilinear" else 0
        return AffineResample(self.matrices(n, h, w), self.fill_mode, self.fill_value, order)(inputs)

    def get_config(self) -> dict:
        return {**super().get_config(), "fill_mode": self.fill_mode, "interpolation": self.interpolation,
                "fill_value": self.fill_value}


class RandomFlip(_RandomLayer):
    """Flip each image left-right and/or upside down with probability 1/2 (mode: "horizontal", "vertical",
    "horizontal_and_vertical")."""

    def __init__(self, mode: str = "horizontal_and_vertical", seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(seed=seed, **kwargs)
        if mode not in ("horizontal", "vertical", "horizontal_and_vertical"):
            raise ValueError(f"RandomFlip '{self.name}': mode must be 'horizontal', 'vertical' or "
                             f"'horizontal_and_vertical', got {mode!r}")
        self.mode = mode

    def augment(self, inputs: Tensor) -> Tensor:
        n = inputs.shape[0]
        coins = self.rng.random((2, n)) < 0.5
        horizontal = coins[0] & (self.mode != "vertical")
        vertical = coins[1] & (self.mode != "horizontal")
        return Flip(horizontal, vertical)(inputs)

    def get_config(self) -> dict:
        return {**super().get_config(), "mode": self.mode}


class RandomRotation(_RandomAffine):
    """Rotate each image by a random fraction of a full turn: ``factor=0.1`` means up to ±36°
    (positive angles turn the content counter-clockwise); ``factor=(lower, upper)`` sets the range."""

    def __init__(self, factor: float | Sequence[float], fill_mode: str = "reflect", interpolation: str = "bilinear",
                 seed: int | None = None, fill_value: float = 0.0, **kwargs: Any) -> None:
        super().__init__(fill_mode, interpolation, seed, fill_value, **kwargs)
        self.factor = factor
        self._range = _factor_pair(factor, "factor", f"RandomRotation '{self.name}'")

    def matrices(self, n: int, h: int, w: int) -> np.ndarray:
        return affine_matrices(h, w, theta=self.rng.uniform(*self._range, size=n) * 360.0)

    def get_config(self) -> dict:
        return {**super().get_config(), "factor": self.factor}


class RandomTranslation(_RandomAffine):
    """Shift each image by a random fraction of its height and width (positive: down / right)."""

    def __init__(self, height_factor: float | Sequence[float], width_factor: float | Sequence[float],
                 fill_mode: str = "reflect", interpolation: str = "bilinear", seed: int | None = None,
                 fill_value: float = 0.0, **kwargs: Any) -> None:
        super().__init__(fill_mode, interpolation, seed, fill_value, **kwargs)
        self.height_factor, self.width_factor = height_factor, width_factor
        self._h = _factor_pair(height_factor, "height_factor", f"RandomTranslation '{self.name}'")
        self._w = _factor_pair(width_factor, "width_factor", f"RandomTranslation '{self.name}'")

    def matrices(self, n: int, h: int, w: int) -> np.ndarray:
        down = self.rng.uniform(*self._h, size=n) * h
        right = self.rng.uniform(*self._w, size=n) * w
        return affine_matrices(h, w, tx=-right, ty=-down)  # the matrix says where to read from: minus the move

    def get_config(self) -> dict:
        return {**super().get_config(), "height_factor": self.height_factor, "width_factor": self.width_factor}


class RandomZoom(_RandomAffine):
    """Zoom each image by a random factor: ``height_factor=0.2`` zooms out (positive) or in (negative) by up
    to 20%; ``width_factor=None`` keeps the aspect ratio (the same factor on both axes)."""

    def __init__(self, height_factor: float | Sequence[float], width_factor: float | Sequence[float] | None = None,
                 fill_mode: str = "reflect", interpolation: str = "bilinear", seed: int | None = None,
                 fill_value: float = 0.0, **kwargs: Any) -> None:
        super().__init__(fill_mode, interpolation, seed, fill_value, **kwargs)
        self.height_factor, self.width_factor = height_factor, width_factor
        self._h = _factor_pair(height_factor, "height_factor", f"RandomZoom '{self.name}'")
        self._w = None if width_factor is None else _factor_pair(width_factor, "width_factor",
                                                                   f"RandomZoom '{self.name}'")
        if self._h[0] <= -1 or (self._w is not None and self._w[0] <= -1):
            raise ValueError(f"RandomZoom '{self.name}': zoom factors must be greater than -1 (a factor of -1 "
                             f"would zoom in infinitely), got {height_factor!r}, {width_factor!r}")

    def matrices(self, n: int, h: int, w: int) -> np.ndarray:
        zy = 1.0 + self.rng.uniform(*self._h, size=n)
        zx = zy if self._w is None else 1.0 + self.rng.uniform(*self._w, size=n)
        return affine_matrices(h, w, zx=zx, zy=zy)

    def get_config(self) -> dict:
        return {**super().get_config(), "height_factor": self.height_factor, "width_factor": self.width_factor}


class RandomContrast(_RandomLayer):
    """Scale each image's deviation from its per-channel mean by a factor in [1 - lower, 1 + upper], then clip
    to ``value_range``."""

    def __init__(self, factor: float | Sequence[float], value_range: Sequence[float] = (0, 255),
                 seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(seed=seed, **kwargs)
        # Keras: a number f means factors in [1 - f, 1 + f]; a pair (l, u) means [1 - l, 1 + u].
        lower, upper = (factor, factor) if np.ndim(factor) == 0 else tuple(factor)
        if not 0 <= float(lower) <= 1 or float(upper) < 0:
            raise ValueError(f"RandomContrast '{self.name}': factor must be in [0, 1] (or a pair of such), "
                             f"got {factor!r}")
        self.factor, self.value_range = factor, tuple(float(v) for v in value_range)
        self._range = (1 - float(lower), 1 + float(upper))

    def augment(self, inputs: Tensor) -> Tensor:
        n = inputs.shape[0]
        f = self.rng.uniform(*self._range, size=(n, 1, 1, 1)).astype(inputs.dtype)
        mean = ops.mean(inputs, axis=(1, 2), keepdims=True)
        return ops.clip((inputs - mean) * f + mean, *self.value_range)

    def get_config(self) -> dict:
        return {**super().get_config(), "factor": self.factor, "value_range": list(self.value_range)}


class RandomBrightness(_RandomLayer):
    """Add to each image a random delta of ``factor`` times the width of ``value_range`` (``factor=0.2``: up to
    ±20% of 255), then clip to ``value_range``."""

    def __init__(self, factor: float | Sequence[float], value_range: Sequence[float] = (0, 255),
                 seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(seed=seed, **kwargs)
        self._range = _factor_pair(factor, "factor", f"RandomBrightness '{self.name}'")
        if self._range[0] < -1 or self._range[1] > 1:
            raise ValueError(f"RandomBrightness '{self.name}': factor must be within [-1, 1], got {factor!r}")
        self.factor, self.value_range = factor, tuple(float(v) for v in value_range)

    def augment(self, inputs: Tensor) -> Tensor:
        n = inputs.shape[0]
        span = self.value_range[1] - self.value_range[0]
        delta = (self.rng.uniform(*self._range, size=(n, 1, 1, 1)) * span).astype(inputs.dtype)
        return ops.clip(inputs + delta, *self.value_range)

    def get_config(self) -> dict:
        return {**super().get_config(), "factor": self.factor, "value_range": list(self.value_range)}
