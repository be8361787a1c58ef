"""Weight penalties added to the loss: `reg(weight: Tensor) -> Tensor` (a differentiable scalar).

>>> import neurona as nr
>>> from neurona import regularizers
>>> round(regularizers.L2(0.01)(nr.tensor([1.0, -2.0])).item(), 6)  # 0.01 * (1 + 4)
0.05
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from . import registry
from .ops.losses import L1L2Penalty  # moved to ops/losses.py; still importable from here
from .tensor import Tensor


def _check(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise TypeError(f"regularizer factor {name} must be a number, got {value!r}")
    value = float(value)
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"regularizer factor {name} must be a finite non-negative number, got {value}")
    return value


class Regularizer(registry.Serializable):
    """Base class: callable on a weight Tensor, returns a scalar Tensor; `get_config()` mirrors `__init__`."""

    registry_kind = "regularizer"

    def __call__(self, x: Tensor) -> Tensor:
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        raise NotImplementedError(f"{type(self).__name__} does not implement get_config()")


class L1L2(Regularizer):
    """l1 * sum(|w|) + l2 * sum(w²); both factors default to 0 as in Keras."""

    def __init__(self, l1: float = 0.0, l2: float = 0.0) -> None:
        self.l1 = _check(0.0 if l1 is None else l1, "l1")
        self.l2 = _check(0.0 if l2 is None else l2, "l2")

    def __call__(self, x: Tensor) -> Tensor:
        return L1L2Penalty(self.l1, self.l2)(x)

    def get_config(self) -> dict[str, Any]:
        return {"l1": self.l1, "l2": self.l2}


class L1(L1L2):
    """l1 * sum(|w|): drives small weights to exactly zero (sparse models)."""

    def __init__(self, l1: float = 0.01) -> None:
        super().__init__(l1=0.01 if l1 is None else l1)

    def get_config(self) -> dict[str, Any]:
        return {"l1": self.l1}


class L2(L1L2):
    """l2 * sum(w²), "weight decay": keeps weights small."""

    def __init__(self, l2: float = 0.01) -> None:
        super().__init__(l2=0.01 if l2 is None else l2)

    def get_config(self) -> dict[str, Any]:
        return {"l2": self.l2}


l1, l2, l1_l2 = L1, L2, L1L2  # Keras's lowercase aliases: regularizers.l2(0.001)

_NAMES: dict[str, type[Regularizer]] = {"L1": L1, "L2": L2, "L1L2": L1L2, "l1": L1, "l2": L2, "l1_l2": L1L2,
                                        "l1l2": L1L2}


registry.alias_table("regularizer", _NAMES)


def serialize(regularizer: Regularizer) -> dict[str, Any]:
    """{"class_name": ..., "config": ...}, the JSON form stored in model configs."""
    return registry.to_config(regularizer)


def deserialize(config: dict[str, Any], custom_objects: dict[str, type] | None = None) -> Regularizer:
    """Rebuild a regularizer from `serialize`'s dict; unknown class names are refused."""
    return registry.from_config("regularizer", config, custom_objects)


def get(identifier: Any) -> Regularizer | Any | None:
    """None, or a regularizer from a name ("l2"), a config dict, a class, an instance or a callable."""
    return registry.get_instance("regularizer", identifier, Regularizer, deserialize=deserialize)


__all__ = ["L1", "L1L2", "L1L2Penalty", "L2", "Regularizer", "deserialize", "get", "l1", "l1_l2", "l2", "serialize"]
