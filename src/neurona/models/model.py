"""Model: a graph of layers with compile/fit/evaluate/predict.

Built three ways, as in Keras: `Model(inputs, outputs)` from symbolic tensors (the functional API, for
several inputs/outputs and shared layers), `Sequential([...])` for a stack, or by subclassing Model
and writing `call()`.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..layers import base as layer_base
from ..layers.base import Layer, to_snake_case, unique_name
from ..layers.core import Activation
from ..registry import registered_name
from ..tensor import Tensor, no_grad
from .custom import CustomSteps
from .evaluation import Inference
from .functional import Graph, graph_config, rebuild_graph
from .leniency import adjust_input_rank, adjust_shapes
from .training import Trainer


def _activation_of(layer: Layer | None) -> str | None:
    """'softmax'/'sigmoid'/... when `layer` ends in an activation the model may fuse with the loss."""
    from .. import activations

    if layer is None:
        return None
    if isinstance(layer, Activation) or hasattr(layer, "call_logits"):
        fn = getattr(layer, "activation", None)
        try:
            return activations.serialize(fn) if fn is not None else None
        except ValueError:
            return None
    return None


def _as_tensors(x: Any) -> list[Tensor]:
    if isinstance(x, (list, tuple)):
        return [a if isinstance(a, Tensor) else Tensor(a) for a in x]
    return [x if isinstance(x, Tensor) else Tensor(x)]


def layer_from_config(spec: dict[str, Any], custom_objects: dict[str, Any] | None) -> Layer:
    """A layer from {"class_name", "config"}: only registered layer classes (or custom_objects) are built."""
    name = spec["class_name"]
    cls = (custom_objects or {}).get(name) or layer_base.get(name)
    if "custom_objects" in inspect.signature(cls.from_config).parameters:
        return cls.from_config(spec["config"], custom_objects=custom_objects)
    return cls.from_config(spec["config"])


class Model(CustomSteps, Trainer, Inference, Layer):
    """A trainable graph of layers.

    >>> from neurona.layers import Input, Dense
    >>> x = Input(shape=(4,))
    >>> model = Model(x, Dense(2, activation="softmax")(Dense(8, activation="relu")(x)))
    >>> model.output_shape
    (None, 2)
    """

    _wrap_build = False

    def __init__(self, inputs: Any = None, outputs: Any = None, name: str | None = None, trainable: bool = True,
                 **kwargs: Any) -> None:
        if (inputs is None) != (outputs is None):
            raise ValueError("Model(inputs, outputs) needs both the inputs and the outputs (or neither, when "
                             "subclassing Model and writing call())")
        if name is None:
            prefix = "functional" if inputs is not None and type(self) is Model else to_snake_case(type(self).__name__)
            name = unique_name(prefix)
        super().__init__(name=name, trainable=trainable, **kwargs)
        self._init_trainer()
        self._graph: Graph | None = None
        self._sub_out_shapes: list[tuple[int | None, ...]] | None = None
        self.input_names: list[str] = ["input"]
        self.output_names: list[str] = ["output"]
        if inputs is not None:
            self._init_graph(inputs, outputs)

    # ----------------------------------------------------------------- functional graph
    def _init_graph(self, inputs: Any, outputs: Any) -> None:
        if isinstance(inputs, dict) or isinstance(outputs, dict):
            raise TypeError("Model inputs/outputs must be a tensor or a list of tensors (dicts are not supported)")
        self._single_input = not isinstance(inputs, (list, tuple))
        self._single_output = not isinstance(outputs, (list, tuple))
        ins = [inputs] if self._single_input else list(inputs)
        outs = [outputs] if self._single_output else list(outputs)
        graph = Graph(ins, outs)
        self._graph = graph
        object.__setattr__(self, "_layers", list(graph.layers))
        self.inputs, self.outputs = ins, outs
        self.input_names = [t.layer.name for t in ins]
        names: list[str] = []
        for t in outs:
            n = t.layer.name
            names.append(n if n not in names else f"{n}_{t.index}")
        self.output_names = names
        self._plan = graph.plan()
        self.built = True

    def call(self, inputs: Any, training: bool = False) -> Any:
        if self._graph is None:
            raise NotImplementedError(f"{type(self).__name__} subclasses Model without inputs/outputs: it must "
                                      f"define call(self, inputs, training=False)")
        outs = self._graph.run(self._plan, adjust_input_rank(self._input_shapes(), _as_tensors(inputs)), training)
        return outs[0] if self._single_output else outs

    def _make_forward(self, logits_outputs: Sequence[int]) -> Callable[[Any, bool], list[Tensor]]:
        """forward(x, training) -> list of output Tensors; `logits_outputs` skip their final activation."""
        if self._graph is None:
            call = self.call if self._call_has_training else (lambda x, training=False: type(self).call(self, x))

            def forward_subclass(x: Any, training: bool) -> list[Tensor]:
                xs = _as_tensors(x)
                if getattr(self, "_dict_inputs", False):
                    out = call(dict(zip(self.input_names, xs)), training=training)
                else:
                    out = call(xs[0] if len(xs) == 1 else xs, training=training)
                return [out] if isinstance(out, Tensor) else list(out)

            return forward_subclass
        graph, plan = self._graph, self._graph.plan(logits_outputs)

        def forward(x: Any, training: bool) -> list[Tensor]:
            xs = [Tensor(x)] if isinstance(x, np.ndarray) else _as_tensors(x)
            return graph.run(plan, xs, training)

        return forward

    def _output_info(self) -> list[tuple[str, Layer | None, tuple[int | None, ...] | None, str | None]]:
        """(name, layer, shape, fusable activation) per output."""
        if self._graph is None:
            shapes = self._sub_out_shapes or [None]
            names = self.output_names if len(self.output_names) == len(shapes) else \
                [f"output_{i}" for i in range(len(shapes))]
            return [(n, None, s, None) for n, s in zip(names, shapes)]
        info = []
        for name, t in zip(self.output_names, self.outputs):
            fusable = len(t.node.output_tensors) == 1 and self._graph.consumers(t) == 0 and \
                sum(o is t for o in self.outputs) == 1
            info.append((name, t.layer, t.shape, _activation_of(t.layer) if fusable else None))
        return info

    # ----------------------------------------------------------------- shapes and checks
    def _input_shapes(self) -> list[tuple[int | None, ...]] | None:
        if self._graph is None:
            return None
        return [t.shape for t in self.inputs]

    def _input_consumer(self, i: int) -> Layer | None:
        if self._graph is None:
            return None
        t = self.inputs[i]
        for node in self._graph.nodes:
            if any(s is t for s in node.input_tensors):
                return node.layer
        return None

    def _check_shapes(self, shapes: list[tuple[int | None, ...]], what: str = "inputs") -> None:
        expected = self._input_shapes()
        if expected is None:
            return
        if len(shapes) != len(expected):
            raise ValueError(f"{type(self).__name__} '{self.name}' has {len(expected)} inputs {self.input_names}, "
                             f"got {len(shapes)}")
        for i, (got, want) in enumerate(zip(shapes, expected)):
            got = tuple(got)
            if len(got) == len(want) and all(w is None or w == g for w, g in zip(want[1:], got[1:])):
                continue
            if len(want) == len(got) + 1 and len(got) >= 2 and all(
                    w is None or w == g for w, g in zip(want[2:], got[1:])):
                per_sample = tuple(want[2:])
                raise ValueError(
                    f"{type(self).__name__} '{self.name}' was built for inputs of shape {want} (input_shape="
                    f"{tuple(want[1:])}), but the {what} have shape {got}. input_shape is the shape of ONE sample, "
                    f"without the batch size: did you mean input_shape={per_sample}?")
            layer = self._input_consumer(i)
            if layer is not None and layer.input_spec is not None:
                layer.input_spec.check(layer, got)
            where = "" if len(expected) == 1 else f" {i} ('{self.input_names[i]}')"
            raise ValueError(f"{type(self).__name__} '{self.name}' expects input{where} of shape {want}, got {what} "
                             f"of shape {got}")

    def _check_input_arrays(self, xs: list[np.ndarray]) -> None:
        self._check_shapes([a.shape for a in xs], "data")

    def _check_input(self, shapes: Any) -> None:
        self._check_shapes(adjust_shapes(self._input_shapes(), shapes if isinstance(shapes, list) else [shapes]))

    def _build_from_data(self, xs: list[np.ndarray]) -> None:
        shapes = [(None,) + tuple(a.shape[1:]) for a in xs]
        self._maybe_build(shapes[0] if len(shapes) == 1 else shapes)

    def build(self, input_shape: Any) -> None:
        """Create the weights of a subclassed model by running it once on zeros of `input_shape`."""
        if self._graph is not None:
            return

        if isinstance(input_shape, dict):  # named inputs: fit/predict take them as a dict by these names
            self.input_names, self._dict_inputs = list(input_shape), True

        def zeros(shape: Any) -> Any:
            if isinstance(shape, dict):
                return {k: zeros(v) for k, v in shape.items()}
            if isinstance(shape, list):
                return [zeros(s) for s in shape]
            return Tensor(np.zeros([1 if s is None else s for s in shape], dtype=self.dtype))

        with no_grad():
            out = self.call(zeros(input_shape), training=False) if self._call_has_training else \
                self.call(zeros(input_shape))
        outs = [out] if isinstance(out, Tensor) else list(out)
        self._sub_out_shapes = [(None,) + tuple(o.shape[1:]) for o in outs]
        self.built = True

    def compute_output_shape(self, input_shape: Any) -> Any:
        if self._graph is None:
            return super().compute_output_shape(input_shape)
        batch = (input_shape[0] if not isinstance(input_shape, list) else input_shape[0][0])
        shapes = [(batch,) + tuple(t.shape[1:]) for t in self.outputs]
        return shapes[0] if self._single_output else shapes

    @property
    def input_shape(self) -> Any:
        shapes = self._input_shapes()
        if shapes is None:
            raise AttributeError(f"model '{self.name}' has no defined input shape (subclassed or not built)")
        return shapes[0] if len(shapes) == 1 else shapes

    @property
    def output_shape(self) -> Any:
        if self._graph is None:
            if self._sub_out_shapes is None:
                raise AttributeError(f"model '{self.name}' is not built yet")
            return self._sub_out_shapes[0] if len(self._sub_out_shapes) == 1 else self._sub_out_shapes
        shapes = [t.shape for t in self.outputs]
        return shapes[0] if self._single_output else shapes

    @property
    def input(self) -> Any:
        if self._graph is None:
            return super().input
        return self.inputs[0] if self._single_input else self.inputs

    @property
    def output(self) -> Any:
        if self._graph is None:
            return super().output
        return self.outputs[0] if self._single_output else self.outputs

    # ----------------------------------------------------------------- layers
    @property
    def layers(self) -> list[Layer]:
        return list(self._layers)

    def get_layer(self, name: str | None = None, index: int | None = None) -> Layer:
        """A layer by name (`get_layer("dense_1")`) or by position in `layers`."""
        if (name is None) == (index is None):
            raise ValueError("get_layer() needs exactly one of name= or index=")
        layers = self.layers
        if index is not None:
            if not -len(layers) <= index < len(layers):
                raise ValueError(f"model '{self.name}' has {len(layers)} layers, so index {index} is out of range")
            return layers[index]
        for layer in layers:
            if layer.name == name:
                return layer
        raise ValueError(f"model '{self.name}' has no layer named {name!r}; its layers are "
                         f"{[la.name for la in layers]}")

    def summary(self, line_length: int | None = None, positions: Sequence[float] | None = None,
                print_fn: Callable[..., Any] | None = None, expand_nested: bool = False,
                show_trainable: bool = False, layer_range: Sequence[str] | None = None) -> None:
        """Print Keras's table of layers, output shapes and parameter counts."""
        from .summary import print_summary

        print_summary(self, line_length, positions, print_fn, expand_nested, show_trainable, layer_range)

    # ----------------------------------------------------------------- saving (handed to neurona.saving)
    def save(self, filepath: Any, overwrite: bool = True, **kwargs: Any) -> None:
        """Save architecture, weights and compile settings to one file (see neurona.saving)."""
        _saving("save_model")(self, filepath, overwrite=overwrite, **kwargs)

    def save_weights(self, filepath: Any, overwrite: bool = True, **kwargs: Any) -> None:
        """Save only the weights (see neurona.saving)."""
        _saving("save_weights")(self, filepath, overwrite=overwrite, **kwargs)

    def load_weights(self, filepath: Any, **kwargs: Any) -> Any:
        """Load weights saved by save_weights (or converted from Keras/PyTorch; see neurona.saving)."""
        return _saving("load_weights")(self, filepath, **kwargs)

    # ----------------------------------------------------------------- config
    def get_config(self) -> dict[str, Any]:
        if self._graph is None:
            raise NotImplementedError(f"{type(self).__name__} is a subclassed model: define get_config() and "
                                      f"from_config() to serialize it")
        return {"name": self.name, "trainable": self.trainable, **graph_config(self._graph)}

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: dict[str, Any] | None = None) -> Model:
        if "input_layers" not in config:
            raise ValueError(f"{cls.__name__}.from_config needs a functional config (layers, input_layers, "
                             f"output_layers)")
        inputs, outputs = rebuild_graph(config, custom_objects, lambda s: layer_from_config(s, custom_objects))
        model = cls(inputs if len(inputs) > 1 else inputs[0], outputs if len(outputs) > 1 else outputs[0],
                    name=config.get("name"))
        model.trainable = config.get("trainable", True)
        return model

    def to_json(self, **kwargs: Any) -> str:
        """The architecture as JSON text (no weights); `neurona.models.model_from_json` reads it back."""
        return json.dumps({"class_name": registered_name(type(self)), "config": self.get_config()}, **kwargs)


def _saving(name: str) -> Callable[..., Any]:
    try:
        from .. import saving
    except ImportError as e:
        raise ImportError(f"saving models needs neurona.saving, which could not be imported: {e}") from None
    fn = getattr(saving, name, None)
    if fn is None:
        raise NotImplementedError(f"neurona.saving has no {name}() yet")
    return fn


def model_from_json(json_string: str, custom_objects: dict[str, Any] | None = None) -> Model:
    """Rebuild a model (untrained) from `model.to_json()`."""
    spec = json.loads(json_string)
    model = layer_from_config(spec, custom_objects)
    if not isinstance(model, Model):
        raise ValueError(f"the JSON describes a {spec.get('class_name')}, not a model")
    return model

