"""Helpers shared by the attention layers: masks checked against the shapes they must fit, dropout
multipliers, and the rule that symbolic masks travel as inputs, never as keyword arguments."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..random import get_rng
from ..tensor import Tensor
from .base import Layer
from .symbolic import _is_symbolic


def as_mask(mask: Any, layer: Layer, what: str, expected: tuple[int, ...]) -> np.ndarray | None:
    """A boolean mask array checked against `expected` (dims of 1 broadcast); errors name the layer."""
    if mask is None:
        return None
    m = np.asarray(mask.data if isinstance(mask, Tensor) else mask)
    m = m if m.dtype == bool else m > 0.5  # Keras keeps positions where the mask is True or > 0.5
    ok = m.ndim == len(expected) and all(a in (1, b) for a, b in zip(m.shape, expected))
    if not ok:
        raise ValueError(f"{type(layer).__name__} '{layer.name}': {what} must have shape {expected} "
                         f"(or broadcast to it), got shape {m.shape}")
    return m


def keep_mask(shape: tuple[int, ...], rate: float, dtype: np.dtype, rng: np.random.Generator | None) -> np.ndarray:
    """Inverted-dropout multipliers: 0 with probability `rate`, else 1/(1-rate)."""
    rng = rng or get_rng()
    keep = rng.random(shape, dtype=np.float32) >= rate
    return keep.astype(dtype) * dtype.type(1 / (1 - rate))


def check_rate(layer: Layer, rate: float) -> float:
    if not 0 <= rate < 1:
        raise ValueError(f"{type(layer).__name__} '{layer.name}': dropout must be in [0, 1), got {rate}")
    return float(rate)


def reject_symbolic_kwargs(layer: Layer, kwargs: dict[str, Any]) -> None:
    """Symbolic masks cannot travel as keyword arguments of a functional call (the graph keeps only values)."""
    for key, value in kwargs.items():
        if _is_symbolic(value if isinstance(value, (list, tuple)) else [value]):
            raise TypeError(f"{type(layer).__name__} '{layer.name}': `{key}` is a symbolic tensor; in a functional "
                            f"model masks come from the inputs (Embedding(mask_zero=True) or Masking)")
