"""Export trained models to other runtimes: `neurona.export.onnx(model, "model.onnx")`.

The ONNX file computes what `model.predict` computes (inference: dropout off, BatchNormalization with its
moving statistics), takes channels-last inputs like the model, and has a dynamic batch axis, so
onnxruntime, a browser or a phone runs it with any batch size:

    import onnxruntime as ort
    session = ort.InferenceSession("model.onnx")
    probs = session.run(None, {session.get_inputs()[0].name: images})[0]

Supported layers: Dense, Activation (and fused activations), Conv1D/Conv2D (groups, strides, dilation),
DepthwiseConv2D, SeparableConv2D, max/average/sum pooling, global pooling, Flatten, Reshape, Permute,
BatchNormalization, Add/Subtract/Multiply/Average/Maximum/Minimum/Concatenate, ZeroPadding, Cropping,
Rescaling, Dropout (identity), and models nested in models. onnx is an optional dependency:
`pip install 'neurona[onnx]'` (onnxruntime as well, to run the file).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from .onnx_graph import GraphBuilder, Value
from .onnx_layers import CONVERTERS, ExportError

DEFAULT_OPSET = 17
MIN_OPSET = 13  # per-axis Softmax, Clip/Pad/Slice bounds as inputs


def _onnx_module() -> Any:
    try:
        import onnx as onnx_pkg
    except ImportError:
        raise ImportError("exporting to ONNX needs the onnx package: pip install 'neurona[onnx]' "
                          "(or pip install onnx)") from None
    return onnx_pkg


def _check_exportable(model: Any) -> None:
    if getattr(model, "outputs", None) is None:
        raise ExportError(f"model '{model.name}' cannot be exported: it is not built yet (give it an input shape or "
                          f"call it on data), or it is a subclassed Model whose call() is Python code; only "
                          f"Sequential and functional models are graphs ONNX can hold")


def _ordered_nodes(outputs: list[Any]) -> list[Any]:
    """The nodes that compute `outputs`, each after the nodes it reads (iterative depth-first search)."""
    order, done, stack = [], set(), [(t.node, False) for t in reversed(outputs)]
    while stack:
        node, expanded = stack.pop()
        if id(node) in done:
            continue
        if expanded:
            done.add(id(node))
            order.append(node)
            continue
        stack.append((node, True))
        stack.extend((t.node, False) for t in reversed(node.input_tensors) if id(t.node) not in done)
    return order


def _emit_model(g: GraphBuilder, model: Any, inputs: list[Value]) -> list[Value]:
    """Append the nodes of `model` (a functional graph) reading `inputs`; returns its output values."""
    from ..models import Model

    _check_exportable(model)
    values: dict[int, Value] = {id(t): v for t, v in zip(model.inputs, inputs)}
    for node in _ordered_nodes(model.outputs):
        if node.is_input:
            if id(node.output_tensors[0]) not in values:
                raise ExportError(f"model '{model.name}': input '{node.layer.name}' is not among the model's inputs")
            continue
        layer = node.layer
        ins = [values[id(t)] for t in node.input_tensors]
        if isinstance(layer, Model):
            outs = _emit_model(g, layer, ins)
        else:
            convert = CONVERTERS.get(type(layer).__name__)
            if convert is None:
                raise ExportError(f"layer '{layer.name}' ({type(layer).__name__}) cannot be exported to ONNX; "
                                  f"supported layers: {', '.join(sorted(CONVERTERS))}")
            single = len(node.input_tensors) == 1 and not isinstance(node.inputs, list)
            shapes = node.input_tensors[0].shape if single else [t.shape for t in node.input_tensors]
            outs = [convert(g, layer, ins[0] if single else ins, shapes)]
        for t, v in zip(node.output_tensors, outs):
            values[id(t)] = v
    return [values[id(t)] for t in model.outputs]


def _value_info(onnx_pkg: Any, name: str, shape: tuple, dtype: np.dtype) -> Any:
    dims = ["batch" if i == 0 else (f"{name}_dim{i}" if s is None else int(s)) for i, s in enumerate(shape)]
    elem = onnx_pkg.helper.np_dtype_to_tensor_dtype(dtype)
    return onnx_pkg.helper.make_tensor_value_info(name, elem, dims)


def to_onnx(model: Any, opset: int = DEFAULT_OPSET) -> Any:
    """The model as an `onnx.ModelProto` (checked with onnx's checker); see `onnx()` to write a file."""
    onnx_pkg = _onnx_module()
    newest = onnx_pkg.defs.onnx_opset_version()
    if not isinstance(opset, (int, np.integer)) or not MIN_OPSET <= opset <= newest:
        raise ValueError(f"opset must be an integer from {MIN_OPSET} to {newest} (this onnx's newest), got {opset!r}")
    _check_exportable(model)
    dtype = np.dtype(model.dtype)
    g = GraphBuilder(onnx_pkg, dtype)
    inputs = []
    graph_inputs = []
    for t in model.inputs:
        name = g.fresh(t.layer.name if t.layer is not None else "input")
        inputs.append(Value(name, len(t.shape)))
        graph_inputs.append(_value_info(onnx_pkg, name, t.shape, dtype))
    outs = _emit_model(g, model, inputs)
    graph_outputs = []
    for t, v, out_name in zip(model.outputs, outs, model.output_names):
        name = g.fresh(out_name)
        g.op("Identity", [g.logical(v, out_name)], name, out=name)  # neurona's axis order, a stable name
        graph_outputs.append(_value_info(onnx_pkg, name, t.shape, dtype))
    graph = onnx_pkg.helper.make_graph(g.nodes, model.name, graph_inputs, graph_outputs, g.initializers)
    proto = onnx_pkg.helper.make_model(graph, opset_imports=[onnx_pkg.helper.make_opsetid("", int(opset))],
                                       producer_name="neurona")
    onnx_pkg.checker.check_model(proto)
    return proto


def onnx(model: Any, path: str | os.PathLike, opset: int = DEFAULT_OPSET) -> None:
    """Write `model` as an ONNX file at `path` (atomically: a failed export leaves no partial file)."""
    from ..saving.atomic import write_bytes_atomic

    proto = to_onnx(model, opset)
    write_bytes_atomic(path, proto.SerializeToString())


__all__ = ["DEFAULT_OPSET", "ExportError", "onnx", "to_onnx"]
