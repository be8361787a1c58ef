"""ConvLSTM2D (Shi et al. 2015, Keras's layer): an LSTM whose matmuls are 2-D convolutions.

Input (batch, time, rows, cols, channels), channels_last. The input convolution of every step runs as
one conv over (batch * time) images; the recurrent convolution ('same' padding, stride 1) runs once per
step. Built from differentiable ops, so the engine supplies the backward through time.
Gates i, f, c, o as in Keras; kernel (kh, kw, channels, 4 filters), recurrent kernel (kh, kw, filters,
4 filters), bias (4 filters,).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import activations, initializers, ops, regularizers
from ..tensor import Tensor
from .base import InputSpec, Layer, _Init, serialize_object
from .conv import tuplify
from .core import _activation_name
from .masking import check_mask


class ConvLSTM2D(Layer):
    """A convolutional LSTM over a sequence of images.

    >>> import numpy as np
    >>> ConvLSTM2D(2, 3, padding="same")(np.zeros((1, 4, 6, 6, 1), dtype="float32")).shape
    (1, 6, 6, 2)
    """

    def __init__(self, filters: int, kernel_size: Any, strides: Any = 1, padding: str = "valid",
                 data_format: str | None = None, dilation_rate: Any = 1, activation: Any = "tanh",
                 recurrent_activation: Any = "sigmoid", use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform", recurrent_initializer: Any = "orthogonal",
                 bias_initializer: Any = "zeros", unit_forget_bias: bool = True, kernel_regularizer: Any = None,
                 recurrent_regularizer: Any = None, bias_regularizer: Any = None, return_sequences: bool = False,
                 return_state: bool = False, go_backwards: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        who = f"ConvLSTM2D '{self.name}'"
        if isinstance(filters, bool) or not isinstance(filters, (int, np.integer)) or filters <= 0:
            raise ValueError(f"{who}: filters must be a positive integer, got {filters!r}")
        if data_format not in (None, "channels_last"):
            raise ValueError(f"{who}: only data_format='channels_last' is supported, got {data_format!r}")
        if not isinstance(padding, str) or padding.lower() not in ("valid", "same"):
            raise ValueError(f"{who}: padding must be 'valid' or 'same', got {padding!r}")
        self.filters = int(filters)
        self.kernel_size = tuplify(kernel_size, 2, f"{who}: kernel_size")
        self.strides = tuplify(strides, 2, f"{who}: strides")
        self.dilation_rate = tuplify(dilation_rate, 2, f"{who}: dilation_rate")
        self.padding = padding.lower()
        self.activation = activations.get(activation)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.unit_forget_bias = bool(unit_forget_bias)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self.go_backwards = bool(go_backwards)
        self.input_spec = InputSpec(ndim=5, hint="(batch, time, rows, cols, channels)")

    def build(self, input_shape):
        channels = input_shape[-1]
        if channels is None:
            raise ValueError(f"ConvLSTM2D '{self.name}' needs the channels axis to be known, got input shape "
                             f"{tuple(input_shape)}")
        self.compute_output_shape(input_shape)  # a kernel larger than the frames fails here, naming the layer
        k = 4 * self.filters
        self.kernel = self.add_weight("kernel", self.kernel_size + (channels, k), self.kernel_initializer,
                                      self.kernel_regularizer)
        self.recurrent_kernel = self.add_weight("recurrent_kernel", self.kernel_size + (self.filters, k),
                                                self.recurrent_initializer, self.recurrent_regularizer)
        self.bias = (self.add_weight("bias", (k,), self.bias_initializer, self.bias_regularizer)
                     if self.use_bias else None)
        if self.bias is not None and self.unit_forget_bias and not _Init.deferred:
            self.bias.data[self.filters:2 * self.filters] = 1.0
        self.input_spec = InputSpec(ndim=5, axes={-1: channels}, hint="(batch, time, rows, cols, channels)")

    def _frame_shape(self, rows: int | None, cols: int | None) -> tuple[int | None, int | None]:
        def one(n: int | None, k: int, st: int, d: int) -> int | None:
            if n is None:
                return None
            if self.padding == "same":
                return -(-n // st)
            return (n - d * (k - 1) - 1) // st + 1

        return tuple(one(n, k, st, d) for n, k, st, d in zip((rows, cols), self.kernel_size, self.strides,
                                                               self.dilation_rate))

    def call(self, inputs, training=False, mask=None, initial_state=None):
        b, t, rows, cols, c = inputs.shape
        mask = check_mask(self, mask, inputs.shape)
        f = self.filters
        frames = ops.reshape(inputs, (b * t, rows, cols, c))
        proj = ops.conv2d(frames, self.kernel, self.bias, self.strides, self.padding, self.dilation_rate)
        orow, ocol = proj.shape[1], proj.shape[2]
        proj = ops.reshape(proj, (b, t, orow, ocol, 4 * f))
        if initial_state is not None:
            h, cell = [s if isinstance(s, Tensor) else Tensor(np.asarray(s, self.dtype)) for s in initial_state]
        else:
            h = cell = Tensor(np.zeros((b, orow, ocol, f), proj.dtype))
        act, ract = self.activation, self.recurrent_activation
        steps = range(t - 1, -1, -1) if self.go_backwards else range(t)
        outs = []
        for s in steps:
            z = proj[:, s] + ops.conv2d(h, self.recurrent_kernel, None, 1, "same")
            i, fg = ract(z[..., :f]), ract(z[..., f:2 * f])
            g, o = act(z[..., 2 * f:3 * f]), ract(z[..., 3 * f:])
            new_c = fg * cell + i * g
            new_h = o * act(new_c)
            if mask is not None:
                m = mask[:, s].astype(proj.dtype).reshape(b, 1, 1, 1)
                new_c = cell + (new_c - cell) * m
                new_h = h + (new_h - h) * m
            h, cell = new_h, new_c
            outs.append(h)
        out = ops.stack(outs, axis=1) if self.return_sequences else h
        return [out, h, cell] if self.return_state else out

    def compute_output_shape(self, input_shape):
        b, t, rows, cols = input_shape[:4]
        orow, ocol = self._frame_shape(rows, cols)
        if (orow is not None and orow <= 0) or (ocol is not None and ocol <= 0):
            raise ValueError(f"ConvLSTM2D '{self.name}': kernel {self.kernel_size} does not fit frames of "
                             f"{(rows, cols)} (input shape {tuple(input_shape)})")
        state = (b, orow, ocol, self.filters)
        out = (b, t, orow, ocol, self.filters) if self.return_sequences else state
        return [out, state, state] if self.return_state else out

    def compute_mask(self, inputs, mask=None):
        out = mask if self.return_sequences else None
        return [out, None, None] if self.return_state else out

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel_size": list(self.kernel_size),
                "strides": list(self.strides), "padding": self.padding, "dilation_rate": list(self.dilation_rate),
                "activation": _activation_name(self.activation),
                "recurrent_activation": _activation_name(self.recurrent_activation), "use_bias": self.use_bias,
                "kernel_initializer": serialize_object(self.kernel_initializer, initializers),
                "recurrent_initializer": serialize_object(self.recurrent_initializer, initializers),
                "bias_initializer": serialize_object(self.bias_initializer, initializers),
                "unit_forget_bias": self.unit_forget_bias,
                "kernel_regularizer": serialize_object(self.kernel_regularizer, regularizers),
                "recurrent_regularizer": serialize_object(self.recurrent_regularizer, regularizers),
                "bias_regularizer": serialize_object(self.bias_regularizer, regularizers),
                "return_sequences": self.return_sequences, "return_state": self.return_state,
                "go_backwards": self.go_backwards}


__all__ = ["ConvLSTM2D"]
