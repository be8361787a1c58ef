"""neurona models into Keras's own files: a Keras 3 `.keras` archive, a legacy full-model `.h5`, and a Keras 3
`.weights.h5`, each written so that Keras itself loads it (`keras.saving.load_model`, `model.load_weights`).

neurona's layer configs already use Keras's class names and arguments, so the architecture is translated by
adding what Keras's deserializer expects (module names, tensor references in Keras 3's form). Weights keep
their layout (Dense kernels (in, out), Conv2D kernels (kh, kw, in, out), recurrent kernels (in, 4u) ...) and go
where Keras looks for them: in `.keras`/`.weights.h5` under `layers/<class in snake case>[_n]/vars/<i>` (a
recurrent layer's under `.../cell/vars`), in a legacy `.h5` under `model_weights/<layer>/<weight name>`.

Every file is written to a temporary name and renamed into place, so a model that cannot be written leaves no
file. h5py is the optional `[keras]` extra.
"""

from __future__ import annotations

import datetime
import io
import json
import os
import zipfile
from collections.abc import Iterator
from typing import Any

import numpy as np

from ..saving.atomic import atomic_write

KERAS_VERSION = "3.0.0"  # the format version written into the files' metadata
_RECURRENT = {"LSTM", "GRU", "SimpleRNN"}
_PLAIN_KEYS = {"class_name", "config"}


def h5py_for_writing() -> Any:
    """h5py, or an ImportError that names the extra to install."""
    try:
        import h5py
    except ImportError:
        raise ImportError("writing Keras files (.keras, .h5, .weights.h5) needs h5py: pip install 'neurona[keras]' "
                          "(or pip install h5py); neurona's own .neurona format needs nothing extra") from None
    return h5py


# ------------------------------------------------------------------------------------------------ architecture
def _tensor_ref(ref: Any, shapes: dict[tuple[str, int, int], Any]) -> Any:
    """neurona's [layer, node, index] (or a list of them) -> Keras 3's `__keras_tensor__` references."""
    if isinstance(ref, list) and len(ref) == 3 and isinstance(ref[0], str):
        key = (ref[0], int(ref[1]), int(ref[2]))
        return {"class_name": "__keras_tensor__",
                "config": {"shape": shapes.get(key), "dtype": "float32", "keras_history": list(key)}}
    return [_tensor_ref(r, shapes) for r in ref]


def _output_shapes(model: Any) -> dict[tuple[str, int, int], Any]:
    """{(layer name, node index, tensor index): shape} of a functional model's symbolic tensors."""
    out = {}
    for layer in getattr(model, "layers", []):
        for node in getattr(layer, "_inbound_nodes", []):
            for i, t in enumerate(node.output_tensors):
                shape = getattr(t, "shape", None)
                out[(layer.name, node.index, i)] = list(shape) if shape is not None else None
    return out


def _object(spec: Any, module: str) -> Any:
    """An initializer/regularizer {"class_name", "config"} with the module Keras's deserializer wants."""
    if isinstance(spec, dict) and set(spec) <= _PLAIN_KEYS | {"module", "registered_name"} and "class_name" in spec:
        return {"module": module, "class_name": spec["class_name"], "config": spec.get("config", {}),
                "registered_name": None}
    return spec


_INPUT_KEYS = {"batch_input_shape", "input_shape", "input_dim", "batch_size"}  # Keras 3 takes these from Input


def _layer_config(config: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in config.items():
        if key in _INPUT_KEYS:
            continue
        if key in ("layer", "backward_layer") and isinstance(value, dict) and "class_name" in value:
            value = keras_layer_spec(value)  # a wrapper's inner layer (Bidirectional, TimeDistributed)
        elif key.endswith("_initializer"):
            value = _object(value, "keras.initializers")
        elif key.endswith("_regularizer"):
            value = _object(value, "keras.regularizers")
        out[key] = value
    return out


def keras_layer_spec(spec: dict[str, Any], legacy: bool = False,
                     shapes: dict[tuple[str, int, int], Any] | None = None) -> dict[str, Any]:
    """One neurona layer spec (from a model's get_config) -> the spec Keras's `from_config` reads."""
    class_name = spec["class_name"]
    if class_name in ("Sequential", "Model", "Functional"):
        out = keras_model_spec(class_name, spec["config"], legacy, shapes)
    else:
        out = {"module": "keras.layers", "class_name": class_name, "config": _layer_config(spec["config"]),
               "registered_name": None}
    if "inbound_nodes" in spec:
        out["name"] = spec.get("name", spec["config"].get("name"))
        out["inbound_nodes"] = [{"args": [_tensor_ref(node["args"], shapes or {})], "kwargs": node.get("kwargs", {})}
                                for node in spec["inbound_nodes"]]
    if legacy:
        out.pop("module", None)
        out.pop("registered_name", None)
    return out


def keras_model_spec(class_name: str, config: dict[str, Any], legacy: bool = False,
                     shapes: dict[tuple[str, int, int], Any] | None = None) -> dict[str, Any]:
    """A neurona Sequential/Model config -> Keras's {"module", "class_name", "config", ...} for that model."""
    specs = list(config["layers"])
    first = specs[0]["config"] if specs else {}
    if class_name == "Sequential" and specs and specs[0]["class_name"] != "InputLayer" and \
            first.get("batch_input_shape") is not None:
        specs.insert(0, {"class_name": "InputLayer", "config": {"batch_shape": first["batch_input_shape"],
                                                                "dtype": first.get("dtype", "float32")}})
    layers = [keras_layer_spec(s, legacy, shapes) for s in specs]
    new = {"name": config.get("name"), "trainable": config.get("trainable", True), "layers": layers}
    if class_name == "Sequential":
        if config.get("build_input_shape") is not None:
            new["build_input_shape"] = config["build_input_shape"]
        return {"module": "keras", "class_name": "Sequential", "config": new, "registered_name": None}
    new["input_layers"] = config["input_layers"]
    new["output_layers"] = config["output_layers"]
    return {"module": "keras.src.models.functional", "class_name": "Functional", "config": new,
            "registered_name": "Functional"}


def keras_config(model: Any, legacy: bool = False) -> dict[str, Any]:
    """The Keras architecture config of a neurona Sequential or functional model (never a subclassed one)."""
    from ..models import Sequential

    if getattr(model, "_graph", None) is None and not isinstance(model, Sequential):
        raise ValueError(f"model '{model.name}' is a subclassed model: Keras files need an architecture config; "
                         f"save its weights with save_weights('....weights.h5') instead")
    class_name = "Sequential" if isinstance(model, Sequential) else "Model"
    shapes: dict[tuple[str, int, int], Any] = {}
    for layer in [model, *model.layers]:
        shapes.update(_output_shapes(layer))
    return keras_model_spec(class_name, model.get_config(), legacy, shapes)


# ------------------------------------------------------------------------------------------------ weights
def _snake(layer: Any) -> str:
    from ..layers.base import to_snake_case
    from ..models import Sequential

    name = type(layer).__name__
    if name == "Model" or (getattr(layer, "_graph", None) is not None and not isinstance(layer, Sequential)):
        return "functional"
    return to_snake_case(name)


def _v3_layers(container: Any) -> Iterator[tuple[str, Any]]:
    """(Keras's h5 key, layer) for a model's layers: class names in snake case, numbered per model."""
    used: dict[str, int] = {}
    for layer in container.layers:
        base = _snake(layer)
        used[base] = used.get(base, -1) + 1
        yield (base if used[base] == 0 else f"{base}_{used[base]}"), layer


def _write_vars(group: Any, name: str, weights: list[Any]) -> None:
    vars_group = group.create_group("vars")
    vars_group.attrs["name"] = name
    for i, w in enumerate(weights):
        vars_group.create_dataset(str(i), data=np.asarray(w.data))


def write_v3_weights(container: Any, group: Any) -> None:
    """A model's weights in Keras 3's layout (`.weights.h5` and a `.keras` archive's model.weights.h5)."""
    from ..models import Model

    layers_group = group.create_group("layers")
    for key, layer in _v3_layers(container):
        nested = [sub for sub in layer.__dict__.get("_layers", []) if sub.weights]
        if nested and not isinstance(layer, Model):
            raise ValueError(f"layer '{layer.name}' ({type(layer).__name__}) keeps its weights in sub-layers, whose "
                             f"place in Keras's file layout neurona does not write yet; save the model as .neurona "
                             f"or .h5")
        sub = layers_group.create_group(key)
        if isinstance(layer, Model):
            write_v3_weights(layer, sub)
            sub["vars"].attrs["name"] = layer.name
            continue
        if type(layer).__name__ in _RECURRENT:
            _write_vars(sub, layer.name, [])
            _write_vars(sub.create_group("cell"), f"{_snake(layer)}_cell", layer.weights)
        else:
            _write_vars(sub, layer.name, layer.weights)
    if "vars" not in group:
        _write_vars(group, container.name, [])


def write_legacy_weights(model: Any, group: Any) -> None:
    """A model's weights in Keras's legacy `.h5` layout (`model_weights/<layer>/<weight>`, trainable first)."""
    names = []
    for layer in model.layers:
        names.append(layer.name)
        weights = list(layer.trainable_weights) + list(layer.non_trainable_weights)
        sub = group.create_group(layer.name)
        full = []
        for w in weights:
            short = w.name.split("/", 1)[-1] if w.name and "/" in w.name else f"weight_{len(full)}"
            name = f"{model.name}/{layer.name}/{short}"
            if name in full:  # Keras pairs a layer's weights by position: names only need to be distinct
                name = f"{name}_{len(full)}"
            full.append(name)
            sub.create_dataset(name, data=np.asarray(w.data))
        sub.attrs["weight_names"] = np.array(full, dtype=object) if full else np.array([], dtype="float64")
    group.attrs["layer_names"] = np.array(names, dtype=object)
    group.attrs["backend"] = "numpy"
    group.attrs["keras_version"] = KERAS_VERSION


# ------------------------------------------------------------------------------------------------ files
def _h5_bytes(fill: Any) -> bytes:
    h5py = h5py_for_writing()
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as h5:
        fill(h5)
    return buffer.getvalue()


def _write_file(filepath: str | os.PathLike, data: bytes, overwrite: bool) -> None:
    with atomic_write(filepath, overwrite=overwrite) as f:
        f.write(data)


def save_keras_archive(model: Any, filepath: str | os.PathLike, overwrite: bool = True) -> None:
    """Write `model` as a Keras 3 `.keras` archive (config.json, metadata.json, model.weights.h5)."""
    from .. import __version__

    spec = keras_config(model)
    spec["build_config"] = {"input_shape": None}
    spec["compile_config"] = None
    weights = _h5_bytes(lambda h5: write_v3_weights(model, h5))
    metadata = {"keras_version": KERAS_VERSION, "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S"),
                "producer": f"neurona {__version__}"}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("metadata.json", json.dumps(metadata))
        archive.writestr("config.json", json.dumps(spec))
        archive.writestr("model.weights.h5", weights, compress_type=zipfile.ZIP_STORED)
    _write_file(filepath, buffer.getvalue(), overwrite)


def save_keras_h5(model: Any, filepath: str | os.PathLike, overwrite: bool = True) -> None:
    """Write `model` as a legacy Keras full-model `.h5` (model_config attribute plus model_weights)."""
    spec = keras_config(model, legacy=True)

    def fill(h5: Any) -> None:
        h5.attrs["model_config"] = json.dumps(spec)
        h5.attrs["backend"] = "numpy"
        h5.attrs["keras_version"] = KERAS_VERSION
        write_legacy_weights(model, h5.create_group("model_weights"))

    _write_file(filepath, _h5_bytes(fill), overwrite)


def save_keras_weights(model: Any, filepath: str | os.PathLike, overwrite: bool = True) -> None:
    """Write `model`'s weights as a Keras 3 `.weights.h5` (Keras's `model.load_weights` reads it)."""
    if not model.built:
        raise ValueError(f"model '{model.name}' has no weights yet: build it before saving its weights")
    _write_file(filepath, _h5_bytes(lambda h5: write_v3_weights(model, h5)), overwrite)
