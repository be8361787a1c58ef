"""Elementwise arithmetic, reductions and matrix products, each with its gradient."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..tensor import Function, Tensor, as_tensor


def _axis(axis: Any) -> Any:
    return tuple(axis) if isinstance(axis, list) else axis


def _expand_reduced(g: np.ndarray, shape: tuple[int, ...], axis: Any, keepdims: bool) -> np.ndarray:
    """Reshape the gradient of a reduction so it broadcasts back over the input shape."""
    if keepdims or axis is None:
        return g.reshape([1] * len(shape)) if axis is None and not keepdims else g
    axes = (axis,) if isinstance(axis, int) else axis
    axes = sorted(a % len(shape) for a in axes)
    return np.expand_dims(g, tuple(axes))


# ----------------------------------------------------------------------- arithmetic
class Add(Function):
    def forward(self, a, b):
        return a + b

    def backward(self, gy):
        return gy, gy


class Sub(Function):
    def forward(self, a, b):
        return a - b

    def backward(self, gy):
        return gy, -gy


class Mul(Function):
    def forward(self, a, b):
        self.a, self.b = a, b
        return a * b

    def backward(self, gy):
        return gy * self.b, gy * self.a


class Div(Function):
    def forward(self, a, b):
        self.a, self.b = a, b
        return a / b

    def backward(self, gy):
        ga = gy / self.b
        return ga, -ga * self.a / self.b


class Neg(Function):
    def forward(self, x):
        return -x

    def backward(self, gy):
        return -gy


class Pow(Function):
    """`a ** b`; the gradient for `b` uses log(a), so it is defined only where a > 0."""

    def forward(self, a, b):
        self.a, self.b = a, b
        self.y = a**b
        return self.y

    def backward(self, gy):
        a, b = self.a, self.b
        ga = gy * b * a ** (b - 1)
        gb = None
        if self.inputs[1].requires_grad:
            with np.errstate(divide="ignore", invalid="ignore"):
                gb = gy * self.y * np.log(np.where(a > 0, a, 1))
        return ga, gb


class Exp(Function):
    def forward(self, x):
        self.y = np.exp(x)
        return self.y

    def backward(self, gy):
        return gy * self.y


class Log(Function):
    def forward(self, x):
        self.x = x
        return np.log(x)

    def backward(self, gy):
        return gy / self.x


class Sqrt(Function):
    def forward(self, x):
        self.y = np.sqrt(x)
        return self.y

    def backward(self, gy):
        return gy * 0.5 / self.y


class Abs(Function):
    """|x|; the gradient at 0 is taken as 0 (sign(0))."""

    def forward(self, x):
        self.x = x
        return np.abs(x)

    def backward(self, gy):
        return gy * np.sign(self.x)


class Clip(Function):
    """Values limited to [lo, hi]; gradient passes only where the input was inside."""

    def __init__(self, lo: Any, hi: Any) -> None:
        self.lo, self.hi = lo, hi

    def forward(self, x):
        self.x = x
        return np.clip(x, self.lo, self.hi)

    def backward(self, gy):
        mask = np.ones_like(self.x, dtype=bool)
        if self.lo is not None:
            mask &= self.x >= self.lo
        if self.hi is not None:
            mask &= self.x <= self.hi
        return gy * mask


class Maximum(Function):
    """Elementwise max; ties send the gradient to the first argument."""

    def forward(self, a, b):
        self.mask = a >= b
        return np.maximum(a, b)

    def backward(self, gy):
        return gy * self.mask, gy * ~self.mask


class Minimum(Function):
    """Elementwise min; ties send the gradient to the first argument."""

    def forward(self, a, b):
        self.mask = a <= b
        return np.minimum(a, b)

    def backward(self, gy):
        return gy * self.mask, gy * ~self.mask


class Where(Function):
    """`cond ? a : b` with a constant boolean condition."""

    def __init__(self, cond: np.ndarray) -> None:
        self.cond = cond

    def forward(self, a, b):
        return np.where(self.cond, a, b)

    def backward(self, gy):
        return np.where(self.cond, gy, 0), np.where(self.cond, 0, gy)


class Cast(Function):
    def __init__(self, dtype: Any) -> None:
        self.dtype = np.dtype(dtype)

    def forward(self, x):
        self.src = x.dtype
        return x.astype(self.dtype)

    def backward(self, gy):
        return gy.astype(self.src)


# ----------------------------------------------------------------------- reductions
class Sum(Function):
    def __init__(self, axis: Any, keepdims: bool) -> None:
        self.axis, self.keepdims = _axis(axis), keepdims

    def forward(self, x):
        self.shape = x.shape
        return np.sum(x, axis=self.axis, keepdims=self.keepdims)

    def backward(self, gy):
        g = _expand_reduced(gy, self.shape, self.axis, self.keepdims)
        return np.broadcast_to(g, self.shape)


class Mean(Function):
    def __init__(self, axis: Any, keepdims: bool) -> None:
        self.axis, self.keepdims = _axis(axis), keepdims

    def forward(self, x):
        self.shape = x.shape
        y = np.mean(x, axis=self.axis, keepdims=self.keepdims)
        self.n = x.size // np.size(y) if np.size(y) else 1
        return y.astype(x.dtype, copy=False)

    def backward(self, gy):
        g = _expand_reduced(gy, self.shape, self.axis, self.keepdims)
        return np.broadcast_to(g / self.n, self.shape)


class _Extreme(Function):
    """max/min; ties share the gradient equally (the subgradient NumPy's amax implies)."""

    reduce = staticmethod(np.max)

    def __init__(self, axis: Any, keepdims: bool) -> None:
        self.axis, self.keepdims = _axis(axis), keepdims

    def forward(self, x):
        self.x = x
        self.y = self.reduce(x, axis=self.axis, keepdims=True)
        return self.y if self.keepdims else np.squeeze(self.y, axis=self.axis)

    def backward(self, gy):
        g = _expand_reduced(gy, self.x.shape, self.axis, self.keepdims)
        mask = self.x == self.y
        count = mask.sum(axis=self.axis, keepdims=True)
        return g * mask / count


class Max(_Extreme):
    reduce = staticmethod(np.max)


class Min(_Extreme):
    reduce = staticmethod(np.min)


class Var(Function):
    """Population variance (ddof=0), as Keras and NumPy compute it."""

    def __init__(self, axis: Any, keepdims: bool) -> None:
        self.axis, self.keepdims = _axis(axis), keepdims

    def forward(self, x):
        self.centered = x - x.mean(axis=self.axis, keepdims=True)
        y = np.mean(self.centered**2, axis=self.axis, keepdims=self.keepdims)
        self.n = x.size // np.size(y) if np.size(y) else 1
        return y.astype(x.dtype, copy=False)

    def backward(self, gy):
        g = _expand_reduced(gy, self.centered.shape, self.axis, self.keepdims)
        return g * (2.0 / self.n) * self.centered


# ----------------------------------------------------------------------- matmul
class MatMul(Function):
    """Matrix product with NumPy's rules: 1-D operands, batches and broadcast batch axes."""

    def forward(self, a, b):
        if a.ndim == 0 or b.ndim == 0:
            raise ValueError(f"matmul needs at least 1-D operands, got shapes {a.shape} and {b.shape}")
        ka = a.shape[-1]
        kb = b.shape[-2] if b.ndim > 1 else b.shape[0]
        if ka != kb:
            raise ValueError(
                f"matmul shape mismatch: {a.shape} @ {b.shape} (inner dimensions {ka} and {kb} differ)"
            )
        self.a, self.b = a, b
        return a @ b

    def backward(self, gy):
        a, b = self.a, self.b
        if a.ndim == 1 and b.ndim == 1:  # dot product
            return gy * b, gy * a
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        if a.ndim == 1:
            gy = np.expand_dims(gy, -2)
        if b.ndim == 1:
            gy = np.expand_dims(gy, -1)
        ga = gy @ np.swapaxes(b2, -1, -2)
        gb = np.swapaxes(a2, -1, -2) @ gy
        if a.ndim == 1:
            ga = ga.reshape(ga.shape[:-2] + ga.shape[-1:])
        if b.ndim == 1:
            gb = gb.reshape(gb.shape[:-1])
        if ga.ndim > a.ndim:
            ga = ga.sum(axis=tuple(range(ga.ndim - a.ndim)))
        if gb.ndim > b.ndim:
            gb = gb.sum(axis=tuple(range(gb.ndim - b.ndim)))
        return ga, gb


# ----------------------------------------------------------------------- wrappers
def add(a: Any, b: Any) -> Tensor:
    """a + b (broadcasting)."""
    return Add()(a, b)


def sub(a: Any, b: Any) -> Tensor:
    """a - b (broadcasting)."""
    return Sub()(a, b)


def mul(a: Any, b: Any) -> Tensor:
    """a * b elementwise (broadcasting)."""
    return Mul()(a, b)


def div(a: Any, b: Any) -> Tensor:
    """a / b elementwise (broadcasting)."""
    return Div()(a, b)


def neg(x: Any) -> Tensor:
    """-x."""
    return Neg()(x)


def pow(a: Any, b: Any) -> Tensor:  # noqa: A001 - the maths name
    """a ** b elementwise."""
    return Pow()(a, b)


def exp(x: Any) -> Tensor:
    """e ** x."""
    return Exp()(x)


def log(x: Any) -> Tensor:
    """Natural logarithm."""
    return Log()(x)


def sqrt(x: Any) -> Tensor:
    """Square root."""
    return Sqrt()(x)


def abs(x: Any) -> Tensor:  # noqa: A001
    """|x|."""
    return Abs()(x)


def square(x: Any) -> Tensor:
    """x ** 2."""
    x = as_tensor(x)
    return Mul()(x, x)


def clip(x: Any, lo: Any = None, hi: Any = None) -> Tensor:
    """Limit values to [lo, hi] (either bound may be None)."""
    return Clip(lo, hi)(x)


def maximum(a: Any, b: Any) -> Tensor:
    """Elementwise maximum."""
    return Maximum()(a, b)


def minimum(a: Any, b: Any) -> Tensor:
    """Elementwise minimum."""
    return Minimum()(a, b)


def where(cond: Any, a: Any, b: Any) -> Tensor:
    """Pick `a` where `cond` is true, else `b`; `cond` is not differentiated."""
    c = cond.data if isinstance(cond, Tensor) else np.asarray(cond)
    return Where(c.astype(bool))(a, b)


def cast(x: Any, dtype: Any) -> Tensor:
    """Convert to `dtype`; gradients are converted back."""
    return Cast(dtype)(x)


def sum(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    """Sum over `axis` (all axes when None)."""
    return Sum(axis, keepdims)(x)


def mean(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:
    """Mean over `axis` (all axes when None)."""
    return Mean(axis, keepdims)(x)


def max(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    """Maximum over `axis`."""
    return Max(axis, keepdims)(x)


def min(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    """Minimum over `axis`."""
    return Min(axis, keepdims)(x)


def var(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:
    """Population variance over `axis`."""
    return Var(axis, keepdims)(x)


def matmul(a: Any, b: Any) -> Tensor:
    """Matrix product `a @ b`, batched over leading axes."""
    return MatMul()(a, b)

