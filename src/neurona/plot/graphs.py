"""Drawings of structure: a model's layer graph and the engine's op graph (`neurona.trace`), matplotlib only.

Both use one layered layout: a node sits one level after the deepest of its inputs, and nodes of a level are
spread evenly. No graphviz is needed (for graphviz, `Graph.to_dot()` gives DOT text).
"""

from __future__ import annotations

import numpy as np

from ._base import figure, finish


def _levels(n: int, edges: list[tuple[int, int]]) -> list[int]:
    """Level of each node: 0 for sources, else 1 + the deepest input's level (edges go from earlier nodes)."""
    parents: list[list[int]] = [[] for _ in range(n)]
    for a, b in edges:
        parents[b].append(a)
    level = [0] * n
    order = _topological(n, edges)
    for v in order:
        level[v] = 1 + max((level[u] for u in parents[v]), default=-1)
    # a source (an input, a weight, a constant) sits just before the first node that uses it
    for v in order:
        children = [b for a, b in edges if a == v]
        if not parents[v] and children:
            level[v] = min(level[c] for c in children) - 1
    return level


def _topological(n: int, edges: list[tuple[int, int]]) -> list[int]:
    children: list[list[int]] = [[] for _ in range(n)]
    indegree = [0] * n
    for a, b in edges:
        children[a].append(b)
        indegree[b] += 1
    ready = [v for v in range(n) if indegree[v] == 0]
    order = []
    while ready:
        v = ready.pop(0)
        order.append(v)
        for c in children[v]:
            indegree[c] -= 1
            if indegree[c] == 0:
                ready.append(c)
    if len(order) != n:
        raise ValueError("the graph has a cycle; only acyclic graphs can be drawn")
    return order


def _draw(labels: list[str], styles: list[dict], edges: list[tuple[int, int]], vertical: bool, path, figsize,
          title: str | None):
    """Boxes at layered positions joined by arrows from box edge to box edge."""
    n = len(labels)
    level = _levels(n, edges)
    depth, width = max(level) + 1, max(np.bincount(level))
    slot = [0] * n
    seen = [0] * depth
    for v in range(n):
        slot[v], seen[level[v]] = seen[level[v]], seen[level[v]] + 1
    pos = []
    for v in range(n):
        across = slot[v] - (seen[level[v]] - 1) / 2
        pos.append((across, -level[v]) if vertical else (level[v], -across))
    longest = max(max(len(line) for line in s.split("\n")) for s in labels)
    lines = max(s.count("\n") + 1 for s in labels)
    box_w, box_h = 0.11 * longest + 0.6, 0.28 * lines + 0.3  # inches per box at fontsize 9
    if figsize is None:
        figsize = ((width * box_w * 1.25 + 0.5, depth * box_h * 1.6 + 0.5) if vertical
                   else (depth * box_w * 1.35 + 0.5, width * box_h * 1.5 + 0.5))
    fig = figure(figsize)
    ax = fig.subplots()
    texts = [ax.text(x, y, label, ha="center", va="center", fontsize=9, bbox=style, zorder=3)
             for (x, y), label, style in zip(pos, labels, styles)]
    for a, b in edges:
        start, end = ((0.5, 0.0), (0.5, 1.0)) if vertical else ((1.0, 0.5), (0.0, 0.5))
        ax.annotate("", xy=end, xycoords=texts[b], xytext=start, textcoords=texts[a],
                    arrowprops={"arrowstyle": "-|>", "color": "0.3", "lw": 1.2, "shrinkA": 1, "shrinkB": 1},
                    zorder=2)
    xs, ys = np.array(pos).T
    ax.set_xlim(xs.min() - 0.6, xs.max() + 0.6)
    ax.set_ylim(ys.min() - 0.6, ys.max() + 0.6)
    ax.axis("off")
    if title:
        ax.set_title(title)
    return finish(fig, path)


def _shape_text(shape) -> str:
    if shape is None:
        return "?"
    if isinstance(shape, list):
        return ", ".join(_shape_text(s) for s in shape)
    return "(" + ", ".join("None" if d is None else str(d) for d in tuple(shape)) + ")"


def _output_shape(layer):
    shape = getattr(layer, "output_shape", None)
    if shape is None:
        try:
            shape = layer.output.shape
        except (AttributeError, ValueError, RuntimeError):
            shape = None
    return shape


def _inbound(layer) -> list | None:
    """The layers feeding `layer`, when the model records them (an inbound_layers list, or call nodes)."""
    direct = getattr(layer, "inbound_layers", None)
    if direct is not None:
        return list(direct) if isinstance(direct, (list, tuple)) else [direct]
    parents = []
    for node in getattr(layer, "_inbound_nodes", None) or []:
        # Keras 3 names them node.parent_nodes / parent.operation, neurona node.parents / parent.layer
        for parent in getattr(node, "parent_nodes", None) or getattr(node, "parents", None) or []:
            parents.append(getattr(parent, "operation", None) or getattr(parent, "layer", None))
    return parents or None


def model(model, *, show_shapes: bool = True, show_params: bool = True, path=None, figsize=None,
          title: str | None = None):
    """The model's layers as boxes (name, class, output shape, parameters) joined in data-flow order.

    Duck-typed: `model.layers` with each layer's `name`, class and output shape (`output_shape` or
    `output.shape`); functional graphs are drawn from each layer's inbound layers when they are recorded,
    otherwise the layers are chained in order (a Sequential model).
    """
    layers = list(getattr(model, "layers", []))
    if not layers:
        raise ValueError(f"model has no layers to draw ({type(model).__name__}.layers is empty or missing)")
    index = {id(layer): i for i, layer in enumerate(layers)}
    edges = []
    inbound = [_inbound(layer) for layer in layers]
    if any(parents for parents in inbound):
        edges = [(index[id(p)], i) for i, parents in enumerate(inbound) for p in (parents or []) if id(p) in index]
    else:
        edges = [(i, i + 1) for i in range(len(layers) - 1)]
    labels = []
    for layer in layers:
        text = f"{getattr(layer, 'name', '?')}\n{type(layer).__name__}"
        if show_shapes:
            text += f"\noutput {_shape_text(_output_shape(layer))}"
        if show_params:
            try:
                text += f"\n{int(layer.count_params()):,} params"
            except (AttributeError, ValueError, TypeError, RuntimeError):
                pass
        labels.append(text)
    style = {"boxstyle": "round,pad=0.5", "fc": "#dbe9f6", "ec": "0.3"}
    return _draw(labels, [style] * len(layers), edges, True, path, figsize, title or getattr(model, "name", None))


def graph(graph, *, path=None, figsize=None, title: str | None = None):
    """The op graph from `neurona.trace(fn, *inputs)`: ops as blue boxes, tensors as rounded boxes with shapes,
    data flowing left to right (the slides' "dataflow graph")."""
    nodes = getattr(graph, "nodes", None)
    if nodes is None or not hasattr(graph, "edges"):
        raise TypeError(f"graph must be a neurona Graph from neurona.trace(...), got {type(graph).__name__}")
    if not nodes:
        raise ValueError("the graph has no nodes")
    position = {node.id: i for i, node in enumerate(nodes)}
    labels, styles = [], []
    for node in nodes:
        if node.kind == "op":
            labels.append(node.label)
            styles.append({"boxstyle": "square,pad=0.4", "fc": "#9ecae1", "ec": "0.2"})
        else:
            shape = "x".join(map(str, node.shape)) or "scalar"
            labels.append(f"{node.label}\n{shape}")
            styles.append({"boxstyle": "round,pad=0.4", "fc": "#fdf5d7", "ec": "0.4"})
    edges = [(position[a], position[b]) for a, b in graph.edges]
    return _draw(labels, styles, edges, False, path, figsize, title)


__all__ = ["graph", "model"]
