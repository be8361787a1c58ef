"""Whole Keras models into neurona: read a `.keras` archive or a legacy full-model `.h5`, translate Keras's
architecture config into neurona's (same class names and arguments, minus Keras's wrappers), build the
model from it and copy the weights in.

Only layers neurona registers are built (the config is JSON data, never code): an unknown class, a custom
object, or a Keras setting neurona does not implement (a constraint, say) raises a ValueError that names
the layer and the setting, rather than building something that computes differently.
"""

from __future__ import annotations

import inspect
import json
import os
import zipfile
from collections.abc import Mapping
from typing import Any

from ..saving import archive as archive_checks
from ..saving.errors import UnsafeFileError

MAX_CONFIG_BYTES = 8 * 2**20
MAX_WEIGHTS_BYTES = 16 * 2**30
MAX_MEMBERS = 10_000
_KERAS_MEMBERS = ("config.json", "metadata.json", "model.weights.h5")

# Keras settings neurona has no argument for, harmless at these values (Keras's defaults).
_IGNORABLE = {"sparse": False, "ragged": False, "optional": False, "activity_regularizer": None,
              "kernel_constraint": None, "bias_constraint": None, "beta_constraint": None, "gamma_constraint": None,
              "depthwise_constraint": None, "pointwise_constraint": None, "synchronized": False, "renorm": False,
              "renorm_clipping": None, "lora_rank": None, "lora_alpha": None, "quantization_config": None,
              "recurrent_constraint": None, "stateful": False, "unroll": False, "zero_output_for_mask": False,
              "recurrent_dropout": 0.0, "seed": None, "dropout": 0.0}
_IGNORED_WHEN_UNUSED = {"renorm_momentum"}  # meaningful only with renorm=True, which is refused above
_BASE_ARGS = {"trainable", "name", "dtype", "input_shape", "input_dim", "batch_input_shape", "batch_size"}


# ------------------------------------------------------------------------------------------------ .keras files
def read_keras_archive(path: str | os.PathLike) -> dict[str, bytes]:
    """{'config.json', 'metadata.json', 'model.weights.h5'} of a `.keras` zip, read in memory after checking
    every member: no absolute paths, '..', links, encryption, duplicates, oversize or zip-bomb ratios."""
    source = os.fspath(path)
    try:
        with zipfile.ZipFile(source) as archive:
            infos = archive.infolist()
            if len(infos) > MAX_MEMBERS:
                raise UnsafeFileError(f"{source}: {len(infos)} members, more than {MAX_MEMBERS}")
            wanted, seen = {}, set()
            for info in infos:
                name = info.filename
                if name not in _KERAS_MEMBERS:  # assets/ and the like: checked, never read
                    archive_checks.check_member(info, seen, source, limit=None)
                    continue
                limit = MAX_WEIGHTS_BYTES if name.endswith(".h5") else MAX_CONFIG_BYTES
                archive_checks.check_member(info, seen, source, limit)
                wanted[name] = info
            missing = [n for n in ("config.json", "model.weights.h5") if n not in wanted]
            if missing:
                raise UnsafeFileError(f"{source}: not a .keras archive (no {', '.join(missing)})")
            return {name: archive_checks.read_member(archive, info, source) for name, info in wanted.items()}
    except (FileNotFoundError, PermissionError, UnsafeFileError):
        raise
    except archive_checks.ZIP_ERRORS as exc:
        raise UnsafeFileError(f"{source}: corrupt .keras archive ({type(exc).__name__}: {exc})") from None


def _json(data: bytes | bytearray | str, where: str) -> Any:
    from ..saving.limits import check_json_items

    check_json_items(data, where)
    try:
        return json.loads(bytes(data).decode("utf-8") if not isinstance(data, str) else data)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise UnsafeFileError(f"{where}: not valid JSON ({type(exc).__name__}: {str(exc)[:200]})") from None


# ------------------------------------------------------------------------------------------------ translation
def _dtype(value: Any, where: str) -> Any:
    if isinstance(value, dict):  # Keras 3's DTypePolicy
        name = value.get("config", {}).get("name")
        if not isinstance(name, str) or name.startswith("mixed"):
            raise ValueError(f"{where}: dtype policy {value.get('config')!r} is not supported (float32/float64 only)")
        return name
    return value


def _history(value: Any) -> Any:
    """A Keras tensor reference -> neurona's [layer name, node index, tensor index] (lists kept as lists)."""
    if isinstance(value, dict) and value.get("class_name") == "__keras_tensor__":
        history = value.get("config", {}).get("keras_history") if isinstance(value.get("config"), dict) else None
        if not (isinstance(history, list) and len(history) == 3 and isinstance(history[0], str)
                and all(isinstance(v, int) and not isinstance(v, bool) for v in history[1:])):
            raise ValueError(f"invalid keras_history {history!r:.100} in the Keras config (expected [layer name, "
                             f"node index, tensor index])")
        name, node, index = history
        return [name, int(node), int(index)]
    if isinstance(value, list) and len(value) >= 3 and isinstance(value[0], str) and isinstance(value[1], int):
        return [value[0], int(value[1]), int(value[2])]  # Keras 2: [name, node, index, kwargs]
    if isinstance(value, (list, tuple)):
        return [_history(v) for v in value]
    raise ValueError(f"unsupported layer input in the Keras config: {value!r:.200}")


def _inbound(nodes: Any, layer: str) -> list[dict[str, Any]]:
    out = []
    for node in nodes:
        if isinstance(node, dict):  # Keras 3: {"args": [inputs, ...], "kwargs": {...}}
            args = node.get("args", [])
            if len(args) != 1:
                raise ValueError(f"layer '{layer}' is called with {len(args)} positional arguments; only one (its "
                                 f"inputs) is supported")
            kwargs = {k: v for k, v in node.get("kwargs", {}).items() if v is not None}
            out.append({"args": _history(args[0]), "kwargs": kwargs})
        else:  # Keras 2: a list of [name, node, index, kwargs]
            refs = _history(node)
            out.append({"args": refs[0] if len(refs) == 1 else refs, "kwargs": {}})
    return out


def _refs(value: Any) -> list[Any]:
    if isinstance(value, list) and len(value) == 3 and isinstance(value[0], str):
        return [_history(value)]
    return [_history(v) for v in value]


def _activation_layer(class_name: str, config: dict[str, Any], where: str) -> tuple[str, dict[str, Any]]:
    """Keras's ReLU/Softmax layers as neurona Activation layers (the same function, no weights)."""
    base = {k: config[k] for k in ("name", "trainable", "dtype") if k in config}
    if class_name == "Softmax":
        if config.get("axis", -1) not in (-1, [-1]):
            raise ValueError(f"{where}: Softmax over axis {config.get('axis')} is not supported (only the last axis)")
        return "Activation", {**base, "activation": "softmax"}
    slope, threshold, cap = config.get("negative_slope", 0.0), config.get("threshold", 0.0), config.get("max_value")
    if slope or threshold or cap not in (None, 6.0, 6):
        raise ValueError(f"{where}: ReLU(max_value={cap}, negative_slope={slope}, threshold={threshold}) is not "
                         f"supported (only ReLU() and ReLU(6.0))")
    return "Activation", {**base, "activation": "relu" if cap is None else "relu6"}


class _SafeMode:
    """Whether the load in progress refuses Lambda layers (Keras's `safe_mode`)."""

    enabled = True


def _lambda_config(config: dict[str, Any], where: str, custom_objects: Mapping[str, Any] | None) -> dict[str, Any]:
    """A Keras Lambda layer's config, its function taken from `custom_objects` (stored code is never run)."""
    import warnings

    if _SafeMode.enabled:
        raise UnsafeFileError(f"{where} is a Lambda layer, whose function is stored as Python code; it is refused "
                              f"in safe mode. If you trust the file, pass safe_mode=False and the function itself "
                              f"in custom_objects={{{config.get('name', 'lambda')!r}: fn}}")
    function = config.get("function")
    fn_name = function.get("config") if isinstance(function, dict) else function
    if isinstance(function, dict) and function.get("class_name") == "__lambda__":
        fn_name = config.get("name")
    candidates = [n for n in (fn_name, config.get("name")) if isinstance(n, str)]
    found = next((n for n in candidates if n in (custom_objects or {})), None)
    if found is None:
        raise ValueError(f"{where}: neurona never runs the code stored in a file; pass the function as "
                         f"custom_objects={{{candidates[-1] if candidates else 'name'!r}: fn}}")
    warnings.warn(f"{where}: safe_mode=False, using custom_objects[{found!r}] as the Lambda's function "
                  f"(the file's stored code is ignored)", stacklevel=4)
    out = {k: v for k, v in config.items() if k in ("name", "trainable", "dtype", "arguments")}
    shape = config.get("output_shape")
    if isinstance(shape, (list, tuple)):
        out["output_shape"] = shape
    out["function"] = found
    return out


def translate_layer(spec: Mapping[str, Any], custom_objects: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """One Keras layer spec -> neurona's {"class_name", "config"} (plus name and inbound nodes in graphs)."""
    from ..layers import base as layer_base

    if not isinstance(spec, Mapping):
        raise ValueError(f"a layer of the Keras config is a {type(spec).__name__} ({spec!r:.80}), not a JSON object")
    if not isinstance(spec.get("config") or {}, Mapping):
        raise ValueError(f"the config of Keras layer {spec.get('class_name')!r:.60} is not a JSON object")
    class_name, config = spec.get("class_name"), dict(spec.get("config") or {})
    where = f"Keras layer '{config.get('name', '?')}' ({class_name})"
    if not isinstance(class_name, str):
        raise ValueError(f"a layer of the Keras config has no class name: {spec!r:.200}")
    registered = spec.get("registered_name")
    if registered not in (None, class_name) and not (custom_objects and registered in custom_objects):
        raise ValueError(f"{where} is the custom object {registered!r}: pass custom_objects={{{registered!r}: cls}}")
    if class_name in ("Sequential", "Functional", "Model"):
        out: dict[str, Any] = {"class_name": "Sequential" if class_name == "Sequential" else "Model",
                               "config": translate_model_config(class_name, config, custom_objects)}
    else:
        if class_name in ("ReLU", "Softmax"):
            class_name, config = _activation_layer(class_name, config, where)
        if class_name == "Lambda":
            config = _lambda_config(config, where, custom_objects)
        cls = (custom_objects or {}).get(class_name)
        if cls is None:
            try:
                cls = layer_base.get(class_name)
            except (ValueError, KeyError) as exc:
                raise ValueError(f"{where}: unknown layer class {class_name!r}; neurona builds only the layers it "
                                 f"registers (or those passed in custom_objects) ({exc})") from None
        accepted = set(_BASE_ARGS)
        for klass in cls.__mro__:  # arguments a base class takes through **kwargs count too
            if "__init__" in vars(klass):
                accepted |= set(inspect.signature(klass.__init__).parameters) - {"self", "args", "kwargs"}
        new = {}
        for key, value in config.items():
            if key == "dtype":
                value = _dtype(value, where)
            if key in accepted:
                new[key] = value
            elif key in _IGNORABLE and value == _IGNORABLE[key] or key in _IGNORED_WHEN_UNUSED:
                continue
            else:
                raise ValueError(f"{where}: the Keras setting {key}={value!r:.80} has no neurona equivalent")
        if isinstance(new.get("activation"), dict):
            raise ValueError(f"{where}: custom activation {new['activation']!r:.100} is not supported")
        out = {"class_name": class_name, "config": new}
    if "inbound_nodes" in spec:
        out["name"] = spec.get("name", config.get("name"))
        out["inbound_nodes"] = _inbound(spec["inbound_nodes"], out["name"])
    return out


def translate_model_config(class_name: str, config: Mapping[str, Any],
                           custom_objects: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A Keras Sequential/Functional config -> the config neurona's Sequential/Model.from_config reads."""
    if not isinstance(config, Mapping):
        raise ValueError(f"the Keras {class_name} config is a {type(config).__name__}, not a JSON object")
    if not isinstance(config.get("layers", []), list):
        raise ValueError(f"the Keras {class_name} config's 'layers' is not a list")
    if class_name != "Sequential":
        for key in ("input_layers", "output_layers"):
            if not isinstance(config.get(key), list):
                raise ValueError(f"the Keras functional config has no list '{key}' (got {config.get(key)!r:.80})")
    out: dict[str, Any] = {"name": config.get("name"), "trainable": config.get("trainable", True)}
    layers = [translate_layer(s, custom_objects) for s in config.get("layers", [])]
    if class_name == "Sequential":
        out["layers"] = [{"class_name": s["class_name"], "config": s["config"]} for s in layers]
        if config.get("build_input_shape") is not None:
            out["build_input_shape"] = config["build_input_shape"]
        return out
    out["layers"] = layers
    out["input_layers"] = _refs(config["input_layers"])
    out["output_layers"] = _refs(config["output_layers"])
    return out


def model_from_keras_config(spec: Mapping[str, Any], custom_objects: Mapping[str, Any] | None = None) -> Any:
    """Build (untrained) the neurona model a Keras `{"class_name", "config"}` architecture describes."""
    from ..models import Model, Sequential

    class_name = spec.get("class_name") if isinstance(spec, Mapping) else None
    if class_name not in ("Sequential", "Functional", "Model"):
        raise ValueError(f"the Keras config describes a {class_name!r:.50}, not a Sequential or functional model")
    try:
        config = translate_model_config(class_name, spec.get("config") or {}, custom_objects)
        cls = Sequential if class_name == "Sequential" else Model
        return cls.from_config(config, custom_objects=dict(custom_objects or {}))
    except (KeyError, TypeError, AttributeError, IndexError) as exc:  # a config of the wrong shape somewhere inside
        raise UnsafeFileError(f"malformed Keras model config ({type(exc).__name__}: {str(exc)[:200]})") from None


def load_keras_model(filepath: str | os.PathLike, custom_objects: Mapping[str, Any] | None = None,
                     safe_mode: bool = True) -> Any:
    """A model saved by Keras (`model.save('m.keras')` or a legacy full-model `.h5`) as a neurona model, with
    its weights. The model is returned uncompiled: call `compile()` before training it further.

    The config is parsed as JSON and only registered classes are built. A Lambda layer (whose function Keras
    stores as Python code) is refused unless `safe_mode=False`; even then the stored code is never run: the
    function comes from `custom_objects`, under the layer's name, with a warning.
    """
    from ..saving import limits
    from ..saving.sniff import describe, sniff
    from .keras_h5 import assign_from_h5, h5_boundary, open_checked, read_attr

    source = os.fspath(filepath)
    if not os.path.isfile(source):
        raise FileNotFoundError(f"no such Keras model file: {source!r}")
    kind = sniff(source)
    if kind in ("keras", "zip"):
        members = read_keras_archive(source)
        spec = _json(members["config.json"], f"{source}:config.json")
        name = f"{source}:model.weights.h5"
        h5, values = open_checked(members["model.weights.h5"], name)
    elif kind == "hdf5":
        name = source
        h5, values = open_checked(source, name)
        try:
            with h5_boundary(name):
                raw = read_attr(h5, "model_config", source)
        except BaseException:
            h5.close()
            raise
        if raw is None:
            h5.close()
            raise ValueError(f"{source} holds only weights (no model_config): build the model in neurona and call "
                             f"neurona.interop.load_keras_weights(model, {source!r})")
        spec = _json(raw if isinstance(raw, str) else bytes(raw), f"{source}:model_config")
    else:
        raise UnsafeFileError(f"{source}: not a Keras model (.keras or .h5): this is {describe(kind)}")
    try:
        if not isinstance(spec, dict):
            raise UnsafeFileError(f"{source}: the model config is not a JSON object")
        _SafeMode.enabled, previous = bool(safe_mode), _SafeMode.enabled
        try:
            # Built without initial values and within the file's own size: a config declaring more values
            # than the weights file holds stops at the first layer that does, before allocating it.
            with limits.building_within(source, file_params=values):
                model = model_from_keras_config(spec, custom_objects)
        except ValueError as exc:  # name the file in what the config translation says
            if source in str(exc):
                raise
            kind_of_error = UnsafeFileError if isinstance(exc, UnsafeFileError) else ValueError
            raise kind_of_error(f"{source}: {exc}") from exc
        finally:
            _SafeMode.enabled = previous
        with h5_boundary(name):
            assign_from_h5(model, h5, name)
    finally:
        h5.close()
    return model
