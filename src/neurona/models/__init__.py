"""Models with Keras's names: `Sequential`, the functional `Model(inputs, outputs)`, and loading.

>>> from neurona.models import Sequential
>>> from neurona.layers import Dense
>>> model = Sequential([Dense(10, activation="sigmoid", input_shape=(784,)), Dense(10, activation="softmax")])
>>> model.count_params()
7960
"""

from __future__ import annotations

from typing import Any

from .cloning import clone_model
from .model import Model, model_from_json
from .sequential import Sequential


def load_model(filepath: Any, custom_objects: dict[str, Any] | None = None, compile: bool = True,
               **kwargs: Any) -> Model:
    """Load a model saved with `model.save()` (see neurona.saving)."""
    from .model import _saving

    return _saving("load_model")(filepath, custom_objects=custom_objects, compile=compile, **kwargs)


__all__ = ["Model", "Sequential", "clone_model", "load_model", "model_from_json"]
