"""Small models trained by neurona and shipped inside the package (no download needed).

`load_lenet_digits()`: a LeNet-5 that recognises the handwritten digits 0-4 (28x28 grey images, pixels
scaled to [0, 1]), trained on neurona's embedded digits data by examples/train_pretrained_lenet.py; the
starting point of the transfer-learning example, which teaches it digits 5-9.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

_FILES = "lenet_digits"


def lenet_digits_info() -> dict[str, Any]:
    """What the shipped LeNet was trained on, its classes and its test accuracy (the JSON next to the weights)."""
    with resources.files(__package__).joinpath(f"{_FILES}.json").open("r", encoding="utf-8") as f:
        return json.load(f)


def load_lenet_digits(compile: bool = True) -> Any:
    """The pretrained LeNet-5 for digits 0-4: input (None, 28, 28, 1) in [0, 1], output 5 class probabilities.

    >>> model = load_lenet_digits()
    >>> model.output_shape
    (None, 5)
    """
    from ..saving import load_weights, model_from_json

    info = lenet_digits_info()
    model = model_from_json(json.dumps(info["model"]))
    with resources.as_file(resources.files(__package__).joinpath(f"{_FILES}.safetensors")) as path:
        load_weights(model, path)
    if compile:
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


__all__ = ["lenet_digits_info", "load_lenet_digits"]
