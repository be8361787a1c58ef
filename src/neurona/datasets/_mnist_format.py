"""What MNIST and Fashion-MNIST share: 28x28 uint8 images in a Keras .npz or in four IDX files."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ._files import DatasetError
from ._formats import check_split, read_idx, read_npz

IDX_FILES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}

Split = tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


def _idx_file(folder: Path, stem: str) -> Path | None:
    # Mirrors spell the files "train-images-idx3-ubyte[.gz]" or "train-images.idx3-ubyte[.gz]".
    for name in (stem, stem.replace("-idx", ".idx")):
        for suffix in (".gz", ""):
            candidate = folder / (name + suffix)
            if candidate.is_file():
                return candidate
    return None


def has_idx_files(folder: Path) -> bool:
    return folder.is_dir() and all(_idx_file(folder, stem) for stem in IDX_FILES.values())


def read_idx_folder(folder: Path) -> Split:
    """The four IDX files of an MNIST-format dataset in `folder` (gzipped or not)."""
    files = {}
    for key, stem in IDX_FILES.items():
        file = _idx_file(folder, stem)
        if file is None:
            names = [s + ".gz" for s in IDX_FILES.values()]
            raise DatasetError(f"{folder} lacks {stem}.gz (the four files are {names})")
        files[key] = file
    return read_idx_files(files, folder)


def read_idx_files(files: dict[str, Path], source: Path) -> Split:
    """Read the IDX files named by split key (``x_train``, ``y_train``, ``x_test``, ``y_test``)."""
    return _checked({key: read_idx(file) for key, file in files.items()}, source)


def read_mnist_npz(path: Path) -> Split:
    return _checked(read_npz(path), path)


def _checked(a: dict[str, np.ndarray], source: Path) -> Split:
    for split in ("train", "test"):
        x, y = a[f"x_{split}"], a[f"y_{split}"]
        check_split(split, x, y, (28, 28), source)
        if y.ndim != 1:
            raise DatasetError(f"{source}: {split} labels should be one-dimensional, got shape {y.shape}")
    return (a["x_train"], a["y_train"]), (a["x_test"], a["y_test"])


def read_user_path(path: str | os.PathLike) -> Split:
    """A user-given ``.npz`` file or folder of IDX files."""
    path = Path(path).expanduser()
    if path.is_dir():
        return read_idx_folder(path)
    if path.is_file():
        return read_mnist_npz(path)
    raise DatasetError(f"{path} does not exist (expected a Keras-format .npz file or a folder with the IDX files)")
