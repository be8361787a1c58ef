"""Tools to trust and to see the engine: numerical gradient checks and the dataflow graph."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .tensor import Function, Tensor, enable_grad


class GradcheckError(AssertionError):
    """The analytic gradient disagrees with central differences."""


def _scalar_loss(out: Tensor, seed: int) -> tuple[Tensor, np.ndarray]:
    # A fixed random projection turns any output into a scalar that depends on every element.
    r = np.random.default_rng(seed).standard_normal(out.shape)
    return (out * Tensor(r)).sum(), r


def gradcheck(
    fn: Callable[..., Tensor],
    *inputs: Any,
    eps: float = 1e-6,
    rtol: float = 1e-6,
    atol: float = 1e-9,
    raise_exception: bool = True,
) -> bool:
    """Compare backward() with central differences, in float64, for every floating input.

    `fn(*tensors)` must return a Tensor. Non-scalar outputs are reduced with a fixed random
    projection. The check passes when, per input, ||analytic - numeric|| is within
    `rtol * max(||analytic||, ||numeric||) + atol`. Raises GradcheckError (or returns False).
    """
    xs = []
    for x in inputs:
        arr = x.data if isinstance(x, Tensor) else np.asarray(x)
        if arr.dtype.kind == "f" or isinstance(x, float):
            xs.append(Tensor(arr.astype(np.float64), requires_grad=True))
        else:
            xs.append(x)
    with enable_grad():
        out = fn(*xs)
        if not isinstance(out, Tensor):
            raise TypeError(f"gradcheck: fn must return a Tensor, got {type(out).__name__}")
        loss, r = _scalar_loss(out, 0)
        loss.backward()

    def value() -> float:
        return float((np.asarray(fn(*xs).data, np.float64) * r).sum())

    for i, x in enumerate(xs):
        if not isinstance(x, Tensor) or not x.requires_grad:
            continue
        analytic = np.zeros_like(x.data) if x.grad is None else np.asarray(x.grad, np.float64)
        numeric = np.zeros_like(x.data)
        # order 'A': views for C- and Fortran-ordered inputs alike (a narrow Dense kernel is Fortran-ordered)
        flat, nflat = x.data.reshape(-1, order="A"), numeric.reshape(-1, order="A")
        for j in range(flat.size):
            old = flat[j]
            flat[j] = old + eps
            up = value()
            flat[j] = old - eps
            down = value()
            flat[j] = old
            nflat[j] = (up - down) / (2 * eps)
        err = np.linalg.norm(analytic - numeric)
        scale = max(float(np.linalg.norm(analytic)), float(np.linalg.norm(numeric)))
        if not err <= rtol * scale + atol:
            if not raise_exception:
                return False
            worst = int(np.argmax(np.abs(analytic - numeric)))
            raise GradcheckError(
                f"gradient of input {i} (shape {x.shape}) is wrong: relative error "
                f"{err / max(scale, 1e-300):.3g}; worst element {np.unravel_index(worst, x.shape)}: "
                f"analytic {analytic.flat[worst]:.8g} vs numeric {numeric.flat[worst]:.8g}"
            )
    return True


@dataclass
class Node:
    """One vertex of a traced graph: an op, or a tensor (input, parameter, constant or output)."""

    id: int
    kind: str  # "op" or "tensor"
    label: str
    shape: tuple[int, ...] = ()


@dataclass
class Graph:
    """The dataflow graph of one computation: tensors flow along edges through ops."""

    nodes: list[Node] = field(default_factory=list)
    edges: list[tuple[int, int]] = field(default_factory=list)
    output: Tensor | None = None

    @property
    def ops(self) -> list[str]:
        """Op names in the order they were executed."""
        return [n.label for n in self.nodes if n.kind == "op"]

    def to_dot(self) -> str:
        """Graphviz DOT text: ops as boxes, tensors as ellipses labelled with their shapes."""
        lines = ["digraph neurona {", "  rankdir=LR;"]
        for n in self.nodes:
            if n.kind == "op":
                lines.append(f'  n{n.id} [shape=box, style=filled, fillcolor=lightblue, label="{n.label}"];')
            else:
                shape = "x".join(map(str, n.shape)) or "scalar"
                lines.append(f'  n{n.id} [shape=ellipse, label="{n.label}\\n{shape}"];')
        lines += [f"  n{a} -> n{b};" for a, b in self.edges]
        lines.append("}")
        return "\n".join(lines) + "\n"


def trace(fn: Callable[..., Tensor], *inputs: Any) -> Graph:
    """Run `fn(*inputs)` and return the graph of ops that produced its output.

    Inputs are tracked even if they do not require grad; the gradients are not computed.
    """
    xs = [x if isinstance(x, Tensor) else Tensor(x) for x in inputs]
    tracked = [Tensor(x.data, requires_grad=x.dtype.kind == "f", name=x.name) for x in xs]
    with enable_grad():
        out = fn(*tracked)
    graph = Graph(output=out)
    ids: dict[int, int] = {}
    names = {id(t): f"input {i}" for i, t in enumerate(tracked)}

    def tensor_node(t: Tensor, label: str) -> int:
        if id(t) not in ids:
            ids[id(t)] = len(graph.nodes)
            graph.nodes.append(Node(ids[id(t)], "tensor", t.name or label, t.shape))
        return ids[id(t)]

    def visit(f: Function) -> int:
        if id(f) in ids:
            return ids[id(f)]
        srcs = []
        for x in f.inputs:
            if x.creator is not None:
                srcs.append(visit(x.creator))
            else:
                srcs.append(tensor_node(x, names.get(id(x), "parameter" if x.requires_grad else "constant")))
        ids[id(f)] = len(graph.nodes)
        graph.nodes.append(Node(ids[id(f)], "op", f.name, tuple(f.outs[0].shape)))
        graph.edges += [(s, ids[id(f)]) for s in srcs]
        return ids[id(f)]

    if out.creator is not None:
        last = visit(out.creator)
        graph.edges.append((last, tensor_node(out, "output")))
    else:
        tensor_node(out, "output")
    return graph
