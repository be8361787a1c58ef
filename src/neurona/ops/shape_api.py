"""Keras 3's `keras.ops` NumPy namespace, part 2: creating arrays, shapes, joining and splitting, indexing.

Everything that moves values around is built from the differentiable `getitem`, `reshape`, `transpose`,
`concatenate` and `where`, so gradients flow through it; creating arrays and index arithmetic have none.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..tensor import Tensor, as_tensor
from . import math as _m
from . import shape as _s
from ._api import arr, axis_tuple, nondiff

# ----------------------------------------------------------------------------- creation (no gradient)
arange = nondiff(np.arange, "arange")
eye, identity, tri = nondiff(np.eye), nondiff(np.identity), nondiff(np.tri)
linspace, logspace, geomspace = nondiff(np.linspace), nondiff(np.logspace), nondiff(np.geomspace)
bartlett, blackman, hamming = nondiff(np.bartlett), nondiff(np.blackman), nondiff(np.hamming)
hanning, kaiser, vander = nondiff(np.hanning), nondiff(np.kaiser), nondiff(np.vander)
meshgrid = nondiff(np.meshgrid, "meshgrid")
diagflat = nondiff(np.diagflat, "diagflat")


def _dtype(dtype: Any) -> Any:
    return "float32" if dtype is None else dtype


def zeros(shape: Any, dtype: Any = None) -> Tensor:
    """A Tensor of zeros (float32 unless `dtype`)."""
    return Tensor(np.zeros(shape, _dtype(dtype)))


def ones(shape: Any, dtype: Any = None) -> Tensor:
    """A Tensor of ones (float32 unless `dtype`)."""
    return Tensor(np.ones(shape, _dtype(dtype)))


def empty(shape: Any, dtype: Any = None) -> Tensor:
    """A Tensor of the shape (zeros: nothing is left uninitialised)."""
    return zeros(shape, dtype)


def full(shape: Any, fill_value: Any, dtype: Any = None) -> Tensor:
    """A Tensor filled with `fill_value`."""
    return Tensor(np.full(shape, arr(fill_value), _dtype(dtype)))


def zeros_like(x: Any, dtype: Any = None) -> Tensor:
    return Tensor(np.zeros_like(arr(x), dtype=dtype))


def ones_like(x: Any, dtype: Any = None) -> Tensor:
    return Tensor(np.ones_like(arr(x), dtype=dtype))


def empty_like(x: Any, dtype: Any = None) -> Tensor:
    return zeros_like(x, dtype)


def full_like(x: Any, fill_value: Any, dtype: Any = None) -> Tensor:
    return Tensor(np.full_like(arr(x), arr(fill_value), dtype=dtype))


def array(x: Any, dtype: Any = None) -> Tensor:
    """A Tensor holding `x` (NumPy's dtype rules, as keras.ops.array)."""
    return Tensor(np.array(arr(x), dtype=dtype))


# ----------------------------------------------------------------------------- shape
def shape(x: Any) -> tuple[int, ...]:
    """The shape as a tuple of ints."""
    return tuple(np.shape(arr(x)))


def ndim(x: Any) -> int:
    return int(np.ndim(arr(x)))


def size(x: Any) -> int:
    return int(np.size(arr(x)))


def copy(x: Any) -> Tensor:
    """The same values in a new Tensor (gradient passes through)."""
    t = as_tensor(x)
    return _s.reshape(t, t.shape) if t.requires_grad else Tensor(t.data.copy())


def ravel(x: Any) -> Tensor:
    return _s.reshape(as_tensor(x), (-1,))


def moveaxis(x: Any, source: Any, destination: Any) -> Tensor:
    t = as_tensor(x)
    src = [int(a) % t.ndim for a in np.atleast_1d(source)]
    dst = [int(a) % t.ndim for a in np.atleast_1d(destination)]
    order = [n for n in range(t.ndim) if n not in src]
    for d, s_ in sorted(zip(dst, src)):
        order.insert(d, s_)
    return _s.transpose(t, order)


def swapaxes(x: Any, axis1: int, axis2: int) -> Tensor:
    t = as_tensor(x)
    order = list(range(t.ndim))
    order[axis1], order[axis2] = order[axis2], order[axis1]
    return _s.transpose(t, order)


def flip(x: Any, axis: Any = None) -> Tensor:
    t = as_tensor(x)
    index = [_builtin_slice(None)] * t.ndim
    for a in axis_tuple(axis, t.ndim):
        index[a] = _builtin_slice(None, None, -1)
    return _s.getitem(t, tuple(index))


def fliplr(x: Any) -> Tensor:
    return flip(x, 1)


def flipud(x: Any) -> Tensor:
    return flip(x, 0)


def rot90(array: Any, k: int = 1, axes: Sequence[int] = (0, 1)) -> Tensor:
    t = as_tensor(array)
    for _ in range(k % 4):
        t = flip(swapaxes(t, axes[0], axes[1]), axes[0])
    return t


def roll(x: Any, shift: Any, axis: Any = None) -> Tensor:
    t = as_tensor(x)
    if axis is None:
        return _s.reshape(roll(_s.reshape(t, (-1,)), shift, 0), t.shape)
    index = np.roll(np.arange(t.shape[int(axis)]), shift)
    return take(t, index, axis=int(axis))


def tile(x: Any, repeats: Any) -> Tensor:
    t = as_tensor(x)
    reps = (int(repeats),) if np.isscalar(repeats) else tuple(int(r) for r in repeats)
    if len(reps) > t.ndim:
        t = _s.reshape(t, (1,) * (len(reps) - t.ndim) + t.shape)
    reps = (1,) * (t.ndim - len(reps)) + reps
    index = tuple(np.tile(np.arange(n), r).reshape([-1 if i == j else 1 for j in range(t.ndim)])
                  for i, (n, r) in enumerate(zip(t.shape, reps)))
    return _s.getitem(t, index)


def repeat(x: Any, repeats: Any, axis: int | None = None) -> Tensor:
    t = as_tensor(x)
    if axis is None:
        t, axis = ravel(t), 0
    return take(t, np.repeat(np.arange(t.shape[int(axis)]), arr(repeats)), axis=int(axis))


# ----------------------------------------------------------------------------- joining and splitting
def append(x1: Any, x2: Any, axis: int | None = None) -> Tensor:
    if axis is None:
        return _s.concatenate([ravel(x1), ravel(x2)], axis=0)
    return _s.concatenate([as_tensor(x1), as_tensor(x2)], axis=axis)


def _at_least(t: Tensor, n: int) -> Tensor:
    if t.ndim >= n:
        return t
    shape = {0: (1,) * n, 1: (1, t.shape[0]) + (1,) * (n - 2)}.get(t.ndim, t.shape + (1,) * (n - t.ndim))
    return _s.reshape(t, shape)


def hstack(xs: Sequence[Any]) -> Tensor:
    ts = [as_tensor(x) for x in xs]
    return _s.concatenate(ts, axis=0 if all(t.ndim == 1 for t in ts) else 1)


def vstack(xs: Sequence[Any]) -> Tensor:
    return _s.concatenate([_at_least(as_tensor(x), 2) for x in xs], axis=0)


def dstack(xs: Sequence[Any]) -> Tensor:
    return _s.concatenate([_at_least(as_tensor(x), 3) for x in xs], axis=2)


def split(x: Any, indices_or_sections: Any, axis: int = 0) -> list[Tensor]:
    """Pieces along `axis` (equal sections, or cut at the given indices)."""
    t = as_tensor(x)
    n = t.shape[axis]
    if np.isscalar(indices_or_sections):
        k = int(indices_or_sections)
        if n % k:
            raise ValueError(f"split: axis {axis} of length {n} does not divide into {k} equal sections")
        cuts = list(range(n // k, n, n // k))
    else:
        cuts = [int(i) for i in indices_or_sections]
    bounds = [0] + cuts + [n]
    pre = (_builtin_slice(None),) * (axis % t.ndim)
    return [_s.getitem(t, pre + (_builtin_slice(a, b),)) for a, b in zip(bounds[:-1], bounds[1:])]


def array_split(x: Any, indices_or_sections: Any, axis: int = 0) -> list[Tensor]:
    """Like split, but sections may differ in length by one."""
    t = as_tensor(x)
    if not np.isscalar(indices_or_sections):
        return split(t, indices_or_sections, axis)
    n, k = t.shape[axis], int(indices_or_sections)
    sizes = [n // k + (1 if i < n % k else 0) for i in range(k)]
    return split(t, list(np.cumsum(sizes)[:-1]), axis)


def hsplit(x: Any, sections: Any) -> list[Tensor]:
    return split(x, sections, axis=1 if np.ndim(arr(x)) > 1 else 0)


def vsplit(x: Any, sections: Any) -> list[Tensor]:
    return split(x, sections, axis=0)


def dsplit(x: Any, sections: Any) -> list[Tensor]:
    return split(x, sections, axis=2)


def unstack(x: Any, num: int | None = None, axis: int = 0) -> list[Tensor]:
    """The slices along `axis`, each without that axis."""
    t = as_tensor(x)
    pre = (_builtin_slice(None),) * (axis % t.ndim)
    return [_s.getitem(t, pre + (i,)) for i in range(t.shape[axis])]


# ----------------------------------------------------------------------------- indexing
def take(x: Any, indices: Any, axis: int | None = None) -> Tensor:
    """Entries at integer `indices` along `axis` (of the flattened array when None); negative ones wrap."""
    t = as_tensor(x)
    idx = np.asarray(arr(indices))
    if idx.dtype.kind == "f":
        idx = idx.astype(np.int64)
    if axis is None:
        return _s.getitem(ravel(t), idx)
    return _s.getitem(t, (_builtin_slice(None),) * (int(axis) % t.ndim) + (idx,))


def take_along_axis(x: Any, indices: Any, axis: int | None = None) -> Tensor:
    """x[..., indices, ...] matched entry by entry along `axis` (as np.take_along_axis)."""
    t = as_tensor(x)
    idx = np.asarray(arr(indices)).astype(np.int64)
    if axis is None:
        return _s.getitem(ravel(t), idx)
    axis = int(axis) % t.ndim
    shape = np.broadcast_shapes(tuple(1 if i == axis else s for i, s in enumerate(t.shape)),
                                tuple(1 if i == axis else s for i, s in enumerate(idx.shape)))
    full_idx = []
    for i in range(t.ndim):
        if i == axis:
            full_idx.append(np.broadcast_to(idx, shape[:i] + (idx.shape[i],) + shape[i + 1:]))
        else:
            full_idx.append(np.arange(shape[i]).reshape([-1 if j == i else 1 for j in range(t.ndim)]))
    return _s.getitem(t, tuple(full_idx))


def sort(x: Any, axis: int = -1) -> Tensor:
    """Sorted along `axis` (gradients go back to where each value came from)."""
    return take_along_axis(x, np.argsort(arr(as_tensor(x)), axis=axis, kind="stable"), axis=axis)


def top_k(x: Any, k: int, sorted: bool = True) -> tuple[Tensor, Tensor]:  # noqa: A002
    """The `k` largest values along the last axis and their indices (values differentiable)."""
    t = as_tensor(x)
    order = np.argsort(-t.data, axis=-1, kind="stable")[..., :k]
    return take_along_axis(t, order, axis=-1), Tensor(order.astype(np.int32))


def in_top_k(targets: Any, predictions: Any, k: int) -> Tensor:
    """Whether each target class is among the `k` highest predictions of its row (ties count as in)."""
    p, t = np.asarray(arr(predictions)), np.asarray(arr(targets)).astype(np.int64)
    target_score = p[np.arange(len(t)), t]
    return Tensor(np.sum(p > target_score[:, None], axis=-1) < k)


def diagonal(x: Any, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Tensor:
    """The diagonal of the two axes, moved to the end (as NumPy)."""
    t = moveaxis(as_tensor(x), (axis1, axis2), (-2, -1))
    n, m = t.shape[-2], t.shape[-1]
    rows = np.arange(max(0, -offset), min(n, m - offset))
    return _s.getitem(t, (Ellipsis, rows, rows + offset))


def diag(x: Any, k: int = 0) -> Tensor:
    """The k-th diagonal of a matrix, or a matrix with vector `x` on its k-th diagonal."""
    t = as_tensor(x)
    if t.ndim == 2:
        return diagonal(t, k)
    n = t.shape[0] + abs(k)
    rows = np.arange(t.shape[0]) + max(0, -k)
    cols = np.arange(t.shape[0]) + max(0, k)
    onehot = np.zeros((t.shape[0], n * n), dtype=t.data.dtype)
    onehot[np.arange(t.shape[0]), rows * n + cols] = 1
    return _s.reshape(_m.matmul(_s.reshape(t, (1, -1)), Tensor(onehot)), (n, n))


def tril(x: Any, k: int = 0) -> Tensor:
    t = as_tensor(x)
    return _m.mul(t, np.tri(t.shape[-2], t.shape[-1], k, dtype=t.data.dtype))


def triu(x: Any, k: int = 0) -> Tensor:
    t = as_tensor(x)
    return _m.mul(t, 1 - np.tri(t.shape[-2], t.shape[-1], k - 1, dtype=t.data.dtype))


def get_item(x: Any, key: Any) -> Tensor:
    return _s.getitem(x, key)


def slice(inputs: Any, start_indices: Sequence[int], shape: Sequence[int]) -> Tensor:  # noqa: A001
    """The block starting at `start_indices` with size `shape` (Keras's ops.slice)."""
    starts = [int(i) for i in arr(start_indices)]
    return _s.getitem(inputs, tuple(_builtin_slice(s, s + int(n)) for s, n in zip(starts, arr(shape))))


def _builtin_slice(*args: Any) -> Any:
    import builtins

    return builtins.slice(*args)


def slice_update(inputs: Any, start_indices: Sequence[int], updates: Any) -> Tensor:
    """`inputs` with the block at `start_indices` replaced by `updates` (gradients reach both)."""
    t, u = as_tensor(inputs), as_tensor(updates)
    starts = [int(i) for i in arr(start_indices)]
    block = tuple(_builtin_slice(s, s + n) for s, n in zip(starts, u.shape))
    mask = np.zeros(t.shape, dtype=bool)
    mask[block] = True
    widths = [(s, t.shape[i] - s - u.shape[i]) for i, s in enumerate(starts)] + [(0, 0)] * (t.ndim - len(starts))
    return _m.where(mask, _s.pad(u, widths), t)


def scatter(indices: Any, values: Any, shape: Any) -> Tensor:
    """zeros(shape) with `values` added at the rows of `indices` (no gradient)."""
    out = np.zeros(tuple(arr(shape)), dtype=np.asarray(arr(values)).dtype)
    idx = np.asarray(arr(indices)).astype(np.int64)
    np.add.at(out, tuple(idx.T), arr(values))
    return Tensor(out)


def scatter_update(inputs: Any, indices: Any, updates: Any) -> Tensor:
    """`inputs` with the entries at `indices` (rows of coordinates) set to `updates` (no gradient)."""
    out = np.array(arr(inputs), copy=True)
    out[tuple(np.asarray(arr(indices)).astype(np.int64).T)] = arr(updates)
    return Tensor(out)


def select(condlist: Sequence[Any], choicelist: Sequence[Any], default: Any = 0) -> Tensor:
    """The choice of the first true condition, entry by entry (differentiable in the choices)."""
    out = as_tensor(default)
    for cond, choice in reversed(list(zip(condlist, choicelist))):
        out = _m.where(np.asarray(arr(cond)), choice, out)
    return out


def reshape(x: Any, newshape: Any = None, **kwargs: Any) -> Tensor:
    """Same values, new shape (Keras's keyword is `newshape`)."""
    target = kwargs.pop("shape", newshape)
    return _s.reshape(x, (int(target),) if np.isscalar(target) else tuple(int(s) for s in target))


def pad(x: Any, pad_width: Any, mode: str = "constant", constant_values: Any = None) -> Tensor:
    """Pad with a constant (default 0); other modes give values without gradient."""
    t = as_tensor(x)
    widths = np.broadcast_to(np.asarray(pad_width, dtype=np.int64).reshape(-1, 2) if np.ndim(pad_width) else
                             np.full((1, 2), pad_width), (t.ndim, 2))
    if mode == "constant":
        return _s.pad(t, [tuple(int(v) for v in w) for w in widths], value=0.0 if constant_values is None
                      else float(constant_values))
    return Tensor(np.pad(t.data, widths, mode=mode))


def diff(a: Any, n: int = 1, axis: int = -1) -> Tensor:
    """n-th differences along `axis`."""
    t = as_tensor(a)
    pre = (_builtin_slice(None),) * (axis % t.ndim)
    for _ in range(n):
        t = _m.sub(_s.getitem(t, pre + (_builtin_slice(1, None),)), _s.getitem(t, pre + (_builtin_slice(None, -1),)))
    return t


def depth_to_space(x: Any, block_size: int, data_format: str = "channels_last") -> Tensor:
    """(N, H, W, C*b*b) -> (N, H*b, W*b, C), TensorFlow's block order."""
    t = as_tensor(x)
    n, h, w, c = t.shape
    b = int(block_size)
    y = _s.transpose(_s.reshape(t, (n, h, w, b, b, c // (b * b))), (0, 1, 3, 2, 4, 5))
    return _s.reshape(y, (n, h * b, w * b, c // (b * b)))


def space_to_depth(x: Any, block_size: int, data_format: str = "channels_last") -> Tensor:
    """(N, H*b, W*b, C) -> (N, H, W, C*b*b), the inverse of depth_to_space."""
    t = as_tensor(x)
    n, h, w, c = t.shape
    b = int(block_size)
    y = _s.transpose(_s.reshape(t, (n, h // b, b, w // b, b, c)), (0, 1, 3, 2, 4, 5))
    return _s.reshape(y, (n, h // b, w // b, c * b * b))


__all__ = [n for n in dir() if not n.startswith("_") and n not in {
    "Any", "Sequence", "Tensor", "annotations", "arr", "as_tensor", "axis_tuple", "nondiff", "np"}]
