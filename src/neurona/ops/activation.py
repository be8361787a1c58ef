"""The activation functions of the slides, as differentiable ops.

Most gradients are written from the output `y` (sigmoid: y(1-y), tanh: 1-y²), which is what
lets `dense()` fuse the activation into the layer's own backward.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import numerics
from ..tensor import Function, Tensor, as_tensor

SELU_ALPHA = 1.6732632423543772
SELU_SCALE = 1.0507009873554805


# Kernels in neurona.numerics; re-exported here because the fused ops and older imports read them here.
_sigmoid = numerics.sigmoid
relu_backward = numerics.relu_backward
sigmoid_backward = numerics.sigmoid_backward
tanh_backward = numerics.tanh_backward
softmax_backward = numerics.softmax_backward


def _erf(x: np.ndarray) -> np.ndarray:
    try:
        from scipy.special import erf
    except ImportError:  # scipy is optional; math.erf is exact but slower
        return np.frompyfunc(math.erf, 1, 1)(x).astype(x.dtype)
    return erf(x).astype(x.dtype, copy=False)


class Heaviside(Function):
    """Step function of the perceptron: 1 where x >= 0, else 0.

    Its true derivative is 0 almost everywhere, so by default no gradient flows (use the
    perceptron rule to train it). With `straight_through=True` the backward pretends the
    step was the identity, the "straight-through estimator".
    """

    def __init__(self, straight_through: bool = False) -> None:
        self.straight_through = straight_through

    def forward(self, x):
        return (x >= 0).astype(x.dtype)

    def backward(self, gy):
        return gy if self.straight_through else np.zeros_like(gy)


class Sigmoid(Function):
    def forward(self, x):
        self.y = _sigmoid(x)
        return self.y

    def backward(self, gy):
        return sigmoid_backward(gy, self.y)


class Tanh(Function):
    def forward(self, x):
        self.y = np.tanh(x)
        return self.y

    def backward(self, gy):
        return tanh_backward(gy, self.y)


class ReLU(Function):
    def forward(self, x):
        self.y = np.maximum(x, 0)
        return self.y

    def backward(self, gy):
        return relu_backward(gy, self.y)


class LeakyReLU(Function):
    def __init__(self, negative_slope: float) -> None:
        self.slope = negative_slope

    def forward(self, x):
        self.pos = x > 0
        return np.where(self.pos, x, x * self.slope)

    def backward(self, gy):
        return np.where(self.pos, gy, gy * self.slope)


class PReLU(Function):
    """x where x > 0, else alpha * x, with a learned `alpha` (broadcast against x, e.g. one per channel)."""

    def forward(self, x, alpha):
        self.x, self.alpha = x, alpha
        return np.where(x > 0, x, alpha * x)

    def backward(self, gy):
        x = self.x
        gx = gy * np.where(x > 0, 1, self.alpha)
        # d/d(alpha) is x on the negative side; the engine sums it down to alpha's (shared) shape
        galpha = gy * np.minimum(x, 0)
        return gx, galpha


class ELU(Function):
    def __init__(self, alpha: float = 1.0, scale: float = 1.0) -> None:
        self.alpha, self.scale = alpha, scale

    def forward(self, x):
        self.pos = x > 0
        self.neg = self.alpha * np.expm1(np.minimum(x, 0))
        return self.scale * np.where(self.pos, x, self.neg)

    def backward(self, gy):
        return self.scale * gy * np.where(self.pos, 1, self.neg + self.alpha)


class GELU(Function):
    """Gaussian error linear unit, exact (erf) or with the tanh approximation."""

    def __init__(self, approximate: bool = False) -> None:
        self.approximate = approximate

    def forward(self, x):
        self.x = x
        if self.approximate:
            c = math.sqrt(2 / math.pi)
            self.t = np.tanh(c * (x + 0.044715 * x**3))
            return 0.5 * x * (1 + self.t)
        self.cdf = 0.5 * (1 + _erf(x / math.sqrt(2)))
        return x * self.cdf

    def backward(self, gy):
        x = self.x
        if self.approximate:
            c = math.sqrt(2 / math.pi)
            dt = (1 - self.t**2) * c * (1 + 3 * 0.044715 * x**2)
            return gy * (0.5 * (1 + self.t) + 0.5 * x * dt)
        pdf = np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)
        return gy * (self.cdf + x * pdf)


class Softplus(Function):
    def forward(self, x):
        self.x = x
        return numerics.softplus(x)

    def backward(self, gy):
        return gy * _sigmoid(self.x)


class Swish(Function):
    def forward(self, x):
        self.x = x
        self.s = _sigmoid(x)
        return x * self.s

    def backward(self, gy):
        s = self.s
        return gy * (s + self.x * s * (1 - s))


class Softmax(Function):
    def __init__(self, axis: int = -1) -> None:
        self.axis = axis

    def forward(self, x):
        self.y = numerics.softmax(x, self.axis)
        return self.y

    def backward(self, gy):
        return softmax_backward(gy, self.y, self.axis)


class LogSoftmax(Function):
    def __init__(self, axis: int = -1) -> None:
        self.axis = axis

    def forward(self, x):
        y = numerics.log_softmax(x, self.axis)
        self.p = np.exp(y)
        return y

    def backward(self, gy):
        return gy - self.p * gy.sum(axis=self.axis, keepdims=True)


def heaviside(x: Any, straight_through: bool = False) -> Tensor:
    """Perceptron step: 1 if x >= 0 else 0 (see `Heaviside` for its gradient)."""
    return Heaviside(straight_through)(x)


def sigmoid(x: Any) -> Tensor:
    """1 / (1 + e^-x)."""
    return Sigmoid()(x)


def tanh(x: Any) -> Tensor:
    """Hyperbolic tangent."""
    return Tanh()(x)


def relu(x: Any) -> Tensor:
    """max(x, 0)."""
    return ReLU()(x)


def leaky_relu(x: Any, negative_slope: float = 0.2) -> Tensor:
    """x if x > 0 else negative_slope * x (Keras's default slope 0.2)."""
    return LeakyReLU(negative_slope)(x)


def prelu(x: Any, alpha: Any) -> Tensor:
    """x if x > 0 else alpha * x, differentiable in both x and the (broadcastable) slopes `alpha`."""
    return PReLU()(x, alpha)


def elu(x: Any, alpha: float = 1.0) -> Tensor:
    """x if x > 0 else alpha * (e^x - 1)."""
    return ELU(alpha)(x)


def selu(x: Any) -> Tensor:
    """Scaled ELU with the self-normalising constants."""
    return ELU(SELU_ALPHA, SELU_SCALE)(x)


def gelu(x: Any, approximate: bool = False) -> Tensor:
    """x * Phi(x), Phi the standard normal CDF."""
    return GELU(approximate)(x)


def softplus(x: Any) -> Tensor:
    """log(1 + e^x), computed stably."""
    return Softplus()(x)


def swish(x: Any) -> Tensor:
    """x * sigmoid(x) (also called SiLU)."""
    return Swish()(x)


silu = swish


def softmax(x: Any, axis: int = -1) -> Tensor:
    """Exponentials normalised to sum 1 along `axis`."""
    return Softmax(axis)(x)


def log_softmax(x: Any, axis: int = -1) -> Tensor:
    """log(softmax(x)), computed stably."""
    return LogSoftmax(axis)(x)


def linear(x: Any) -> Tensor:
    """The identity (Keras's 'linear' activation)."""
    return as_tensor(x)
