"""The pieces of the functional graph: symbolic tensors (what `Input` returns), the nodes that record
each layer call, and the input specs layers check their inputs against."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ..tensor import Tensor, no_grad

if TYPE_CHECKING:
    from .base import Layer

_node_ids = itertools.count()


class SymbolicTensor:
    """A placeholder with a shape (None for the batch axis) that records the graph it flows through.

    >>> from neurona.layers import Input, Dense
    >>> x = Input(shape=(784,))
    >>> Dense(10)(x).shape
    (None, 10)
    """

    __slots__ = ("shape", "dtype", "name", "node", "index")

    def __init__(self, shape: Sequence[int | None], dtype: Any = "float32", name: str | None = None) -> None:
        self.shape = tuple(None if s is None else int(s) for s in shape)
        self.dtype = np.dtype(dtype)
        self.name = name
        self.node: Node | None = None
        self.index = 0

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def layer(self) -> Layer | None:
        return None if self.node is None else self.node.layer

    def __repr__(self) -> str:
        return f"<SymbolicTensor shape={self.shape}, dtype={self.dtype}, name={self.name}>"

    def __array__(self, *args: Any, **kwargs: Any) -> np.ndarray:
        raise TypeError("a SymbolicTensor (from Input) has no values: build a Model(inputs, outputs) and call "
                        "model.predict(x) to compute with real data")


KerasTensor = SymbolicTensor


class Node:
    """One call of a layer inside a graph: which tensors went in, which came out."""

    def __init__(self, layer: Layer, inputs: Any, outputs: Any, kwargs: dict[str, Any] | None = None) -> None:
        self.id = next(_node_ids)
        self.layer = layer
        self.inputs = inputs  # a SymbolicTensor or a list of them, as the layer was called
        self.outputs = outputs
        self.kwargs = kwargs or {}
        self.input_tensors = flatten(inputs)
        self.output_tensors = flatten(outputs)
        self.index = len(layer._inbound_nodes)
        layer._inbound_nodes.append(self)
        for i, t in enumerate(self.output_tensors):
            t.node, t.index = self, i
            if t.name is None:
                t.name = layer.name

    @property
    def parents(self) -> list[Node]:
        return [t.node for t in self.input_tensors if t.node is not None]

    @property
    def is_input(self) -> bool:
        return not self.input_tensors


def flatten(structure: Any) -> list[Any]:
    """A tensor or a (nested) list/tuple of tensors as a flat list."""
    if isinstance(structure, (list, tuple)):
        return [t for s in structure for t in flatten(s)]
    return [structure]


def _is_symbolic(inputs: Any) -> bool:
    if isinstance(inputs, SymbolicTensor):
        return True
    if isinstance(inputs, (list, tuple)) and inputs:
        return any(isinstance(t, SymbolicTensor) for t in flatten(inputs))
    return False


def _shapes(inputs: Any) -> Any:
    if isinstance(inputs, dict):  # a subclassed model called with named inputs, as Keras allows
        return {k: _shapes(v) for k, v in inputs.items()}
    if isinstance(inputs, (list, tuple)):
        return [_shapes(t) for t in inputs]
    return tuple(inputs.shape)


def _batchless(shape: Any) -> Any:
    """The shape a layer is built with: the batch axis set to None."""
    if isinstance(shape, dict):
        return {k: _batchless(v) for k, v in shape.items()}
    if isinstance(shape, list):
        return [_batchless(s) for s in shape]
    return (None,) + tuple(shape[1:]) if len(shape) else tuple(shape)


# ----------------------------------------------------------------------------- input spec
class InputSpec:
    """What a layer accepts: a number of dimensions and known sizes on some axes."""

    def __init__(self, ndim: int | None = None, min_ndim: int | None = None, max_ndim: int | None = None,
                 axes: dict[int, int] | None = None, shape: Sequence[int | None] | None = None,
                 hint: str = "") -> None:
        self.ndim, self.min_ndim, self.max_ndim = ndim, min_ndim, max_ndim
        self.axes = dict(axes or {})
        self.shape = None if shape is None else tuple(shape)
        if self.shape is not None:
            self.ndim = len(self.shape)
        self.hint = hint  # e.g. "(batch, height, width, channels)", shown in errors about ndim

    def check(self, layer: Layer, shape: tuple[int | None, ...]) -> None:
        """Raise ValueError naming the layer and both shapes when `shape` does not fit."""
        shape = tuple(shape)
        who = f"{type(layer).__name__} '{layer.name}'"
        hint = f" {self.hint}" if self.hint else ""
        nd = len(shape)
        if self.ndim is not None and nd != self.ndim:
            raise ValueError(f"{who} expects inputs with {self.ndim} dimensions{hint}, got shape {shape}")
        if self.min_ndim is not None and nd < self.min_ndim:
            raise ValueError(f"{who} expects inputs with at least {self.min_ndim} dimensions{hint}, "
                             f"got shape {shape}")
        if self.max_ndim is not None and nd > self.max_ndim:
            raise ValueError(f"{who} expects inputs with at most {self.max_ndim} dimensions{hint}, got shape {shape}")
        for axis, size in self.axes.items():
            got = shape[axis] if -nd <= axis < nd else None
            if size is not None and got is not None and got != size:
                where = "last axis" if axis == -1 else f"axis {axis}"
                raise ValueError(f"{who} expects inputs with {where} {size}, got shape {shape}")
        if self.shape is not None:
            for want, got in zip(self.shape[1:], shape[1:]):
                if want is not None and got is not None and want != got:
                    raise ValueError(f"{who} expects inputs of shape {self.shape}, got shape {shape}")


def _make_symbolic(shapes: Any, dtype: Any) -> Any:
    if isinstance(shapes, list):
        return [_make_symbolic(s, dtype) for s in shapes]
    return SymbolicTensor(shapes, dtype)


def _traced_output_shape(layer: Any, input_shape: Any) -> Any:
    """Run the layer on zeros twice (unknown sizes as 2, then 3) and read the output shape."""

    def zeros(shape: Any, fill: int) -> Any:
        if isinstance(shape, list):
            return [zeros(s, fill) for s in shape]
        return Tensor(np.zeros([fill if s is None else s for s in shape], dtype=layer.dtype))

    def run(fill: int) -> Any:
        with no_grad():
            if layer._call_has_training:
                out = layer.call(zeros(input_shape, fill), training=False)
            else:
                out = layer.call(zeros(input_shape, fill))
        return _shapes(out)

    has_none = any(s is None for s in flatten(_flat_dims(input_shape)))
    a = run(2)
    if not has_none:
        return a
    b = run(3)

    def merge(x: Any, y: Any) -> Any:
        if isinstance(x, list):
            return [merge(p, q) for p, q in zip(x, y)]
        return tuple(p if p == q else None for p, q in zip(x, y))

    return merge(a, b)


def _flat_dims(shape: Any) -> list[Any]:
    if isinstance(shape, list):
        return [d for s in shape for d in _flat_dims(s)]
    return list(shape)
