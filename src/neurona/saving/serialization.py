"""Objects to and from JSON configs, by registered name only.

A config names a class (`{"class_name": "Dense", "config": {...}}`); loading looks that name up in
tables of classes that already exist in this process — neurona's own catalogues (layers, losses,
optimizers, initializers, regularizers, metrics, activations) and the classes and functions the user
registered with `@register_serializable` or passed as `custom_objects`. Nothing is ever imported or
evaluated because a file names it: `{"class_name": "os.system"}` is simply an unknown name.

>>> @register_serializable(package="demo")
... class Scale:
...     def __init__(self, factor=2.0):
...         self.factor = factor
...     def get_config(self):
...         return {"factor": self.factor}
>>> config = serialize(Scale(3.0))
>>> config
{'class_name': 'demo>Scale', 'config': {'factor': 3.0}}
>>> deserialize(config).factor
3.0
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np

from .. import registry
from .errors import UnsafeFileError

_REGISTERED: dict[str, Any] = {}  # "package>Name" and "Name" -> class or function
_NAMES: dict[int, str] = {}  # id(object) -> its registered "package>Name"
_SCOPES: list[dict[str, Any]] = []
KINDS = ("layer", "loss", "optimizer", "initializer", "regularizer", "metric", "activation")


def register_serializable(package: str | Callable | type = "Custom", name: str | None = None) -> Any:
    """Register a class or function so configs can name it (as "package>Name" or plain "Name").

    Usable bare (`@register_serializable`) or with arguments (`@register_serializable(package="mine")`).
    Classes need `get_config()`; `from_config(config)` defaults to `cls(**config)`.
    """
    if not isinstance(package, str):  # used bare: the decorated object came as the first argument
        return register_serializable()(package)
    if ">" in package:
        raise ValueError(f"package name {package!r} must not contain '>'")

    def decorator(obj: Any) -> Any:
        short = name or getattr(obj, "__name__", None)
        if not short:
            raise TypeError(f"cannot register {obj!r}: it has no __name__; pass name=")
        if isinstance(obj, type) and not callable(getattr(obj, "get_config", None)):
            raise TypeError(f"cannot register class {short!r}: it must define get_config() so it can be saved")
        key = f"{package}>{short}"
        if _REGISTERED.get(key, obj) is not obj:
            raise ValueError(f"the name {key!r} is already registered for {_REGISTERED[key]!r}")
        _REGISTERED[key] = obj
        _REGISTERED.setdefault(short, obj)  # the plain name too, for configs that store type(obj).__name__
        _NAMES[id(obj)] = key
        registry.register(_kind_of(obj), obj, name=short, package=package)
        return obj

    return decorator


def _kind_of(obj: Any) -> str:
    from ..layers.base import Layer

    return "layer" if isinstance(obj, type) and issubclass(obj, Layer) else "object"


def get_registered_name(obj: Any) -> str:
    """The name a config stores for `obj` (a class or function): "package>Name" if registered, else its name."""
    return _NAMES.get(id(obj), getattr(obj, "__name__", type(obj).__name__))


@contextlib.contextmanager
def custom_object_scope(objects: Mapping[str, Any]) -> Iterator[None]:
    """Within the block, configs may also name the objects in `objects` (name -> class or function)."""
    _SCOPES.append(dict(objects))
    try:
        yield
    finally:
        _SCOPES.pop()


def get_custom_objects(custom_objects: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Every user-provided name visible now: registered, then scopes, then `custom_objects` (last wins)."""
    merged = dict(_REGISTERED)
    for scope in _SCOPES:
        merged.update(scope)
    merged.update(custom_objects or {})
    return merged


def json_safe(value: Any, where: str = "config") -> Any:
    """`value` with tuples as lists and NumPy scalars/arrays as Python values; anything else non-JSON raises."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, list | tuple):
        return [json_safe(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, Mapping):
        if not all(isinstance(k, str) for k in value):
            raise TypeError(f"{where}: config keys must be strings, got {list(value)!r:.200}")
        return {k: json_safe(v, f"{where}.{k}") for k, v in value.items()}
    if callable(getattr(value, "get_config", None)):
        return serialize(value)
    raise TypeError(f"{where}: {type(value).__name__} value {value!r:.80} cannot be stored in a JSON config; "
                    f"make get_config() return plain values or serialize() it")


def serialize(obj: Any) -> Any:
    """The JSON form of `obj`: {"class_name", "config"} for objects with get_config, a name for functions."""
    if obj is None or isinstance(obj, str):
        return obj
    if isinstance(obj, type) or not callable(getattr(obj, "get_config", None)):
        if callable(obj) and hasattr(obj, "__name__"):
            return get_registered_name(obj)
        raise TypeError(f"cannot serialize {obj!r:.80}: it has no get_config()")
    name = get_registered_name(type(obj))
    return {"class_name": name, "config": json_safe(obj.get_config(), name)}


def _module(kind: str) -> Any:
    # A fixed table of neurona's own modules, imported lazily because they sit below saving.
    if kind == "loss":
        from .. import losses as module
    elif kind == "optimizer":
        from .. import optimizers as module
    elif kind == "initializer":
        from .. import initializers as module
    elif kind == "regularizer":
        from .. import regularizers as module
    elif kind == "metric":
        from .. import metrics as module
    elif kind == "activation":
        from .. import activations as module
    else:
        raise ValueError(f"unknown kind {kind!r}; expected one of {', '.join(KINDS)}")
    return module


def _from_catalogue(kind: str, config: Any, objects: dict[str, Any]) -> Any:
    """Rebuild `config` with neurona's own lookup for `kind` (which refuses names it does not know)."""
    if kind == "layer":  # layers and models: the registry of Layer subclasses, as models load them
        from ..models.model import layer_from_config

        if isinstance(config, str):
            config = {"class_name": config, "config": {}}
        return layer_from_config({"class_name": config["class_name"], "config": config.get("config", {})}, objects)
    module = _module(kind)
    if isinstance(config, str):
        return module.get(config)
    if "custom_objects" in inspect.signature(module.deserialize).parameters:
        return module.deserialize(config, custom_objects=objects)
    return module.deserialize(config)


def _build(cls: Any, config: Any, where: str, objects: dict[str, Any]) -> Any:
    if not isinstance(cls, type):  # a registered function: the config is just its name
        return cls
    if not isinstance(config, dict):
        raise UnsafeFileError(f"{where}: 'config' must be a JSON object, got {type(config).__name__}")
    from_config = getattr(cls, "from_config", None)
    if not callable(from_config):
        return cls(**config)
    if "custom_objects" in inspect.signature(from_config).parameters:
        return from_config(config, custom_objects=objects)
    return from_config(config)


def deserialize(config: Any, kind: str | None = None, custom_objects: Mapping[str, Any] | None = None) -> Any:
    """Rebuild an object from `serialize`'s form. `kind` ("layer", "loss", ...) picks neurona's catalogue.

    Registered and `custom_objects` names are looked up first; a name found nowhere raises
    `UnsafeFileError` naming it — nothing is imported on its behalf.
    """
    if config is None:
        return None
    objects = get_custom_objects(custom_objects)
    if isinstance(config, str):
        name, inner = config, {}
    elif isinstance(config, dict) and isinstance(config.get("class_name"), str):
        name, inner = config["class_name"], config.get("config", {})
    else:
        raise UnsafeFileError(f"a serialized object must be a name or a JSON object with a string 'class_name', "
                              f"got {config!r:.200}")
    if name not in objects and kind is None:
        raise UnsafeFileError(f"unknown class {name!r:.100}: only registered classes can be loaded; decorate it with "
                              f"@neurona.saving.register_serializable or pass custom_objects={{{name!r:.100}: ...}}")
    try:
        if name in objects:
            return _build(objects[name], inner, name, objects)
        return _from_catalogue(kind, config, objects)
    except UnsafeFileError:
        raise
    except (ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
        raise UnsafeFileError(f"cannot rebuild {kind or 'object'} {name!r:.100} from the config: {exc}") from exc
