"""Readers for the standard dataset file formats, none of which can run code.

- Keras's ``.npz`` (``x_train``, ``y_train``, ``x_test``, ``y_test``), read with ``allow_pickle=False``;
- the original IDX files of MNIST / Fashion-MNIST, plain or gzipped;
- CIFAR's *binary version* (fixed-size records: label byte(s) then 3072 pixel bytes), from the
  ``.tar.gz`` archive (members are read in memory, never extracted) or from the unpacked ``.bin`` files.
"""

from __future__ import annotations

import gzip
import os
import tarfile
import zlib
from pathlib import Path

import numpy as np

from ._files import DatasetError

# IDX type byte -> big-endian dtype (http://yann.lecun.com/exdb/mnist/, "THE IDX FILE FORMAT").
_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
NPZ_KEYS = ("x_train", "y_train", "x_test", "y_test")


def _read_maybe_gzip(path: Path) -> bytes:
    raw = path.read_bytes()
    if raw[:2] != b"\x1f\x8b":
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as exc:
        raise DatasetError(f"{path} is not a valid gzip file (corrupt or truncated download?): {exc}") from exc


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Parse an IDX file (optionally gzipped): magic 0x0000, a type byte, a rank byte, big-endian dims."""
    path = Path(path)
    data = _read_maybe_gzip(path)
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise DatasetError(f"{path} is not an IDX file: it should start with two zero bytes, got {data[:4]!r}")
    type_code, rank = data[2], data[3]
    if type_code not in _IDX_TYPES:
        raise DatasetError(f"{path}: unknown IDX data type 0x{type_code:02x}")
    header = 4 + 4 * rank
    if len(data) < header:
        raise DatasetError(f"{path} is truncated: the header needs {header} bytes, the file has {len(data)}")
    dims = tuple(int(d) for d in np.frombuffer(data, ">u4", count=rank, offset=4))
    dtype = np.dtype(_IDX_TYPES[type_code])
    expected = int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    if len(data) - header != expected:
        what = "truncated" if len(data) - header < expected else "longer than its header says"
        raise DatasetError(
            f"{path} is {what}: the header gives shape {dims} ({expected} bytes of data), "
            f"the file holds {len(data) - header}"
        )
    array = np.frombuffer(data, dtype, offset=header).reshape(dims)
    return array.astype(dtype.newbyteorder("="))


def read_npz(path: str | os.PathLike, keys: tuple[str, ...] = NPZ_KEYS) -> dict[str, np.ndarray]:
    """The arrays `keys` of a ``.npz`` file; refuses object (pickled) arrays."""
    path = Path(path)
    try:
        archive = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        raise DatasetError(f"{path} is not a readable .npz archive: {exc}") from exc
    with archive:
        missing = [k for k in keys if k not in archive.files]
        if missing:
            raise DatasetError(f"{path} lacks the arrays {missing}; it holds {archive.files}")
        out = {}
        for key in keys:
            try:
                out[key] = archive[key]
            except ValueError as exc:  # numpy: "Object arrays cannot be loaded when allow_pickle=False"
                raise DatasetError(
                    f"{path}: array '{key}' is a pickled object array, which neurona refuses to load "
                    f"because unpickling can run code; store plain numeric arrays instead"
                ) from exc
            except (OSError, EOFError, zlib.error) as exc:
                raise DatasetError(f"{path}: array '{key}' is corrupt: {exc}") from exc
    return out


def check_split(name: str, x: np.ndarray, y: np.ndarray, image_shape: tuple[int, ...], source: Path) -> None:
    """Images and labels of one split agree with each other and with the dataset's image shape."""
    if x.shape[1:] != image_shape:
        expected = ", ".join(map(str, image_shape))
        raise DatasetError(f"{source}: {name} images have shape {x.shape}, expected (n, {expected})")
    if len(x) != len(y):
        raise DatasetError(f"{source}: {name} has {len(x)} images but {len(y)} labels")


# ------------------------------------------------------------------------------------------- CIFAR
def _records(data: bytes, n_labels: int, source: str) -> tuple[np.ndarray, np.ndarray]:
    record = n_labels + 3 * 32 * 32
    if len(data) == 0 or len(data) % record:
        raise DatasetError(
            f"{source}: {len(data)} bytes is not a whole number of {record}-byte CIFAR records "
            f"(truncated file, or the python version of the archive instead of the binary one?)"
        )
    rows = np.frombuffer(data, np.uint8).reshape(-1, record)
    labels = rows[:, :n_labels]
    # Each image is stored as 1024 red, 1024 green, 1024 blue bytes, row-major: (3, 32, 32) -> (32, 32, 3).
    images = rows[:, n_labels:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(images), labels.copy()


def read_cifar(path: str | os.PathLike, members: list[str], n_labels: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Read CIFAR binary batches by name from a ``.tar.gz`` archive or a folder of ``.bin`` files."""
    path = Path(path)
    chunks: list[tuple[np.ndarray, np.ndarray]] = []
    if path.is_dir():
        for member in members:
            file = path / Path(member).name
            if not file.is_file():
                raise DatasetError(f"{path} lacks {file.name} (expected the files {[Path(m).name for m in members]})")
            chunks.append(_records(file.read_bytes(), n_labels, str(file)))
        return chunks
    try:
        with tarfile.open(path, "r:*") as tar:
            names = set(tar.getnames())
            for member in members:
                if member not in names:
                    raise DatasetError(
                        f"{path} lacks {member}: is it CIFAR's binary version? (it holds e.g. {sorted(names)[:4]})"
                    )
                handle = tar.extractfile(member)
                if handle is None:
                    raise DatasetError(f"{path}: {member} is not a regular file")
                chunks.append(_records(handle.read(), n_labels, f"{path}:{member}"))
    except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
        if isinstance(exc, DatasetError):
            raise
        raise DatasetError(f"{path} is not a readable tar archive (corrupt or truncated?): {exc}") from exc
    return chunks
