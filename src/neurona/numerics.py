"""The numerical kernels, once: plain NumPy functions on arrays that every op, loss, metric, estimator and
recurrent op calls instead of writing its own softmax, sigmoid or cross-entropy.

Nothing here knows about Tensors or gradients tapes; it imports only NumPy (and SciPy's BLAS, when installed, for
one range check), so any module may use it.

>>> import numpy as np
>>> softmax(np.array([[0.0, np.log(3.0)]])).round(3).tolist()
[[0.25, 0.75]]
>>> float(sigmoid(np.array(0.0)))
0.5
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

Kernel = Callable[[np.ndarray], np.ndarray]


# ----------------------------------------------------------------------------- helpers
_ONES: dict[tuple[int, np.dtype], np.ndarray] = {}


def ones(n: int, dtype: np.dtype) -> np.ndarray:
    """A cached read-only vector of ones (row sums as matmuls reuse it every step)."""
    key = (n, dtype)
    v = _ONES.get(key)
    if v is None:
        if len(_ONES) > 64:
            _ONES.clear()
        v = _ONES[key] = np.ones(n, dtype)
        v.flags.writeable = False
    return v


def rowmax(z: np.ndarray) -> np.ndarray:
    """Row maxima with keepdims; NumPy's axis=-1 max is ~3x slower than a transposed copy for <= 16 columns."""
    if z.ndim == 2 and z.shape[-1] <= 16:
        return np.ascontiguousarray(z.T).max(axis=0)[:, None]
    return z.max(axis=-1, keepdims=True)


# ----------------------------------------------------------------------------- activations
def sigmoid(x: np.ndarray) -> np.ndarray:
    """1 / (1 + e^-x) in its tanh form: stable for any x and twice as fast as the exp form."""
    y = np.tanh(x * 0.5)
    y *= 0.5  # in place on tanh's fresh output: one temporary instead of three
    y += 0.5
    return y


def relu_(z: np.ndarray) -> np.ndarray:
    """max(z, 0) in place."""
    return np.maximum(z, 0, out=z)


def softplus(x: np.ndarray) -> np.ndarray:
    """log(1 + e^x) as max(x, 0) + log(1 + e^-|x|): no overflow for large x, no loss of digits for small."""
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


def softmax(z: np.ndarray, axis: int = -1) -> np.ndarray:
    """exp(z) / sum(exp(z)) along `axis`, after subtracting the max so exp cannot overflow."""
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def softmax_(z: np.ndarray) -> np.ndarray:
    """`softmax` over the last axis, in place in `z`."""
    z -= z.max(axis=-1, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=-1, keepdims=True)
    return z


def log_softmax(z: np.ndarray, axis: int = -1) -> np.ndarray:
    """log softmax(z) = (z - max) - log sum exp(z - max): never overflows, never takes log(0)."""
    m = z - z.max(axis=axis, keepdims=True)
    return m - np.log(np.exp(m).sum(axis=axis, keepdims=True))


def shifted_exp(z: np.ndarray, ones_z: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(e, m, s): exp(m), the logits m shifted per row so that exp cannot overflow, and e's row sums (the last
    axis summed away): softmax(z) = e / s[..., None] and log softmax(z) = m - log(s)[..., None].

    m is z minus its row max, or z itself (not a copy: read it, never write it) when every |z| < _SAFE: then exp
    can neither overflow nor lose precision to underflow, softmax is the same with or without the shift, and the
    row maxima and the broadcast subtraction (~8 us of the slides' 100x10 logits, more than the rest of the
    softmax) are skipped. `ones_z`: `ones(k, z.dtype)` when the caller already holds it (the dense step looks
    it up once per batch shape).
    """
    m = z if within(z, _SAFE) else z - rowmax(z)  # shifted by the row max only where exp could overflow
    e = np.exp(m)
    s = e @ (ones(z.shape[-1], z.dtype) if ones_z is None else ones_z)  # row sums as a matmul (docs/performance.md)
    return e, m, s


def stable_softmax(z: np.ndarray, ones_z: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(p, m, s): softmax along the last axis, z shifted per row (`shifted_exp`), and the row sums of exp(m)
    (kept dims). log softmax(z) = m - log(s)."""
    p, m, s = shifted_exp(z, ones_z)
    s = s[..., None]
    p /= s
    return p, m, s


# |score| below this: exp(score) in [1e-13, 1e13], normal numbers in float32 and float64, row sums far from
# their limits (float16 always takes the shifted path: exp(30) overflows it)
_SAFE = 30.0


def within(z: np.ndarray, bound: float) -> bool:
    """Every entry of float32/float64 z has |z| < bound (False for NaN, inf, other dtypes or no entries).

    For up to 8,192 entries one BLAS call finds the largest magnitude (SciPy's `isamax`/`idamax`: ~1 us with the
    NaN check where NumPy's min and max take ~2.5 on 1,000 entries) and a dot product z.z, NaN exactly when some
    entry is NaN, catches what `i?amax` skips. Larger arrays, non-contiguous ones, or no SciPy: NumPy's min and
    max (faster there). Both read the same entries, so the answer is the same either way.
    """
    if z.dtype.itemsize < 4 or not z.size:
        return False
    table = _AMAX if _AMAX is not None else _blas_amax()
    blas = table.get(z.dtype) if z.size <= 8192 and z.flags.c_contiguous else None
    if blas is None:  # NaN compares False
        return -bound < float(np.minimum.reduce(z, axis=None)) and float(np.maximum.reduce(z, axis=None)) < bound
    amax, dot = blas
    flat = z.ravel()  # a view: z is C-contiguous
    return -bound < flat.item(amax(flat)) < bound and (sq := dot(flat, flat)) == sq  # NaN != NaN


def _blas_amax() -> dict[np.dtype, tuple[Any, Any]]:
    """SciPy's (i?amax, ?dot) for float32 and float64, or nothing without SciPy; looked up at the first `within`,
    not at import (`scipy.linalg` takes ~0.2 s to import, which `import neurona` need not pay)."""
    global _AMAX
    try:
        from scipy.linalg import blas
    except ImportError:
        _AMAX = {}
    else:
        _AMAX = {np.dtype(np.float32): (blas.isamax, blas.sdot), np.dtype(np.float64): (blas.idamax, blas.ddot)}
    return _AMAX


_AMAX: dict[np.dtype, tuple[Any, Any]] | None = None  # `_blas_amax`'s table, once looked up


def masked_softmax(s: np.ndarray, mask: np.ndarray | None, out: np.ndarray | None = None) -> np.ndarray:
    """Softmax over the last axis leaving out positions where `mask` is False (all-masked rows -> zeros).

    With `out=s` it works in place (the attention op's scores are its own scratch buffer).
    """
    p = np.array(s, copy=True) if out is None else out
    safe = within(p, _SAFE)
    if mask is not None:
        np.copyto(p, -np.inf, where=~mask)
    if not safe:
        m = p.max(axis=-1, keepdims=True)
        if mask is not None:
            m[~np.isfinite(m)] = 0.0  # a fully masked row: exp(-inf - 0) = 0 everywhere, no NaN
        p -= m  # subtract the row max so exp cannot overflow
    # else every score is within +-_SAFE: exp can neither overflow nor underflow to 0, and softmax is the
    # same with or without the shift, so the row maxima (30x slower than a whole-array max) are skipped
    np.exp(p, out=p)
    total = (p @ ones(p.shape[-1], p.dtype))[..., None]  # row sums as a matmul (docs/performance.md)
    if mask is not None:
        total[total == 0] = 1.0
    p /= total
    return p


# Row dot products without the product array: NumPy 2's `vecdot` ufunc is 1.3x faster than einsum at the attention
# backward's shapes and releases the GIL, which einsum holds (two training threads then overlap here too: two halves,
# models/parallel.py; docs/performance.md "Transformer, round three"); einsum on NumPy 1.x.
_row_dots: Callable[[np.ndarray, np.ndarray], np.ndarray] = (
    getattr(np, "vecdot", None) or (lambda a, b: np.einsum("...k,...k->...", a, b)))


def softmax_rows_backward(p: np.ndarray, gp: np.ndarray, inplace: bool = False) -> np.ndarray:
    """d loss / d scores from d loss / d p for p = softmax(s): p * (gp - sum(gp * p)). Masked p are 0.

    `inplace=True` overwrites gp (a buffer the caller owns): no (B, H, Tq, Tk) temporaries at all."""
    row = _row_dots(gp, p)[..., None]  # sum(gp * p) per row without the product array
    out = gp if inplace else gp.copy()
    out -= row
    out *= p
    return out


# Gradients written from the output y alone (gy is the gradient of the output): the activation ops, the
# fused dense and convolution ops (which keep only y) and the recurrent ops all use these.
def relu_backward(gy: np.ndarray, y: np.ndarray) -> np.ndarray:
    # gy * (y > 0) with the mask written as 0.0 / 1.0 straight into the result's float array, then multiplied in
    # place: 1.4-1.5x faster than multiplying by a bool array (which NumPy casts inside the loop), the same bits
    # (docs/performance.md, "Transformer, round three")
    out = np.empty(np.broadcast_shapes(gy.shape, y.shape), np.result_type(gy, np.bool_))
    np.greater(y, 0, out=out)
    out *= gy
    return out


def sigmoid_backward(gy: np.ndarray, y: np.ndarray) -> np.ndarray:
    """gy * y * (1 - y), the products in that order, the second one in place (one temporary fewer)."""
    g = gy * y
    g *= 1 - y
    return g


def tanh_backward(gy: np.ndarray, y: np.ndarray) -> np.ndarray:
    """gy * (1 - y * y), computed in place in y * y's fresh array when it has the result's shape and dtype (two
    temporaries fewer; (1 - y y) gy is the same bits as gy (1 - y y))."""
    g = y * y
    np.subtract(1, g, out=g)
    if gy.shape != g.shape or gy.dtype != g.dtype:
        return gy * g
    g *= gy
    return g


def softmax_backward(gy: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    return y * (gy - (gy * y).sum(axis=axis, keepdims=True))


# The activation table: name -> (forward that may overwrite its argument, backward from the output).
OUTPUT_ACTIVATIONS: dict[str, tuple[Kernel, Callable[[np.ndarray, np.ndarray], np.ndarray]]] = {
    "relu": (relu_, relu_backward),
    "sigmoid": (sigmoid, sigmoid_backward),
    "tanh": (np.tanh, tanh_backward),
    "softmax": (softmax_, softmax_backward),
}

# The same derivatives as factors d y / d z of the output y (elementwise activations only), for the
# recurrent ops, which multiply them into several gradients.
DERIVATIVES: dict[str, Kernel] = {
    "tanh": lambda y: 1 - y * y,
    "sigmoid": lambda y: y * (1 - y),
    "relu": lambda y: (y > 0).astype(y.dtype),
    "linear": np.ones_like,
}


# ----------------------------------------------------------------------------- cross-entropy
def sigmoid_cross_entropy_values(z: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Binary cross-entropy of sigmoid(z) against t, per value: max(z,0) - z t + log(1 + e^-|z|), stable for any z."""
    return np.maximum(z, 0) - z * t + np.log1p(np.exp(-np.abs(z)))


def sigmoid_cross_entropy_gradient(z: np.ndarray, t: np.ndarray) -> np.ndarray:
    """d/dz of `sigmoid_cross_entropy_values`: sigmoid(z) - t."""
    return sigmoid(z) - t


def softmax_cross_entropy_rows(z: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(-sum(t * log softmax(z)) per row, softmax(z)) along the last axis."""
    p, m, s = stable_softmax(z)
    return -(t * (m - np.log(s))).sum(axis=-1), p


def softmax_cross_entropy_gradient(p: np.ndarray, t: np.ndarray) -> np.ndarray:
    """d/dz of -sum(t log softmax(z)) per row, from p = softmax(z): p * sum(t) - t (p - t for one-hot t)."""
    return p * t.sum(axis=-1, keepdims=True) - t


__all__ = [
    "DERIVATIVES", "OUTPUT_ACTIVATIONS", "log_softmax", "masked_softmax", "ones", "relu_", "relu_backward",
    "rowmax", "sigmoid", "sigmoid_backward", "sigmoid_cross_entropy_gradient", "sigmoid_cross_entropy_values",
    "softmax", "softmax_", "softmax_backward", "softmax_cross_entropy_gradient", "softmax_cross_entropy_rows",
    "softmax_rows_backward", "shifted_exp", "softplus", "stable_softmax", "tanh_backward",
]
