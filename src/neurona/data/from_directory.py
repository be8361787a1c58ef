"""Keras's `image_dataset_from_directory` and `text_dataset_from_directory`: one sub-folder per class.

    main_directory/
        class_a/ a_1.jpg a_2.jpg ...
        class_b/ b_1.jpg ...

Files are listed in sorted order, shuffled once with `seed` (so `validation_split` with the same seed gives
disjoint training and validation subsets, the validation subset being the last fraction, as in Keras), and
read batch by batch. Images come as float32 in 0..255 (height, width, channels); texts as Python strings.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from .dataset import Dataset

IMAGE_FORMATS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")
_LABEL_MODES = ("int", "categorical", "binary", None)


def _index_directory(directory: Any, formats: tuple[str, ...], class_names: Any, labels: Any,
                     follow_links: bool) -> tuple[list[Path], np.ndarray | None, list[str]]:
    root = Path(directory)
    if not root.is_dir():
        raise FileNotFoundError(f"no such directory: {os.fspath(directory)!r}")
    if labels == "inferred":
        found = sorted(p.name for p in root.iterdir() if p.is_dir())
        if class_names is not None:
            missing = sorted(set(class_names) - set(found))
            if missing:
                raise ValueError(f"class_names {missing} are not sub-directories of {os.fspath(directory)!r} "
                                 f"(found {found})")
            found = list(class_names)
        files, ids = [], []
        for i, name in enumerate(found):
            for dirpath, _, names in sorted(os.walk(root / name, followlinks=follow_links)):
                for f in sorted(names):
                    if f.lower().endswith(formats):
                        files.append(Path(dirpath) / f)
                        ids.append(i)
        return files, np.asarray(ids, dtype=np.int32), found
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in formats)
    if labels is None:
        return files, None, []
    ids = np.asarray(labels)
    if len(ids) != len(files):
        raise ValueError(f"labels has {len(ids)} entries but {os.fspath(directory)!r} holds {len(files)} files")
    return files, ids.astype(np.int32), []


def _split(files: list[Path], ids: np.ndarray | None, validation_split: float | None, subset: str | None,
           shuffle: bool, seed: int | None) -> list[tuple[list[Path], np.ndarray | None]]:
    if (validation_split is None) != (subset is None):
        raise ValueError("validation_split and subset go together (subset='training', 'validation' or 'both')")
    if subset is not None and subset not in ("training", "validation", "both"):
        raise ValueError(f"subset must be 'training', 'validation' or 'both', got {subset!r}")
    if validation_split is not None and not 0 < validation_split < 1:
        raise ValueError(f"validation_split must be between 0 and 1, got {validation_split}")
    if subset is not None and shuffle and seed is None:
        raise ValueError("validation_split with shuffle=True needs a seed, so both subsets use the same order")
    order = np.arange(len(files))
    if shuffle:
        np.random.RandomState(seed if seed is not None else np.random.randint(10**6)).shuffle(order)
    files = [files[i] for i in order]
    ids = None if ids is None else ids[order]
    if subset is None:
        return [(files, ids)]
    cut = len(files) - int(validation_split * len(files))
    train = (files[:cut], None if ids is None else ids[:cut])
    val = (files[cut:], None if ids is None else ids[cut:])
    return {"training": [train], "validation": [val], "both": [train, val]}[subset]


def _labels(ids: np.ndarray, label_mode: str, num_classes: int) -> np.ndarray:
    if label_mode == "int":
        return ids
    if label_mode == "binary":
        if num_classes != 2:
            raise ValueError(f"label_mode='binary' needs exactly 2 classes, found {num_classes}")
        return ids.astype(np.float32)[:, None]
    return np.eye(num_classes, dtype=np.float32)[ids]


def _dataset(files: list[Path], ids: np.ndarray | None, load: Any, label_mode: str | None, num_classes: int,
             batch_size: int | None, shuffle: bool, seed: int | None, class_names: list[str]) -> Dataset:
    paths = np.asarray([os.fspath(f) for f in files], dtype=object)
    index = np.arange(len(paths))
    ds = Dataset.from_tensor_slices(index)
    if shuffle:
        ds = ds.shuffle(len(index) or 1, seed=seed)
    targets = None if ids is None or label_mode is None else _labels(ids, label_mode, num_classes)

    def element(idx: Any) -> Any:
        idx = np.atleast_1d(idx)
        x = load([paths[i] for i in idx])
        return x if targets is None else (x, targets[idx])

    if batch_size is None:
        ds = ds.map(lambda i: _first(element(i)))
    else:
        ds = ds.batch(int(batch_size)).map(element)
    ds.class_names = class_names
    ds.file_paths = list(paths)
    return ds


def _first(element: Any) -> Any:
    return tuple(e[0] for e in element) if isinstance(element, tuple) else element[0]


def _check_label_mode(label_mode: Any) -> None:
    if label_mode not in _LABEL_MODES:
        raise ValueError(f"label_mode must be one of {_LABEL_MODES}, got {label_mode!r}")


def image_dataset_from_directory(directory: Any, labels: Any = "inferred", label_mode: str | None = "int",
                                 class_names: Any = None, color_mode: str = "rgb", batch_size: int | None = 32,
                                 image_size: tuple[int, int] = (256, 256), shuffle: bool = True,
                                 seed: int | None = None, validation_split: float | None = None,
                                 subset: str | None = None, interpolation: str = "bilinear",
                                 follow_links: bool = False, crop_to_aspect_ratio: bool = False,
                                 **kwargs: Any) -> Any:
    """A Dataset of `(images, labels)` batches from class sub-folders (two datasets for `subset='both'`)."""
    from ..preprocessing.directory import img_to_array, load_img

    _check_label_mode(label_mode)
    if kwargs.pop("data_format", None) not in (None, "channels_last") or kwargs.pop("pad_to_aspect_ratio", False):
        raise ValueError("image_dataset_from_directory: only channels_last without pad_to_aspect_ratio is supported")
    kwargs.pop("verbose", None)
    if kwargs:
        raise TypeError(f"image_dataset_from_directory() got unexpected arguments {sorted(kwargs)}")
    files, ids, names = _index_directory(directory, IMAGE_FORMATS, class_names, labels, follow_links)

    def load(paths: list[str]) -> np.ndarray:
        return np.stack([img_to_array(load_img(p, color_mode=color_mode, target_size=tuple(image_size),
                                               interpolation=interpolation, keep_aspect_ratio=crop_to_aspect_ratio))
                         for p in paths])

    num = len(names) if names else (int(ids.max()) + 1 if ids is not None and len(ids) else 0)
    out = [_dataset(f, i, load, label_mode, num, batch_size, shuffle, seed, names)
           for f, i in _split(files, ids, validation_split, subset, shuffle, seed)]
    return out[0] if len(out) == 1 else tuple(out)


def text_dataset_from_directory(directory: Any, labels: Any = "inferred", label_mode: str | None = "int",
                                class_names: Any = None, batch_size: int | None = 32, max_length: int | None = None,
                                shuffle: bool = True, seed: int | None = None, validation_split: float | None = None,
                                subset: str | None = None, follow_links: bool = False, **kwargs: Any) -> Any:
    """A Dataset of `(texts, labels)` batches from `.txt` files in class sub-folders (texts as str arrays)."""
    _check_label_mode(label_mode)
    kwargs.pop("verbose", None)
    if kwargs:
        raise TypeError(f"text_dataset_from_directory() got unexpected arguments {sorted(kwargs)}")
    files, ids, names = _index_directory(directory, (".txt",), class_names, labels, follow_links)

    def load(paths: list[str]) -> np.ndarray:
        texts = [Path(p).read_text(encoding="utf-8", errors="replace") for p in paths]
        return np.asarray([t[:max_length] if max_length is not None else t for t in texts], dtype=object)

    num = len(names) if names else (int(ids.max()) + 1 if ids is not None and len(ids) else 0)
    out = [_dataset(f, i, load, label_mode, num, batch_size, shuffle, seed, names)
           for f, i in _split(files, ids, validation_split, subset, shuffle, seed)]
    return out[0] if len(out) == 1 else tuple(out)
