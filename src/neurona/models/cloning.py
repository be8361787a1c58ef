"""`clone_model`: the same architecture with new layers and freshly initialised weights, as Keras's."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def clone_model(model: Any, input_tensors: Any = None, clone_function: Callable[[Any], Any] | None = None,
                **kwargs: Any) -> Any:
    """A new model with the architecture of `model` and new weights (not copied: call `set_weights` for that).

    `clone_function(layer) -> new layer` customises each layer of a Sequential model (Keras's argument).
    Subclassed models have no architecture config and are refused, as in Keras.
    """
    from .model import Model
    from .sequential import Sequential

    if kwargs or input_tensors is not None:
        raise ValueError(f"clone_model: input_tensors and {sorted(kwargs)} are not supported; clone the model and "
                         f"call it on new inputs instead")
    if not isinstance(model, Model):
        raise TypeError(f"clone_model expects a neurona Model, got {type(model).__name__}")
    if isinstance(model, Sequential):
        config = model.get_config()
        if clone_function is None:
            return Sequential.from_config(config)
        layers = [clone_function(layer) for layer in model.layers]
        shape = config.get("build_input_shape")
        clone = Sequential(layers, name=model.name)
        if shape is not None:
            clone.build(tuple(shape))
        return clone
    if getattr(model, "_graph", None) is None:
        raise ValueError(f"clone_model: '{model.name}' is a subclassed model (no architecture config); create a new "
                         f"instance of its class instead")
    if clone_function is not None:
        raise ValueError("clone_model: clone_function is supported for Sequential models only")
    return Model.from_config(model.get_config())
