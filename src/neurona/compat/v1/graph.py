"""The TF1 dataflow graph: nodes are recorded now and run later by a Session.

Every node that computes a value holds a function of engine Tensors (`neurona.ops`), so running the graph
is running neurona's own ops and its gradients are the engine's. Placeholders, Variables and constants are
the graph's leaves; `Operation`s (initialisers, training steps) are nodes run for their effect.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from ...autodiff import Graph as TraceGraph
from ...autodiff import Node

Shape = tuple  # of int | None; None as a whole means "unknown rank"

float16, float32, float64 = np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float64)
int8, int16, int32, int64 = np.dtype(np.int8), np.dtype(np.int16), np.dtype(np.int32), np.dtype(np.int64)
uint8, bool_ = np.dtype(np.uint8), np.dtype(np.bool_)
_TF_NAMES = {float16: "half", float32: "float", float64: "double", int32: "int32", int64: "int64", bool_: "bool"}


def as_dtype(dtype: Any) -> np.dtype:
    """A NumPy dtype from tf.float32, "float32", np.float32 ..."""
    try:
        return np.dtype("bool" if dtype in (bool, "bool") else dtype)
    except TypeError:
        raise TypeError(f"cannot interpret {dtype!r} as a dtype (use tf.float32, tf.int32, tf.int64, tf.bool)")


def shape_text(shape: Shape | None) -> str:
    if shape is None:
        return "<unknown>"
    return "(" + ", ".join("?" if d is None else str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


class Graph:
    """A TensorFlow graph: the nodes created while it is the default (`with graph.as_default():`)."""

    def __init__(self) -> None:
        self.nodes: list[Tensor | Operation] = []
        self._names: dict[str, Tensor | Operation] = {}
        self._scope: list[str] = []
        self.seed: int | None = None
        self.variables: list[Any] = []  # Variables, in creation order
        self.trainable_variables: list[Any] = []

    @contextlib.contextmanager
    def as_default(self) -> Iterator[Graph]:
        """Make this the graph that new nodes go into, inside the `with` block."""
        _STACK.append(self)
        try:
            yield self
        finally:
            _STACK.remove(self)

    def unique_name(self, name: str) -> str:
        base = "/".join([*self._scope, name])
        if base not in self._names:
            return base
        i = 1
        while f"{base}_{i}" in self._names:
            i += 1
        return f"{base}_{i}"

    def add(self, node: Tensor | Operation) -> None:
        self.nodes.append(node)
        self._names[node.name] = node

    def get_operation_by_name(self, name: str) -> Tensor | Operation:
        if name not in self._names:
            raise KeyError(f"The name '{name}' refers to an Operation not in the graph.")
        return self._names[name]

    def get_tensor_by_name(self, name: str) -> Tensor:
        op_name, _, index = name.partition(":")
        node = self._names.get(op_name)
        if node is None or not isinstance(node, Tensor) or index not in ("0", ""):
            raise KeyError(f"The name '{name}' refers to a Tensor which does not exist. The operation, "
                           f"'{op_name}', does not exist in the graph.")
        return node

    def get_operations(self) -> list[Tensor | Operation]:
        return list(self.nodes)

    def as_trace_graph(self, fetches: Sequence[Any] | None = None) -> TraceGraph:
        """This graph (or the part that `fetches` need) as the engine's `neurona.Graph`, for DOT and plots."""
        keep = _needed(fetches) if fetches is not None else set(map(id, self.nodes))
        out = TraceGraph()
        ids: dict[int, int] = {}
        for node in self.nodes:
            if id(node) not in keep:
                continue
            leaf = node.kind in ("Placeholder", "VariableV2", "Const")
            label = f"{node.name}\n{node.kind}" if leaf else node.kind if node.name == node.kind else \
                f"{node.kind}\n{node.name}"
            shape = getattr(node, "shape", None)
            ids[id(node)] = len(out.nodes)
            out.nodes.append(Node(len(out.nodes), "tensor" if leaf else "op", label,
                                  tuple(-1 if d is None else d for d in shape or ())))
            out.edges += [(ids[id(i)], ids[id(node)]) for i in node.inputs if id(i) in ids]
        return out

    def to_dot(self, fetches: Sequence[Any] | None = None) -> str:
        """Graphviz DOT text of the graph: ops as boxes, placeholders/variables/constants as ellipses."""
        graph = self.as_trace_graph(fetches)
        for n in graph.nodes:
            n.label = n.label.replace("\n", "\\n")
        return re.sub(r"(?<=[nx])-1(?=[x\"])", "?", graph.to_dot())

    def plot(self, fetches: Sequence[Any] | None = None, path: Any = None, title: str | None = None) -> Any:
        """Draw the graph with `neurona.plot.graph` (matplotlib); returns the figure."""
        from ...plot import graph as draw

        return draw(self.as_trace_graph(fetches), path=path, title=title or "TF1 graph")


_STACK: list[Graph] = []
_ROOT = [Graph()]


def get_default_graph() -> Graph:
    """The graph new nodes go into: the innermost `as_default()`, else the global one."""
    return _STACK[-1] if _STACK else _ROOT[0]


def reset_default_graph() -> None:
    """Start a fresh global graph (not allowed inside `with graph.as_default():`)."""
    if _STACK:
        raise AssertionError("Do not use tf.reset_default_graph() to clear nested graphs.")
    _ROOT[0] = Graph()


@contextlib.contextmanager
def name_scope(name: str) -> Iterator[str]:
    """Prefix the names of the nodes created inside the block with `name/`."""
    graph = get_default_graph()
    graph._scope.append(name)
    try:
        yield "/".join(graph._scope) + "/"
    finally:
        graph._scope.pop()


class Tensor:
    """A symbolic value: the output of a graph node, computed only when a Session runs it."""

    __array_priority__ = 200.0

    def __init__(self, kind: str, inputs: Sequence[Tensor], fn: Callable[..., Any] | None, shape: Shape | None,
                 dtype: Any, name: str | None = None) -> None:
        graph = _common_graph(inputs)
        self.graph, self.kind, self.inputs, self.fn = graph, kind, list(inputs), fn
        self.shape = None if shape is None else tuple(None if d is None else int(d) for d in shape)
        self.dtype = as_dtype(dtype)
        self.name = graph.unique_name(name or kind)
        graph.add(self)

    @property
    def op(self) -> Tensor:
        return self

    def get_shape(self) -> TensorShape:
        return TensorShape(self.shape)

    def eval(self, feed_dict: dict | None = None, session: Any = None) -> np.ndarray:
        """The value of this tensor in `session` (default: the session of the enclosing `with`)."""
        from .session import _session_for

        return _session_for(session, self).run(self, feed_dict)

    def __repr__(self) -> str:
        dtype = _TF_NAMES.get(self.dtype, self.dtype)
        return f"<tf.Tensor '{self.name}:0' shape={shape_text(self.shape)} dtype={dtype}>"

    def __hash__(self) -> int:
        return id(self)

    def __bool__(self) -> bool:
        raise TypeError("Using a `tf.Tensor` as a Python `bool` is not allowed in graph mode: run it in a Session")

    # arithmetic builds more graph; the functions live in math_ops
    def __add__(self, o: Any) -> Tensor:
        return _math().add(self, o)

    def __radd__(self, o: Any) -> Tensor:
        return _math().add(o, self)

    def __sub__(self, o: Any) -> Tensor:
        return _math().subtract(self, o)

    def __rsub__(self, o: Any) -> Tensor:
        return _math().subtract(o, self)

    def __mul__(self, o: Any) -> Tensor:
        return _math().multiply(self, o)

    def __rmul__(self, o: Any) -> Tensor:
        return _math().multiply(o, self)

    def __truediv__(self, o: Any) -> Tensor:
        return _math().divide(self, o)

    def __rtruediv__(self, o: Any) -> Tensor:
        return _math().divide(o, self)

    def __matmul__(self, o: Any) -> Tensor:
        return _math().matmul(self, o)

    def __neg__(self) -> Tensor:
        return _math().negative(self)

    def __pow__(self, o: Any) -> Tensor:
        return _math().pow(self, o)


def _math() -> Any:
    from . import math_ops

    return math_ops


class TensorShape:
    """A static shape with unknown (None) dimensions, as `tensor.get_shape()` returns it."""

    def __init__(self, dims: Shape | None) -> None:
        self.dims = dims

    def as_list(self) -> list[int | None]:
        if self.dims is None:
            raise ValueError("as_list() is not defined on an unknown TensorShape.")
        return list(self.dims)

    def __iter__(self) -> Iterator[int | None]:
        return iter(self.as_list())

    def __getitem__(self, i: int) -> int | None:
        return self.as_list()[i]

    def __len__(self) -> int:
        return len(self.as_list())

    def __repr__(self) -> str:
        return f"TensorShape({self.dims})"


class Operation:
    """A node run for its effect (initialise variables, one training step); fetching it returns None."""

    def __init__(self, kind: str, inputs: Sequence[Any], effect: Callable[[Any, dict], None],
                 name: str | None = None, control: Sequence[Any] = ()) -> None:
        graph = _common_graph([*inputs, *control]) if (inputs or control) else get_default_graph()
        self.graph, self.kind, self.inputs, self.effect = graph, kind, list(inputs), effect
        self.control = list(control)
        self.name = graph.unique_name(name or kind)
        self.shape = None
        graph.add(self)

    def run(self, feed_dict: dict | None = None, session: Any = None) -> None:
        """Run this operation in `session` (default: the session of the enclosing `with`)."""
        from .session import _session_for

        _session_for(session, self).run(self, feed_dict)

    def __repr__(self) -> str:
        return f"<tf.Operation '{self.name}' type={self.kind}>"


def _common_graph(inputs: Sequence[Any]) -> Graph:
    graph = get_default_graph()
    first = None
    for t in inputs:
        g = getattr(t, "graph", None)
        if g is None:
            continue
        if first is None:
            first = t
            graph = g
        elif g is not graph:
            raise ValueError(f"Tensor({t.name!r}) must be from the same graph as Tensor({first.name!r}) "
                             f"(the two were created under different tf.Graph().as_default() blocks)")
    return graph


def _needed(fetches: Sequence[Any], stop: Any = ()) -> set[int]:
    """ids of every node the fetches depend on; the walk does not go behind nodes whose id is in `stop` (fed)."""
    seen: set[int] = set()
    stack = list(fetches)
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if id(node) not in stop:
            stack += list(node.inputs) + list(getattr(node, "control", ()))
    return seen


def placeholder(dtype: Any, shape: Any = None, name: str | None = None) -> Tensor:
    """A value fed at run time through `feed_dict`; None dimensions accept any size."""
    dims = None if shape is None else tuple(shape)
    return Tensor("Placeholder", [], None, dims, dtype, name)


def constant(value: Any, dtype: Any = None, shape: Any = None, name: str | None = None) -> Tensor:
    """A fixed value stored in the graph."""
    arr = np.asarray(value, dtype=None if dtype is None else as_dtype(dtype))
    if dtype is None and arr.dtype == np.float64 and not isinstance(value, np.ndarray):
        arr = arr.astype(np.float32)  # Python floats are float32 in TensorFlow
    if dtype is None and arr.dtype == np.int64 and not isinstance(value, np.ndarray):
        arr = arr.astype(np.int32)
    if shape is not None:
        arr = np.broadcast_to(arr, tuple(shape)).copy()
    return Tensor("Const", [], lambda: arr, arr.shape, arr.dtype, name)


def convert_to_tensor(value: Any, dtype: Any = None, name: str | None = None) -> Tensor:
    """A graph Tensor as is, anything else as a constant."""
    if isinstance(value, Tensor):
        return value
    if hasattr(value, "value") and isinstance(getattr(value, "value", None), Tensor):
        return value.value
    return constant(value, dtype=dtype, name=name)


__all__ = [
    "Graph", "Operation", "Tensor", "TensorShape", "as_dtype", "constant", "convert_to_tensor",
    "get_default_graph", "name_scope", "placeholder", "reset_default_graph",
]
