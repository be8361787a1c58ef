"""One converter per layer type: the ONNX nodes that compute what the layer computes at inference.

Each converter gets the builder, the layer and its input Value(s) and returns its output Value. Kernels
change layout on the way (Keras HWIO -> ONNX OIHW); 'same' padding becomes explicit pads (TensorFlow's
rule: the odd pixel after) when the image size is known, ONNX's SAME_UPPER (the same rule) when it is not.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..ops.conv import padding_amounts
from .onnx_graph import GraphBuilder, Value

Converter = Callable[[GraphBuilder, Any, Any, tuple], Value]
CONVERTERS: dict[str, Converter] = {}


def converts(*class_names: str) -> Callable[[Converter], Converter]:
    def register(fn: Converter) -> Converter:
        for name in class_names:
            CONVERTERS[name] = fn
        return fn

    return register


class ExportError(ValueError):
    """The model holds something ONNX export does not support; the message names the layer."""


# ------------------------------------------------------------------------------------------------ activations
def _activation_name(layer: Any, fn: Any) -> str:
    from .. import activations

    try:
        name = activations.serialize(fn)
    except ValueError:
        name = None
    if name not in _ACTIVATIONS:
        raise ExportError(f"layer '{layer.name}': activation {name or fn!r} cannot be exported to ONNX "
                          f"(supported: {', '.join(sorted(_ACTIVATIONS))})")
    return name


def _softmax_like(op: str) -> Callable[[GraphBuilder, Value, str], Value]:
    def emit(g: GraphBuilder, v: Value, hint: str) -> Value:
        return Value(g.op(op, [g.logical(v, hint)], hint, axis=-1), v.rank)  # over neurona's last axis

    return emit


def _unary(op: str, **attrs: Any) -> Callable[[GraphBuilder, Value, str], Value]:
    def emit(g: GraphBuilder, v: Value, hint: str) -> Value:
        return Value(g.op(op, [v.name], hint, **attrs), v.rank, v.permuted)

    return emit


def _relu6(g: GraphBuilder, v: Value, hint: str) -> Value:
    lo, hi = g.const(f"{hint}/min", 0.0), g.const(f"{hint}/max", 6.0)
    return Value(g.op("Clip", [v.name, lo, hi], hint), v.rank, v.permuted)


def _silu(g: GraphBuilder, v: Value, hint: str) -> Value:
    s = g.op("Sigmoid", [v.name], f"{hint}/sigmoid")
    return Value(g.op("Mul", [v.name, s], hint), v.rank, v.permuted)


def _gelu(g: GraphBuilder, v: Value, hint: str) -> Value:
    # 0.5 x (1 + erf(x / sqrt 2)), Keras's default (exact) GELU
    scaled = g.op("Mul", [v.name, g.const(f"{hint}/rsqrt2", 1 / np.sqrt(2.0))], f"{hint}/scaled")
    one_plus = g.op("Add", [g.op("Erf", [scaled], f"{hint}/erf"), g.const(f"{hint}/one", 1.0)], f"{hint}/1p")
    half_x = g.op("Mul", [v.name, g.const(f"{hint}/half", 0.5)], f"{hint}/half_x")
    return Value(g.op("Mul", [half_x, one_plus], hint), v.rank, v.permuted)


def _heaviside(g: GraphBuilder, v: Value, hint: str) -> Value:
    ge = g.op("GreaterOrEqual", [v.name, g.const(f"{hint}/zero", 0.0)], f"{hint}/ge")
    to = g.onnx.helper.np_dtype_to_tensor_dtype(g.dtype)
    return Value(g.op("Cast", [ge], hint, to=to), v.rank, v.permuted)


_ACTIVATIONS: dict[str, Callable[[GraphBuilder, Value, str], Value] | None] = {
    "linear": None, "relu": _unary("Relu"), "relu6": _relu6, "sigmoid": _unary("Sigmoid"), "tanh": _unary("Tanh"),
    "softmax": _softmax_like("Softmax"), "log_softmax": _softmax_like("LogSoftmax"), "elu": _unary("Elu", alpha=1.0),
    "selu": _unary("Selu"), "softplus": _unary("Softplus"), "softsign": _unary("Softsign"),
    "exponential": _unary("Exp"), "leaky_relu": _unary("LeakyRelu", alpha=0.2),
    "hard_sigmoid": _unary("HardSigmoid", alpha=1 / 6, beta=0.5), "silu": _silu, "gelu": _gelu,
    "heaviside": _heaviside,
}


def apply_activation(g: GraphBuilder, layer: Any, fn: Any, v: Value) -> Value:
    emit = _ACTIVATIONS[_activation_name(layer, fn)]
    return v if emit is None else emit(g, v, f"{layer.name}/activation")


@converts("Activation")
def _activation_layer(g, layer, v, shapes):
    return apply_activation(g, layer, layer.activation, v)



@converts("ReLU")
def _relu_layer(g, layer, v, shapes):
    if layer.threshold != 0:
        raise ExportError(f"ReLU '{layer.name}': threshold={layer.threshold} cannot be exported to ONNX")
    if layer.negative_slope:
        out = g.op("LeakyRelu", [v.name], f"{layer.name}/leaky", alpha=layer.negative_slope)
    else:
        out = g.op("Relu", [v.name], f"{layer.name}/relu")
    if layer.max_value is not None:  # x > 0: min(x, max); the negative side is already <= 0 <= max
        out = g.op("Min", [out, g.const(f"{layer.name}/max", layer.max_value)], layer.name)
    return Value(out, v.rank, v.permuted)


@converts("LeakyReLU")
def _leaky_relu_layer(g, layer, v, shapes):
    return _unary("LeakyRelu", alpha=layer.negative_slope)(g, v, layer.name)


@converts("ELU")
def _elu_layer(g, layer, v, shapes):
    return _unary("Elu", alpha=layer.alpha)(g, v, layer.name)


@converts("Softmax")
def _softmax_layer(g, layer, v, shapes):
    if layer.axis not in (-1, len(shapes) - 1):
        raise ExportError(f"Softmax '{layer.name}': only the last axis can be exported, got axis={layer.axis}")
    return _softmax_like("Softmax")(g, v, layer.name)

@converts("Dropout", "SpatialDropout1D", "SpatialDropout2D", "GaussianNoise", "GaussianDropout", "AlphaDropout")
def _identity(g, layer, v, shapes):
    return v  # inference: these layers pass their input through


@converts("Rescaling")
def _rescaling(g, layer, v, shapes):
    out = g.op("Mul", [v.name, g.const(f"{layer.name}/scale", layer.scale)], f"{layer.name}/scaled")
    if layer.offset:
        out = g.op("Add", [out, g.const(f"{layer.name}/offset", layer.offset)], layer.name)
    return Value(out, v.rank, v.permuted)


# ------------------------------------------------------------------------------------------------ dense, shapes
@converts("Dense")
def _dense(g, layer, v, shapes):
    x = g.logical(v, layer.name)
    kernel = g.const(f"{layer.name}/kernel", layer.kernel.data)
    if v.rank == 2:
        inputs = [x, kernel] + ([g.const(f"{layer.name}/bias", layer.bias.data)] if layer.bias is not None else [])
        out = g.op("Gemm", inputs, f"{layer.name}/dense")
    else:
        out = g.op("MatMul", [x, kernel], f"{layer.name}/matmul")
        if layer.bias is not None:
            out = g.op("Add", [out, g.const(f"{layer.name}/bias", layer.bias.data)], f"{layer.name}/dense")
    return apply_activation(g, layer, layer.activation, Value(out, v.rank))


@converts("Flatten")
def _flatten(g, layer, v, shapes):
    if getattr(layer, "data_format", "channels_last") != "channels_last":
        raise ExportError(f"Flatten '{layer.name}': data_format='channels_first' is not supported by the exporter")
    return Value(g.op("Flatten", [g.logical(v, layer.name)], layer.name, axis=1), 2)


@converts("Reshape")
def _reshape(g, layer, v, shapes):
    shape = g.ints(f"{layer.name}/shape", [0] + list(layer.target_shape))  # 0 keeps the (dynamic) batch size
    return Value(g.op("Reshape", [g.logical(v, layer.name), shape], layer.name), 1 + len(layer.target_shape))


@converts("Permute")
def _permute(g, layer, v, shapes):
    return Value(g.op("Transpose", [g.logical(v, layer.name)], layer.name, perm=[0] + list(layer.dims)), v.rank)


# ------------------------------------------------------------------------------------------------ convolutions
def _check_channels_last(layer: Any) -> None:
    if getattr(layer, "data_format", "channels_last") != "channels_last":
        raise ExportError(f"{type(layer).__name__} '{layer.name}': data_format='channels_first' is not supported "
                          f"by the exporter")


def _pads(layer: Any, shape: tuple, kernel: tuple, strides: tuple, dilation: tuple) -> dict[str, Any]:
    """ONNX pads (begins then ends) for the layer's padding, or auto_pad when the image size is unknown."""
    if layer.padding == "valid":
        return {"pads": [0] * (2 * len(kernel))}
    sizes = shape[1:-1]
    if any(s is None for s in sizes):
        return {"auto_pad": "SAME_UPPER"}  # TensorFlow's 'same': the odd pixel goes after
    amounts = padding_amounts(sizes, kernel, strides, dilation, "same")
    return {"pads": [a for a, _ in amounts] + [b for _, b in amounts]}


def _conv(g: GraphBuilder, layer: Any, x: str, shape: tuple, weight: np.ndarray, bias: Any, group: int,
          strides: tuple, dilation: tuple, hint: str) -> str:
    inputs = [x, g.const(f"{hint}/weight", weight)]
    if bias is not None:
        inputs.append(g.const(f"{hint}/bias", bias.data))
    kernel = tuple(weight.shape[2:])
    return g.op("Conv", inputs, hint, kernel_shape=list(kernel), strides=list(strides), dilations=list(dilation),
                group=group, **_pads(layer, shape, kernel, strides, dilation))


@converts("Conv2D", "Conv1D")
def _conv2d(g, layer, v, shapes):
    _check_channels_last(layer)
    if layer.padding == "causal":
        raise ExportError(f"{type(layer).__name__} '{layer.name}': padding='causal' is not supported by the exporter")
    k = layer.kernel.data
    weight = np.moveaxis(k, (-1, -2), (0, 1))  # (*kernel, in, out) -> (out, in, *kernel)
    out = _conv(g, layer, g.first(v, layer.name), shapes, weight, layer.bias, layer.groups, layer.strides,
                layer.dilation_rate, f"{layer.name}/conv")
    return apply_activation(g, layer, layer.activation, Value(out, v.rank, permuted=True))


def _depthwise_weight(kernel: np.ndarray) -> np.ndarray:
    kh, kw, c, m = kernel.shape
    # output channel c * m + j comes from kernel[:, :, c, j]: ONNX wants (C*m, 1, kh, kw) in that order
    return kernel.reshape(kh, kw, c * m).transpose(2, 0, 1)[:, None]


@converts("DepthwiseConv2D")
def _depthwise(g, layer, v, shapes):
    _check_channels_last(layer)
    weight = _depthwise_weight(layer.kernel.data)
    out = _conv(g, layer, g.first(v, layer.name), shapes, weight, layer.bias, layer.kernel.shape[2], layer.strides,
                layer.dilation_rate, f"{layer.name}/depthwise")
    return apply_activation(g, layer, layer.activation, Value(out, v.rank, permuted=True))


@converts("SeparableConv2D")
def _separable(g, layer, v, shapes):
    _check_channels_last(layer)
    weight = _depthwise_weight(layer.depthwise_kernel.data)
    mid = _conv(g, layer, g.first(v, layer.name), shapes, weight, None, layer.depthwise_kernel.shape[2],
                layer.strides, layer.dilation_rate, f"{layer.name}/depthwise")
    pointwise = np.moveaxis(layer.pointwise_kernel.data, (-1, -2), (0, 1))
    inputs = [mid, g.const(f"{layer.name}/pointwise", pointwise)]
    if layer.bias is not None:
        inputs.append(g.const(f"{layer.name}/bias", layer.bias.data))
    out = g.op("Conv", inputs, f"{layer.name}/pointwise_conv", kernel_shape=[1, 1])
    return apply_activation(g, layer, layer.activation, Value(out, v.rank, permuted=True))


# ------------------------------------------------------------------------------------------------ pooling
@converts("MaxPooling2D", "AveragePooling2D", "SumPooling2D", "MaxPooling1D", "AveragePooling1D")
def _pool(g, layer, v, shapes):
    _check_channels_last(layer)
    kind = type(layer).__name__
    attrs = dict(kernel_shape=list(layer.pool_size), strides=list(layer.strides),
                 **_pads(layer, shapes, layer.pool_size, layer.strides, (1,) * len(layer.pool_size)))
    x = g.first(v, layer.name)
    if kind.startswith("Max"):
        return Value(g.op("MaxPool", [x], f"{layer.name}/pool", **attrs), v.rank, permuted=True)
    # Keras's average over 'same' windows counts only real pixels; a sum counts the zeros too (they add 0)
    out = g.op("AveragePool", [x], f"{layer.name}/pool", count_include_pad=int(kind == "SumPooling2D"), **attrs)
    if kind == "SumPooling2D":
        out = g.op("Mul", [out, g.const(f"{layer.name}/window", float(np.prod(layer.pool_size)))], layer.name)
    return Value(out, v.rank, permuted=True)


@converts("GlobalAveragePooling2D", "GlobalMaxPooling2D", "GlobalAveragePooling1D", "GlobalMaxPooling1D")
def _global_pool(g, layer, v, shapes):
    _check_channels_last(layer)
    op = "GlobalMaxPool" if "Max" in type(layer).__name__ else "GlobalAveragePool"
    out = g.op(op, [g.first(v, layer.name)], f"{layer.name}/pool")  # (N, C, 1, 1)
    if layer.keepdims:
        return Value(out, v.rank, permuted=True)
    return Value(g.op("Flatten", [out], layer.name, axis=1), 2)


# ------------------------------------------------------------------------------------------------ normalization
@converts("BatchNormalization")
def _batch_norm(g, layer, v, shapes):
    axes = sorted({int(a) % v.rank for a in (layer.axis if isinstance(layer.axis, list) else [layer.axis])})
    if axes != [v.rank - 1]:
        raise ExportError(f"BatchNormalization '{layer.name}': only the last (channels) axis can be exported, "
                          f"got axis={layer.axis}")
    c = layer.moving_mean.shape[0]
    gamma = layer.gamma.data if layer.gamma is not None else np.ones(c)
    beta = layer.beta.data if layer.beta is not None else np.zeros(c)
    inputs = [g.first(v, layer.name), g.const(f"{layer.name}/gamma", gamma), g.const(f"{layer.name}/beta", beta),
              g.const(f"{layer.name}/mean", layer.moving_mean.data),
              g.const(f"{layer.name}/variance", layer.moving_variance.data)]
    return Value(g.op("BatchNormalization", inputs, layer.name, epsilon=layer.epsilon), v.rank, permuted=v.rank >= 3)


# ------------------------------------------------------------------------------------------------ borders
def _spatial_axes(v: Value, permuted: bool, n: int) -> list[int]:
    return list(range(2, 2 + n)) if permuted else list(range(1, 1 + n))


@converts("ZeroPadding2D", "ZeroPadding1D")
def _zero_padding(g, layer, v, shapes):
    _check_channels_last(layer)
    permuted = v.permuted
    begins, ends = [0] * v.rank, [0] * v.rank
    for axis, (lo, hi) in zip(_spatial_axes(v, permuted, len(layer.amounts)), layer.amounts):
        begins[axis], ends[axis] = lo, hi
    out = g.op("Pad", [v.name, g.ints(f"{layer.name}/pads", begins + ends)], layer.name, mode="constant")
    return Value(out, v.rank, permuted)


@converts("Cropping2D", "Cropping1D")
def _cropping(g, layer, v, shapes):
    _check_channels_last(layer)
    axes = _spatial_axes(v, v.permuted, len(layer.amounts))
    starts = [lo for lo, _ in layer.amounts]
    ends = [-hi if hi else np.iinfo(np.int64).max for _, hi in layer.amounts]
    inputs = [v.name, g.ints(f"{layer.name}/starts", starts), g.ints(f"{layer.name}/ends", ends),
              g.ints(f"{layer.name}/axes", axes)]
    return Value(g.op("Slice", inputs, layer.name), v.rank, v.permuted)


# ------------------------------------------------------------------------------------------------ merging
def _same_form(g: GraphBuilder, layer: Any, values: list[Value]) -> tuple[list[str], bool]:
    """The inputs in one form: channels-first if all already are (and share a rank), else logical."""
    permuted = all(v.permuted for v in values) and len({v.rank for v in values}) == 1
    names = [g.first(v, layer.name) if permuted else g.logical(v, layer.name) for v in values]
    return names, permuted


_VARIADIC = {"Add": "Sum", "Average": "Mean", "Maximum": "Max", "Minimum": "Min"}


@converts("Add", "Average", "Maximum", "Minimum", "Multiply", "Subtract")
def _merge(g, layer, values, shapes):
    names, permuted = _same_form(g, layer, values)
    rank = max(v.rank for v in values)
    kind = type(layer).__name__
    if kind in _VARIADIC:
        return Value(g.op(_VARIADIC[kind], names, layer.name), rank, permuted)
    out = names[0]
    for i, name in enumerate(names[1:]):
        out = g.op("Sub" if kind == "Subtract" else "Mul", [out, name], f"{layer.name}/{i}")
    return Value(out, rank, permuted)


@converts("Concatenate")
def _concatenate(g, layer, values, shapes):
    names, permuted = _same_form(g, layer, values)
    rank = values[0].rank
    axis = layer.axis % rank
    if permuted:  # where the logical axis sits in (N, C, d1, ...)
        axis = 1 if axis == rank - 1 else (axis + 1 if axis > 0 else 0)
    return Value(g.op("Concat", names, layer.name, axis=axis), rank, permuted)
