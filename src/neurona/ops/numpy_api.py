"""Keras 3's `keras.ops` NumPy namespace, part 1: elementwise maths, comparisons, reductions and products.

Differentiable functions either have a hand-written derivative (`unary`, the Function classes here) or are
compositions of differentiable ops; the rest (comparisons, rounding, indices) return Tensors without gradient.
"""

from __future__ import annotations

import builtins
from typing import Any

import numpy as np

from ..tensor import Function, Tensor, as_tensor
from . import math as _m
from . import shape as _s
from ._api import arr, axis_tuple, nondiff, unary
from .activation import _erf

# ----------------------------------------------------------------------------- elementwise, differentiable
sin = unary("sin", np.sin, lambda x, y: np.cos(x), "Sine.")
cos = unary("cos", np.cos, lambda x, y: -np.sin(x), "Cosine.")
tan = unary("tan", np.tan, lambda x, y: 1 + y * y, "Tangent.")
arcsin = unary("arcsin", np.arcsin, lambda x, y: 1 / np.sqrt(1 - x * x), "Inverse sine.")
arccos = unary("arccos", np.arccos, lambda x, y: -1 / np.sqrt(1 - x * x), "Inverse cosine.")
arctan = unary("arctan", np.arctan, lambda x, y: 1 / (1 + x * x), "Inverse tangent.")
sinh = unary("sinh", np.sinh, lambda x, y: np.cosh(x), "Hyperbolic sine.")
cosh = unary("cosh", np.cosh, lambda x, y: np.sinh(x), "Hyperbolic cosine.")
arcsinh = unary("arcsinh", np.arcsinh, lambda x, y: 1 / np.sqrt(x * x + 1), "Inverse hyperbolic sine.")
arccosh = unary("arccosh", np.arccosh, lambda x, y: 1 / np.sqrt(x * x - 1), "Inverse hyperbolic cosine.")
arctanh = unary("arctanh", np.arctanh, lambda x, y: 1 / (1 - x * x), "Inverse hyperbolic tangent.")
log1p = unary("log1p", np.log1p, lambda x, y: 1 / (1 + x), "log(1 + x), accurate near 0.")
expm1 = unary("expm1", np.expm1, lambda x, y: y + 1, "exp(x) - 1, accurate near 0.")
log2 = unary("log2", np.log2, lambda x, y: 1 / (x * np.log(2)), "Base-2 logarithm.")
log10 = unary("log10", np.log10, lambda x, y: 1 / (x * np.log(10)), "Base-10 logarithm.")
exp2 = unary("exp2", np.exp2, lambda x, y: y * np.log(2), "2 ** x.")
reciprocal = unary("reciprocal", np.reciprocal, lambda x, y: -y * y, "1 / x.")
rsqrt = unary("rsqrt", lambda x: 1 / np.sqrt(x), lambda x, y: -0.5 * y / x, "1 / sqrt(x).")
cbrt = unary("cbrt", np.cbrt, lambda x, y: 1 / (3 * np.cbrt(x) ** 2), "Cube root.")
erf = unary("erf", _erf, lambda x, y: 2 / np.sqrt(np.pi) * np.exp(-x * x), "The error function.")
erfc = unary("erfc", lambda x: 1 - _erf(x), lambda x, y: -2 / np.sqrt(np.pi) * np.exp(-x * x),
             "The complementary error function 1 - erf(x).")
deg2rad = unary("deg2rad", np.deg2rad, lambda x, y: np.full_like(x, np.pi / 180), "Degrees to radians.")
rad2deg = unary("rad2deg", np.rad2deg, lambda x, y: np.full_like(x, 180 / np.pi), "Radians to degrees.")
nan_to_num = unary("nan_to_num", np.nan_to_num, lambda x, y: np.isfinite(x).astype(x.dtype),
                   "NaN to 0 and infinities to the largest finite values.")
sinc = unary("sinc", np.sinc, lambda x, y: np.where(x == 0, 0.0, (np.cos(np.pi * x) - y) / np.where(x == 0, 1, x)),
             "sin(pi x) / (pi x).")
absolute = fabs = _m.abs
negative = _m.neg
subtract = _m.sub
multiply = _m.mul
divide = true_divide = _m.div
power = _m.pow
fmax = _m.maximum
fmin = _m.minimum
amax = _m.max
amin = _m.min


class _Binary(Function):
    def __init__(self, f, da, db):
        self.f, self.da, self.db = f, da, db

    def forward(self, a, b):
        self.a, self.b = a, b
        self.y = self.f(a, b)
        return self.y

    def backward(self, gy):
        return gy * self.da(self.a, self.b, self.y), gy * self.db(self.a, self.b, self.y)


def _float_pair(a: Any, b: Any) -> tuple[Tensor, Tensor]:
    ta, tb = as_tensor(a), as_tensor(b)
    dtype = np.result_type(ta.data.dtype, tb.data.dtype, np.float32)
    cast = [t if t.data.dtype == dtype else Tensor(t.data.astype(dtype)) for t in (ta, tb)]
    return cast[0], cast[1]


def arctan2(x1: Any, x2: Any) -> Tensor:
    """The angle of the point (x2, x1), in the right quadrant."""
    return _Binary(np.arctan2, lambda a, b, y: b / (a * a + b * b), lambda a, b, y: -a / (a * a + b * b))(
        *_float_pair(x1, x2))


def logaddexp(x1: Any, x2: Any) -> Tensor:
    """log(exp(x1) + exp(x2)), without overflow."""
    return _Binary(np.logaddexp, lambda a, b, y: np.exp(a - y), lambda a, b, y: np.exp(b - y))(*_float_pair(x1, x2))


def logaddexp2(x1: Any, x2: Any) -> Tensor:
    """log2(2**x1 + 2**x2), without overflow."""
    return _Binary(np.logaddexp2, lambda a, b, y: np.exp2(a - y), lambda a, b, y: np.exp2(b - y))(
        *_float_pair(x1, x2))


def hypot(x1: Any, x2: Any) -> Tensor:
    """sqrt(x1**2 + x2**2)."""
    return _Binary(np.hypot, lambda a, b, y: a / np.where(y == 0, 1, y), lambda a, b, y: b / np.where(y == 0, 1, y))(
        *_float_pair(x1, x2))


def divide_no_nan(x1: Any, x2: Any) -> Tensor:
    """x1 / x2, and 0 where x2 is 0."""
    a, b = _float_pair(x1, x2)
    zero = b.data == 0
    return _m.where(zero, 0.0, _m.div(a, _m.where(zero, 1.0, b)))


def square(x: Any) -> Tensor:
    """x * x."""
    return _m.square(x)


def add(x1: Any, x2: Any) -> Tensor:
    """x1 + x2 (broadcast)."""
    return _m.add(x1, x2)


# ----------------------------------------------------------------------------- no gradient
equal = nondiff(np.equal, "equal")
not_equal = nondiff(np.not_equal, "not_equal")
greater = nondiff(np.greater, "greater")
greater_equal = nondiff(np.greater_equal, "greater_equal")
less = nondiff(np.less, "less")
less_equal = nondiff(np.less_equal, "less_equal")
isclose = nondiff(np.isclose, "isclose")
allclose = nondiff(np.allclose, "allclose")
isfinite, isinf, isnan = nondiff(np.isfinite), nondiff(np.isinf), nondiff(np.isnan)
isneginf, isposinf, isreal, signbit = nondiff(np.isneginf), nondiff(np.isposinf), nondiff(np.isreal), nondiff(
    np.signbit)
logical_and, logical_or = nondiff(np.logical_and), nondiff(np.logical_or)
logical_not, logical_xor = nondiff(np.logical_not), nondiff(np.logical_xor)
bitwise_and, bitwise_or, bitwise_xor = nondiff(np.bitwise_and), nondiff(np.bitwise_or), nondiff(np.bitwise_xor)
bitwise_not = bitwise_invert = nondiff(np.invert, "bitwise_not")
bitwise_left_shift = left_shift = nondiff(np.left_shift, "left_shift")
bitwise_right_shift = right_shift = nondiff(np.right_shift, "right_shift")
gcd, lcm = nondiff(np.gcd), nondiff(np.lcm)
sign = nondiff(np.sign, "sign")
floor, ceil, trunc = nondiff(np.floor), nondiff(np.ceil), nondiff(np.trunc)
mod = nondiff(np.mod, "mod")
fmod = nondiff(np.fmod, "fmod")
floor_divide = nondiff(np.floor_divide, "floor_divide")
nextafter = nondiff(np.nextafter, "nextafter")
ldexp = nondiff(np.ldexp, "ldexp")
isin = nondiff(np.isin, "isin")
all, any = nondiff(np.all, "all"), nondiff(np.any, "any")  # noqa: A001
count_nonzero = nondiff(np.count_nonzero, "count_nonzero")
searchsorted = nondiff(np.searchsorted, "searchsorted")
digitize = nondiff(np.digitize, "digitize")
unravel_index = nondiff(np.unravel_index, "unravel_index")
argpartition = nondiff(np.argpartition, "argpartition")
real, imag, conj = nondiff(np.real), nondiff(np.imag), nondiff(np.conj)
conjugate, angle = conj, nondiff(np.angle)
nanmax, nanmin, nanmean, nansum = nondiff(np.nanmax), nondiff(np.nanmin), nondiff(np.nanmean), nondiff(np.nansum)
nanprod, nanstd, nanvar = nondiff(np.nanprod), nondiff(np.nanstd), nondiff(np.nanvar)
nanargmax, nanargmin, nanmedian = nondiff(np.nanargmax), nondiff(np.nanargmin), nondiff(np.nanmedian)
nancumsum, nancumprod = nondiff(np.nancumsum), nondiff(np.nancumprod)
nanpercentile, nanquantile = nondiff(np.nanpercentile), nondiff(np.nanquantile)
median, percentile, quantile = nondiff(np.median), nondiff(np.percentile), nondiff(np.quantile)
corrcoef, correlate, kron = nondiff(np.corrcoef), nondiff(np.correlate), nondiff(np.kron)
cross, trapezoid, histogram = nondiff(np.cross), nondiff(np.trapezoid), nondiff(np.histogram)
i0 = nondiff(np.i0, "i0")


def round(x: Any, decimals: int = 0) -> Tensor:  # noqa: A001 - Keras's name
    """Round half to even, to `decimals` places (no gradient)."""
    return Tensor(np.round(arr(x), decimals))


def argmax(x: Any, axis: int | None = None, keepdims: bool = False) -> Tensor:
    """Index of the largest value (along `axis`)."""
    return Tensor(np.argmax(arr(x), axis=axis, keepdims=keepdims))


def argmin(x: Any, axis: int | None = None, keepdims: bool = False) -> Tensor:
    """Index of the smallest value (along `axis`)."""
    return Tensor(np.argmin(arr(x), axis=axis, keepdims=keepdims))


def argsort(x: Any, axis: int = -1) -> Tensor:
    """Indices that sort `x` along `axis` (stable)."""
    return Tensor(np.argsort(arr(x), axis=axis, kind="stable"))


def bincount(x: Any, weights: Any = None, minlength: int = 0, sparse: bool = False) -> Tensor:
    """How many times each non-negative integer occurs (weighted), per row for 2-D input, as Keras."""
    x, w = np.asarray(arr(x)), None if weights is None else np.asarray(arr(weights))
    if x.ndim == 2:
        length = builtins_max(minlength, int(x.max()) + 1 if x.size else 0)
        return Tensor(np.stack([np.bincount(r, None if w is None else w[i], length) for i, r in enumerate(x)]))
    return Tensor(np.bincount(x, w, minlength))


builtins_max = builtins.max


def nonzero(x: Any) -> tuple[Tensor, ...]:
    """Indices of the non-zero entries, one array per axis."""
    return tuple(Tensor(i) for i in np.nonzero(arr(x)))


def unique(x: Any, sorted: bool = True, return_inverse: bool = False, return_counts: bool = False,  # noqa: A002
           axis: int | None = None, size: int | None = None, fill_value: Any = None) -> Any:
    """The distinct values (and inverse indices / counts if asked)."""
    out = np.unique(arr(x), return_inverse=return_inverse, return_counts=return_counts, axis=axis)
    return tuple(Tensor(o) for o in out) if isinstance(out, tuple) else Tensor(out)


# ----------------------------------------------------------------------------- reductions
class _Prod(Function):
    def __init__(self, axis, keepdims):
        self.axis, self.keepdims = axis, keepdims

    def forward(self, x):
        self.x = x
        return np.prod(x, axis=self.axis, keepdims=self.keepdims)

    def backward(self, gy):
        x, axes = self.x, axis_tuple(self.axis, self.x.ndim)
        moved = np.moveaxis(x, axes, tuple(range(-len(axes), 0)))
        flat = moved.reshape(moved.shape[:moved.ndim - len(axes)] + (-1,))
        ones = np.ones(flat.shape[:-1] + (1,), x.dtype)
        left = np.cumprod(np.concatenate([ones, flat[..., :-1]], -1), -1)
        right = np.cumprod(np.concatenate([ones, flat[..., :0:-1]], -1), -1)[..., ::-1]
        others = np.moveaxis((left * right).reshape(moved.shape), tuple(range(-len(axes), 0)), axes)
        g = gy if self.keepdims else np.expand_dims(gy, axes)
        return g * others  # the product of every other entry: exact with zeros too


def prod(x: Any, axis: Any = None, keepdims: bool = False, dtype: Any = None) -> Tensor:
    """The product of the entries (along `axis`)."""
    return _Prod(None if axis is None else axis_tuple(axis, np.ndim(arr(x))), keepdims)(as_tensor(x))


def std(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:
    """Population standard deviation."""
    return _m.sqrt(_m.var(x, axis=axis, keepdims=keepdims))


def variance(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:
    return _m.var(x, axis=axis, keepdims=keepdims)


def average(x: Any, axis: Any = None, weights: Any = None) -> Tensor:
    """Mean, weighted by `weights` (same shape as x, or 1-D along `axis`)."""
    if weights is None:
        return _m.mean(x, axis=axis)
    t, w = as_tensor(x), as_tensor(weights)
    if axis is not None and w.ndim == 1 and t.ndim > 1:
        shape = [1] * t.ndim
        shape[int(axis)] = -1
        w = _s.reshape(w, shape)
    ones = Tensor(np.ones(t.shape, dtype=np.result_type(t.data.dtype, np.float32)))
    return _m.div(_m.sum(_m.mul(t, w), axis=axis), _m.sum(_m.mul(ones, w), axis=axis))


def ptp(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:
    """max - min."""
    return _m.sub(_m.max(x, axis=axis, keepdims=keepdims), _m.min(x, axis=axis, keepdims=keepdims))


def logsumexp(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:
    """log(sum(exp(x))), shifted by the maximum so it never overflows."""
    t = as_tensor(x)
    top = Tensor(np.max(t.data, axis=axis, keepdims=True))
    out = _m.add(_m.log(_m.sum(_m.exp(_m.sub(t, top)), axis=axis, keepdims=True)), top)
    return out if keepdims else _s.squeeze(out, axis_tuple(axis, t.ndim))


class _Cumsum(Function):
    def __init__(self, axis):
        self.axis = axis

    def forward(self, x):
        return np.cumsum(x, axis=self.axis)

    def backward(self, gy):
        return np.flip(np.cumsum(np.flip(gy, self.axis), axis=self.axis), self.axis)


def cumsum(x: Any, axis: int | None = None, dtype: Any = None) -> Tensor:
    """Running sum along `axis` (of the flattened array when None)."""
    t = as_tensor(x)
    if axis is None:
        t, axis = _s.reshape(t, (-1,)), 0
    return _Cumsum(int(axis))(t)


def cumprod(x: Any, axis: int | None = None, dtype: Any = None) -> Tensor:
    """Running product along `axis`: exp(cumsum(log|x|)) with signs, differentiable where x != 0."""
    t = as_tensor(x)
    if axis is None:
        t, axis = _s.reshape(t, (-1,)), 0
    if np.any(t.data == 0):
        return Tensor(np.cumprod(t.data, axis=int(axis)))  # exact value; no gradient through zeros
    signs = np.cumprod(np.sign(t.data), axis=int(axis))
    return _m.mul(_m.exp(cumsum(_m.log(_m.abs(t)), axis=int(axis))), signs.astype(t.data.dtype))


# ----------------------------------------------------------------------------- products
def dot(x1: Any, x2: Any) -> Tensor:
    """NumPy's dot: products of scalars, vectors and matrices (last axis of x1 with second-to-last of x2)."""
    a, b = as_tensor(x1), as_tensor(x2)
    if a.ndim == 0 or b.ndim == 0:
        return _m.mul(a, b)
    if b.ndim == 1:
        return _m.sum(_m.mul(a, b), axis=-1)
    if a.ndim <= 2 and b.ndim == 2:
        return _m.matmul(a, b)
    return tensordot(a, b, axes=([a.ndim - 1], [b.ndim - 2]))


def vdot(x1: Any, x2: Any) -> Tensor:
    """The dot product of the flattened arrays."""
    return _m.sum(_m.mul(_s.reshape(as_tensor(x1), (-1,)), _s.reshape(as_tensor(x2), (-1,))))


def inner(x1: Any, x2: Any) -> Tensor:
    """Sum of products over the last axes."""
    a, b = as_tensor(x1), as_tensor(x2)
    if a.ndim == 0 or b.ndim == 0:
        return _m.mul(a, b)
    return tensordot(a, b, axes=([a.ndim - 1], [b.ndim - 1]))


def outer(x1: Any, x2: Any) -> Tensor:
    """x1[i] * x2[j] of the flattened arrays."""
    return _m.mul(_s.reshape(as_tensor(x1), (-1, 1)), _s.reshape(as_tensor(x2), (1, -1)))


def tensordot(x1: Any, x2: Any, axes: Any = 2) -> Tensor:
    """Sum of products over the given axes (an int n: the last n of x1 with the first n of x2)."""
    a, b = as_tensor(x1), as_tensor(x2)
    if isinstance(axes, (int, np.integer)):
        axes_a, axes_b = list(range(a.ndim - int(axes), a.ndim)), list(range(int(axes)))
    else:
        axes_a, axes_b = axes
        axes_a = [axes_a] if isinstance(axes_a, (int, np.integer)) else list(axes_a)
        axes_b = [axes_b] if isinstance(axes_b, (int, np.integer)) else list(axes_b)
    axes_a = [int(i) % a.ndim for i in axes_a]
    axes_b = [int(i) % b.ndim for i in axes_b]
    if [a.shape[i] for i in axes_a] != [b.shape[i] for i in axes_b]:
        raise ValueError(f"tensordot: axes {axes_a} of shape {a.shape} do not match axes {axes_b} of shape {b.shape}")
    free_a = [i for i in range(a.ndim) if i not in axes_a]
    free_b = [i for i in range(b.ndim) if i not in axes_b]
    k = int(np.prod([a.shape[i] for i in axes_a], dtype=np.int64))
    a2 = _s.reshape(_s.transpose(a, free_a + axes_a), (-1, k))
    b2 = _s.reshape(_s.transpose(b, axes_b + free_b), (k, -1))
    return _s.reshape(_m.matmul(a2, b2), [a.shape[i] for i in free_a] + [b.shape[i] for i in free_b])


class _Einsum(Function):
    def __init__(self, subscripts: str):
        self.subscripts = subscripts

    def forward(self, *xs):
        self.xs = xs
        return np.einsum(self.subscripts, *xs)

    def backward(self, gy):
        ins, out = self.subscripts.split("->")
        terms = ins.split(",")
        grads = []
        for i, (term, x) in enumerate(zip(terms, self.xs)):
            others = [t for j, t in enumerate(terms) if j != i]
            arrays = [a for j, a in enumerate(self.xs) if j != i]
            present = set(out) | set("".join(others))
            keep = "".join(c for c in term if c in present)  # letters summed away in x alone broadcast back
            g = np.einsum(",".join([out] + others) + "->" + keep, gy, *arrays)
            if keep != term:  # `keep` is in `term`'s order: add the summed-away axes back as broadcasts
                g = np.broadcast_to(g.reshape([x.shape[k] if c in keep else 1 for k, c in enumerate(term)]), x.shape)
            grads.append(np.ascontiguousarray(g))
        return tuple(grads) if len(grads) > 1 else grads[0]


def einsum(subscripts: str, *operands: Any) -> Tensor:
    """Einstein summation, differentiable (explicit or implicit output; no '...' or repeated letters in a term)."""
    spec = subscripts.replace(" ", "")
    if "..." in spec:
        return Tensor(np.einsum(spec, *[arr(o) for o in operands]))
    if "->" not in spec:
        letters = spec.replace(",", "")
        spec += "->" + "".join(sorted(c for c in set(letters) if letters.count(c) == 1))
    if builtins.any(len(set(t)) != len(t) for t in spec.split("->")[0].split(",")):
        return Tensor(np.einsum(spec, *[arr(o) for o in operands]))  # traces: value only
    return _Einsum(spec)(*[as_tensor(o) for o in operands])


def trace(x: Any, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Tensor:
    """The sum of the diagonal."""
    from .shape_api import diagonal

    return _m.sum(diagonal(x, offset, axis1, axis2), axis=-1)


__all__ = [n for n in dir() if not n.startswith("_") and n not in {
    "Any", "Function", "Tensor", "annotations", "builtins", "arr", "as_tensor", "axis_tuple", "builtins_max",
    "nondiff", "np",
    "unary"}]
