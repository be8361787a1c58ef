"""One registry of serialisable objects: every layer, loss, metric, optimizer, initializer, regularizer,
activation and constraint a config can name, under a package-qualified name ("neurona>Dense").

Configs keep Keras's short names ("Dense"): a short name resolves to neurona's own class first, then to
the latest user class of that name. A user class never takes a short name from neurona — it is reached
as "its_package>Name" instead — so `class Dense(Layer)` in a notebook cannot break loading neurona's Dense.
This module imports nothing from neurona (every layer of the package may use it).

>>> class Shift:
...     pass
>>> _ = register("object", Shift, package="demo")
>>> lookup("object", "demo>Shift") is Shift, lookup("object", "Shift") is Shift
(True, True)
>>> registered_name(Shift)
'Shift'
"""

from __future__ import annotations

from typing import Any

KINDS = ("layer", "loss", "metric", "optimizer", "initializer", "regularizer", "activation", "constraint",
         "schedule", "object")
OWN = "neurona"

_BY_KIND: dict[str, dict[str, Any]] = {k: {} for k in KINDS}  # kind -> "package>Name" -> object
_SHORT: dict[str, dict[str, str]] = {k: {} for k in KINDS}  # kind -> "Name" -> "package>Name"
_NAMES: dict[int, str] = {}  # id(object) -> "package>Name"


def package_of(obj: Any) -> str:
    """"neurona" for objects defined inside the package, else the top-level module that defines them."""
    module = getattr(obj, "__module__", None) or "Custom"
    top = module.split(".", 1)[0]
    return OWN if top == OWN else top


def register(kind: str, obj: Any, name: str | None = None, package: str | None = None) -> Any:
    """Record `obj` under "package>name" (defaults: its defining package and `__name__`); returns `obj`."""
    if kind not in _BY_KIND:
        raise ValueError(f"unknown registry kind {kind!r}; expected one of {', '.join(KINDS)}")
    short = name or getattr(obj, "__name__", None)
    if not short:
        raise TypeError(f"cannot register {obj!r:.80}: it has no __name__; pass name=")
    explicit = package is not None
    package = package or package_of(obj)
    if ">" in package or ">" in short:
        raise ValueError(f"package and name must not contain '>', got {package!r} and {short!r}")
    key = f"{package}>{short}"
    _BY_KIND[kind][key] = obj
    if explicit:
        _NAMES[id(obj)] = key
    else:
        _NAMES.setdefault(id(obj), key)
    owner = _SHORT[kind].get(short)
    # neurona's short names stay neurona's; among user classes the latest definition wins (notebooks).
    if owner is None or package == OWN or not owner.startswith(OWN + ">"):
        _SHORT[kind][short] = key
    return obj


def register_subclass(kind: str, cls: type) -> None:
    """The `__init_subclass__` hook of neurona's base classes: every public subclass registers itself, so a
    class added anywhere (inside neurona or in user code) needs no registry code."""
    if not cls.__name__.startswith("_"):
        register(kind, cls)


def alias(kind: str, name: str, obj: Any) -> None:
    """Let the short `name` ("mse", "adam") resolve to the registered `obj` as well (Keras's other names)."""
    key = _NAMES.get(id(obj))
    if key is None or _BY_KIND[kind].get(key) is not obj:
        raise ValueError(f"cannot alias {name!r}: {obj!r:.80} is not registered as a {kind}")
    _SHORT[kind][name] = key


def alias_table(kind: str, table: dict[str, Any]) -> None:
    """`alias` every name of a {name: registered object} table that is not the object's own name."""
    for name, obj in table.items():
        if name != getattr(obj, "__name__", name):
            alias(kind, name, obj)


def to_config(obj: Any) -> dict[str, Any]:
    """{"class_name", "config"}: the JSON form configs store for a catalogue object (a loss, an optimizer...)."""
    return {"class_name": registered_name(type(obj)), "config": obj.get_config()}


def aliases(kind: str) -> list[str]:
    """Every short name `kind` answers to (class names and aliases), sorted."""
    return sorted(_SHORT[kind])


def lookup(kind: str, name: str) -> Any:
    """The object registered as `name` ("package>Name" or a short "Name") in `kind`, or None."""
    table = _BY_KIND[kind]
    if ">" in name:
        return table.get(name)
    key = _SHORT[kind].get(name)
    return None if key is None else table.get(key)


def names(kind: str, package: str | None = None) -> list[str]:
    """Sorted short names of `kind` (only `package`'s when given)."""
    keys = _BY_KIND[kind]
    return sorted({k.split(">", 1)[1] for k in keys if package is None or k.startswith(package + ">")})


def qualified_name(obj: Any) -> str | None:
    """"package>Name" of a registered object, or None."""
    return _NAMES.get(id(obj))


def registered_name(obj: Any, kind: str | None = None) -> str:
    """The name a config stores for `obj`: its short name when that resolves back to it (Keras-compatible
    files), else its "package>Name" (a user class that shares a name with one of neurona's)."""
    key = _NAMES.get(id(obj))
    short = getattr(obj, "__name__", type(obj).__name__)
    if key is None:
        return short
    short = key.split(">", 1)[1]
    kinds = [kind] if kind else [k for k in KINDS if _BY_KIND[k].get(key) is obj]
    if all(_SHORT[k].get(short) == key for k in kinds):
        return short
    return key


class Serializable:
    """Base of the catalogue classes (Initializer, Loss, Regularizer, LearningRateSchedule, ...): every public
    subclass registers itself under `registry_kind`, `from_config(config)` is `cls(**config)`, and the repr
    shows the config. Subclasses define `get_config()` mirroring `__init__`."""

    registry_kind = "object"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        register_subclass(cls.registry_kind, cls)  # "neurona>Name", or "<your package>>Name"

    def get_config(self) -> dict[str, Any]:
        raise NotImplementedError(f"{type(self).__name__} must implement get_config()")

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Any:
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


def from_config(kind: str, config: Any, custom_objects: Any = None, what: str | None = None,
                pass_custom_objects: bool = False) -> Any:
    """Rebuild `{"class_name", "config"}` of `kind`: `custom_objects` first, then the registry. An unknown
    name raises ValueError listing neurona's names (configs never import anything)."""
    name = config.get("class_name") if isinstance(config, dict) else None
    cls = (custom_objects or {}).get(name) or (lookup(kind, name) if isinstance(name, str) else None)
    if cls is None:
        raise ValueError(f"unknown {what or kind} {name!r}; known: {', '.join(names(kind, OWN))}")
    inner = dict(config.get("config") or {})
    return cls.from_config(inner, custom_objects) if pass_custom_objects else cls.from_config(inner)


def get_instance(kind: str, identifier: Any, base: type, what: str | None = None, *, none: bool = True,
                 functions: bool = True, deserialize: Any = None, lookup_name: Any = None) -> Any:
    """The `get()` of every catalogue: None (if allowed) and instances of `base` as they are, a name -> a new
    object of the registered class, a config dict -> `deserialize(dict)`, a subclass -> a new object, a
    callable -> itself (if allowed). Anything else raises, naming what was expected."""
    what = what or kind
    if (identifier is None and none) or isinstance(identifier, base):
        return identifier
    if isinstance(identifier, str):
        cls = (lookup_name or (lambda n: lookup(kind, n)))(identifier)
        if cls is None:
            from .suggest import did_you_mean

            own = [n for n in aliases(kind) if n.islower() and lookup(kind, n) is not None
                   and package_of(lookup(kind, n)) == OWN]
            hint = did_you_mean(identifier, own)
            raise ValueError(f"unknown {what} {identifier!r}; {hint + ' ' if hint else ''}"
                             f"known names: {', '.join(own)}")
        return cls()
    if isinstance(identifier, dict):
        return (deserialize or (lambda c: from_config(kind, c, what=what)))(identifier)
    if isinstance(identifier, type) and issubclass(identifier, base):
        return identifier()
    if functions and callable(identifier):
        return identifier
    raise TypeError(f"could not interpret {what} {identifier!r} (type {type(identifier).__name__})")


__all__ = ["KINDS", "alias", "aliases", "lookup", "names", "package_of", "qualified_name", "register",
           "register_subclass", "registered_name",
           "Serializable", "alias_table", "from_config", "get_instance", "to_config"]
