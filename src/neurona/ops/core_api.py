"""Keras 3's `keras.ops` core, linalg and math namespaces: converting values, control flow run eagerly, linear
algebra (inv, det, solve and norm differentiable; the factorisations without gradient) and segment sums."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..tensor import Function, Tensor, as_tensor
from . import math as _m
from . import shape as _s
from ._api import arr, nondiff

_KERAS_DEFAULTS = {"f": "float32", "i": "int32", "b": "bool"}


# ----------------------------------------------------------------------------- converting
def convert_to_tensor(x: Any, dtype: Any = None, sparse: Any = None, ragged: Any = None) -> Tensor:
    """A Tensor of `x`: Python floats float32 and ints int32 (Keras's defaults); arrays keep their dtype."""
    if isinstance(x, Tensor):
        return x if dtype is None or x.data.dtype == np.dtype(dtype) else Tensor(x.data.astype(dtype))
    a = np.asarray(arr(x))
    if dtype is None and not isinstance(x, np.ndarray) and a.dtype.kind in "fi" and a.dtype.itemsize == 8:
        dtype = _KERAS_DEFAULTS[a.dtype.kind]
    return Tensor(a.astype(dtype) if dtype is not None else a)


def convert_to_numpy(x: Any) -> np.ndarray:
    """The values as a NumPy array (a copy-free view of a Tensor's data)."""
    return np.asarray(arr(x))


def is_tensor(x: Any) -> bool:
    return isinstance(x, Tensor)


def dtype(x: Any) -> str:
    """The dtype's name ('float32', ...)."""
    return np.asarray(arr(x)).dtype.name


def stop_gradient(variable: Any) -> Tensor:
    """The same values, with no gradient flowing back."""
    return Tensor(np.asarray(arr(variable)))


def saturate_cast(x: Any, dtype: Any) -> Tensor:
    """Cast, clipping to the target type's range first."""
    a, target = np.asarray(arr(x)), np.dtype(dtype)
    info = np.iinfo(target) if target.kind in "iu" else np.finfo(target)
    return Tensor(np.clip(a, info.min, info.max).astype(target))


# ----------------------------------------------------------------------------- control flow (eager)
def cond(pred: Any, true_fn: Callable[[], Any], false_fn: Callable[[], Any]) -> Any:
    return true_fn() if bool(np.asarray(arr(pred))) else false_fn()


def switch(index: Any, branches: Sequence[Callable[..., Any]], *operands: Any) -> Any:
    i = int(np.clip(int(np.asarray(arr(index))), 0, len(branches) - 1))
    return branches[i](*operands)


def while_loop(cond: Callable[..., Any], body: Callable[..., Any], loop_vars: Any,
               maximum_iterations: int | None = None) -> Any:
    single = not isinstance(loop_vars, (list, tuple))
    state = (loop_vars,) if single else tuple(loop_vars)
    steps = 0
    while bool(np.asarray(arr(cond(*state)))) and (maximum_iterations is None or steps < maximum_iterations):
        out = body(*state)
        state = (out,) if single else tuple(out)
        steps += 1
    return state[0] if single else type(loop_vars)(state)


def fori_loop(lower: int, upper: int, body_fun: Callable[[int, Any], Any], init_val: Any) -> Any:
    val = init_val
    for i in range(int(lower), int(upper)):
        val = body_fun(i, val)
    return val


def scan(f: Callable[[Any, Any], tuple[Any, Any]], init: Any, xs: Any = None, length: int | None = None,
         reverse: bool = False, unroll: int = 1) -> tuple[Any, Any]:
    """carry, ys: `f(carry, x) -> (carry, y)` over the first axis of xs, ys stacked."""
    n = length if xs is None else len(arr(xs))
    order = range(n - 1, -1, -1) if reverse else range(n)
    carry, ys = init, []
    for i in order:
        carry, y = f(carry, None if xs is None else xs[i])
        ys.append(y)
    if reverse:
        ys.reverse()
    stacked = _s.stack(ys, axis=0) if ys and all(y is not None for y in ys) else None
    return carry, stacked


def map(f: Callable[[Any], Any], xs: Any) -> Tensor:  # noqa: A001 - Keras's name
    """f applied to each slice along the first axis, stacked."""
    return _s.stack([f(xs[i]) for i in range(len(arr(xs)))], axis=0)


def vectorized_map(function: Callable[[Any], Any], elements: Any) -> Tensor:
    return map(function, elements)


def associative_scan(f: Callable[[Any, Any], Any], elems: Any, reverse: bool = False, axis: int = 0) -> Tensor:
    """Running `f`-reduction along `axis` (computed sequentially)."""
    t = as_tensor(elems)
    pre = (slice(None),) * (axis % t.ndim)
    items = [_s.getitem(t, pre + (i,)) for i in range(t.shape[axis])]
    if reverse:
        items.reverse()
    out, acc = [], None
    for item in items:
        acc = item if acc is None else f(acc, item)
        out.append(acc)
    if reverse:
        out.reverse()
    return _s.stack(out, axis=axis)


# ----------------------------------------------------------------------------- linear algebra
class _Inv(Function):
    def forward(self, a):
        self.y = np.linalg.inv(a)
        return self.y

    def backward(self, gy):
        yt = np.swapaxes(self.y, -1, -2)
        return -yt @ gy @ yt


class _Det(Function):
    def forward(self, a):
        self.a = a
        self.y = np.linalg.det(a)
        return self.y

    def backward(self, gy):
        return (gy * self.y)[..., None, None] * np.swapaxes(np.linalg.inv(self.a), -1, -2)


def inv(x: Any) -> Tensor:
    """The matrix inverse (batched over leading axes)."""
    return _Inv()(as_tensor(x))


def det(x: Any) -> Tensor:
    """The determinant (batched over leading axes)."""
    return _Det()(as_tensor(x))


def solve(a: Any, b: Any) -> Tensor:
    """x with a @ x = b."""
    return _m.matmul(inv(a), b)


def norm(x: Any, ord: Any = None, axis: Any = None, keepdims: bool = False) -> Tensor:  # noqa: A002
    """Vector 1-, 2- and inf-norms and the Frobenius norm are differentiable; other orders give values only."""
    t = as_tensor(x)
    if ord in (None, 2, "fro", "euclidean") and (ord != 2 or axis is None or np.isscalar(axis) or t.ndim == 1):
        return _m.sqrt(_m.sum(_m.square(t), axis=axis, keepdims=keepdims))
    if ord == 1 and (axis is None and t.ndim == 1 or np.isscalar(axis)):
        return _m.sum(_m.abs(t), axis=axis, keepdims=keepdims)
    if ord in (np.inf, "inf") and (axis is None and t.ndim == 1 or np.isscalar(axis)):
        return _m.max(_m.abs(t), axis=axis, keepdims=keepdims)
    return Tensor(np.linalg.norm(t.data, ord=ord, axis=axis, keepdims=keepdims))


cholesky, eig, eigh = nondiff(np.linalg.cholesky, "cholesky"), nondiff(np.linalg.eig, "eig"), nondiff(
    np.linalg.eigh, "eigh")
qr, svd, pinv = nondiff(np.linalg.qr, "qr"), nondiff(np.linalg.svd, "svd"), nondiff(np.linalg.pinv, "pinv")
slogdet, matrix_rank = nondiff(np.linalg.slogdet, "slogdet"), nondiff(np.linalg.matrix_rank, "matrix_rank")


def logdet(x: Any) -> Tensor:
    """log(det(x)) of a positive-definite matrix."""
    return _m.log(det(x))


def lstsq(a: Any, b: Any, rcond: Any = None) -> Tensor:
    return Tensor(np.linalg.lstsq(arr(a), arr(b), rcond=rcond)[0])


def solve_triangular(a: Any, b: Any, lower: bool = False) -> Tensor:
    return solve(a, b)


def cholesky_inverse(x: Any, upper: bool = False) -> Tensor:
    """The inverse of A from its Cholesky factor."""
    f = as_tensor(x)
    ft = _s.transpose(f, tuple(range(f.ndim - 2)) + (f.ndim - 1, f.ndim - 2))
    return inv(_m.matmul(ft, f) if upper else _m.matmul(f, ft))


# ----------------------------------------------------------------------------- math namespace
def segment_sum(data: Any, segment_ids: Any, num_segments: int | None = None, sorted: bool = False) -> Tensor:  # noqa: A002
    """Sums of the rows of `data` that share a segment id (differentiable: a one-hot matrix product)."""
    t = as_tensor(data)
    ids = np.asarray(arr(segment_ids)).astype(np.int64)
    n = int(num_segments) if num_segments is not None else int(ids.max()) + 1
    onehot = (np.arange(n)[:, None] == ids[None, :]).astype(t.data.dtype if t.data.dtype.kind == "f" else np.float32)
    flat = _s.reshape(t, (t.shape[0], -1))
    return _s.reshape(_m.matmul(Tensor(onehot), flat), (n,) + t.shape[1:])


def segment_max(data: Any, segment_ids: Any, num_segments: int | None = None, sorted: bool = False) -> Tensor:  # noqa: A002
    """Maxima of the rows sharing a segment id (empty segments give the dtype's lowest value; no gradient)."""
    d = np.asarray(arr(data))
    ids = np.asarray(arr(segment_ids)).astype(np.int64)
    n = int(num_segments) if num_segments is not None else int(ids.max()) + 1
    low = np.finfo(d.dtype).min if d.dtype.kind == "f" else np.iinfo(d.dtype).min
    out = np.full((n,) + d.shape[1:], low, dtype=d.dtype)
    np.maximum.at(out, ids, d)
    return Tensor(out)


def extract_sequences(x: Any, sequence_length: int, sequence_stride: int) -> Tensor:
    """Frames of the last axis: (..., frames, sequence_length)."""
    t = as_tensor(x)
    n = 1 + (t.shape[-1] - sequence_length) // sequence_stride
    idx = np.arange(n)[:, None] * sequence_stride + np.arange(sequence_length)[None, :]
    return _s.getitem(t, (Ellipsis, idx))


def segment_min(data: Any, segment_ids: Any, num_segments: int | None = None, sorted: bool = False) -> Tensor:  # noqa: A002
    """Minima of the rows sharing a segment id (no gradient)."""
    return Tensor(-segment_max(-np.asarray(arr(data)), segment_ids, num_segments).data)


def cdist(x1: Any, x2: Any, p: float = 2.0) -> Tensor:
    """Pairwise p-norm distances between the rows of x1 (..., m, d) and x2 (..., n, d)."""
    a, b = as_tensor(x1), as_tensor(x2)
    d = _m.sub(_s.expand_dims(a, -2), _s.expand_dims(b, -3))
    if p == 2:
        return _m.sqrt(_m.sum(_m.square(d), axis=-1))
    return _m.pow(_m.sum(_m.pow(_m.abs(d), float(p)), axis=-1), 1.0 / p)


def vectorize(pyfunc: Callable[..., Any], **kwargs: Any) -> Callable[..., Any]:
    """pyfunc applied along the first axis of its inputs, results stacked (Keras's ops.vectorize, eagerly)."""

    def run(*args: Any) -> Tensor:
        n = len(arr(args[0]))
        return _s.stack([as_tensor(pyfunc(*[a[i] for a in args])) for i in range(n)], axis=0)

    return run


__all__ = [n for n in dir() if not n.startswith("_") and n not in {
    "Any", "Callable", "Function", "Sequence", "Tensor", "annotations", "arr", "as_tensor", "nondiff", "np"}]
