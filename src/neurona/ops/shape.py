"""Shape operations: they move or select values, so their gradients move values back."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..tensor import Function, Tensor, as_tensor


class Reshape(Function):
    def __init__(self, shape: tuple[int, ...]) -> None:
        self.shape = tuple(shape)

    def forward(self, x):
        self.in_shape = x.shape
        try:
            return x.reshape(self.shape)
        except ValueError:
            raise ValueError(
                f"cannot reshape a tensor of shape {x.shape} ({x.size} values) into {self.shape}"
            ) from None

    def backward(self, gy):
        return gy.reshape(self.in_shape)


class Transpose(Function):
    def __init__(self, axes: Sequence[int] | None) -> None:
        self.axes = None if axes is None else tuple(axes)

    def forward(self, x):
        return np.transpose(x, self.axes)

    def backward(self, gy):
        if self.axes is None:
            return np.transpose(gy)
        return np.transpose(gy, np.argsort(self.axes))


class BroadcastTo(Function):
    def __init__(self, shape: tuple[int, ...]) -> None:
        self.shape = tuple(shape)

    def forward(self, x):
        return np.broadcast_to(x, self.shape)

    def backward(self, gy):
        return gy  # the engine sums the gradient back to the input shape


class Concatenate(Function):
    def __init__(self, axis: int) -> None:
        self.axis = axis

    def forward(self, *xs):
        self.sizes = np.cumsum([x.shape[self.axis] for x in xs])[:-1]
        return np.concatenate(xs, axis=self.axis)

    def backward(self, gy):
        return tuple(np.split(gy, self.sizes, axis=self.axis))


class Stack(Function):
    def __init__(self, axis: int) -> None:
        self.axis = axis

    def forward(self, *xs):
        self.n = len(xs)
        return np.stack(xs, axis=self.axis)

    def backward(self, gy):
        return tuple(np.moveaxis(gy, self.axis, 0))


class Pad(Function):
    def __init__(self, pad_width: Any, value: float) -> None:
        self.pad_width, self.value = pad_width, value

    def forward(self, x):
        self.pads = np.broadcast_to(np.asarray(self.pad_width, dtype=int), (x.ndim, 2))
        return np.pad(x, self.pads, constant_values=self.value)

    def backward(self, gy):
        idx = tuple(slice(lo, gy.shape[i] - hi) for i, (lo, hi) in enumerate(self.pads))
        return gy[idx]


class GetItem(Function):
    """Indexing with slices, integers, integer arrays or boolean masks."""

    def __init__(self, index: Any) -> None:
        self.index = index

    def forward(self, x):
        self.in_shape, self.in_dtype = x.shape, x.dtype
        return x[self.index]

    def backward(self, gy):
        gx = np.zeros(self.in_shape, self.in_dtype)
        np.add.at(gx, self.index, gy)  # repeated integer indices accumulate
        return gx


def _index(index: Any) -> Any:
    """An index with Tensors in it as NumPy takes it: integer-valued float Tensors (Python numbers become
    float32 Tensors) index as integers, 0-d ones as plain ints, as Keras allows `x[t]` for a Tensor `t`."""
    if isinstance(index, Tensor):
        return _tensor_index(index.data)
    if isinstance(index, tuple):
        return tuple(_index(i) if isinstance(i, (Tensor, list)) else i for i in index)
    if isinstance(index, list) and any(isinstance(i, Tensor) for i in index):
        return [_index(i) for i in index]
    return index


def _tensor_index(a: np.ndarray) -> Any:
    if a.dtype.kind == "f":
        if not np.all(np.isfinite(a)) or np.any(a != np.round(a)):
            raise IndexError(f"a Tensor used as an index must hold integers, got {a.dtype} values {a.ravel()[:5]}")
        a = a.astype(np.int64)
    return a.item() if a.ndim == 0 and a.dtype.kind in "iu" else a


def reshape(x: Any, shape: Sequence[int]) -> Tensor:
    """Same values, new shape (one axis may be -1)."""
    x = as_tensor(x)
    if tuple(shape) == x.shape:
        return x
    return Reshape(tuple(shape))(x)


def transpose(x: Any, axes: Sequence[int] | None = None) -> Tensor:
    """Reverse (or permute by `axes`) the axes."""
    return Transpose(axes)(x)


def permute(x: Any, axes: Sequence[int]) -> Tensor:
    """Reorder the axes as `axes` says (PyTorch's name for transpose with axes)."""
    return Transpose(axes)(x)


def broadcast_to(x: Any, shape: Sequence[int]) -> Tensor:
    """Repeat along broadcast axes to reach `shape`."""
    return BroadcastTo(tuple(shape))(x)


def expand_dims(x: Any, axis: int) -> Tensor:
    """Insert an axis of length 1 at `axis`."""
    x = as_tensor(x)
    return reshape(x, np.expand_dims(x.data, axis).shape)


def squeeze(x: Any, axis: int | Sequence[int] | None = None) -> Tensor:
    """Remove axes of length 1 (all of them, or those in `axis`)."""
    x = as_tensor(x)
    try:
        shape = np.squeeze(x.data, axis=axis).shape
    except ValueError:
        raise ValueError(f"cannot squeeze axis {axis} of a tensor with shape {x.shape}") from None
    return reshape(x, shape)


def flatten(x: Any, start_axis: int = 1) -> Tensor:
    """Merge every axis from `start_axis` on into one."""
    x = as_tensor(x)
    return reshape(x, x.shape[:start_axis] + (-1,))


def concatenate(xs: Sequence[Any], axis: int = 0) -> Tensor:
    """Join tensors along an existing axis."""
    return Concatenate(axis)(*xs)


def stack(xs: Sequence[Any], axis: int = 0) -> Tensor:
    """Join tensors along a new axis."""
    return Stack(axis)(*xs)


def pad(x: Any, pad_width: Any, value: float = 0.0) -> Tensor:
    """Pad with a constant; `pad_width` as in `numpy.pad`."""
    return Pad(pad_width, value)(x)


def getitem(x: Any, index: Any) -> Tensor:
    """`x[index]` for slices, integers, integer arrays and boolean masks."""
    return GetItem(_index(index))(x)
