"""The graph behind `Model(inputs, outputs)`: find the nodes between the inputs and the outputs, order
them so each runs after its inputs, and run them as a flat list of steps (no per-call graph walking).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ..layers.base import Layer, Node, SymbolicTensor, flatten, masked_call
from ..layers.base import _call_of as _base_call_of
from ..registry import registered_name


class Graph:
    """The nodes from `inputs` to `outputs`, ordered as Keras orders them, ready to run."""

    def __init__(self, inputs: Sequence[SymbolicTensor], outputs: Sequence[SymbolicTensor]) -> None:
        self.inputs, self.outputs = list(inputs), list(outputs)
        for t in self.inputs + self.outputs:
            if not isinstance(t, SymbolicTensor):
                raise TypeError(f"Model inputs and outputs must be symbolic tensors (from Input and layer calls), "
                                f"got {type(t).__name__}")
        for t in self.inputs:
            if t.node is None or not t.node.is_input:
                raise ValueError(f"Model inputs must come straight from Input(...); {t} was computed by layer "
                                 f"'{t.layer.name if t.layer else '?'}'")
        self._map_graph()
        self._check_connected()
        self._check_names()
        self.steps = self._compile_steps()

    # ----------------------------------------------------------------- structure (Keras's map_graph)
    def _map_graph(self) -> None:
        layer_index: dict[int, int] = {}
        post_order: list[Node] = []
        finished: set[int] = set()

        def visit(root: Node) -> None:  # depth-first from the outputs, with an explicit stack: a graph thousands
            layer_index.setdefault(id(root.layer), len(layer_index))  # of layers deep needs no recursion
            if id(root) in finished:
                return
            stack = [(root, iter(root.input_tensors))]
            while stack:
                node, pending = stack[-1]
                for t in pending:
                    if id(t.node) not in finished:
                        layer_index.setdefault(id(t.node.layer), len(layer_index))
                        stack.append((t.node, iter(t.node.input_tensors)))
                        break
                else:
                    stack.pop()
                    finished.add(id(node))
                    post_order.append(node)

        for t in self.outputs:
            visit(t.node)
        depth: dict[int, int] = {}
        layer_depth: dict[int, int] = {}
        for node in reversed(post_order):
            d = max(depth.setdefault(id(node), 0), layer_depth.get(id(node.layer), 0))
            layer_depth[id(node.layer)] = depth[id(node)] = d
            for parent in node.parents:
                depth[id(parent)] = max(d + 1, depth.get(id(parent), 0))
        for t in self.inputs:  # inputs that feed none of the outputs still belong to the model
            if id(t.node) not in depth:
                depth[id(t.node)] = layer_depth[id(t.layer)] = 0
                layer_index[id(t.layer)] = -1
                post_order.insert(0, t.node)
        self.nodes = post_order  # a topological order: every node after the nodes it reads
        self.node_depth = depth
        by_layer = {id(n.layer): n.layer for n in post_order}
        self.layers: list[Layer] = sorted(by_layer.values(),
                                          key=lambda la: (-layer_depth[id(la)], layer_index[id(la)]))
        self.nodes_by_depth: dict[int, list[Node]] = {}
        for node in post_order:
            self.nodes_by_depth.setdefault(depth[id(node)], []).append(node)

    def _check_connected(self) -> None:
        known = {id(t) for t in self.inputs}
        for node in self.nodes:
            if node.is_input:
                if not any(node.outputs is t for t in self.inputs):
                    raise ValueError(f"the graph needs the input '{node.layer.name}', which is not in the model's "
                                     f"inputs: add it to Model(inputs=[...])")
                continue
            for t in node.input_tensors:
                if id(t) not in known:
                    raise ValueError(f"layer '{node.layer.name}' reads a tensor that cannot be computed from the "
                                     f"model's inputs")
            known.update(id(t) for t in node.output_tensors)

    def _check_names(self) -> None:
        seen: set[str] = set()
        for layer in self.layers:
            if layer.name in seen:
                raise ValueError(f"the model has two different layers named '{layer.name}': layer names must be "
                                 f"unique within a model")
            seen.add(layer.name)

    # ----------------------------------------------------------------- execution plan
    def _compile_steps(self) -> list[tuple[Node, Any, Any]]:
        slot: dict[int, int] = {}
        for i, t in enumerate(self.inputs):
            slot[id(t)] = i
        steps = []
        for node in self.nodes:
            if node.is_input:
                continue
            ins = _map_structure(lambda t: slot[id(t)], node.inputs)
            for t in node.output_tensors:
                slot[id(t)] = len(slot)
            outs = _map_structure(lambda t: slot[id(t)], node.outputs)
            steps.append((node, ins, outs))
        self.n_slots = len(slot)
        self.output_slots = [slot[id(t)] for t in self.outputs]
        return steps

    def plan(self, logits_outputs: Sequence[int] = ()) -> list[tuple[Callable[..., Any], Any, Any, dict[str, Any]]]:
        """(call, input slots, output slots, kwargs) per step; outputs listed in `logits_outputs` are
        computed without their final activation (their node calls `call_logits`, an Activation node
        is skipped), for the fused losses."""
        fused = {self.output_slots[i] for i in logits_outputs}
        plan = []
        for node, ins, outs in self.steps:
            layer = node.layer
            call = _call_of(layer)
            if isinstance(outs, int) and outs in fused:
                if hasattr(layer, "call_logits"):
                    call = masked_call(layer, layer.call_logits)
                else:  # an Activation layer: its input is the logits
                    call = _identity
            plan.append((call, ins, outs, node.kwargs))
        return plan

    def run(self, plan: list[tuple[Callable[..., Any], Any, Any, dict[str, Any]]], xs: Sequence[Any],
            training: bool) -> list[Any]:
        values: list[Any] = [None] * self.n_slots
        values[:len(xs)] = xs
        for call, ins, outs, kwargs in plan:
            args = values[ins] if isinstance(ins, int) else [values[i] for i in ins]
            out = call(args, training, **kwargs) if kwargs else call(args, training)
            if isinstance(outs, int):
                values[outs] = out
            else:
                for i, v in zip(outs, out):
                    values[i] = v
        return [values[i] for i in self.output_slots]

    def consumers(self, tensor: SymbolicTensor) -> int:
        """How many nodes of this graph read `tensor`."""
        return sum(1 for n in self.nodes for t in n.input_tensors if t is tensor)


def _identity(x: Any, training: bool = False) -> Any:
    return x


def _call_of(layer: Layer) -> Callable[..., Any]:
    """layer.call as f(inputs, training), for layers whose call takes no `training` argument too, with
    Keras's mask propagation (layers.base.masked_call)."""
    return masked_call(layer, _base_call_of(layer))


def _map_structure(fn: Callable[[Any], Any], structure: Any) -> Any:
    if isinstance(structure, (list, tuple)):
        return [_map_structure(fn, s) for s in structure]
    return fn(structure)


def node_key(node: Node, nodes: Sequence[Node]) -> int:
    """The index of `node` among its layer's nodes that belong to `nodes` (for configs)."""
    own = [n for n in node.layer._inbound_nodes if any(n is m for m in nodes)]
    return next(i for i, n in enumerate(own) if n is node)


def graph_config(graph: Graph) -> dict[str, Any]:
    """Keras-style functional config: layers with their inbound nodes, input and output layers."""
    nodes = sorted(graph.nodes, key=lambda n: n.id)  # creation order: replaying it rebuilds node indices

    def ref(t: SymbolicTensor) -> list[Any]:
        return [t.layer.name, node_key(t.node, nodes), t.index]

    layers = []
    for layer in graph.layers:
        inbound = []
        for node in nodes:
            if node.layer is layer and not node.is_input:
                args = _map_structure(ref, node.inputs)
                inbound.append({"args": args, "kwargs": node.kwargs})
        layers.append({"class_name": registered_name(type(layer)), "name": layer.name, "config": layer.get_config(),
                       "inbound_nodes": inbound})
    return {"layers": layers, "input_layers": [ref(t) for t in graph.inputs],
            "output_layers": [ref(t) for t in graph.outputs]}


def _refs_in(ref: Any, where: str) -> list[tuple[str, int]]:
    """The (layer name, node index) pairs a config's tensor reference reads (nested lists walked iteratively)."""
    out, todo = [], [ref]
    while todo:
        r = todo.pop()
        if isinstance(r, list) and len(r) == 3 and isinstance(r[0], str):
            if not isinstance(r[1], int) or not isinstance(r[2], int) or isinstance(r[1], bool):
                raise ValueError(f"{where}: invalid tensor reference {r!r:.100} (expected [layer name, node, index])")
            out.append((r[0], r[1]))
        elif isinstance(r, list):
            todo.extend(r)
        else:
            raise ValueError(f"{where}: invalid tensor reference {r!r:.100} (expected [layer name, node, index])")
    return out


def _check_layer_spec(spec: Any, i: int) -> None:
    if not isinstance(spec, dict):
        raise ValueError(f"layer {i} of the model config is a {type(spec).__name__}, not a JSON object")
    if not isinstance(spec.get("name"), str):
        raise ValueError(f"layer {i} of the model config has no name")
    if not isinstance(spec.get("inbound_nodes", []), list) or \
            not all(isinstance(c, dict) for c in spec.get("inbound_nodes", [])):
        raise ValueError(f"layer '{spec['name']}' of the model config: inbound_nodes must be a list of "
                         f"{{'args': ..., 'kwargs': ...}} objects")


def rebuild_graph(config: dict[str, Any], custom_objects: dict[str, Any] | None,
                  make_layer: Callable[[dict[str, Any]], Layer]) -> tuple[list[SymbolicTensor], list[SymbolicTensor]]:
    """Recreate the layers of a functional config and replay their calls; returns (inputs, outputs).

    Calls run as soon as their inputs exist, earliest in the config first (a config saved in order replays in
    order), in time linear in the number of calls however deep or however ordered the graph is.
    """
    import heapq

    for key in ("layers", "input_layers", "output_layers"):
        if not isinstance(config.get(key), list):
            raise ValueError(f"a functional model config needs a list '{key}', got {config.get(key)!r:.100}")
    layers: dict[str, Layer] = {}
    outputs_of: dict[tuple[str, int], Any] = {}
    calls: list[tuple[str, int, dict[str, Any], list[tuple[str, int]]]] = []
    for i, spec in enumerate(config["layers"]):
        _check_layer_spec(spec, i)
        layer = make_layer(spec)
        layers[spec["name"]] = layer
        if not spec.get("inbound_nodes"):
            outputs_of[(spec["name"], 0)] = layer.output
        for k, call in enumerate(spec.get("inbound_nodes", [])):
            calls.append((spec["name"], k, call, _refs_in(call.get("args"), f"layer '{spec['name']}'")))

    def resolve(ref: Any) -> Any:
        if isinstance(ref, list) and len(ref) == 3 and isinstance(ref[0], str):
            key = (ref[0], ref[1])
            if key not in outputs_of:
                raise ValueError(f"the model config refers to output {ref[1]} of layer '{ref[0]}', which no call "
                                 f"produces")
            out = flatten(outputs_of[key])
            if not 0 <= ref[2] < len(out):
                raise ValueError(f"the model config refers to tensor {ref[2]} of layer '{ref[0]}', which has "
                                 f"{len(out)} outputs")
            return out[ref[2]]
        if not isinstance(ref, (list, tuple)):
            raise ValueError(f"the model config has {ref!r} where a tensor reference [layer name, call index, "
                             f"tensor index] or a list of them belongs")
        return [resolve(r) for r in ref]

    waiting: dict[tuple[str, int], list[int]] = {}
    missing = [0] * len(calls)
    ready: list[int] = []
    for c, (_, _, _, needs) in enumerate(calls):
        unmet = {key for key in needs if key not in outputs_of}
        missing[c] = len(unmet)
        for key in unmet:
            waiting.setdefault(key, []).append(c)
        if not unmet:
            ready.append(c)
    heapq.heapify(ready)
    done = 0
    while ready:
        c = heapq.heappop(ready)
        name, k, call, _ = calls[c]
        kwargs = call.get("kwargs") or {}
        if not isinstance(kwargs, dict):
            raise ValueError(f"layer '{name}' of the model config: kwargs must be a JSON object")
        outputs_of[(name, k)] = layers[name](resolve(call["args"]), **kwargs)
        done += 1
        for w in waiting.pop((name, k), []):
            missing[w] -= 1
            if missing[w] == 0:
                heapq.heappush(ready, w)
    if done != len(calls):
        stuck = next(calls[c][0] for c in range(len(calls)) if missing[c])
        raise ValueError(f"the model config has layer calls whose inputs are never produced (layer '{stuck}')")
    return [resolve(r) for r in config["input_layers"]], [resolve(r) for r in config["output_layers"]]
