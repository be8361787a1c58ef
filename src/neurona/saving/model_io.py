"""save_model / load_model, save_weights / load_weights, model_to_json / model_from_json.

A `.neurona` file (see `archive`) holds the architecture and compile settings as JSON, the weights as
safetensors under their layer-qualified names ("dense/kernel"), the optimizer's state in its own
safetensors member, and — for checkpoints written during `fit` — where training resumes (epoch and
random-generator state), so a resumed run continues exactly as the uninterrupted one would have.

>>> import os, tempfile
>>> from neurona.models import Sequential
>>> from neurona.layers import Dense
>>> model = Sequential([Dense(3, input_shape=(4,))])
>>> path = os.path.join(tempfile.mkdtemp(), "m.neurona")
>>> save_model(model, path)
>>> [w.name for w in load_model(path).weights] == [w.name for w in model.weights]
True
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

import numpy as np

from .. import random as nrandom
from . import archive, limits, safetensors_io
from .atomic import atomic_write
from .errors import UnsafeFileError
from .serialization import deserialize, get_custom_objects, get_registered_name, json_safe
from .sniff import describe, sniff
from .training_state import compile_config, compile_from_config, optimizer_arrays, restore_optimizer

FORMAT = "neurona"
FORMAT_VERSION = 1


# ------------------------------------------------------------------------------------------ JSON in and out
def _dumps(value: Any) -> bytes:
    # allow_nan=False: NaN/Infinity are not JSON, and other readers would refuse the file.
    return json.dumps(value, indent=1, sort_keys=False, allow_nan=False).encode("utf-8")


def _model_from_config(spec: Any, custom_objects: Mapping[str, Any] | None, what: str) -> Any:
    from ..models import Model

    if not isinstance(spec, dict) or not isinstance(spec.get("class_name"), str):
        raise UnsafeFileError(f"{what}: expected {{'class_name': ..., 'config': ...}}, got {spec!r:.200}")
    model = deserialize(spec, kind="layer", custom_objects=custom_objects)
    if not isinstance(model, Model):
        raise UnsafeFileError(f"{what} describes a {spec['class_name']!r:.100}, not a model")
    return model


# ------------------------------------------------------------------------------------------ weights by name
def weight_names(model: Any) -> list[str]:
    """The name each of `model.weights` is stored under: its layer-qualified name, made unique."""
    names, seen = [], set()
    for i, w in enumerate(model.weights):
        base = w.name or f"weight_{i}"
        name, k = base, 0
        while name in seen:  # two nested layers with the same name: keep both, in a stable order
            k += 1
            name = f"{base}_{k}"
        seen.add(name)
        names.append(name)
    return names


def _weight_arrays(model: Any) -> dict[str, np.ndarray]:
    return dict(zip(weight_names(model), (w.data for w in model.weights)))


def _pair(model: Any, stored: list[str], source: str, by_position: bool, skip_mismatch: bool = False) -> dict[str, Any]:
    """Which model weight each stored name fills: by name, or in order when the names differ (the same
    architecture built again in this session gets other automatic layer names)."""
    weights, names = model.weights, weight_names(model)
    if not weights and stored and not model.built:
        raise ValueError(f"cannot load weights into model '{model.name}': it is not built yet; give it an input "
                         f"shape (or call it on data) first")
    if set(names) == set(stored) or not by_position or (skip_mismatch and len(stored) != len(weights)):
        by_name = dict(zip(names, weights))
        missing = [n for n in names if n not in set(stored)]
        unused = [n for n in stored if n not in by_name]
        if (missing or unused) and not skip_mismatch:
            raise ValueError(f"{source} does not match model '{model.name}': missing weights {missing[:5]}, "
                             f"unknown weights {unused[:5]}")
        return {n: by_name[n] for n in stored if n in by_name}
    if len(stored) != len(weights):
        raise ValueError(f"{source} holds {len(stored)} weights, model '{model.name}' has {len(weights)} "
                         f"({', '.join(names[:6])}{', ...' if len(names) > 6 else ''})")
    return dict(zip(stored, weights))


def _assign(model: Any, arrays: Mapping[str, np.ndarray], source: str, by_position: bool,
            skip_mismatch: bool = False) -> dict[str, Any]:
    """Copy stored arrays into the model's weights (see `_pair`); returns the pairing it used."""
    pairing = _pair(model, list(arrays), source, by_position, skip_mismatch)
    checked = []
    for n, w in pairing.items():
        a = arrays[n]
        if a.shape != w.shape:
            if skip_mismatch:
                continue
            raise ValueError(f"{source}: weight {n!r} has shape {a.shape} in the file, but the model's "
                             f"{w.name!r} has shape {w.shape}")
        checked.append((w, a))
    for w, a in checked:  # only once everything matched: a refused file leaves the model untouched
        w.data[...] = a
    return pairing


# ------------------------------------------------------------------------------------------ whole models
def _metadata() -> dict[str, str]:
    from .. import __version__

    return {"format": FORMAT, "format_version": str(FORMAT_VERSION), "neurona_version": __version__,
            "numpy_version": np.__version__}


def save_model(model: Any, filepath: str | os.PathLike, overwrite: bool = True, include_optimizer: bool = True,
               training_state: Mapping[str, Any] | None = None, preprocessing: Mapping[str, Any] | None = None,
               **kwargs: Any) -> None:
    """Save architecture, compile settings, weights and optimizer state to one `.neurona` file, atomically.

    Everything is serialized in memory first, so a model that cannot be saved raises before the file
    (or a previous version of it) is touched. `training_state` (JSON values) is for resumable checkpoints;
    `preprocessing` (JSON values: what turns raw data into the model's input, as `neurona train` stores it)
    becomes the config's "preprocessing" section, read back by `read_preprocessing`.
    """
    save_format = kwargs.pop("save_format", None)
    if kwargs:
        raise TypeError(f"save_model() got unexpected arguments {sorted(kwargs)}")
    keras_kind = _keras_kind(filepath, save_format)
    if keras_kind is not None:
        from ..interop import keras_export

        writer = keras_export.save_keras_archive if keras_kind == "keras" else keras_export.save_keras_h5
        writer(model, filepath, overwrite=overwrite)
        return
    if save_format not in (None, "neurona"):
        raise ValueError(f"save_format={save_format!r} is not supported: use 'neurona', 'keras' or 'h5'")
    config = {"format": FORMAT, "format_version": FORMAT_VERSION,
              "model": {"class_name": get_registered_name(type(model)), "config": json_safe(model.get_config())},
              "compile_config": compile_config(model)}
    if preprocessing is not None:
        config["preprocessing"] = json_safe(dict(preprocessing), "preprocessing")
    members = {"metadata.json": _dumps(_metadata()), "config.json": _dumps(config),
               "model.safetensors": safetensors_io.dumps(_weight_arrays(model), {"format": FORMAT})}
    if include_optimizer and getattr(model, "optimizer", None) is not None:
        arrays, meta = optimizer_arrays(model.optimizer, model.weights, weight_names(model))
        members["optimizer.safetensors"] = safetensors_io.dumps(arrays, meta)
    if training_state is not None:
        members["training.json"] = _dumps(json_safe(dict(training_state), "training_state"))
    archive.write_archive(filepath, members, overwrite=overwrite)


def read_preprocessing(filepath: str | os.PathLike) -> dict[str, Any] | None:
    """The "preprocessing" section of a `.neurona` file's config (None when it has none)."""
    source = os.fspath(filepath)
    members = archive.read_archive(source)
    if "config.json" not in members:
        raise UnsafeFileError(f"{source}: not a complete .neurona archive (config.json is missing)")
    config = limits.loads_json(members["config.json"], f"{source}: config.json")
    section = config.get("preprocessing") if isinstance(config, dict) else None
    if section is not None and not isinstance(section, dict):
        raise UnsafeFileError(f"{source}: the preprocessing section of config.json must be a JSON object")
    return section


def _keras_kind(filepath: Any, save_format: str | None) -> str | None:
    """'keras' for a `.keras` target, 'h5' for `.h5`/`.hdf5`, None for neurona's own format."""
    name = os.fspath(filepath).lower() if isinstance(filepath, (str, os.PathLike)) else ""
    if save_format in ("keras", "h5"):
        if name.endswith(".neurona"):
            raise ValueError(f"save_format={save_format!r} contradicts the name {os.fspath(filepath)!r}: a .neurona "
                             f"file is always neurona's own .neurona format")
        return save_format
    if name.endswith(".keras"):
        return "keras"
    if name.endswith((".h5", ".hdf5")):
        return "h5"
    return None


def load_model(filepath: str | os.PathLike, custom_objects: Mapping[str, Any] | None = None, compile: bool = True,
               safe_mode: bool = True) -> Any:
    """Rebuild a model saved by `save_model`: architecture, weights, compile settings, optimizer state.

    Only neurona's classes and those registered (or given in `custom_objects`) can be named by the file.
    Keras files (`.keras`, full-model `.h5`) go through `neurona.interop.load_keras_model`, which parses
    the config and never runs code; their Lambda layers are refused unless `safe_mode=False` (see there).
    """
    source = os.fspath(filepath)
    if not os.path.isfile(source):
        raise FileNotFoundError(f"no such model file: {source!r}")
    kind = sniff(source)  # by content, never by name alone
    if kind in ("keras", "hdf5"):
        from ..interop import load_keras_model

        return load_keras_model(source, custom_objects=get_custom_objects(custom_objects), safe_mode=safe_mode)
    if kind not in ("neurona", "zip"):
        raise UnsafeFileError(f"{source}: not a .neurona archive (nor a Keras file): this is {describe(kind)}")
    members = archive.read_archive(source)
    for required in ("config.json", "model.safetensors"):
        if required not in members:
            raise UnsafeFileError(f"{source}: not a complete .neurona archive ({required} is missing)")
    config = limits.loads_json(members["config.json"], f"{source}: config.json")
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise UnsafeFileError(f"{source}: config.json is not a neurona model config")
    if config.get("format_version") != FORMAT_VERSION:
        raise UnsafeFileError(f"{source}: format version {config.get('format_version')!r:.20} is not supported "
                              f"(this neurona reads version {FORMAT_VERSION}); upgrade neurona")
    objects = get_custom_objects(custom_objects)
    # The weights' header first (checked, nothing allocated past the member's bytes): the model the config
    # declares may not hold more values than the file does, and building stops at the first layer that would.
    arrays, _ = archive.model_weights(members, source)
    # Layers are built without drawing initial values (the file overwrites them); the random stream is kept
    # as it was anyway, so loading a model never changes what the rest of the program draws.
    generator = nrandom.get_rng().bit_generator
    rng_state = generator.state
    try:
        with limits.building_within(source, file_params=sum(a.size for a in arrays.values())):
            model = _model_from_config(config.get("model"), objects, f"{source}: config.json")
    finally:
        generator.state = rng_state
    pairing = _assign(model, arrays, source, by_position=False)
    if compile and config.get("compile_config") is not None:
        compile_from_config(model, config["compile_config"], objects, source)
        if "optimizer.safetensors" in members and model.optimizer is not None:
            restore_optimizer(model.optimizer, pairing, members["optimizer.safetensors"], source)
    return model


def save_checkpoint(model: Any, filepath: str | os.PathLike, training_state: Mapping[str, Any]) -> None:
    """Write what resuming `fit` needs — weights, optimizer state, `training_state` — atomically.

    Unlike `save_model` it stores no architecture, so it also works for subclassed models without
    `get_config()`; `restore_checkpoint` reads it back into the same model.
    """
    members = {"metadata.json": _dumps(_metadata()),
               "model.safetensors": safetensors_io.dumps(_weight_arrays(model), {"format": FORMAT}),
               "training.json": _dumps(json_safe(dict(training_state), "training_state"))}
    if getattr(model, "optimizer", None) is not None:
        arrays, meta = optimizer_arrays(model.optimizer, model.weights, weight_names(model))
        members["optimizer.safetensors"] = safetensors_io.dumps(arrays, meta)
    archive.write_archive(filepath, members)


def restore_checkpoint(model: Any, filepath: str | os.PathLike) -> dict[str, Any]:
    """Load weights and optimizer state of a checkpoint into `model` itself; return its training state."""
    source = os.fspath(filepath)
    members = archive.read_archive(source)
    if "model.safetensors" not in members:
        raise UnsafeFileError(f"{source}: the checkpoint holds no weights")
    arrays, _ = archive.model_weights(members, source)
    pairing = _assign(model, arrays, source, by_position=True)
    if "optimizer.safetensors" in members and getattr(model, "optimizer", None) is not None:
        restore_optimizer(model.optimizer, pairing, members["optimizer.safetensors"], source)
    state = limits.loads_json(members.get("training.json", b"{}"), f"{source}: training.json")
    if not isinstance(state, dict):
        raise UnsafeFileError(f"{source}: training.json must be a JSON object")
    return state


# ------------------------------------------------------------------------------------------ weights only
def save_weights(model: Any, filepath: str | os.PathLike, overwrite: bool = True, **kwargs: Any) -> None:
    """Save only the weights, as a .safetensors file named by layer ("dense/kernel"), atomically.

    A `.h5` name (`w.weights.h5`) writes Keras 3's weights file instead, which Keras's `load_weights` reads.
    """
    if kwargs:
        raise TypeError(f"save_weights() got unexpected arguments {sorted(kwargs)}")
    if _keras_kind(filepath, None) == "h5":
        from ..interop import keras_export

        keras_export.save_keras_weights(model, filepath, overwrite=overwrite)
        return
    arrays = _weight_arrays(model)
    with atomic_write(filepath, overwrite=overwrite) as f:
        safetensors_io.write_safetensors(f, arrays, {"format": FORMAT})


def load_weights(model: Any, filepath: str | os.PathLike, skip_mismatch: bool = False, **kwargs: Any) -> None:
    """Load weights from a .safetensors file, a .neurona archive, or a Keras file (.h5, .weights.h5, .keras).

    neurona's files are matched by weight name; when the names differ (the same architecture built again, so
    its layers got other automatic names) they are matched in order, with every shape checked first. Keras
    files, recognised by their content rather than their name, go to `neurona.interop.load_keras_weights`
    (which needs h5py); for them `by_name=True` pairs layers by name only, as Keras 2 did.
    """
    by_name = kwargs.pop("by_name", False)
    if kwargs:
        raise TypeError(f"load_weights() got unexpected arguments {sorted(kwargs)}")
    source = os.fspath(filepath)
    if not os.path.isfile(source):
        raise FileNotFoundError(f"no such weights file: {source!r}")
    kind = sniff(source)
    if kind in ("hdf5", "keras"):
        from ..interop import load_keras_weights

        load_keras_weights(model, source, by_name=by_name, skip_mismatch=skip_mismatch)
        return
    if by_name:
        raise TypeError(f"load_weights(by_name=True) applies to Keras .h5 files; {source!r} is a neurona file, "
                        f"whose weights are matched by name already")
    if kind in ("neurona", "zip", "torch", "npz"):  # the archive reader names what a foreign zip is
        members = archive.read_archive(source)
        if "model.safetensors" not in members:
            raise UnsafeFileError(f"{source}: the archive holds no weights")
        arrays, _ = archive.model_weights(members, source)
    else:  # safetensors, or what the safetensors reader explains best (truncated, a pickle, an absurd header)
        arrays, _ = archive.read_tensors(safetensors_io.load_file, source, source=source)
    _assign(model, arrays, source, by_position=True, skip_mismatch=skip_mismatch)


# ------------------------------------------------------------------------------------------ architecture only
def model_to_json(model: Any, **kwargs: Any) -> str:
    """The architecture (no weights) as JSON text."""
    return json.dumps({"class_name": get_registered_name(type(model)), "config": json_safe(model.get_config())},
                      **kwargs)


def model_from_json(json_string: str, custom_objects: Mapping[str, Any] | None = None) -> Any:
    """Rebuild an untrained model from `model_to_json` text; unknown class names are refused."""
    spec = limits.loads_json(json_string, "model JSON")
    return _model_from_config(spec, get_custom_objects(custom_objects), "model JSON")
