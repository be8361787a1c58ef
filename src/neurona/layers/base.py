"""The Layer contract (Keras's): `__init__` stores the config, `build(input_shape)` creates the weights
on the first call, `call(inputs, training)` computes, `get_config()` mirrors `__init__`.

Calling a layer on a `SymbolicTensor` (what `Input(shape)` returns) does not compute anything: it
records a `Node` (this layer, its inputs, its outputs) and returns symbolic outputs, which is how the
functional API builds a graph that `Model(inputs, outputs)` can run later.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import math
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from .. import registry
from ..tensor import Tensor
from .forward_state import pending_losses
from .masks import get_mask, masked_call, set_mask  # noqa: F401  (re-exported: models import them from here)
from .symbolic import (  # noqa: F401  (re-exported: layers import them from here)
    InputSpec,
    KerasTensor,
    Node,
    SymbolicTensor,
    _batchless,
    _is_symbolic,
    _make_symbolic,
    _shapes,
    _traced_output_shape,
    flatten,
)

_NAME_COUNTS: dict[str, int] = {}
_NAMES_LOCK = threading.Lock()  # two threads building layers must not draw the same name


def to_snake_case(name: str) -> str:
    """'MaxPooling2D' -> 'max_pooling2d', as Keras derives default layer names."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    name = re.sub("([a-z])([A-Z])", r"\1_\2", name)
    return name.lower()


def unique_name(prefix: str) -> str:
    """'dense', then 'dense_1', 'dense_2', ... for the session (Keras 3's numbering)."""
    with _NAMES_LOCK:
        n = _NAME_COUNTS.get(prefix, 0)
        _NAME_COUNTS[prefix] = n + 1
    return prefix if n == 0 else f"{prefix}_{n}"


def clear_session() -> None:
    """Restart automatic layer and model names from 'dense', 'sequential', ... (Keras's clear_session)."""
    with _NAMES_LOCK:
        _NAME_COUNTS.clear()


def get(identifier: str | type[Layer]) -> type[Layer]:
    """The Layer class registered as `identifier` ("Dense", "neurona>Dense", "mypkg>Dense"), for configs."""
    if isinstance(identifier, type) and issubclass(identifier, Layer):
        return identifier
    if not isinstance(identifier, str):
        raise TypeError(f"a layer class name must be a string, got {type(identifier).__name__}")
    cls = registry.lookup("layer", identifier)
    if cls is None:
        from . import _import_families  # layer families written elsewhere register when imported

        _import_families()
        cls = registry.lookup("layer", identifier)
    if cls is None:
        raise ValueError(f"unknown layer class {identifier!r}: no layer of that name is registered "
                         f"(pass custom_objects={{{identifier!r}: cls}} for your own layers)")
    return cls


# Per thread (`deferred_initialization`): a load building in one thread leaves other threads' models initialised.
_Init = type("_InitState", (threading.local,), {"deferred": False})()


@contextlib.contextmanager
def deferred_initialization() -> Iterator[None]:
    """Inside the block, `add_weight` fills new weights with zeros instead of calling their initializers.

    For networks whose weights a file is about to overwrite: building VGG16 to load its ImageNet weights
    skips ~3 s of random draws (and leaves neurona's random stream where it was).

    >>> from neurona.layers import Dense
    >>> with deferred_initialization():
    ...     layer = Dense(2)
    ...     layer.build((None, 3))
    >>> float(abs(layer.kernel.data).sum())
    0.0
    """
    old = _Init.deferred
    _Init.deferred = True
    try:
        yield
    finally:
        _Init.deferred = old


def format_shape(shape: Any) -> str:
    return str(tuple(shape)) if not isinstance(shape, list) else str([tuple(s) for s in shape])


def _check_weight_kwargs(layer: Any, kwargs: dict[str, Any]) -> None:
    """Keras's extra add_weight arguments: accepted at their defaults, refused otherwise."""
    for key, value in kwargs.items():
        if key in ("constraint",) and value is None or key in ("autocast", "aggregation", "synchronization",
                                                                 "use_resource", "experimental_autocast"):
            continue
        raise TypeError(f"{type(layer).__name__} '{layer.name}': add_weight({key}={value!r}) is not supported")


# ----------------------------------------------------------------------------- the Layer
class Layer:
    """Base class of every layer: weights, lazy build, config, and the functional-graph bookkeeping.

    Subclasses implement `build(input_shape)` (create weights with `add_weight`), `call(inputs,
    training=False)` and `get_config()`; `compute_output_shape` is optional (the default runs the layer
    once on zeros). They register themselves by class name, so `get("Dense")` finds them.
    """

    _layers: list[Layer]  # sub-layers assigned to attributes (set in __init__, before any other attribute)
    cast_inputs = True  # convert NumPy inputs to the layer's dtype (Embedding keeps integers)
    _call_has_training = True
    _wrap_build = True  # Model builds differently and opts out
    supports_masking = False  # True: an input mask passes through unchanged (see compute_mask)
    _call_has_mask = False  # whether `call` takes a `mask=` argument (then it receives the propagated mask)
    _makes_masks = False  # whether the class overrides compute_mask (then outputs always get its mask)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        registry.register("layer", cls)  # "neurona>Dense", or "<your package>>Name" for your classes
        if "call" in cls.__dict__:
            params = inspect.signature(cls.call).parameters
            cls._call_has_training = "training" in params
            cls._call_has_mask = "mask" in params
        cls._makes_masks = cls.compute_mask is not Layer.compute_mask
        if "build" in cls.__dict__ and cls._wrap_build:
            setattr(cls, "build", _built_after(cls.__dict__["build"]))  # noqa: B010  (mypy: no method assignment)

    def __init__(self, trainable: bool = True, name: str | None = None, dtype: Any = None,
                 input_shape: Sequence[int | None] | None = None, input_dim: int | None = None,
                 batch_input_shape: Sequence[int | None] | None = None, batch_size: int | None = None,
                 **kwargs: Any) -> None:
        if kwargs:
            bad = ", ".join(sorted(kwargs))
            raise TypeError(f"{type(self).__name__} got unexpected keyword argument(s): {bad}")
        object.__setattr__(self, "_layers", [])
        self.name = name if name is not None else unique_name(to_snake_case(type(self).__name__))
        if not isinstance(self.name, str) or not self.name or "/" in self.name:
            raise ValueError(f"layer names must be non-empty strings without '/', got {self.name!r}")
        self.dtype = np.dtype(dtype or "float32").name
        self._trainable = bool(trainable)
        self.built = False
        self.input_spec: InputSpec | None = None
        self._trainable_weights: list[Tensor] = []
        self._non_trainable_weights: list[Tensor] = []
        self._regularizers: list[tuple[Callable[[Tensor], Tensor], Tensor]] = []
        self._added_losses: list[Tensor] = []
        self._inbound_nodes: list[Node] = []
        self._build_shape: Any = None
        if input_dim is not None and input_shape is None:
            input_shape = (input_dim,)
        if batch_input_shape is None and input_shape is not None:
            if isinstance(input_shape, int):
                input_shape = (input_shape,)
            batch_input_shape = (batch_size,) + tuple(input_shape)
        self._batch_input_shape = None if batch_input_shape is None else tuple(batch_input_shape)

    # ----------------------------------------------------------------- attribute tracking
    def __setattr__(self, name: str, value: Any) -> None:
        # Assigning a layer (or a list of layers) to an attribute makes its weights part of this layer's.
        if isinstance(value, Layer) or (isinstance(value, (list, tuple)) and value
                                        and all(isinstance(v, Layer) for v in value)):
            try:
                tracked = self.__dict__["_layers"]
            except KeyError:
                raise RuntimeError(f"{type(self).__name__}: call super().__init__() before assigning "
                                   f"sub-layers to attributes") from None
            for v in (value if isinstance(value, (list, tuple)) else [value]):
                if v is not self and not any(v is t for t in tracked):
                    tracked.append(v)
        elif isinstance(value, Tensor) and value.creator is None and not name.startswith("_") \
                and (value.requires_grad or not self.__dict__.get("built", False)):
            self._track_tensor(name, value)
        object.__setattr__(self, name, value)

    def _track_tensor(self, name: str, value: Tensor) -> None:
        """A leaf Tensor assigned to a public attribute is a weight (trainable if it requires grad), as Keras
        tracks a Variable. Outputs of ops, `_private` attributes, and — once built — tensors that need no
        gradient (values a `call` keeps, computed under no_grad) are left alone."""
        try:
            trainable, frozen = self.__dict__["_trainable_weights"], self.__dict__["_non_trainable_weights"]
        except KeyError:
            raise RuntimeError(f"{type(self).__name__}: call super().__init__() before assigning "
                               f"weights to attributes") from None
        if any(value is w for w in trainable) or any(value is w for w in frozen):
            return
        if value.name is None:
            value.name = f"{self.name}/{name}"
        if value.requires_grad and value.data.dtype.kind == "f":
            value.requires_grad = self._trainable
            trainable.append(value)
        else:
            frozen.append(value)

    # ----------------------------------------------------------------- weights
    def add_weight(self, name: str | None = None, shape: Sequence[int] = (), initializer: Any = "glorot_uniform",
                   regularizer: Any = None, trainable: bool = True, dtype: Any = None, **kwargs: Any) -> Tensor:
        """Create a weight (a Variable named '<layer>/<name>') and track it (zeros under `deferred_initialization`).

        Keras 3's keyword form `add_weight(shape=..., initializer=..., name=None)` works too.
        """
        from .. import initializers, regularizers
        from ..saving.limits import current_budget
        from ..variable import Variable

        _check_weight_kwargs(self, kwargs)
        if name is None:
            name = f"variable_{len(self._trainable_weights) + len(self._non_trainable_weights)}"
        shape = tuple(int(s) for s in shape)
        dtype = np.dtype(dtype or self.dtype)
        init = initializers.get(initializer if initializer is not None else "glorot_uniform")
        if (budget := current_budget()) is not None:  # a loader building from a file: size checked first
            budget.check(self, name, shape, dtype)
        if init is None or _Init.deferred or budget is not None:
            value = np.zeros(shape, dtype)
        else:
            value = np.asarray(init(shape, dtype=dtype), dtype=dtype)
        if value.shape != shape:
            raise ValueError(f"initializer of {type(self).__name__} '{self.name}/{name}' returned shape "
                             f"{value.shape}, expected {shape}")
        if not value.flags.writeable or not value.flags.c_contiguous:
            value = np.ascontiguousarray(value).copy()
        w = Variable.wrap(value, name=f"{self.name}/{name}", trainable=trainable)
        if trainable and dtype.kind == "f":
            w.requires_grad = self._trainable
            self._trainable_weights.append(w)
        else:
            self._non_trainable_weights.append(w)
        reg = regularizers.get(regularizer)
        if reg is not None:
            self._regularizers.append((reg, w))
        return w

    def add_variable(self, shape: Sequence[int] = (), initializer: Any = "zeros", dtype: Any = None,
                     trainable: bool = True, name: str | None = None, **kwargs: Any) -> Tensor:
        """Keras 3's `add_variable`: `add_weight` with the arguments in Keras's order."""
        return self.add_weight(name=name, shape=shape, initializer=initializer, trainable=trainable, dtype=dtype,
                               **kwargs)

    @property
    def trainable(self) -> bool:
        return self._trainable

    @trainable.setter
    def trainable(self, value: bool) -> None:
        """Freeze (False) or unfreeze this layer and every layer inside it."""
        self._trainable = bool(value)
        for w in self._trainable_weights:
            w.requires_grad = self._trainable
        for layer in self._layers:
            layer.trainable = value

    def _sublayers(self) -> Iterator[Layer]:
        return iter(self._layers)

    @property
    def weights(self) -> list[Tensor]:
        """Every weight, in a fixed order: own trainable, own non-trainable, then sub-layers'."""
        out, seen = [], set()
        for w in self._own_and_sub_weights():
            if id(w) not in seen:
                seen.add(id(w))
                out.append(w)
        return out

    def _own_and_sub_weights(self) -> Iterator[Tensor]:
        yield from self._trainable_weights
        yield from self._non_trainable_weights
        for layer in self._sublayers():
            yield from layer.weights

    @property
    def trainable_weights(self) -> list[Tensor]:
        if not self._trainable:
            return []
        out, seen = list(self._trainable_weights), {id(w) for w in self._trainable_weights}
        for layer in self._sublayers():
            for w in layer.trainable_weights:
                if id(w) not in seen:
                    seen.add(id(w))
                    out.append(w)
        return out

    @property
    def non_trainable_weights(self) -> list[Tensor]:
        trainable = {id(w) for w in self.trainable_weights}
        return [w for w in self.weights if id(w) not in trainable]

    @property
    def variables(self) -> list[Tensor]:
        return self.weights

    def get_weights(self) -> list[np.ndarray]:
        """Copies of the weights' values, in `weights` order."""
        return [w.data.copy() for w in self.weights]

    def set_weights(self, weights: Sequence[Any]) -> None:
        """Write new values into the weights (in place, so optimizers keep their state)."""
        own = self.weights
        weights = list(weights)
        if len(weights) != len(own):
            expected = ", ".join(f"{(w.name or '').split('/', 1)[-1]} {w.shape}" for w in own) or "none"
            raise ValueError(f"{type(self).__name__} '{self.name}' has {len(own)} weights ({expected}), "
                             f"got {len(weights)} arrays")
        arrays = []
        for w, value in zip(own, weights):
            arr = np.asarray(value.data if isinstance(value, Tensor) else value)
            if arr.shape != w.shape:
                raise ValueError(f"weight '{w.name}' of {type(self).__name__} '{self.name}' has shape {w.shape}, "
                                 f"got an array of shape {arr.shape}")
            arrays.append(arr)
        for w, arr in zip(own, arrays):
            w.data[...] = arr

    def count_params(self) -> int:
        if not self.built:
            raise ValueError(f"{type(self).__name__} '{self.name}' is not built yet, so it has no weights to "
                             f"count: call it on data or give the model an input shape")
        return int(sum(w.size for w in self.weights))

    @property
    def losses(self) -> list[Tensor]:
        """Regularization penalties of the trainable weights, plus add_loss() terms of the last call."""
        out = [reg(w) for reg, w in self._regularizers if w.requires_grad]
        out += self._added_losses
        for layer in self._sublayers():
            out += layer.losses
        return out

    def add_loss(self, loss: Tensor) -> None:
        """Add a term to the training loss from inside `call` (a VAE's KL term, for instance)."""
        self._added_losses.append(loss)
        pending_losses().append(loss)

    # ----------------------------------------------------------------- build / call
    def build(self, input_shape: Any) -> None:
        """Create the weights; `input_shape` has None for the batch axis."""
        self.built = True

    def call(self, inputs: Any, training: bool = False) -> Any:
        return inputs

    def compute_output_shape(self, input_shape: Any) -> Any:
        """Output shape for an input shape (None batch). The default runs the layer on zeros."""
        return _traced_output_shape(self, input_shape)

    def _maybe_build(self, shapes: Any) -> None:
        if self.built:
            return
        shapes = _batchless(shapes)
        self.build(shapes)
        self.built = True
        self._build_shape = shapes

    def _build_for(self, shapes: Any) -> None:
        """Build from the declared input_shape if there is one (then check the actual inputs against it)."""
        declared = self._batch_input_shape
        if declared is None or isinstance(shapes, list):
            self._maybe_build(shapes)
            return
        self._maybe_build(declared)
        self._check_input(shapes)
        InputSpec(shape=declared).check(self, shapes)

    def _check_input(self, shapes: Any) -> None:
        if self.input_spec is not None and not isinstance(shapes, list):
            self.input_spec.check(self, shapes)

    def __call__(self, inputs: Any, *args: Any, training: bool | None = None, **kwargs: Any) -> Any:
        if _is_symbolic(inputs):
            return self._symbolic_call(inputs, *args, **kwargs)
        inputs = self._convert(inputs)
        shapes = _shapes(inputs)
        if not self.built:
            self._build_for(shapes)
        self._check_input(shapes)
        self._added_losses = []
        return masked_call(self, _call_of(self))(inputs, bool(training), *args, **kwargs)

    def _convert(self, inputs: Any) -> Any:
        if isinstance(inputs, Tensor):
            return inputs
        if isinstance(inputs, dict):
            return {k: self._convert(t) for k, t in inputs.items()}
        if isinstance(inputs, (list, tuple)):
            return [self._convert(t) for t in inputs]
        arr = np.asarray(inputs)
        if self.cast_inputs and arr.dtype.kind in "biuf" and arr.dtype != self.dtype:
            arr = arr.astype(self.dtype)
        return Tensor(arr)

    def _symbolic_call(self, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(inputs, (list, tuple)):
            bad = [t for t in flatten(inputs) if not isinstance(t, SymbolicTensor)]
            if bad:
                raise TypeError(f"{type(self).__name__} '{self.name}' got a mix of symbolic tensors (from Input) "
                                f"and concrete values; wrap constants in a Lambda layer")
        shapes = _shapes(inputs)
        if not self.built:
            self._build_for(shapes)
        self._check_input(shapes)
        out_shapes = self.compute_output_shape(shapes)
        dtype = flatten(inputs)[0].dtype if self.cast_inputs is False else self.dtype
        outputs = _make_symbolic(out_shapes, dtype)
        Node(self, inputs if not isinstance(inputs, tuple) else list(inputs), outputs, kwargs or None)
        return outputs

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        """The mask this layer's output carries: the input's when `supports_masking`, else None (Keras)."""
        return mask if self.supports_masking else None

    # ----------------------------------------------------------------- graph info
    @property
    def input(self) -> Any:
        if not self._inbound_nodes:
            raise AttributeError(f"layer '{self.name}' has not been called on a symbolic input yet")
        return self._inbound_nodes[0].inputs

    @property
    def output(self) -> Any:
        if not self._inbound_nodes:
            raise AttributeError(f"layer '{self.name}' has not been called on a symbolic input yet")
        return self._inbound_nodes[0].outputs

    @property
    def output_shape(self) -> Any:
        out = self.output
        return [t.shape for t in out] if isinstance(out, list) else out.shape

    # ----------------------------------------------------------------- config
    def get_config(self) -> dict[str, Any]:
        """The constructor arguments as JSON-able values; `from_config` inverts it."""
        config: dict[str, Any] = {"name": self.name, "trainable": self.trainable, "dtype": self.dtype}
        if self._batch_input_shape is not None:
            config["batch_input_shape"] = list(self._batch_input_shape)
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Layer:
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"


def _built_after(build: Callable[..., None]) -> Callable[..., None]:
    """Wrap a subclass's build so that calling it by hand also marks the layer built (as Keras does)."""

    @functools.wraps(build)
    def wrapper(self: Layer, input_shape: Any) -> None:
        build(self, input_shape)
        self.built = True
        if self._build_shape is None:
            self._build_shape = input_shape

    return wrapper


def _call_of(layer: Layer) -> Callable[..., Any]:
    """layer.call as f(inputs, training, ...), for layers whose call takes no `training` argument too."""
    if layer._call_has_training:
        return layer.call
    call = layer.call
    return lambda x, *args, training=False, **kw: call(x, *args, **kw)


def serialize_object(obj: Any, module: Any) -> Any:
    """A JSON-able description of an initializer/regularizer (None stays None)."""
    if obj is None:
        return None
    return module.serialize(obj)


def prod(shape: Sequence[int | None]) -> int | None:
    """Product of known sizes, None if any is unknown."""
    if any(s is None for s in shape):
        return None
    return int(math.prod([int(s) for s in shape if s is not None]))
