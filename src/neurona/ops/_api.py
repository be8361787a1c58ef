"""Helpers shared by the Keras-named op modules (`numpy_api`, `shape_api`, `nn_api`, `core_api`):
elementwise functions with hand-written derivatives, and NumPy functions lifted to Tensors without gradient."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np

from ..tensor import Function, Tensor, as_tensor


def arr(x: Any) -> Any:
    """The ndarray behind `x` (Tensors unwrapped, lists/tuples of Tensors too); other values as they are."""
    if isinstance(x, Tensor):
        return x.data
    if isinstance(x, (list, tuple)) and any(isinstance(v, Tensor) for v in x):
        return type(x)(arr(v) for v in x)
    return x


def wrap(y: Any) -> Any:
    """NumPy results as Tensors (tuples element by element); no gradient flows through them."""
    if isinstance(y, tuple):
        return tuple(wrap(v) for v in y)
    if isinstance(y, list):
        return [wrap(v) for v in y]
    return Tensor(np.asarray(y))


def nondiff(np_fn: Callable[..., Any], name: str | None = None) -> Callable[..., Any]:
    """`np_fn` on the arrays behind its Tensor arguments, its result as Tensors without gradient (comparisons,
    indices, counts, constants: functions whose derivative is zero or undefined)."""

    @functools.wraps(np_fn)
    def op(*args: Any, **kwargs: Any) -> Any:
        return wrap(np_fn(*[arr(a) for a in args], **{k: arr(v) for k, v in kwargs.items()}))

    op.__name__ = op.__qualname__ = name or np_fn.__name__
    op.__doc__ = f"NumPy's `{np_fn.__name__}` on tensors (no gradient: the result is piecewise constant or integer)."
    return op


class Elementwise(Function):
    """y = f(x) elementwise with dy/dx = df(x, y)."""

    def __init__(self, f: Callable[[np.ndarray], np.ndarray], df: Callable[[np.ndarray, np.ndarray], np.ndarray]):
        self.f, self.df = f, df

    def forward(self, x):
        self.x = x
        self.y = self.f(x)
        return self.y

    def backward(self, gy):
        return gy * self.df(self.x, self.y)


def unary(name: str, f: Callable[[np.ndarray], np.ndarray], df: Callable[[np.ndarray, np.ndarray], np.ndarray],
          doc: str) -> Callable[[Any], Tensor]:
    """A differentiable elementwise op named `name`; integer inputs are computed in float32 (as Keras does)."""

    def op(x: Any) -> Tensor:
        t = as_tensor(x)
        if t.data.dtype.kind not in "fc":
            t = Tensor(t.data.astype(np.float32))
        return Elementwise(f, df)(t)

    op.__name__ = op.__qualname__ = name
    op.__doc__ = doc
    return op


def axis_tuple(axis: Any, ndim: int) -> tuple[int, ...]:
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    return tuple(int(a) % ndim for a in axes)
