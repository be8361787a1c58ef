"""Layers by family, with Keras's names: `from neurona.layers import Dense, Conv2D, Dropout`.

Families written in their own modules (conv, pooling, normalization, recurrent, ...) are imported on
first use of one of their names, so `import neurona.layers` stays quick.
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any

from .base import InputSpec, KerasTensor, Layer, Node, SymbolicTensor, clear_session, get
from .core import Activation, Dense, Dropout, Flatten, Input, InputLayer, Lambda, Permute, RepeatVector, Reshape
from .merge import (
    Add,
    Average,
    Concatenate,
    Dot,
    Maximum,
    Minimum,
    Multiply,
    Subtract,
    add,
    average,
    concatenate,
    dot,
    maximum,
    minimum,
    multiply,
    subtract,
)

# Modules of this package that hold other layer families (written by their own issues).
_FAMILIES = ("conv", "pooling", "normalization", "reshaping", "regularization", "recurrent", "attention",
             "embedding", "augmentation", "preprocessing", "activation", "noise",
             "positional", "transformer", "text", "masking", "conv_lstm", "spectrogram")


def _family_modules() -> list[Any]:
    mods = []
    for fam in _FAMILIES:
        if importlib.util.find_spec(f"{__name__}.{fam}") is not None:
            mods.append(importlib.import_module(f"{__name__}.{fam}"))
    return mods


def _import_families() -> None:
    """Import every layer family, so each class is registered for `get()` and configs."""
    _family_modules()


def __getattr__(name: str) -> Any:
    if name.startswith("_"):
        raise AttributeError(name)
    for mod in _family_modules():
        if hasattr(mod, name):
            value = getattr(mod, name)
            globals()[name] = value
            return value
    raise AttributeError(f"module 'neurona.layers' has no attribute {name!r}")


__all__ = [
    "Activation", "Add", "Average", "Concatenate", "Dense", "Dot", "Dropout", "Flatten", "Input", "InputLayer",
    "InputSpec", "KerasTensor", "Lambda", "Layer", "Maximum", "Minimum", "Multiply", "Node", "Permute",
    "RepeatVector", "Reshape", "Subtract", "SymbolicTensor", "add", "average", "clear_session", "concatenate",
    "dot", "get", "maximum", "minimum", "multiply", "subtract",
]
