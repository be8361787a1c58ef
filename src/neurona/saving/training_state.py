"""What a compiled, trained model carries besides its architecture and weights: its compile() settings and
its optimizer's state (slots and scalars), as `.neurona` files and checkpoints store them."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from . import archive, safetensors_io
from .errors import UnsafeFileError
from .limits import loads_json
from .serialization import deserialize, get_registered_name, json_safe, serialize


# ------------------------------------------------------------------------------------------ optimizer state
def _optimizer_scalars(optimizer: Any) -> dict[str, int | float]:
    # The step counter and any per-step running products (Nadam's), i.e. plain numbers on the instance.
    return {k: v for k, v in vars(optimizer).items() if type(v) in (int, float)}


def optimizer_arrays(optimizer: Any, weights: list[Any],
                     names: list[str]) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """The optimizer's state slots by '<weight name>/slot_<i>', and its class and scalars as metadata."""
    slots = getattr(optimizer, "_slots", {})
    arrays: dict[str, np.ndarray] = {}
    for w, name in zip(weights, names):
        entry = slots.get(id(w))
        if entry is not None and entry[0] is w:
            for i, slot in enumerate(entry[1]):
                arrays[f"{name}/slot_{i}"] = slot
    metadata = {"class_name": type(optimizer).__name__, "scalars": json.dumps(_optimizer_scalars(optimizer))}
    return arrays, metadata


def _checked_scalars(optimizer: Any, scalars: dict[str, Any], source: str) -> list[tuple[str, Any]]:
    """The file's scalars the optimizer already has, after the checks its constructor would make.

    A file sets nothing else, and nothing a user could not have passed: NaN, infinities and negative step
    counts are refused, and hyperparameters (learning rate, weight decay, clipping...) go through a
    throwaway `from_config` so the optimizer's own validation sees them.
    """
    current = _optimizer_scalars(optimizer)
    updates = []
    for key, value in scalars.items():
        if key not in current or type(value) is not type(current[key]):
            continue
        if not math.isfinite(value) or (key == "iterations" and value < 0):
            raise ValueError(f"{source}: optimizer state {key!r} is {value!r} in the file; a saved "
                             f"{type(optimizer).__name__} holds finite numbers (and a non-negative step count)")
        updates.append((key, value))
    config = optimizer.get_config()
    changed = {k.lstrip("_"): v for k, v in updates if k.lstrip("_") in config and config[k.lstrip("_")] != v}
    if changed:
        try:
            type(optimizer).from_config({**config, **changed})
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{source}: the saved optimizer state is not a valid {type(optimizer).__name__}: "
                             f"{exc}") from None
    return updates


def restore_optimizer(optimizer: Any, pairing: Mapping[str, Any], data: bytes, source: str) -> None:
    """Put a file's optimizer state (slots by paired weight, checked scalars) into `optimizer`."""
    arrays, metadata = archive.read_tensors(safetensors_io.loads, data, source=f"{source}:optimizer.safetensors")
    if metadata.get("class_name") != type(optimizer).__name__:
        raise ValueError(f"{source}: the optimizer state belongs to {metadata.get('class_name')!r:.60}, the model's "
                         f"optimizer is {type(optimizer).__name__}")
    scalars = loads_json(metadata.get("scalars", "{}"), f"{source}: optimizer scalars")
    if not isinstance(scalars, dict):
        raise UnsafeFileError(f"{source}: optimizer scalars must be a JSON object")
    updates = _checked_scalars(optimizer, scalars, source)
    plan = []
    for key, value in arrays.items():
        name, _, index = key.rpartition("/slot_")
        w = pairing.get(name)
        if w is None or not index.isdigit():
            raise ValueError(f"{source}: optimizer state {key!r} belongs to no weight of the model")
        plan.append((w, int(index), value))
    entries = {}
    for w, i, value in plan:
        entry = entries.get(id(w)) or optimizer._slots.get(id(w)) or optimizer._add_slots(w)
        entries[id(w)] = entry
        if len(entry[1]) <= i < len(entry[1]) + getattr(optimizer, "_n_scratch", 0) and value.shape == w.shape:
            continue  # a scratch copy files saved before scratch stopped being state (#18): not state, ignored
        if i >= len(entry[1]) or entry[1][i].shape != value.shape:
            raise ValueError(f"{source}: optimizer slot {i} of {w.name!r} does not fit {type(optimizer).__name__}")
        entry[1][i][...] = value
    for key, value in updates:
        setattr(optimizer, key, value)


# ------------------------------------------------------------------------------------------ compile settings
def _encode_identifier(value: Any) -> Any:
    """A loss/metric identifier (name, object, function, or a list/dict of them) as JSON."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple):
        return [_encode_identifier(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _encode_identifier(v) for k, v in value.items()}
    if callable(getattr(value, "get_config", None)) and not isinstance(value, type):
        return serialize(value)
    if callable(value):
        return get_registered_name(value)
    raise TypeError(f"cannot save compile setting {value!r:.80}")


def _decode_identifier(value: Any, kind: str, objects: dict[str, Any]) -> Any:
    if isinstance(value, str):
        return objects.get(value, value)  # plain names are resolved (and unknown ones refused) by compile()
    if isinstance(value, list):
        return [_decode_identifier(v, kind, objects) for v in value]
    if isinstance(value, dict):
        if "class_name" in value:
            return deserialize(value, kind=kind, custom_objects=objects)
        return {k: _decode_identifier(v, kind, objects) for k, v in value.items()}
    if value is None or isinstance(value, int | float):
        return value
    raise UnsafeFileError(f"invalid {kind} setting {value!r:.100} in the compile config")


def compile_config(model: Any) -> dict[str, Any] | None:
    """The model's compile() arguments as JSON, or None for a model not compiled."""
    if not getattr(model, "compiled", False):
        return None
    args = getattr(model, "_compile_args", {})
    return {
        "optimizer": serialize(model.optimizer) if model.optimizer is not None else None,
        "loss": _encode_identifier(args.get("loss")),
        "loss_weights": json_safe(args.get("loss_weights"), "loss_weights"),
        "metrics": _encode_identifier(args.get("metrics")),
        "weighted_metrics": _encode_identifier(args.get("weighted_metrics")),
    }


def compile_from_config(model: Any, config: Any, objects: dict[str, Any], source: str) -> None:
    """compile() the model with the settings `compile_config` stored."""
    if not isinstance(config, dict):
        raise UnsafeFileError(f"{source}: compile_config must be a JSON object")
    try:
        model.compile(
            optimizer=deserialize(config.get("optimizer"), kind="optimizer", custom_objects=objects) or "rmsprop",
            loss=_decode_identifier(config.get("loss"), "loss", objects),
            loss_weights=config.get("loss_weights"),
            metrics=_decode_identifier(config.get("metrics"), "metric", objects),
            weighted_metrics=_decode_identifier(config.get("weighted_metrics"), "metric", objects),
        )
    except UnsafeFileError:
        raise
    except (ValueError, TypeError) as exc:
        raise UnsafeFileError(f"{source}: cannot restore the compile settings ({exc}); pass custom_objects for "
                              f"your own losses and metrics, or load_model(..., compile=False)") from exc
