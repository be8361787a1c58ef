"""Differentiable operations on tensors; each is a forward and a backward in plain NumPy."""

from .activation import (
    elu,
    gelu,
    heaviside,
    leaky_relu,
    linear,
    log_softmax,
    relu,
    selu,
    sigmoid,
    silu,
    softmax,
    softplus,
    swish,
    tanh,
)
from .conv import conv1d, conv1d_transpose, conv2d, conv2d_transpose, depthwise_conv2d
from .math import (
    abs,
    add,
    cast,
    clip,
    div,
    exp,
    log,
    matmul,
    max,
    maximum,
    mean,
    min,
    minimum,
    mul,
    neg,
    pow,
    sqrt,
    square,
    sub,
    sum,
    var,
    where,
)
from .nn import (
    dense,
    dropout,
    sigmoid_cross_entropy,
    softmax_cross_entropy,
    sparse_softmax_cross_entropy,
)
from .norm import batch_norm, layer_norm
from .pool import (
    avg_pool1d,
    avg_pool2d,
    global_avg_pool,
    global_max_pool,
    max_pool1d,
    max_pool2d,
    sum_pool2d,
    upsampling1d,
    upsampling2d,
)
from .shape import (
    broadcast_to,
    concatenate,
    expand_dims,
    flatten,
    getitem,
    pad,
    permute,
    reshape,
    squeeze,
    stack,
    transpose,
)

__all__ = [
    "avg_pool1d", "avg_pool2d", "batch_norm", "conv1d", "conv1d_transpose", "conv2d", "conv2d_transpose",
    "depthwise_conv2d", "global_avg_pool", "global_max_pool", "layer_norm", "max_pool1d", "max_pool2d",
    "sum_pool2d", "upsampling1d", "upsampling2d",
    "abs", "add", "broadcast_to", "cast", "clip", "concatenate", "dense", "div", "dropout", "elu",
    "exp", "expand_dims", "flatten", "gelu", "getitem", "heaviside", "leaky_relu", "linear", "log",
    "log_softmax", "matmul", "max", "maximum", "mean", "min", "minimum", "mul", "neg", "pad",
    "permute", "pow", "relu", "reshape", "selu", "sigmoid", "sigmoid_cross_entropy", "silu",
    "softmax", "softmax_cross_entropy", "softplus", "sparse_softmax_cross_entropy", "sqrt",
    "square", "squeeze", "stack", "sub", "sum", "swish", "tanh", "transpose", "var", "where",
]

# Keras 3's `keras.ops` names (NumPy, NN, linalg, math and core namespaces), in their own modules. A name
# neurona already defines keeps neurona's op, except where Keras's function replaces a submodule attribute
# (`shape`, `conv`, `norm`) or takes Keras's arguments (`reshape(x, newshape)`, `pad(x, pad_width, mode)`);
# `from neurona.ops.conv import conv2d` and the like keep working.
from . import core_api as _core_api  # noqa: E402
from . import nn_api as _nn_api  # noqa: E402
from . import numpy_api as _numpy_api  # noqa: E402
from . import shape_api as _shape_api  # noqa: E402

_KERAS_REPLACES = {"shape", "conv", "norm", "reshape", "pad"}
for _module in (_numpy_api, _shape_api, _nn_api, _core_api):
    for _name in _module.__all__:
        if _name not in __all__ or _name in _KERAS_REPLACES:
            globals()[_name] = getattr(_module, _name)
            if _name not in __all__:
                __all__.append(_name)
del _module, _name
