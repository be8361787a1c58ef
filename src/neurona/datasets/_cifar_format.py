"""What CIFAR-10 and CIFAR-100 share: where the binary archive lives and how its batches are stacked."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ._files import DatasetError, data_home, fetch
from ._formats import check_split, read_cifar

Split = tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


def locate(path: str | os.PathLike | None, archive: str, folder: str, url: str, sha256: str) -> Path:
    """The user's path, else an unpacked folder in the cache, else the (downloaded) archive."""
    if path is not None:
        given = Path(path).expanduser()
        if not given.exists():
            raise DatasetError(f"{given} does not exist (expected {archive} or its unpacked folder {folder}/)")
        return given
    unpacked = data_home() / folder
    if unpacked.is_dir():
        return unpacked
    return fetch(archive, url, sha256)


def load_split(
    source: Path, folder: str, train: list[str], test: list[str], n_labels: int, label_index: int, n_classes: int
) -> Split:
    """Read the train and test batches; labels come from record byte `label_index`, shaped (n, 1)."""
    out = []
    for names in (train, test):
        chunks = read_cifar(source, [f"{folder}/{name}" for name in names], n_labels)
        x = np.concatenate([c[0] for c in chunks])
        y = np.concatenate([c[1][:, label_index : label_index + 1] for c in chunks])
        if y.size and y.max() >= n_classes:
            raise DatasetError(f"{source}: label {int(y.max())} out of range 0..{n_classes - 1} (corrupt file?)")
        out.append((x, y))
    for name, (x, y) in zip(("train", "test"), out):
        check_split(name, x, y, (32, 32, 3), source)
    return out[0], out[1]
