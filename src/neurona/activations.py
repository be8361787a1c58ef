"""Activation functions by their Keras names: each takes a Tensor and returns a Tensor.

`get("relu")` gives the function, `serialize(fn)` gives its name back. Layers look the name up in
`neurona.ops.nn.FUSED_ACTIVATIONS` to fold relu/sigmoid/tanh/softmax into the dense op itself.

>>> import neurona as nr
>>> from neurona import activations
>>> activations.get("relu")(nr.tensor([-1.0, 2.0])).tolist()
[0.0, 2.0]
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from . import ops, registry
from .tensor import Tensor, as_tensor

Activation = Callable[..., Tensor]


def linear(x: Any) -> Tensor:
    """The identity: Dense without activation is a linear model."""
    return as_tensor(x)


def relu(x: Any, negative_slope: float = 0.0, max_value: float | None = None, threshold: float = 0.0) -> Tensor:
    """max(x, 0); Keras's options: a slope below `threshold`, and a cap at `max_value`."""
    if max_value is None and threshold == 0.0:
        return ops.leaky_relu(x, negative_slope) if negative_slope else ops.relu(x)
    x = as_tensor(x)
    y = ops.where(x.data > threshold, x, 0.0)
    if max_value is not None:
        y = ops.clip(y, 0.0, max_value)
    if negative_slope:
        # constants in x's dtype: a Python float would become a float32 tensor and lose float64 precision
        below = ops.relu(np.asarray(threshold, x.dtype) - x)
        y = y - below * np.asarray(negative_slope, x.dtype)
    return y


def relu6(x: Any) -> Tensor:
    """min(max(x, 0), 6), the capped ReLU of mobile networks."""
    return ops.clip(ops.relu(x), None, 6.0)


def leaky_relu(x: Any, negative_slope: float = 0.2) -> Tensor:
    """x if x > 0 else negative_slope * x (Keras's default slope 0.2)."""
    return ops.leaky_relu(x, negative_slope)


def sigmoid(x: Any) -> Tensor:
    """1 / (1 + e^-x): squashes to (0, 1), the output of binary classifiers."""
    return ops.sigmoid(x)


def hard_sigmoid(x: Any) -> Tensor:
    """Piecewise-linear sigmoid, clip(x / 6 + 0.5, 0, 1) as in Keras 3."""
    return ops.clip(as_tensor(x) / 6.0 + 0.5, 0.0, 1.0)


def tanh(x: Any) -> Tensor:
    """Hyperbolic tangent: squashes to (-1, 1)."""
    return ops.tanh(x)


def softmax(x: Any, axis: int = -1) -> Tensor:
    """Exponentials normalised to sum 1 along `axis`: class probabilities."""
    return ops.softmax(x, axis)


def log_softmax(x: Any, axis: int = -1) -> Tensor:
    """log(softmax(x)), computed stably."""
    return ops.log_softmax(x, axis)


def elu(x: Any, alpha: float = 1.0) -> Tensor:
    """x if x > 0 else alpha * (e^x - 1)."""
    return ops.elu(x, alpha)


def selu(x: Any) -> Tensor:
    """Scaled ELU with the self-normalising constants."""
    return ops.selu(x)


def gelu(x: Any, approximate: bool = False) -> Tensor:
    """x * Phi(x), Phi the standard normal CDF (tanh approximation on request)."""
    return ops.gelu(x, approximate)


def softplus(x: Any) -> Tensor:
    """log(1 + e^x), a smooth ReLU."""
    return ops.softplus(x)


def softsign(x: Any) -> Tensor:
    """x / (1 + |x|), a tanh-like squashing with polynomial tails."""
    x = as_tensor(x)
    return x / (ops.abs(x) + 1.0)


def silu(x: Any) -> Tensor:
    """x * sigmoid(x), also called swish."""
    return ops.swish(x)


swish = silu


def exponential(x: Any) -> Tensor:
    """e^x."""
    return ops.exp(x)


def heaviside(x: Any) -> Tensor:
    """The perceptron's step: 1 where x >= 0, else 0 (no gradient flows through it)."""
    return ops.heaviside(x)


step = heaviside

_ALL: dict[str, Activation] = {
    fn.__name__: fn
    for fn in (linear, relu, relu6, leaky_relu, sigmoid, hard_sigmoid, tanh, softmax, log_softmax, elu, selu,
               gelu, softplus, softsign, silu, exponential, heaviside)
}
_ALIASES = {"swish": "silu", "step": "heaviside", "None": "linear"}
for _fn in _ALL.values():
    registry.register("activation", _fn)
for _alias, _name in _ALIASES.items():
    registry.alias("activation", _alias, _ALL[_name])


def register_activation(fn: Activation, name: str | None = None) -> Activation:
    """Make `fn` (Tensor -> Tensor) known to `get()` and configs by its name, as neurona's own activations are."""
    return registry.register("activation", fn, name=name)


def deserialize(name: str | dict, custom_objects: dict[str, Activation] | None = None) -> Activation:
    """The activation called `name` (a string, or a Keras-style {"class_name": ...} dict)."""
    if isinstance(name, dict):
        name = name.get("config", name.get("class_name"))
    if custom_objects and name in custom_objects:
        return custom_objects[name]
    fn = registry.lookup("activation", name) if isinstance(name, str) else None
    if fn is None:
        raise ValueError(f"unknown activation {name!r}; known activations: {', '.join(sorted(_ALL))}, swish, step")
    return fn


def get(identifier: str | dict | Activation | None) -> Activation:
    """An activation function from a name, a config dict, a callable, or None (linear)."""
    if identifier is None:
        return linear
    if isinstance(identifier, (str, dict)):
        return deserialize(identifier)
    if callable(identifier):
        return identifier
    raise TypeError(f"could not interpret activation {identifier!r} (type {type(identifier).__name__}); "
                    f"pass a name such as 'relu' or a function Tensor -> Tensor")


def serialize(activation: Activation | str | None) -> str:
    """The name under which `activation` is stored in configs ('linear' for None)."""
    if activation is None:
        return "linear"
    if isinstance(activation, str):
        return _ALIASES.get(activation, activation)
    name = getattr(activation, "__name__", None)
    if name is None:
        raise ValueError(f"activation {activation!r} has no __name__ to serialize it by")
    return name


__all__ = ["deserialize", "get", "register_activation", "serialize", *sorted(_ALL), "step", "swish"]
