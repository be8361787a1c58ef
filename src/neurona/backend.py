"""Keras's `keras.backend` / `keras.config` essentials: the float type, epsilon, the image layout.

neurona computes on NumPy, always channels-last; these are here so programs that query them run unchanged.
"""

from __future__ import annotations

from typing import Any

import numpy as np

_FLOATX = "float32"
_EPSILON = 1e-7


def floatx() -> str:
    """The default float type: 'float32'."""
    return _FLOATX


def set_floatx(value: str) -> None:
    """Only float32 (and float64, for gradient checks) exist; layers take `dtype=` for float64."""
    global _FLOATX
    if value not in ("float32", "float64"):
        raise ValueError(f"floatx must be 'float32' or 'float64', got {value!r}")
    _FLOATX = value


def epsilon() -> float:
    """The fuzz factor Keras adds to avoid division by zero: 1e-7."""
    return _EPSILON


def set_epsilon(value: float) -> None:
    global _EPSILON
    _EPSILON = float(value)


def image_data_format() -> str:
    """Always 'channels_last' (images are (height, width, channels))."""
    return "channels_last"


def set_image_data_format(value: str) -> None:
    if value != "channels_last":
        raise ValueError(f"neurona computes images channels-last only, got {value!r}")


def backend() -> str:
    """The name of the computing backend: 'numpy'."""
    return "numpy"


def clear_session(free_memory: bool = True) -> None:
    """Forget automatic layer names, so the next model's layers are 'dense', 'dense_1', ... again."""
    from .utils import clear_session as _clear

    _clear()


def is_keras_tensor(x: Any) -> bool:
    """Whether `x` is a symbolic tensor from `Input` (a functional-model placeholder)."""
    from .layers import KerasTensor

    return isinstance(x, KerasTensor)


def standardize_dtype(dtype: Any) -> str:
    return np.dtype(dtype).name


__all__ = ["backend", "clear_session", "epsilon", "floatx", "image_data_format", "is_keras_tensor",
           "set_epsilon", "set_floatx", "set_image_data_format", "standardize_dtype"]
