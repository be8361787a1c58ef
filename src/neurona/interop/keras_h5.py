"""Keras weight files into neurona models: legacy `.h5` (Keras 2 and the files `keras.applications` publishes,
weights only or whole models), Keras 3 `.weights.h5`, and the weights inside a `.keras` archive.

Keras's layouts are neurona's (Dense kernels (in, out), Conv2D kernels (kh, kw, in, out), BatchNormalization
gamma, beta, moving mean, moving variance), so arrays are copied as they are, layer by layer:

- legacy `.h5`: the file lists its layers in model order; layers are paired with the model's layers that
  have weights, by name when all names agree and otherwise in order (Keras's own rule), and inside a layer
  weights are paired by name when they agree, otherwise in order;
- Keras 3 files store each layer's own variables under a path named after its class (`layers/dense_1/vars/0`)
  and record the layer's name, which is used first.

Every shape is checked before any weight is written, so a file that does not fit leaves the model as it was.
HDF5 features that reach outside the file or hide where data lives are refused before reading anything:
external links, soft links, virtual datasets and datasets stored in external raw files. h5py is an optional
dependency: `pip install 'neurona[h5]'`.
"""

from __future__ import annotations

import contextlib
import io
import math
import os
from collections.abc import Iterator
from typing import Any

import numpy as np

from ..saving.errors import UnsafeFileError
from .h5_guard import check_global_heaps, raw_data_ranges, read_attr

MAX_DEPTH = 32  # real files nest 5 levels at most; a hard-link cycle stops here
MAX_OBJECTS = 200_000
MAX_TOTAL_BYTES = 16 * 2**30
MAX_RATIO = 10  # declared bytes per stored byte of a dataset over 1 MiB (weights barely compress)


def h5py_module() -> Any:
    """h5py, or an ImportError that names the extra to install."""
    try:
        import h5py
    except ImportError:
        raise ImportError("reading Keras .h5/.keras files needs h5py: pip install 'neurona[h5]' "
                          "(or pip install h5py)") from None
    return h5py


# ------------------------------------------------------------------------------------------------ safety
def check_tree(h5: Any, source: str) -> int:
    """Walk every link of an open HDF5 file and refuse the features a hostile file could use.

    Soft and external links (which can point into other files), virtual datasets (assembled from other
    files), datasets with external raw storage, non-numeric datasets, and declared sizes past the limits.
    Nothing is read before this walk is done. Returns the number of values the datasets declare.
    """
    h5py = h5py_module()
    count = 0
    total = 0
    values = 0

    def walk(group: Any, path: str, depth: int) -> None:
        nonlocal count, total, values
        if depth > MAX_DEPTH:
            raise UnsafeFileError(f"{source}: HDF5 groups nest deeper than {MAX_DEPTH} levels at {path!r} "
                                  f"(a hard-link cycle?)")
        for name in group:  # iterating lists the links without following them
            count += 1
            if count > MAX_OBJECTS:
                raise UnsafeFileError(f"{source}: more than {MAX_OBJECTS} HDF5 objects")
            where = f"{path}/{name}"
            link = group.get(name, getlink=True)
            if isinstance(link, h5py.ExternalLink):
                raise UnsafeFileError(f"{source}: {where!r} is an HDF5 external link to {link.filename!r}; links "
                                      f"out of the file are refused")
            if isinstance(link, h5py.SoftLink):
                raise UnsafeFileError(f"{source}: {where!r} is an HDF5 soft link to {link.path!r}; links are refused")
            if not isinstance(link, h5py.HardLink):
                raise UnsafeFileError(f"{source}: {where!r} is an HDF5 link of unknown kind {type(link).__name__}")
            obj = group[name]
            if isinstance(obj, h5py.Dataset):
                if obj.is_virtual:
                    raise UnsafeFileError(f"{source}: {where!r} is an HDF5 virtual dataset (data assembled from "
                                          f"other files); refused")
                if obj.external:
                    raise UnsafeFileError(f"{source}: {where!r} stores its data in external files "
                                          f"{[e[0] for e in obj.external]}; refused")
                if obj.dtype.kind not in "fiub":
                    raise UnsafeFileError(f"{source}: {where!r} holds {obj.dtype}, not numbers")
                size = math.prod(int(d) for d in obj.shape)  # exact: no overflow
                values += size
                total += size * obj.dtype.itemsize
                stored = obj.id.get_storage_size()  # compressed (or never written) data: Keras writes neither
                if size * obj.dtype.itemsize > 2**20 and size * obj.dtype.itemsize > MAX_RATIO * max(stored, 1):
                    raise UnsafeFileError(f"{source}: {where!r} declares {size * obj.dtype.itemsize} bytes stored in "
                                          f"{stored} (ratio over {MAX_RATIO}: a compression bomb?)")
                if total > MAX_TOTAL_BYTES:
                    raise UnsafeFileError(f"{source}: the datasets declare more than {MAX_TOTAL_BYTES} bytes")
            elif isinstance(obj, h5py.Group):
                walk(obj, where, depth + 1)
            else:
                raise UnsafeFileError(f"{source}: {where!r} is an HDF5 object of unknown kind {type(obj).__name__}")

    walk(h5, "", 0)
    return values


def _strings(value: Any, where: str) -> list[str]:
    """An attribute holding a list of names (bytes or str), checked."""
    if value is None:
        return []
    arr = np.asarray(value)
    if arr.size == 0:
        return []
    if arr.dtype.kind not in "SUO" or arr.ndim != 1:
        raise UnsafeFileError(f"{where}: expected a list of names, got {arr.dtype} of shape {arr.shape}")
    out = []
    for v in arr.tolist():
        if isinstance(v, bytes):
            try:
                v = v.decode("utf-8")
            except UnicodeDecodeError:
                raise UnsafeFileError(f"{where}: a name is not UTF-8 ({v[:40]!r})") from None
        if not isinstance(v, str):
            raise UnsafeFileError(f"{where}: expected names, got {type(v).__name__}")
        out.append(v)
    return out


# What h5py raises on a damaged file, from deep inside the HDF5 library: turned into UnsafeFileError.
H5_ERRORS = (OSError, RuntimeError, KeyError, TypeError, ValueError, IndexError, AttributeError,
             UnicodeDecodeError, OverflowError, MemoryError)


@contextlib.contextmanager
def h5_boundary(name: str) -> Iterator[None]:
    """Inside the block, what h5py raises on a damaged file becomes UnsafeFileError naming `name`; neurona's
    own errors (which name the file already) pass through."""
    try:
        yield
    except (UnsafeFileError, PermissionError, FileNotFoundError):
        raise
    except ValueError as exc:
        if name in str(exc):  # raised here, about the file's contents: already clear
            raise
        raise UnsafeFileError(f"{name}: corrupt HDF5 file (ValueError: {exc})") from None
    except H5_ERRORS as exc:
        raise UnsafeFileError(f"{name}: corrupt HDF5 file ({type(exc).__name__}: {exc})") from None


def open_checked(source: Any, name: str) -> tuple[Any, int]:
    """Open an HDF5 file (a path or bytes) read-only and check it (see `check_tree`); returns the open file
    and the number of values its datasets declare."""
    h5py = h5py_module()
    handle = io.BytesIO(source) if isinstance(source, (bytes, bytearray)) else os.fspath(source)
    try:
        check_global_heaps(source, name, references=False)  # before the library parses a heap it could spin on
        h5 = h5py.File(handle, "r")
    except (PermissionError, FileNotFoundError, UnsafeFileError):
        raise
    except H5_ERRORS as exc:
        raise UnsafeFileError(f"{name}: not a readable HDF5 file ({type(exc).__name__}: {exc})") from None
    try:
        values = check_tree(h5, name)
        check_global_heaps(source, name, skip=raw_data_ranges(h5))  # only names point into heaps now: their lengths
    except UnsafeFileError:
        h5.close()
        raise
    except H5_ERRORS as exc:
        h5.close()
        raise UnsafeFileError(f"{name}: corrupt HDF5 file ({type(exc).__name__}: {exc})") from None
    except BaseException:
        h5.close()
        raise
    return h5, values


def open_h5(source: Any, name: str) -> Any:
    """Open an HDF5 file (a path or bytes) read-only and check it (see `check_tree`)."""
    return open_checked(source, name)[0]


# ------------------------------------------------------------------------------------------------ pairing
def _is_model(layer: Any) -> bool:
    from ..models import Model

    return isinstance(layer, Model)


def _legacy_order(layer: Any) -> list[Any]:
    """The order Keras's legacy format lists a layer's weights in: trainable ones, then the others."""
    return list(layer.trainable_weights) + list(layer.non_trainable_weights)


def _short(name: str) -> str:
    """'sequential/dense/kernel:0' -> 'dense/kernel' (what neurona calls it)."""
    parts = name.split(":")[0].split("/")
    return "/".join(parts[-2:])


def _pair_weights(layer: Any, stored: list[tuple[str, Any]], source: str) -> list[tuple[Any, Any]]:
    targets = _legacy_order(layer)
    if len(stored) != len(targets):
        raise ValueError(f"{source}: layer '{layer.name}' has {len(targets)} weights "
                         f"({', '.join(w.name for w in targets) or 'none'}), the file has {len(stored)} for it "
                         f"({', '.join(n for n, _ in stored)})")
    by_name = {w.name: w for w in targets}
    if {_short(n) for n, _ in stored} == set(by_name) and len(by_name) == len(targets):
        return [(by_name[_short(n)], ds) for n, ds in stored]
    return [(w, ds) for w, (_, ds) in zip(targets, stored)]


def _legacy_layers(root: Any, source: str) -> list[tuple[str, list[tuple[str, Any]]]]:
    """[(layer name, [(weight name, dataset), ...]), ...] for the layers of a legacy file that have weights."""
    out = []
    raw = read_attr(root, "layer_names", source)
    if raw is None:
        raise UnsafeFileError(f"{source}: a legacy Keras weights group without its layer_names attribute")
    for lname in _strings(raw, f"{source}: layer_names"):
        if lname not in root:
            raise UnsafeFileError(f"{source}: layer_names lists {lname!r}, which the file does not hold")
        group = root[lname]
        names = _strings(read_attr(group, "weight_names", f"{source}: {lname}"), f"{source}: {lname}/weight_names")
        stored = []
        for wname in names:
            ds = group.get(wname)
            if ds is None or not hasattr(ds, "shape"):
                raise UnsafeFileError(f"{source}: layer {lname!r} lists weight {wname!r}, which is not a dataset")
            stored.append((wname, ds))
        if stored:
            out.append((lname, stored))
    return out


def _assign_legacy(model: Any, root: Any, source: str, by_name: bool, skip_mismatch: bool) -> list[tuple[Any, Any]]:
    stored = _legacy_layers(root, source)
    targets = [layer for layer in model.layers if layer.weights]
    names = [la.name for la in targets]
    if by_name or sorted(n for n, _ in stored) == sorted(names):
        layers_by_name = {la.name: la for la in targets}
        pairs = [(layers_by_name[n], w) for n, w in stored if n in layers_by_name]
        missing = [n for n in names if n not in {s for s, _ in stored}]
        if missing and not by_name:
            raise ValueError(f"{source} has no weights for layers {missing[:5]} of model '{model.name}'")
    else:
        if len(stored) != len(targets):
            raise ValueError(
                f"{source} holds weights for {len(stored)} layers ({', '.join(n for n, _ in stored[:4])}, ...) but "
                f"model '{model.name}' has {len(targets)} layers with weights ({', '.join(names[:4])}, ...): it is "
                f"not the same architecture")
        pairs = list(zip(targets, (w for _, w in stored)))
    out = []
    for layer, weights in pairs:
        try:
            out += _pair_weights(layer, weights, source)
        except ValueError:
            if not skip_mismatch:
                raise
    return out


def _keras_class_name(layer: Any) -> str:
    from ..layers.base import to_snake_case

    name = type(layer).__name__
    if name == "Model":
        return "functional"  # Keras's class for Model(inputs, outputs)
    return to_snake_case(name)


def _vars(group: Any, source: str, where: str) -> list[Any]:
    if "vars" not in group:
        return []
    vars_group = group["vars"]
    keys = sorted(vars_group, key=lambda k: int(k) if k.isdigit() else -1)
    if any(not k.isdigit() for k in keys):
        raise UnsafeFileError(f"{source}: {where}/vars holds unexpected entries {keys[:5]}")
    return [vars_group[k] for k in keys]


def _assign_v3(container: Any, group: Any, source: str, path: str, skip_mismatch: bool) -> Iterator[tuple[Any, Any]]:
    """Pairs (weight, dataset) of `container`'s layers from a Keras 3 `layers/` group."""
    by_recorded = {}
    for key in group:
        sub = group[key]
        recorded = read_attr(sub["vars"], "name", f"{source}: {path}/{key}/vars") if "vars" in sub else None
        if recorded is not None:
            by_recorded[recorded.decode() if isinstance(recorded, bytes) else str(recorded)] = key
    used: dict[str, int] = {}
    for layer in container.layers:
        base = _keras_class_name(layer)
        used[base] = used.get(base, -1) + 1
        by_class = base if used[base] == 0 else f"{base}_{used[base]}"
        if not layer.weights:
            continue
        key = by_recorded.get(layer.name, by_class)
        where = f"{path}/{key}"
        if key not in group:
            if skip_mismatch:
                continue
            raise ValueError(f"{source} has no weights for layer '{layer.name}' (looked for {where!r})")
        sub = group[key]
        if _is_model(layer):
            own_layers = sub["layers"] if "layers" in sub else None
            if own_layers is None:
                raise ValueError(f"{source}: {where!r} holds no layers for the nested model '{layer.name}'")
            yield from _assign_v3(layer, own_layers, source, f"{where}/layers", skip_mismatch)
            continue
        stored = _vars(sub, source, where)
        if not stored and "cell" in sub:  # Keras 3 keeps a recurrent layer's weights in its cell
            stored = _vars(sub["cell"], source, f"{where}/cell")
        own = layer.weights
        if len(stored) != len(own):
            if skip_mismatch:
                continue
            raise ValueError(f"{source}: layer '{layer.name}' has {len(own)} weights "
                             f"({', '.join(w.name for w in own)}), {where!r} holds {len(stored)}")
        yield from zip(own, stored)


def assign_from_h5(model: Any, h5: Any, source: str, by_name: bool = False, skip_mismatch: bool = False) -> None:
    """Copy the weights of an open, checked Keras HDF5 file into `model` (all shapes checked first)."""
    if not model.built or not model.weights:
        raise ValueError(f"model '{model.name}' has no weights yet: build it (give it an input shape) before loading")
    if read_attr(h5, "layer_names", source) is not None or "model_weights" in h5:
        root = h5["model_weights"] if "model_weights" in h5 else h5
        pairs = _assign_legacy(model, root, source, by_name, skip_mismatch)
    elif "layers" in h5:
        pairs = list(_assign_v3(model, h5["layers"], source, "layers", skip_mismatch))
    else:
        raise ValueError(f"{source} is an HDF5 file but not a Keras weights file (no layer_names, no layers/)")
    checked = []
    for w, ds in pairs:
        if tuple(ds.shape) != tuple(w.shape):
            if skip_mismatch:
                continue
            raise ValueError(f"{source}: weight '{w.name}' has shape {tuple(w.shape)} in model '{model.name}', but "
                             f"the file's {ds.name!r} has shape {tuple(ds.shape)}")
        checked.append((w, ds))
    if not checked:
        raise ValueError(f"{source}: no weights of the file fit model '{model.name}'")
    for w, ds in checked:  # only now: a refused file leaves the model untouched
        if w.data.flags.c_contiguous and w.data.size:
            ds.read_direct(w.data)  # straight into the weight: no second copy of a big array
        else:
            w.data[...] = ds[()]


def load_keras_weights(model: Any, filepath: str | os.PathLike, by_name: bool = False,
                       skip_mismatch: bool = False) -> None:
    """Load the weights of a Keras file (`.h5`, `.weights.h5` or `.keras`) into a neurona model of the same
    architecture, e.g. the published `keras.applications` weights into `neurona.applications.VGG16(weights=None)`.

    `by_name=True` pairs layers by name only (layers absent from the file keep their weights), as Keras's
    `load_weights(by_name=True)`; `skip_mismatch=True` skips layers whose weights do not fit.
    """
    from ..saving.sniff import describe, sniff

    source = os.fspath(filepath)
    if not os.path.isfile(source):
        raise FileNotFoundError(f"no such Keras weights file: {source!r}")
    kind = sniff(source)
    if kind in ("keras", "zip"):
        from .keras_config import read_keras_archive

        members = read_keras_archive(source)
        data: Any = members["model.weights.h5"]
        name = f"{source}:model.weights.h5"
    elif kind == "hdf5":
        data, name = source, source
    else:
        raise UnsafeFileError(f"{source}: not a Keras weights file (.h5, .weights.h5 or .keras): this is "
                              f"{describe(kind)}")
    h5 = open_h5(data, name)
    try:
        with h5_boundary(name):
            assign_from_h5(model, h5, name, by_name=by_name, skip_mismatch=skip_mismatch)
    finally:
        h5.close()
