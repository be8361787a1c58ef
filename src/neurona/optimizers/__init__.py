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

from .. import registry
from . import schedules
from .adam import Adam, Adamax, AdamW, Nadam
from .adaptive import Adadelta, Adagrad, RMSprop
from .base import Optimizer
from .sgd import SGD

_CLASSES: dict[str, type[Optimizer]] = {
    cls.__name__.lower(): cls for cls in (SGD, Adam, AdamW, Nadam, Adamax, RMSprop, Adagrad, Adadelta)
}


def _lookup(name: Any) -> type[Optimizer] | None:
    if not isinstance(name, str):
        return None
    return registry.lookup("optimizer", name) or registry.lookup("optimizer", name.lower())


def serialize(optimizer: Optimizer) -> dict[str, Any]:
    """{"class_name": ..., "config": ...}, the JSON form stored with a compiled model."""
    return registry.to_config(optimizer)


def deserialize(config: dict[str, Any], custom_objects: dict[str, type] | None = None) -> Optimizer:
    """Rebuild an optimizer from `serialize`'s dict (Keras's too); unknown class names are refused."""
    name = config.get("class_name", "")
    if isinstance(name, str) and not (custom_objects or {}).get(name) and registry.lookup("optimizer", name) is None \
            and registry.lookup("optimizer", name.lower()) is not None:
        config = {**config, "class_name": name.lower()}  # Keras files may spell it "adam"
    return registry.from_config("optimizer", config, custom_objects, pass_custom_objects=True)


def get(identifier: Any) -> Optimizer:
    """An optimizer from a name ("sgd", "adam", "RMSprop", ...), a config dict, a class or an instance."""
    return registry.get_instance("optimizer", identifier, Optimizer, none=False, functions=False,
                                 deserialize=deserialize, lookup_name=_lookup)


__all__ = ["SGD", "Adadelta", "Adagrad", "Adam", "AdamW", "Adamax", "Nadam", "Optimizer", "RMSprop", "deserialize",
           "get", "schedules", "serialize"]
