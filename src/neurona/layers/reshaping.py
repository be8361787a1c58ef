"""Layers that resize feature maps without weights: upsampling, zero padding and cropping.

U-Net-style decoders (slide 002's segmentation lab) enlarge maps with UpSampling2D and align them with
Cropping2D / ZeroPadding2D before concatenating skip connections.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..ops.pool import upsampling1d, upsampling2d
from ..ops.shape import getitem, pad
from .base import InputSpec, Layer
from .conv import LAYOUTS, check_rank, normalize_data_format, tuplify


def _pairs(value: Any, rank: int, who: str, what: str) -> tuple[tuple[int, int], ...]:
    """Keras's forms: n, (n_h, n_w), or ((top, bottom), (left, right)) -> per-axis (before, after)."""
    if isinstance(value, (int, np.integer)):
        out = ((int(value), int(value)),) * rank
    else:
        items = list(value)
        if rank == 1 and len(items) == 2 and all(isinstance(v, (int, np.integer)) for v in items):
            out = ((int(items[0]), int(items[1])),)  # 1-D: (before, after)
        else:
            out = tuple((int(v), int(v)) if isinstance(v, (int, np.integer)) else tuple(int(u) for u in v)
                        for v in items)
    if len(out) != rank or any(len(p) != 2 or min(p) < 0 for p in out):
        raise ValueError(f"{who}: {what} must be an int, {rank} ints or {rank} (before, after) pairs of "
                         f"non-negative ints, got {value!r}")
    return out


def _spatial_axes(layer: Layer, rank: int) -> tuple[int, ...]:
    first = getattr(layer, "data_format", "channels_last") == "channels_first"
    return tuple(range(2, 2 + rank)) if first else tuple(range(1, 1 + rank))


class UpSampling2D(Layer):
    """Repeat each pixel size[0] x size[1] times ('nearest'), or interpolate ('bilinear')."""

    def __init__(self, size: Any = (2, 2), data_format: str | None = None, interpolation: str = "nearest",
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        who = f"UpSampling2D '{self.name}'"
        self.size = tuplify(size, 2, f"{who}: size")
        self.data_format = normalize_data_format(data_format, who)
        if interpolation not in ("nearest", "bilinear"):
            raise ValueError(f"{who}: interpolation must be 'nearest' or 'bilinear', got {interpolation!r}")
        self.interpolation = interpolation
        self.input_spec = InputSpec(ndim=4, hint=LAYOUTS[(2, self.data_format)])

    def call(self, inputs, training=False):
        return upsampling2d(inputs, self.size, self.interpolation, self.data_format)

    def compute_output_shape(self, input_shape):
        check_rank(self, 2, input_shape)
        out = list(input_shape)
        for axis, s in zip(_spatial_axes(self, 2), self.size):
            out[axis] = None if out[axis] is None else out[axis] * s
        return tuple(out)

    def get_config(self):
        return {**super().get_config(), "size": list(self.size), "data_format": self.data_format,
                "interpolation": self.interpolation}


class UpSampling1D(Layer):
    """Repeat each step of (batch, steps, channels) `size` times."""

    def __init__(self, size: int = 2, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.size = tuplify(size, 1, f"UpSampling1D '{self.name}': size")[0]
        self.input_spec = InputSpec(ndim=3, hint=LAYOUTS[(1, "channels_last")])

    def call(self, inputs, training=False):
        return upsampling1d(inputs, self.size)

    def compute_output_shape(self, input_shape):
        steps = input_shape[1]
        return (input_shape[0], None if steps is None else steps * self.size, input_shape[2])

    def get_config(self):
        return {**super().get_config(), "size": self.size}


class _Border(Layer):
    """ZeroPadding and Cropping: a (before, after) amount on each spatial axis."""

    rank = 2
    what = "padding"

    def __init__(self, amount: Any, data_format: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        who = f"{type(self).__name__} '{self.name}'"
        self.data_format = normalize_data_format(data_format, who)
        self.amounts = _pairs(amount, self.rank, who, self.what)
        self.input_spec = InputSpec(ndim=self.rank + 2, hint=LAYOUTS[(self.rank, self.data_format)])

    def _sizes(self, input_shape, sign: int):
        check_rank(self, self.rank, input_shape)
        out = list(input_shape)
        for axis, (lo, hi) in zip(_spatial_axes(self, self.rank), self.amounts):
            if out[axis] is not None:
                out[axis] += sign * (lo + hi)
                if out[axis] <= 0:
                    raise ValueError(f"{type(self).__name__} '{self.name}': cropping {self.amounts} removes every "
                                     f"pixel of input shape {tuple(input_shape)}")
        return tuple(out)

    def get_config(self):
        config = {**super().get_config(), self.what: [list(p) for p in self.amounts]}
        if self.rank == 2:
            config["data_format"] = self.data_format
        return config


class ZeroPadding2D(_Border):
    """Add rows and columns of zeros around each feature map.

    `padding`: n (all sides), (n_h, n_w), or ((top, bottom), (left, right)).
    """

    def __init__(self, padding: Any = (1, 1), data_format: str | None = None, **kwargs: Any) -> None:
        super().__init__(padding, data_format, **kwargs)
        self.padding = self.amounts

    def call(self, inputs, training=False):
        widths = [(0, 0)] * inputs.ndim
        for axis, p in zip(_spatial_axes(self, self.rank), self.amounts):
            widths[axis] = p
        return pad(inputs, widths)

    def compute_output_shape(self, input_shape):
        return self._sizes(input_shape, +1)


class ZeroPadding1D(ZeroPadding2D):
    """Add zero steps at the start and end of sequences: n, or (before, after)."""

    rank = 1

    def __init__(self, padding: Any = 1, **kwargs: Any) -> None:
        super().__init__(padding, None, **kwargs)


class Cropping2D(_Border):
    """Remove rows and columns at the borders of each feature map.

    `cropping`: n (all sides), (n_h, n_w), or ((top, bottom), (left, right)).
    """

    what = "cropping"

    def __init__(self, cropping: Any = ((0, 0), (0, 0)), data_format: str | None = None, **kwargs: Any) -> None:
        super().__init__(cropping, data_format, **kwargs)
        self.cropping = self.amounts

    def build(self, input_shape):
        self.compute_output_shape(input_shape)  # an error now if the crop is larger than the map

    def call(self, inputs, training=False):
        self._sizes(inputs.shape, -1)
        index = [slice(None)] * inputs.ndim
        for axis, (lo, hi) in zip(_spatial_axes(self, self.rank), self.amounts):
            index[axis] = slice(lo, inputs.shape[axis] - hi)
        return getitem(inputs, tuple(index))

    def compute_output_shape(self, input_shape):
        return self._sizes(input_shape, -1)


class Cropping1D(Cropping2D):
    """Remove steps at the start and end of sequences: n, or (before, after)."""

    rank = 1

    def __init__(self, cropping: Any = (1, 1), **kwargs: Any) -> None:
        super().__init__(cropping, None, **kwargs)
