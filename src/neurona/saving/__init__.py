"""Saving and loading: the `.neurona` archive, safetensors weights, JSON configs, atomic checkpoints.

Files can't run code: configs are JSON and name only registered classes, weights are safetensors, and
every write goes to a temporary file renamed into place. See docs/saving.md for the file format.
"""

from .atomic import atomic_write, write_bytes_atomic
from .errors import UnsafeFileError
from .limits import get_load_limits, set_load_limits
from .model_io import (
    load_model,
    load_weights,
    model_from_json,
    model_to_json,
    restore_checkpoint,
    save_checkpoint,
    save_model,
    save_weights,
)
from .serialization import (
    custom_object_scope,
    deserialize,
    get_custom_objects,
    get_registered_name,
    register_serializable,
    serialize,
)

register_keras_serializable = register_serializable  # the Keras name, so slide code keeps working

__all__ = [
    "UnsafeFileError", "atomic_write", "custom_object_scope", "deserialize", "get_custom_objects",
    "get_registered_name", "load_model", "load_weights", "model_from_json", "model_to_json",
    "register_keras_serializable", "register_serializable", "restore_checkpoint", "save_checkpoint", "save_model",
    "save_weights", "serialize", "write_bytes_atomic", "get_load_limits", "set_load_limits",
]
