"""Optimizers with Keras's names, defaults and update formulas, plus learning-rate schedules.

>>> from neurona import optimizers
>>> opt = optimizers.get("sgd")
>>> type(opt).__name__, opt.learning_rate
('SGD', 0.01)
>>> optimizers.SGD(lr=0.01, decay=1e-6, momentum=0.9, nesterov=True).momentum  # the slides' call
0.9
"""

from __future__ import annotations

from typing import Any

from . import schedules
from .adam import Adam, Adamax, AdamW, Nadam
from .adaptive import Adadelta, Adagrad, RMSprop
from .base import Optimizer
from .sgd import SGD

_CLASSES: dict[str, type[Optimizer]] = {
    cls.__name__.lower(): cls for cls in (SGD, Adam, AdamW, Nadam, Adamax, RMSprop, Adagrad, Adadelta)
}


def serialize(optimizer: Optimizer) -> dict[str, Any]:
    """{"class_name": ..., "config": ...}, the JSON form stored with a compiled model."""
    return {"class_name": type(optimizer).__name__, "config": optimizer.get_config()}


def deserialize(config: dict[str, Any], custom_objects: dict[str, type] | None = None) -> Optimizer:
    """Rebuild an optimizer from `serialize`'s dict (Keras's too); unknown class names are refused."""
    name = config.get("class_name", "")
    cls = (custom_objects or {}).get(name) or _CLASSES.get(name.lower())
    if cls is None:
        raise ValueError(f"unknown optimizer {name!r}; known: {', '.join(c.__name__ for c in _CLASSES.values())}")
    return cls.from_config(dict(config.get("config") or {}), custom_objects)


def get(identifier: Any) -> Optimizer:
    """An optimizer from a name ("sgd", "adam", "RMSprop", ...), a config dict, a class or an instance."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str):
        cls = _CLASSES.get(identifier.lower())
        if cls is None:
            from ..suggest import did_you_mean

            hint = did_you_mean(identifier, sorted(_CLASSES))
            raise ValueError(f"unknown optimizer {identifier!r}; {hint + ' ' if hint else ''}known names: "
                             f"{', '.join(sorted(_CLASSES))}")
        return cls()
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, type) and issubclass(identifier, Optimizer):
        return identifier()
    raise TypeError(f"could not interpret optimizer {identifier!r} (type {type(identifier).__name__}); pass a name "
                    f"such as 'sgd' or an Optimizer object")


__all__ = ["SGD", "Adadelta", "Adagrad", "Adam", "AdamW", "Adamax", "Nadam", "Optimizer", "RMSprop", "deserialize",
           "get", "schedules", "serialize"]
