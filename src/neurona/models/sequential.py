"""Sequential: the slides' model, a stack of layers where each feeds the next.

    model = Sequential()
    model.add(Dense(10, activation='sigmoid', input_shape=(784,)))
    model.add(Dense(10, activation='softmax'))

With an input shape (on the first layer, or an `Input`) each added layer is built at once, so shape
mistakes surface at `add()`; without one the model is built from the first data it sees.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..layers.base import Layer, SymbolicTensor, _batchless, masked_call
from ..layers.core import InputLayer
from ..registry import registered_name
from ..tensor import Tensor
from .functional import Graph, _call_of
from .model import Model, _as_tensors, layer_from_config


class Sequential(Model):
    """A linear stack of layers (Keras's `Sequential`)."""

    def __init__(self, layers: Sequence[Any] | None = None, trainable: bool = True, name: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(name=name, trainable=trainable, **kwargs)
        self._calls: list[Callable[..., Any]] = []
        self._output: SymbolicTensor | None = None
        self.built = False
        for layer in layers or []:
            self.add(layer)

    # ----------------------------------------------------------------- building the stack
    def add(self, layer: Any) -> None:
        """Append a layer (or `Input(...)`) on top of the stack."""
        if isinstance(layer, SymbolicTensor):
            if layer.node is None or not isinstance(layer.layer, InputLayer):
                raise TypeError("Sequential.add() takes layers or Input(...); got a tensor computed by a layer")
            layer = layer.layer
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential.add() expects a layer (e.g. Dense(10)), got {type(layer).__name__}: "
                            f"{layer!r}")
        if isinstance(layer, InputLayer):
            if self._layers:
                raise ValueError(f"an Input can only be the first element of Sequential '{self.name}'")
            self._layers.append(layer)
            self._rebuild()
            return
        if any(la is layer for la in self._layers):
            raise ValueError(f"layer '{layer.name}' is already in Sequential '{self.name}'")
        if any(la.name == layer.name for la in self._layers):
            raise ValueError(f"Sequential '{self.name}' already has a layer named '{layer.name}': names must be "
                             f"unique within a model")
        if not self._layers and layer._batch_input_shape is not None:
            self._layers.append(InputLayer(batch_shape=layer._batch_input_shape, dtype=layer.dtype))
        self._layers.append(layer)
        if self._output is not None:  # already traced: call only the new layer (linear in depth, not quadratic)
            try:
                x = self._traced(layer, self._output)
            except Exception:
                self._layers.pop()
                raise
            self._set_output(x, [*self._calls, _call_of(layer)])
        elif isinstance(self._layers[0], InputLayer):
            try:
                self._rebuild()
            except Exception:
                self._layers.pop()
                self._rebuild()
                raise
        else:
            self._calls = []
            self.built = False

    def pop(self) -> Layer:
        """Remove and return the top layer."""
        layers = self.layers
        if not layers:
            raise ValueError(f"Sequential '{self.name}' has no layers to pop")
        self._layers.remove(layers[-1])
        self._rebuild()
        return layers[-1]

    def _rebuild(self) -> None:
        """Trace the stack from its input, building every layer and recording output shapes."""
        if not self._layers or not isinstance(self._layers[0], InputLayer):
            self._graph, self._output, self.built = None, None, False
            return
        x = self._layers[0].output
        for layer in self._layers[1:]:
            x = self._traced(layer, x)
        self._set_output(x, [_call_of(la) for la in self._layers[1:]])

    @staticmethod
    def _traced(layer: Layer, x: SymbolicTensor) -> SymbolicTensor:
        out = layer(x)
        if isinstance(out, list):
            raise ValueError(f"layer '{layer.name}' has several outputs, which a Sequential model cannot "
                             f"pass on: use the functional API, Model(inputs, outputs)")
        return out

    def _set_output(self, x: SymbolicTensor, calls: list[Callable[..., Any]]) -> None:
        """Record the traced stack's output; the Graph (for summaries, configs, fused losses) is made when first
        needed, so adding n layers one by one costs n layer calls, not n graph walks."""
        self._output, self._calls = x, calls
        inp = self._layers[0].output
        if len(self._layers) > 1:
            self._graph = None
            self.__dict__["_graph_stale"] = True
            self._single_input = self._single_output = True
            self.inputs, self.outputs = [inp], [x]
            self.input_names, self.output_names = [inp.layer.name], [self._layers[-1].name]
            self.built = True
        else:
            self._graph, self.built = None, False
        self._specs = None
        self._ready = False

    @property
    def _graph(self) -> Graph | None:
        if self.__dict__.get("_graph_stale"):
            graph = Graph([self._layers[0].output], [self._output])
            self.__dict__.update(_graph_value=graph, _graph_stale=False, _plan_value=graph.plan())
        return self.__dict__.get("_graph_value")

    @_graph.setter
    def _graph(self, value: Graph | None) -> None:
        self.__dict__.update(_graph_value=value, _graph_stale=False,
                             _plan_value=value.plan() if value is not None else None)

    @property
    def _plan(self) -> Any:
        self._graph  # noqa: B018 (makes a stale graph and its plan)
        return self.__dict__.get("_plan_value")

    @_plan.setter
    def _plan(self, value: Any) -> None:
        self.__dict__["_plan_value"] = value

    def build(self, input_shape: Any = None) -> None:
        """Build for inputs of `input_shape` (batch axis included, usually None)."""
        if self._output is not None:
            return
        if input_shape is None:
            raise ValueError(f"Sequential '{self.name}' has no input shape: pass build(input_shape=(None, ...)), "
                             f"give the first layer input_shape=..., or call fit/predict on data")
        if isinstance(input_shape, list):
            raise ValueError(f"Sequential '{self.name}' takes a single input, got shapes {input_shape}")
        if not self.layers:
            raise ValueError(f"Sequential '{self.name}' has no layers to build")
        self._layers.insert(0, InputLayer(batch_shape=tuple(input_shape), dtype=self.layers[0].dtype))
        try:
            self._rebuild()
        except Exception:
            self._layers.pop(0)
            raise

    def _maybe_build(self, shapes: Any) -> None:
        if self._output is None:
            self.build(_batchless(shapes))

    # ----------------------------------------------------------------- running
    def call(self, inputs: Any, training: bool = False) -> Any:
        x = inputs
        for f in self._calls:
            x = f(x, training)
        return x

    def _make_forward(self, logits_outputs: Sequence[int]) -> Callable[[Any, bool], list[Tensor]]:
        calls = list(self._calls)
        if logits_outputs:
            last = self._layers[-1]
            calls[-1] = (masked_call(last, last.call_logits) if hasattr(last, "call_logits")
                         else (lambda x, training=False: x))

        def forward(x: Any, training: bool) -> list[Tensor]:
            x = Tensor(x) if isinstance(x, np.ndarray) else _as_tensors(x)[0]
            for f in calls:
                x = f(x, training)
            return [x]

        return forward

    # ----------------------------------------------------------------- introspection
    @property
    def layers(self) -> list[Layer]:
        """The stacked layers (the input placeholder is not listed, as in Keras)."""
        return [la for la in self._layers if not isinstance(la, InputLayer)]

    def _output_info(self) -> list[tuple[str, Layer | None, tuple[int | None, ...] | None, str | None]]:
        from .model import _activation_of

        layers = self.layers
        if not layers:
            raise ValueError(f"Sequential '{self.name}' has no layers")
        shape = self._output.shape if self._output is not None else None
        return [(layers[-1].name, layers[-1], shape, _activation_of(layers[-1]))]

    def _input_consumer(self, i: int) -> Layer | None:
        layers = self.layers
        return layers[0] if layers else None

    # ----------------------------------------------------------------- config
    def get_config(self) -> dict[str, Any]:
        config: dict[str, Any] = {"name": self.name, "trainable": self.trainable,
                                  "layers": [{"class_name": registered_name(type(la)), "config": la.get_config()}
                                             for la in self._layers]}
        if self._output is not None:
            config["build_input_shape"] = list(self._layers[0].batch_shape)
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: dict[str, Any] | None = None) -> Sequential:
        model = cls(name=config.get("name"))
        for spec in config.get("layers", []):
            model.add(layer_from_config(spec, custom_objects))
        if model._output is None and config.get("build_input_shape") is not None:
            model.build(tuple(config["build_input_shape"]))
        model.trainable = config.get("trainable", True)
        return model
