"""Convolution layers (slide 002, section 4): filters slid over an image, one feature map each.

Conv2D(32, (5, 5)) on (28, 28, 1) images learns 32 filters of 5x5x1 weights plus 32 biases, 832
parameters, and outputs (24, 24, 32). Images are channels_last, (batch, height, width, channels), as
in Keras; `data_format="channels_first"` takes (batch, channels, height, width). Each layer is one op
with a hand-written backward (see `neurona.ops.conv`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..ops.conv import (
    conv1d,
    conv1d_transpose,
    conv2d,
    conv2d_transpose,
    depthwise_conv2d,
    transpose_output_length,
)
from ..ops.nn import FUSED_ACTIVATIONS, DropoutMask
from ..ops.patches import output_sizes, padding_amounts, tuplify
from ..random import get_rng
from .base import InputSpec, Layer, serialize_object
from .core import Dropout

LAYOUTS = {
    (1, "channels_last"): "(batch, steps, channels)",
    (1, "channels_first"): "(batch, channels, steps)",
    (2, "channels_last"): "(batch, height, width, channels)",
    (2, "channels_first"): "(batch, channels, height, width)",
}


def normalize_data_format(data_format: str | None, who: str) -> str:
    """None means Keras's default image layout, channels_last."""
    data_format = data_format or "channels_last"
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"{who}: data_format must be 'channels_last' or 'channels_first', got {data_format!r}")
    return data_format


def check_rank(layer: Layer, rank: int, input_shape: Sequence[int | None]) -> None:
    """A clear error for an input with the wrong number of axes, with the usual fix for images."""
    shape = tuple(input_shape)
    if len(shape) == rank + 2:
        return
    layout = LAYOUTS[(rank, layer.data_format)]
    msg = (f"{type(layer).__name__} '{layer.name}' expects {rank + 2}-D inputs {layout}, "
           f"got shape {shape}")
    if len(shape) == rank + 1:
        sample = ", ".join(str(s) for s in shape[1:])
        channels_last = layer.data_format == "channels_last"
        example = f"(-1, {sample}, 1)" if channels_last else f"(-1, 1, {sample})"
        msg += (f"; single-channel data needs a channels axis of size 1: reshape it with "
                f"x.reshape{example}" + (" or give input_shape=(" + sample + ", 1)" if channels_last else ""))
    raise ValueError(msg)


def spatial_output_shape(layer: Layer, input_shape, kernel, strides, dilation, padding, channels: int):
    """(batch, *spatial, channels) after a sliding window; None sizes stay None."""
    shape = tuple(input_shape)
    first = layer.data_format == "channels_first"
    sizes = shape[2:] if first else shape[1:-1]
    known = [s if s is not None else (k - 1) * d + 1 for s, k, d in zip(sizes, kernel, dilation)]
    pads = padding_amounts(known, kernel, strides, dilation, padding)
    try:
        out = output_sizes(known, kernel, strides, dilation, pads, what=f"{type(layer).__name__} '{layer.name}'")
    except ValueError as e:
        raise ValueError(f"{e} (input shape {shape})") from None
    out = tuple(o if s is not None else None for o, s in zip(out, sizes))
    return (shape[0], channels) + out if first else (shape[0],) + out + (channels,)


def _activation(identifier: Any) -> tuple[Any, Any]:
    """(activation callable, what the op gets: a fusable name, None for linear, or the callable)."""
    from .. import activations

    fn = activations.get(identifier)
    try:
        name = activations.serialize(fn)
    except ValueError:
        return fn, fn
    if name == "linear":
        return fn, None
    return fn, name if name in FUSED_ACTIVATIONS else fn


def _activation_config(fn: Any) -> Any:
    from .. import activations

    try:
        return activations.serialize(fn)
    except ValueError:
        return None


class _Conv(Layer):
    """What Conv1D/Conv2D/Conv2DTranspose share: the configuration, kernel, bias and output shape."""

    rank = 2
    _transposed = False

    def __init__(self, filters: int, kernel_size: Any, strides: Any = 1, padding: str = "valid",
                 data_format: str | None = None, dilation_rate: Any = 1, groups: int = 1, activation: Any = None,
                 use_bias: bool = True, kernel_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, bias_regularizer: Any = None, **kwargs: Any) -> None:
        from .. import initializers, regularizers

        super().__init__(**kwargs)
        who = f"{type(self).__name__} '{self.name}'"
        if isinstance(filters, bool) or not isinstance(filters, (int, np.integer)) or filters <= 0:
            raise ValueError(f"{who}: filters must be a positive integer, got {filters!r}")
        self.filters = int(filters)
        self.kernel_size = tuplify(kernel_size, self.rank, f"{who}: kernel_size")
        self.strides = tuplify(strides, self.rank, f"{who}: strides")
        self.dilation_rate = tuplify(dilation_rate, self.rank, f"{who}: dilation_rate")
        allowed = ("valid", "same", "causal") if self.rank == 1 and not self._transposed else ("valid", "same")
        if not isinstance(padding, str) or padding.lower() not in allowed:
            raise ValueError(f"{who}: padding must be one of {allowed}, got {padding!r}")
        self.padding = padding.lower()
        self.data_format = normalize_data_format(data_format, who)
        if isinstance(groups, bool) or not isinstance(groups, (int, np.integer)) or groups < 1 \
                or self.filters % groups:
            raise ValueError(f"{who}: groups must be a positive integer dividing filters={filters}, got {groups!r}")
        self.groups = int(groups)
        self.activation = activation
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.input_spec = InputSpec(ndim=self.rank + 2, hint=LAYOUTS[(self.rank, self.data_format)])

    @property
    def activation(self) -> Any:
        return self._activation

    @activation.setter
    def activation(self, value: Any) -> None:
        """Set (or replace after construction) the activation; what the fused op gets is re-derived."""
        self._activation, self._op_activation = _activation(value)

    @property
    def _channel_axis(self) -> int:
        return 1 if self.data_format == "channels_first" else -1

    def _kernel_shape(self, channels: int) -> tuple[int, ...]:
        return self.kernel_size + (channels // self.groups, self.filters)

    def build(self, input_shape):
        check_rank(self, self.rank, input_shape)
        channels = input_shape[self._channel_axis]
        who = f"{type(self).__name__} '{self.name}'"
        if channels is None:
            raise ValueError(f"{who} needs the channels axis of its input to be known, got shape {tuple(input_shape)}")
        if channels % self.groups:
            raise ValueError(f"{who}: groups={self.groups} must divide the {channels} input channels "
                             f"(input shape {tuple(input_shape)})")
        self.compute_output_shape(input_shape)  # a kernel larger than the input fails here, naming the layer
        self.kernel = self.add_weight("kernel", self._kernel_shape(channels), self.kernel_initializer,
                                      self.kernel_regularizer)
        self.bias = (self.add_weight("bias", (self.filters,), self.bias_initializer, self.bias_regularizer)
                     if self.use_bias else None)
        self.input_spec = InputSpec(ndim=self.rank + 2, axes={self._channel_axis: channels},
                                    hint=LAYOUTS[(self.rank, self.data_format)])

    def call(self, inputs, training=False):
        try:
            return self._convolve(inputs)
        except ValueError as e:
            raise ValueError(f"{type(self).__name__} '{self.name}': {e}") from None

    def _convolve(self, inputs):
        fn = conv2d if self.rank == 2 else conv1d
        return fn(inputs, self.kernel, self.bias, self.strides, self.padding, self.dilation_rate, self.groups,
                  self._op_activation, self.data_format)

    def compute_output_shape(self, input_shape):
        check_rank(self, self.rank, input_shape)
        return spatial_output_shape(self, input_shape, self.kernel_size, self.strides, self.dilation_rate,
                                    self.padding, self.filters)

    def get_config(self):
        from .. import initializers, regularizers

        return {**super().get_config(), "filters": self.filters, "kernel_size": list(self.kernel_size),
                "strides": list(self.strides), "padding": self.padding, "data_format": self.data_format,
                "dilation_rate": list(self.dilation_rate), "groups": self.groups,
                "activation": _activation_config(self.activation), "use_bias": self.use_bias,
                "kernel_initializer": serialize_object(self.kernel_initializer, initializers),
                "bias_initializer": serialize_object(self.bias_initializer, initializers),
                "kernel_regularizer": serialize_object(self.kernel_regularizer, regularizers),
                "bias_regularizer": serialize_object(self.bias_regularizer, regularizers)}


class Conv2D(_Conv):
    """2-D convolution: `filters` feature maps from kernels of `kernel_size` slid over the image.

    The kernel has Keras's layout (kh, kw, in_channels // groups, filters).

    >>> import numpy as np
    >>> Conv2D(32, (5, 5), activation="relu")(np.zeros((1, 28, 28, 1), "float32")).shape
    (1, 24, 24, 32)
    """

    rank = 2


class Conv1D(_Conv):
    """1-D convolution over sequences (batch, steps, channels); padding may be 'causal'."""

    rank = 1


class Conv2DTranspose(_Conv):
    """Transposed convolution, which upsamples by `strides` (decoders, U-Net); kernel (kh, kw, filters, in)."""

    rank = 2
    _transposed = True

    def __init__(self, filters: int, kernel_size: Any, strides: Any = 1, padding: str = "valid",
                 output_padding: Any = None, data_format: str | None = None, dilation_rate: Any = 1,
                 activation: Any = None, use_bias: bool = True, **kwargs: Any) -> None:
        super().__init__(filters, kernel_size, strides, padding, data_format, dilation_rate, 1, activation, use_bias,
                         **kwargs)
        self.output_padding = None
        if output_padding is not None:
            pads = [output_padding] * self.rank if isinstance(output_padding, (int, np.integer)) else output_padding
            self.output_padding = tuple(int(p) for p in pads)
            if len(self.output_padding) != self.rank or any(not 0 <= p < s for p, s in
                                                            zip(self.output_padding, self.strides)):
                raise ValueError(f"{type(self).__name__} '{self.name}': output_padding must be {self.rank} ints in "
                                 f"[0, stride) for strides {self.strides}, got {output_padding!r}")

    def _kernel_shape(self, channels: int) -> tuple[int, ...]:
        return self.kernel_size + (self.filters, channels)

    def _convolve(self, inputs):
        fn = conv2d_transpose if self.rank == 2 else conv1d_transpose
        return fn(inputs, self.kernel, self.bias, self.strides, self.padding, self.output_padding, self.dilation_rate,
                  self._op_activation, self.data_format)

    def compute_output_shape(self, input_shape):
        check_rank(self, self.rank, input_shape)
        shape = tuple(input_shape)
        first = self.data_format == "channels_first"
        sizes = shape[2:] if first else shape[1:-1]
        pads = self.output_padding or (None,) * self.rank
        out = tuple(None if s is None else transpose_output_length(s, k, st, d, self.padding, p)
                    for s, k, st, d, p in zip(sizes, self.kernel_size, self.strides, self.dilation_rate, pads))
        return (shape[0], self.filters) + out if first else (shape[0],) + out + (self.filters,)

    def get_config(self):
        config = super().get_config()
        del config["groups"]
        config["output_padding"] = None if self.output_padding is None else list(self.output_padding)
        return config


class Conv1DTranspose(Conv2DTranspose):
    """Transposed 1-D convolution over sequences; kernel (k, filters, in)."""

    rank = 1


class DepthwiseConv2D(_Conv):
    """Each input channel convolved with its own `depth_multiplier` filters (MobileNet's building block).

    Kernel (kh, kw, channels, depth_multiplier); output channel c * depth_multiplier + m comes from
    channel c's m-th filter, as in Keras.
    """

    rank = 2

    def __init__(self, kernel_size: Any, strides: Any = 1, padding: str = "valid", depth_multiplier: int = 1,
                 data_format: str | None = None, dilation_rate: Any = 1, activation: Any = None,
                 use_bias: bool = True, depthwise_initializer: Any = "glorot_uniform",
                 bias_initializer: Any = "zeros", depthwise_regularizer: Any = None, bias_regularizer: Any = None,
                 **kwargs: Any) -> None:
        super().__init__(depth_multiplier, kernel_size, strides, padding, data_format, dilation_rate, 1, activation,
                         use_bias, depthwise_initializer, bias_initializer, depthwise_regularizer, bias_regularizer,
                         **kwargs)
        self.depth_multiplier = self.filters

    def _kernel_shape(self, channels: int) -> tuple[int, ...]:
        return self.kernel_size + (channels, self.depth_multiplier)

    def build(self, input_shape):
        check_rank(self, self.rank, input_shape)
        channels = input_shape[self._channel_axis]
        if channels is None:
            raise ValueError(f"DepthwiseConv2D '{self.name}' needs the channels axis of its input to be known, "
                             f"got shape {tuple(input_shape)}")
        self.compute_output_shape(input_shape)
        self.kernel = self.add_weight("kernel", self._kernel_shape(channels), self.kernel_initializer,
                                      self.kernel_regularizer)
        self.bias = (self.add_weight("bias", (channels * self.depth_multiplier,), self.bias_initializer,
                                     self.bias_regularizer) if self.use_bias else None)
        self.input_spec = InputSpec(ndim=4, axes={self._channel_axis: channels}, hint=LAYOUTS[(2, self.data_format)])

    def _convolve(self, inputs):
        return depthwise_conv2d(inputs, self.kernel, self.bias, self.strides, self.padding, self.dilation_rate,
                                self._op_activation, self.data_format)

    def compute_output_shape(self, input_shape):
        check_rank(self, self.rank, input_shape)
        channels = input_shape[self._channel_axis]
        out_channels = None if channels is None else channels * self.depth_multiplier
        return spatial_output_shape(self, input_shape, self.kernel_size, self.strides, self.dilation_rate,
                                    self.padding, out_channels)

    def get_config(self):
        config = super().get_config()
        for key in ("filters", "groups"):
            del config[key]
        config["depth_multiplier"] = self.depth_multiplier
        config["depthwise_initializer"] = config.pop("kernel_initializer")
        config["depthwise_regularizer"] = config.pop("kernel_regularizer")
        return config


class SeparableConv2D(_Conv):
    """A depthwise convolution (spatial, per channel) followed by a 1x1 convolution (mixing channels).

    Far fewer weights than Conv2D for the same output: kh*kw*C*dm + C*dm*filters (+ filters).
    """

    rank = 2

    def __init__(self, filters: int, kernel_size: Any, strides: Any = 1, padding: str = "valid",
                 data_format: str | None = None, dilation_rate: Any = 1, depth_multiplier: int = 1,
                 activation: Any = None, use_bias: bool = True, depthwise_initializer: Any = "glorot_uniform",
                 pointwise_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 depthwise_regularizer: Any = None, pointwise_regularizer: Any = None, bias_regularizer: Any = None,
                 **kwargs: Any) -> None:
        from .. import initializers, regularizers

        super().__init__(filters, kernel_size, strides, padding, data_format, dilation_rate, 1, activation, use_bias,
                         pointwise_initializer, bias_initializer, pointwise_regularizer, bias_regularizer, **kwargs)
        if isinstance(depth_multiplier, bool) or not isinstance(depth_multiplier, (int, np.integer)) \
                or depth_multiplier < 1:
            raise ValueError(f"SeparableConv2D '{self.name}': depth_multiplier must be a positive integer, "
                             f"got {depth_multiplier!r}")
        self.depth_multiplier = int(depth_multiplier)
        self.depthwise_initializer = initializers.get(depthwise_initializer)
        self.depthwise_regularizer = regularizers.get(depthwise_regularizer)

    def build(self, input_shape):
        check_rank(self, self.rank, input_shape)
        channels = input_shape[self._channel_axis]
        if channels is None:
            raise ValueError(f"SeparableConv2D '{self.name}' needs the channels axis of its input to be known, "
                             f"got shape {tuple(input_shape)}")
        self.compute_output_shape(input_shape)
        mid = channels * self.depth_multiplier
        self.depthwise_kernel = self.add_weight("depthwise_kernel", self.kernel_size + (channels,
                                                self.depth_multiplier), self.depthwise_initializer,
                                                self.depthwise_regularizer)
        self.pointwise_kernel = self.add_weight("pointwise_kernel", (1, 1, mid, self.filters),
                                                self.kernel_initializer, self.kernel_regularizer)
        self.bias = (self.add_weight("bias", (self.filters,), self.bias_initializer, self.bias_regularizer)
                     if self.use_bias else None)
        self.input_spec = InputSpec(ndim=4, axes={self._channel_axis: channels}, hint=LAYOUTS[(2, self.data_format)])

    def _convolve(self, inputs):
        mid = depthwise_conv2d(inputs, self.depthwise_kernel, None, self.strides, self.padding, self.dilation_rate,
                               None, self.data_format)
        return conv2d(mid, self.pointwise_kernel, self.bias, 1, "valid", 1, 1, self._op_activation, self.data_format)

    def get_config(self):
        from .. import initializers, regularizers

        config = super().get_config()
        del config["groups"]
        config["depth_multiplier"] = self.depth_multiplier
        config["pointwise_initializer"] = config.pop("kernel_initializer")
        config["pointwise_regularizer"] = config.pop("kernel_regularizer")
        config["depthwise_initializer"] = serialize_object(self.depthwise_initializer, initializers)
        config["depthwise_regularizer"] = serialize_object(self.depthwise_regularizer, regularizers)
        return config


class SpatialDropout2D(Dropout):
    """Dropout of whole feature maps: each (sample, channel) is kept or zeroed entirely while training.

    Neighbouring pixels of a map are strongly correlated, so dropping single pixels barely regularizes
    a convolutional net; dropping entire channels does.
    """

    rank = 2

    def __init__(self, rate: float, data_format: str | None = None, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(rate, seed=seed, **kwargs)
        self.data_format = normalize_data_format(data_format, f"{type(self).__name__} '{self.name}'")
        self.input_spec = InputSpec(ndim=self.rank + 2, hint=LAYOUTS[(self.rank, self.data_format)])

    def call(self, inputs, training=False):
        if not training or self.rate == 0:
            return inputs
        x = inputs.data
        axis = 1 if self.data_format == "channels_first" else x.ndim - 1
        shape = [n if i in (0, axis) else 1 for i, n in enumerate(x.shape)]  # one draw per sample and map
        keep = (self._rng or get_rng()).random(shape, dtype=np.float32) >= self.rate
        return DropoutMask(keep.astype(x.dtype) * x.dtype.type(1 / (1 - self.rate)))(inputs)

    def get_config(self):
        config = super().get_config()
        del config["noise_shape"]
        return {**config, "data_format": self.data_format}


class SpatialDropout1D(SpatialDropout2D):
    """Dropout of whole channels of (batch, steps, channels) sequences."""

    rank = 1

    def __init__(self, rate: float, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(rate, None, seed=seed, **kwargs)

    def get_config(self):
        config = super().get_config()
        del config["data_format"]
        return config


Convolution1D, Convolution2D, Convolution2DTranspose = Conv1D, Conv2D, Conv2DTranspose
