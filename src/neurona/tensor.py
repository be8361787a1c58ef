"""Tensor: a NumPy array that remembers how it was computed, so gradients can flow back.

The engine is DeZero-shaped: every differentiable operation is a `Function` subclass with
`forward(*arrays)` and `backward(*grads)` written in plain NumPy. Calling a function on tensors
computes the result eagerly and, unless `no_grad()` is active, records the function as the
result's `creator`. `Tensor.backward()` then visits the recorded functions once, in reverse
topological order, accumulating gradients.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

import numpy as np

_FLOATX = np.float32


class _ThreadConfig(threading.local):
    """Execution mode, one per thread: `no_grad()` while serving must not stop a `fit()` elsewhere."""
    grad_enabled = True  # the class attribute is every new thread's default


_Config = _ThreadConfig()


@contextlib.contextmanager
def no_grad() -> Iterator[None]:
    """Run the block without recording the graph (inference, optimizer updates)."""
    old = _Config.grad_enabled
    _Config.grad_enabled = False
    try:
        yield
    finally:
        _Config.grad_enabled = old


@contextlib.contextmanager
def enable_grad() -> Iterator[None]:
    """Record the graph inside the block even if an outer `no_grad()` is active."""
    old = _Config.grad_enabled
    _Config.grad_enabled = True
    try:
        yield
    finally:
        _Config.grad_enabled = old


def is_grad_enabled() -> bool:
    """True when operations record the graph for backward."""
    return _Config.grad_enabled


def _to_array(data: Any, dtype: Any = None) -> np.ndarray:
    if isinstance(data, Tensor):
        data = data.data
    if isinstance(data, np.ndarray):
        return data if dtype is None or data.dtype == dtype else data.astype(dtype)
    if isinstance(data, np.generic):  # NumPy scalars (results of reductions) keep their dtype
        return np.asarray(data, dtype=dtype)
    arr = np.asarray(data, dtype=dtype)
    if dtype is None and arr.dtype.kind in "fiu" and arr.dtype != _FLOATX:
        # Python numbers and lists become float32, the framework's default precision.
        arr = arr.astype(_FLOATX)
    return arr


class Tensor:
    """An n-dimensional array with optional gradient tracking.

    Lists and Python numbers become float32; NumPy arrays keep their dtype (so float64
    tensors are available for gradient checks). Only floating tensors may require grad.
    """

    __slots__ = ("data", "grad", "requires_grad", "creator", "_index", "name", "_keras_mask", "__weakref__")
    __array_priority__ = 100.0

    def __init__(
        self, data: Any, requires_grad: bool = False, dtype: Any = None, name: str | None = None
    ) -> None:
        self.data = _to_array(data, dtype)
        self.grad: np.ndarray | None = None
        self.creator: Function | None = None
        self._index = 0
        self.name = name
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    # ----------------------------------------------------------------- properties
    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def size(self) -> int:
        return self.data.size

    @property
    def is_leaf(self) -> bool:
        return self.creator is None

    def __len__(self) -> int:
        return len(self.data)

    def __repr__(self) -> str:
        body = np.array2string(self.data, separator=", ", prefix="Tensor(")
        extra = ", requires_grad=True" if self.requires_grad else ""
        if self.data.dtype != _FLOATX:
            extra += f", dtype={self.data.dtype}"
        return f"Tensor({body}{extra})"

    def requires_grad_(self, flag: bool = True) -> Tensor:
        """Mark this tensor as a leaf whose gradient should be computed."""
        if flag and self.data.dtype.kind != "f":
            raise TypeError(
                f"only floating-point tensors can require gradients, got dtype {self.data.dtype}"
            )
        self.requires_grad = flag
        return self

    # ----------------------------------------------------------------- conversion
    def numpy(self) -> np.ndarray:
        """The underlying NumPy array (shared, not copied)."""
        return self.data

    def item(self) -> float:
        """The value of a one-element tensor as a Python number."""
        if self.data.size != 1:
            raise ValueError(f"item() needs a tensor with one element, got shape {self.shape}")
        return self.data.item()

    def tolist(self) -> Any:
        return self.data.tolist()

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        return self.data if dtype is None else self.data.astype(dtype)

    def __float__(self) -> float:
        return float(self.item())

    def detach(self) -> Tensor:
        """A tensor sharing the data but cut from the graph."""
        return Tensor(self.data)

    def astype(self, dtype: Any) -> Tensor:
        from .ops.math import cast

        return cast(self, dtype)

    def zero_grad(self) -> None:
        self.grad = None

    # ----------------------------------------------------------------- backward
    def backward(self, grad: Any = None, retain_graph: bool = False) -> None:
        """Accumulate d(self)/d(leaf) into every leaf's `.grad`.

        `grad` is the upstream gradient; it may be omitted only for one-element tensors
        (a scalar loss). The graph is released afterwards unless `retain_graph=True`.
        """
        if not self.requires_grad:
            raise RuntimeError(
                "backward() called on a tensor that does not require grad: none of its inputs "
                "had requires_grad=True (or it was computed under no_grad())"
            )
        if grad is None:
            if self.data.size != 1:
                raise RuntimeError(
                    f"backward() without a gradient argument needs a scalar (one-element) tensor, "
                    f"got shape {self.shape}; pass grad= with the same shape, or reduce first"
                )
            g = np.ones_like(self.data)
        else:
            g = _to_array(grad, self.data.dtype)
            if g.shape != self.shape:
                raise ValueError(
                    f"backward() gradient shape {g.shape} does not match tensor shape {self.shape}"
                )
        if self.creator is None:
            self.grad = g if self.grad is None else self.grad + g
            return
        if not hasattr(self.creator, "gys"):
            raise RuntimeError(
                "backward() through a graph that was already freed by an earlier backward(); "
                "pass retain_graph=True to the first call to backpropagate twice"
            )
        self.creator.gys[self._index] = g
        for f in _topological(self.creator):
            gys = f.gys
            f.gys = [None] * len(gys)
            for i, gy in enumerate(gys):
                if gy is None:
                    gys[i] = np.zeros_like(f.outs[i])
            gxs = f.backward(*gys)  # type: ignore[arg-type]  # Nones replaced above
            if not isinstance(gxs, tuple):
                gxs = (gxs,)
            for x, gx in zip(f.inputs, gxs):
                if gx is None or not x.requires_grad:
                    continue
                if gx.shape != x.data.shape:
                    gx = sum_to(gx, x.data.shape)
                c = x.creator
                if c is None:
                    if x.grad is not None:
                        x.grad = x.grad + gx
                    else:
                        x.grad = gx if gx.flags.writeable else gx.copy()
                else:
                    prev = c.gys[x._index]
                    c.gys[x._index] = gx if prev is None else prev + gx
            if not retain_graph:
                f.release()

    # ----------------------------------------------------------------- operators
    def __add__(self, other: Any) -> Tensor:
        from .ops.math import add

        return add(self, other)

    def __radd__(self, other: Any) -> Tensor:
        from .ops.math import add

        return add(other, self)

    def __sub__(self, other: Any) -> Tensor:
        from .ops.math import sub

        return sub(self, other)

    def __rsub__(self, other: Any) -> Tensor:
        from .ops.math import sub

        return sub(other, self)

    def __mul__(self, other: Any) -> Tensor:
        from .ops.math import mul

        return mul(self, other)

    def __rmul__(self, other: Any) -> Tensor:
        from .ops.math import mul

        return mul(other, self)

    def __truediv__(self, other: Any) -> Tensor:
        from .ops.math import div

        return div(self, other)

    def __rtruediv__(self, other: Any) -> Tensor:
        from .ops.math import div

        return div(other, self)

    def __neg__(self) -> Tensor:
        from .ops.math import neg

        return neg(self)

    def __pos__(self) -> Tensor:
        return self

    def __pow__(self, other: Any) -> Tensor:
        from .ops.math import pow

        return pow(self, other)

    def __rpow__(self, other: Any) -> Tensor:
        from .ops.math import pow

        return pow(other, self)

    def __matmul__(self, other: Any) -> Tensor:
        from .ops.math import matmul

        return matmul(self, other)

    def __rmatmul__(self, other: Any) -> Tensor:
        from .ops.math import matmul

        return matmul(other, self)

    def __abs__(self) -> Tensor:
        from .ops.math import abs

        return abs(self)

    def __getitem__(self, index: Any) -> Tensor:
        from .ops.shape import getitem

        return getitem(self, index)

    # Comparisons are not differentiable: they return boolean tensors.
    def __lt__(self, other: Any) -> Tensor:
        return Tensor(self.data < _to_array(other))

    def __le__(self, other: Any) -> Tensor:
        return Tensor(self.data <= _to_array(other))

    def __gt__(self, other: Any) -> Tensor:
        return Tensor(self.data > _to_array(other))

    def __ge__(self, other: Any) -> Tensor:
        return Tensor(self.data >= _to_array(other))

    def __eq__(self, other: Any) -> Tensor:  # type: ignore[override]
        return Tensor(self.data == _to_array(other))

    def __ne__(self, other: Any) -> Tensor:  # type: ignore[override]
        return Tensor(self.data != _to_array(other))

    __hash__ = object.__hash__

    # ----------------------------------------------------------------- methods
    def sum(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        from .ops.math import sum

        return sum(self, axis, keepdims)

    def mean(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        from .ops.math import mean

        return mean(self, axis, keepdims)

    def max(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        from .ops.math import max

        return max(self, axis, keepdims)

    def min(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        from .ops.math import min

        return min(self, axis, keepdims)

    def var(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        from .ops.math import var

        return var(self, axis, keepdims)

    def exp(self) -> Tensor:
        from .ops.math import exp

        return exp(self)

    def log(self) -> Tensor:
        from .ops.math import log

        return log(self)

    def reshape(self, *shape: Any) -> Tensor:
        from .ops.shape import reshape

        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return reshape(self, shape)

    def transpose(self, *axes: Any) -> Tensor:
        from .ops.shape import transpose

        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        return transpose(self, axes or None)

    @property
    def T(self) -> Tensor:  # noqa: N802 - NumPy's name
        return self.transpose()


def as_tensor(x: Any, dtype: Any = None) -> Tensor:
    """Return `x` if it is already a Tensor, else wrap it."""
    if isinstance(x, Tensor):
        return x
    return Tensor(x, dtype=dtype)


def sum_to(g: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Undo broadcasting: sum `g` down to `shape`."""
    lead = g.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        i + lead for i, s in enumerate(shape) if s == 1 and g.shape[i + lead] != 1
    )
    if axes:
        g = g.sum(axis=axes, keepdims=True)
    if lead:
        g = g.reshape(shape)
    return g


_new_tensor = object.__new__


def _lift(x: Any, inputs: tuple) -> Tensor:
    """Wrap a non-tensor operand; Python numbers take the dtype of the floating tensor beside them."""
    if isinstance(x, (int, float)) and not isinstance(x, bool):
        for other in inputs:
            if isinstance(other, Tensor) and other.data.dtype.kind == "f":
                return Tensor(np.asarray(x, dtype=other.data.dtype))
    return Tensor(x)


def _wrap(y: Any) -> Tensor:
    """A fresh graph-free Tensor around an op's output (no dtype conversion: ops keep dtypes)."""
    t = _new_tensor(Tensor)
    t.data = y if type(y) is np.ndarray else np.asarray(y)
    t.grad = None
    t.requires_grad = False
    t.creator = None
    t._index = 0
    t.name = None
    return t


class Function:
    """One differentiable operation: `forward` on arrays, `backward` on output gradients.

    Subclasses set attributes they need for backward inside `forward` (saved arrays) and
    return one array, or a tuple of arrays for several outputs.
    """

    inputs: list[Tensor] | tuple[Tensor, ...] = ()
    gys: list[np.ndarray | None]
    outs: tuple[np.ndarray, ...]

    def __call__(self, *inputs: Any) -> Any:
        # The hot path of the whole framework: keep it to a few attribute stores.
        xs = [x if isinstance(x, Tensor) else _lift(x, inputs) for x in inputs]
        ys = self.forward(*[x.data for x in xs])
        record = False
        if _Config.grad_enabled:
            for x in xs:
                if x.requires_grad:
                    record = True
                    break
        if type(ys) is not tuple:
            out = _wrap(ys)
            if record and out.data.dtype.kind == "f":
                self.inputs = xs
                self.gys = [None]
                self.outs = (out.data,)
                out.requires_grad = True
                out.creator = self
            return out
        outputs = tuple(_wrap(y) for y in ys)
        if record:
            self.inputs = xs
            self.gys = [None] * len(ys)
            self.outs = tuple(o.data for o in outputs)
            for i, out in enumerate(outputs):
                if out.data.dtype.kind == "f":
                    out.requires_grad = True
                    out.creator = self
                    out._index = i
        return outputs

    def forward(self, *xs: np.ndarray) -> Any:
        raise NotImplementedError

    def backward(self, *gys: np.ndarray) -> Any:
        raise NotImplementedError

    def release(self) -> None:
        """Drop references kept for backward, so the graph can be freed."""
        self.__dict__ = {"inputs": ()}

    @property
    def name(self) -> str:
        return type(self).__name__


def _topological(root: Function) -> list[Function]:
    """Functions reachable from `root`, each after every function that consumes its output."""
    order: list[Function] = []
    seen: set[int] = set()
    stack: list[tuple[Function, bool]] = [(root, False)]
    while stack:
        f, done = stack.pop()
        if done:
            order.append(f)
            continue
        if id(f) in seen:
            continue
        seen.add(id(f))
        stack.append((f, True))
        for x in f.inputs:
            c = x.creator
            if c is not None and id(c) not in seen:
                stack.append((c, False))
    order.reverse()
    return order
