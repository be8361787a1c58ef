"""Pooling layers (slide 002): keep the largest, the mean, or the sum of each window of a feature map.

MaxPooling2D((2, 2)) turns (24, 24, 32) into (12, 12, 32) and has no parameters: it only computes.
Global pooling reduces each feature map to one number.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import ops
from ..ops.pool import (
    avg_pool1d,
    avg_pool2d,
    global_avg_pool,
    global_max_pool,
    max_pool1d,
    max_pool2d,
    sum_pool2d,
)
from .base import InputSpec, Layer
from .conv import LAYOUTS, check_rank, normalize_data_format, spatial_output_shape, tuplify


class _Pooling(Layer):
    """Windows of `pool_size` moved by `strides` (default: `pool_size`, so they do not overlap)."""

    rank = 2
    pool_fn = staticmethod(max_pool2d)

    def __init__(self, pool_size: Any = 2, strides: Any = None, padding: str = "valid", data_format: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        who = f"{type(self).__name__} '{self.name}'"
        self.pool_size = tuplify(pool_size, self.rank, f"{who}: pool_size")
        self.strides = self.pool_size if strides is None else tuplify(strides, self.rank, f"{who}: strides")
        if not isinstance(padding, str) or padding.lower() not in ("valid", "same"):
            raise ValueError(f"{who}: padding must be 'valid' or 'same', got {padding!r}")
        self.padding = padding.lower()
        self.data_format = normalize_data_format(data_format, who)
        self.input_spec = InputSpec(ndim=self.rank + 2, hint=LAYOUTS[(self.rank, self.data_format)])

    def build(self, input_shape):
        check_rank(self, self.rank, input_shape)
        self.compute_output_shape(input_shape)

    def call(self, inputs, training=False):
        try:
            return self.pool_fn(inputs, self.pool_size, self.strides, self.padding, self.data_format)
        except ValueError as e:
            raise ValueError(f"{type(self).__name__} '{self.name}': {e}") from None

    def compute_output_shape(self, input_shape):
        check_rank(self, self.rank, input_shape)
        channels = input_shape[1 if self.data_format == "channels_first" else -1]
        return spatial_output_shape(self, input_shape, self.pool_size, self.strides, (1,) * self.rank, self.padding,
                                    channels)

    def get_config(self):
        return {**super().get_config(), "pool_size": list(self.pool_size), "strides": list(self.strides),
                "padding": self.padding, "data_format": self.data_format}


class MaxPooling2D(_Pooling):
    """The largest value of each window (the slides: usually the best of the three poolings).

    >>> import numpy as np
    >>> MaxPooling2D((2, 2))(np.zeros((1, 24, 24, 32), "float32")).shape
    (1, 12, 12, 32)
    """

    pool_fn = staticmethod(max_pool2d)

    def __init__(self, pool_size: Any = (2, 2), strides: Any = None, padding: str = "valid",
                 data_format: str | None = None, **kwargs: Any) -> None:
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


class AveragePooling2D(MaxPooling2D):
    """The mean of each window ('same' padding averages only the real pixels, as Keras)."""

    pool_fn = staticmethod(avg_pool2d)


class SumPooling2D(MaxPooling2D):
    """The sum of each window, the slides' third kind of pooling (Keras has no such layer)."""

    pool_fn = staticmethod(sum_pool2d)


class MaxPooling1D(_Pooling):
    """Max pooling of sequences (batch, steps, channels)."""

    rank = 1
    pool_fn = staticmethod(max_pool1d)


class AveragePooling1D(_Pooling):
    """Average pooling of sequences (batch, steps, channels)."""

    rank = 1
    pool_fn = staticmethod(avg_pool1d)


class _GlobalPooling(Layer):
    """One number per feature map: (batch, *spatial, channels) -> (batch, channels)."""

    rank = 2
    reduce = staticmethod(global_max_pool)

    def __init__(self, data_format: str | None = None, keepdims: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.data_format = normalize_data_format(data_format, f"{type(self).__name__} '{self.name}'")
        self.keepdims = bool(keepdims)
        self.input_spec = InputSpec(ndim=self.rank + 2, hint=LAYOUTS[(self.rank, self.data_format)])

    def call(self, inputs, training=False):
        return self.reduce(inputs, self.keepdims, self.data_format)

    def compute_output_shape(self, input_shape):
        check_rank(self, self.rank, input_shape)
        first = self.data_format == "channels_first"
        channels = input_shape[1 if first else -1]
        if not self.keepdims:
            return (input_shape[0], channels)
        ones = (1,) * self.rank
        return (input_shape[0], channels) + ones if first else (input_shape[0],) + ones + (channels,)

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format, "keepdims": self.keepdims}


class GlobalMaxPooling2D(_GlobalPooling):
    """The largest value of each feature map."""

    reduce = staticmethod(global_max_pool)


class GlobalAveragePooling2D(_GlobalPooling):
    """The mean of each feature map (what ResNet and MobileNet feed their classifier)."""

    reduce = staticmethod(global_avg_pool)


class GlobalMaxPooling1D(_GlobalPooling):
    """The largest value of each channel over the steps of a sequence (masked steps are ignored)."""

    rank = 1
    reduce = staticmethod(global_max_pool)

    def call(self, inputs, training=False, mask=None):
        if mask is None:
            return self.reduce(inputs, self.keepdims, self.data_format)
        from .masking import check_mask

        m = check_mask(self, mask, inputs.shape if self.data_format == "channels_last"
                       else (inputs.shape[0], inputs.shape[2]))
        m = m[:, :, None] if self.data_format == "channels_last" else m[:, None, :]
        low = np.finfo(inputs.dtype).min
        return self.reduce(ops.where(m, inputs, low), self.keepdims, self.data_format)

    def compute_mask(self, inputs, mask=None):
        return None


class GlobalAveragePooling1D(_GlobalPooling):
    """The mean of each channel over the steps of a sequence (over the unmasked steps when masked)."""

    rank = 1
    reduce = staticmethod(global_avg_pool)

    def call(self, inputs, training=False, mask=None):
        if mask is None:
            return self.reduce(inputs, self.keepdims, self.data_format)
        from .masking import check_mask

        last = self.data_format == "channels_last"
        m = check_mask(self, mask, inputs.shape if last else (inputs.shape[0], inputs.shape[2]))
        axis = 1 if last else 2
        w = (m[:, :, None] if last else m[:, None, :]).astype(inputs.dtype)
        count = np.maximum(w.sum(axis=axis, keepdims=True), 1)
        return ops.sum(inputs * (w / count), axis=axis, keepdims=self.keepdims)

    def compute_mask(self, inputs, mask=None):
        return None


MaxPool2D, AvgPool2D, AveragePool2D, MaxPool1D, AvgPool1D = (
    MaxPooling2D, AveragePooling2D, AveragePooling2D, MaxPooling1D, AveragePooling1D)
GlobalMaxPool2D, GlobalAvgPool2D, GlobalMaxPool1D, GlobalAvgPool1D = (
    GlobalMaxPooling2D, GlobalAveragePooling2D, GlobalMaxPooling1D, GlobalAveragePooling1D)
