"""Readers for the standard dataset file formats, none of which can run code.

- Keras's ``.npz`` (``x_train``, ``y_train``, ``x_test``, ``y_test``), read with ``allow_pickle=False``;
- the original IDX files of MNIST / Fashion-MNIST, plain or gzipped;
- CIFAR's *binary version* (fixed-size records: label byte(s) then 3072 pixel bytes), from the
  ``.tar.gz`` archive (members are read in memory, never extracted) or from the unpacked ``.bin`` files.
"""

from __future__ import annotations

import gzip
import math
import os
import struct
import tarfile
import zipfile
import zlib
from pathlib import Path
from tokenize import TokenError
from typing import BinaryIO

import numpy as np

from ._bounded import ClampedFile, check_declared, check_shape, read_exact
from ._files import DatasetError

# IDX type byte -> big-endian dtype (http://yann.lecun.com/exdb/mnist/, "THE IDX FILE FORMAT").
_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
NPZ_KEYS = ("x_train", "y_train", "x_test", "y_test")


MAX_IDX_RANK = 32  # NumPy's arrays hold at most 64 dimensions; no dataset file needs more than a few
_NPY_KINDS = "biuf"  # bool, signed, unsigned, float: what images and labels are made of


def _idx_header(stream: BinaryIO, path: Path) -> tuple[np.dtype, tuple[int, ...], int]:
    """(dtype, dims, header bytes) from the first bytes of an IDX stream, nothing more read."""
    head = stream.read(4)
    if len(head) < 4 or head[0] != 0 or head[1] != 0:
        raise DatasetError(f"{path} is not an IDX file: it should start with two zero bytes, got {head[:4]!r}")
    type_code, rank = head[2], head[3]
    if type_code not in _IDX_TYPES:
        raise DatasetError(f"{path}: unknown IDX data type 0x{type_code:02x}")
    if rank > MAX_IDX_RANK:
        raise DatasetError(f"{path}: the IDX header declares {rank} dimensions, more than {MAX_IDX_RANK}")
    header = 4 + 4 * rank
    raw = stream.read(4 * rank)
    if len(raw) < 4 * rank:
        raise DatasetError(f"{path} is truncated: the header needs {header} bytes, the file has {4 + len(raw)}")
    return np.dtype(_IDX_TYPES[type_code]), struct.unpack(f">{rank}I", raw), header


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Parse an IDX file (optionally gzipped): magic 0x0000, a type byte, a rank byte, big-endian dims.

    The header is read first and the declared size checked (exact integers) against what the file can hold
    before the data is inflated, once, into an array of exactly that size."""
    path = Path(path)
    try:
        with open(path, "rb") as raw:
            size = os.fstat(raw.fileno()).st_size
            compressed = raw.read(2) == b"\x1f\x8b"
            raw.seek(0)
            stream: BinaryIO = gzip.GzipFile(fileobj=raw, mode="rb") if compressed else raw  # type: ignore[assignment]
            dtype, dims, header = _idx_header(stream, path)
            nbytes = math.prod(dims) * dtype.itemsize
            check_declared(nbytes, size if compressed else size - header, compressed, str(path))
            check_shape(dims, dtype.itemsize, str(path))
            data = read_exact(stream, nbytes, str(path), f"data for shape {dims}")
    except (OSError, EOFError, zlib.error) as exc:
        if isinstance(exc, DatasetError):
            raise
        raise DatasetError(f"{path} is not a valid gzip file (corrupt or truncated download?): {exc}") from exc
    return data.view(dtype).reshape(dims).astype(dtype.newbyteorder("="), copy=False)


def _npy_header(stream: BinaryIO, where: str) -> tuple[tuple[int, ...], bool, np.dtype]:
    """(shape, fortran_order, dtype) of a .npy stream, any failure of NumPy's parser a DatasetError."""
    try:
        version = np.lib.format.read_magic(stream)
        if version == (1, 0):
            return np.lib.format.read_array_header_1_0(stream)
        if version == (2, 0):
            return np.lib.format.read_array_header_2_0(stream)
        raise ValueError(f"unsupported .npy format version {version}")
    except (ValueError, SyntaxError, TokenError, TypeError, KeyError, OverflowError, RecursionError,
            MemoryError, EOFError) as exc:
        raise DatasetError(f"{where} is not a valid .npy array (corrupt header: {exc!s:.200})") from None


def _npz_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, where: str) -> np.ndarray:
    if info.flag_bits & 0x1:
        raise DatasetError(f"{where} is encrypted")
    compressed = info.compress_type != zipfile.ZIP_STORED
    check_declared(info.file_size, info.compress_size, compressed, where)
    with archive.open(info) as stream:
        shape, fortran, dtype = _npy_header(stream, where)
        if dtype.hasobject:
            raise DatasetError(
                f"{where} is a pickled object array, which neurona refuses to load because unpickling can "
                f"run code; store plain numeric arrays instead")
        if dtype.kind not in _NPY_KINDS or dtype.fields is not None:
            raise DatasetError(f"{where} has dtype {dtype}; dataset arrays must be numbers or booleans")
        nbytes = math.prod(shape) * dtype.itemsize
        check_declared(nbytes, info.file_size - stream.tell(), False, where)
        check_shape(shape, dtype.itemsize, where)
        data = read_exact(stream, nbytes, where, f"data for shape {shape}")
    return data.view(dtype).reshape(shape, order="F" if fortran else "C")


def read_npz(path: str | os.PathLike, keys: tuple[str, ...] = NPZ_KEYS) -> dict[str, np.ndarray]:
    """The arrays `keys` of a ``.npz`` file; refuses object (pickled) arrays.

    Each member's declared size is checked against the zip entry and the limits before it is inflated,
    once, into an array of exactly that size; every failure is a DatasetError naming the file and member."""
    path = Path(path)
    out = {}
    try:
        with zipfile.ZipFile(path) as archive:
            members = {}
            for info in archive.infolist():
                name = info.filename
                members.setdefault(name[:-4] if name.endswith(".npy") else name, info)
            missing = [k for k in keys if k not in members]
            if missing:
                raise DatasetError(f"{path} lacks the arrays {missing}; it holds {sorted(members)[:20]}")
            for key in keys:
                out[key] = _npz_member(archive, members[key], f"{path}: array '{key}'")
    except DatasetError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, OSError, EOFError, zlib.error,
            UnicodeDecodeError, ValueError, RuntimeError) as exc:
        raise DatasetError(f"{path} is not a readable .npz archive (corrupt or truncated?): {exc!s:.200}") from exc
    return out


def check_split(name: str, x: np.ndarray, y: np.ndarray, image_shape: tuple[int, ...], source: Path) -> None:
    """Images and labels of one split agree with each other and with the dataset's image shape."""
    if x.shape[1:] != image_shape:
        expected = ", ".join(map(str, image_shape))
        raise DatasetError(f"{source}: {name} images have shape {x.shape}, expected (n, {expected})")
    if len(x) != len(y):
        raise DatasetError(f"{source}: {name} has {len(x)} images but {len(y)} labels")


# ------------------------------------------------------------------------------------------- CIFAR
def _check_records(size: int, n_labels: int, source: str) -> None:
    record = n_labels + 3 * 32 * 32
    if size == 0 or size % record:
        raise DatasetError(
            f"{source}: {size} bytes is not a whole number of {record}-byte CIFAR records "
            f"(truncated file, or the python version of the archive instead of the binary one?)"
        )
    check_declared(size, size, False, source)


def _records(data: np.ndarray, n_labels: int, source: str) -> tuple[np.ndarray, np.ndarray]:
    record = n_labels + 3 * 32 * 32
    _check_records(len(data), n_labels, source)
    rows = data.reshape(-1, record)
    labels = rows[:, :n_labels]
    # Each image is stored as 1024 red, 1024 green, 1024 blue bytes, row-major: (3, 32, 32) -> (32, 32, 3).
    images = rows[:, n_labels:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(images), labels.copy()


def _cifar_room(path: Path, member: tarfile.TarInfo, compressed: bool) -> None:
    where = f"{path}:{member.name}"
    if not member.isfile():
        kind = "a link" if member.issym() or member.islnk() else "not a regular file"
        raise DatasetError(f"{where} is {kind}; a CIFAR archive holds the batches themselves")
    check_declared(member.size, path.stat().st_size, compressed, where)


def read_cifar(path: str | os.PathLike, members: list[str], n_labels: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Read CIFAR binary batches by name from a ``.tar.gz`` archive or a folder of ``.bin`` files.

    A member's size is checked (regular file, within limits, what the archive can hold) before it is read,
    once, into an array of exactly that size; links and other special members are refused."""
    path = Path(path)
    chunks: list[tuple[np.ndarray, np.ndarray]] = []
    if path.is_dir():
        for member in members:
            file = path / Path(member).name
            if not file.is_file():
                raise DatasetError(f"{path} lacks {file.name} (expected the files {[Path(m).name for m in members]})")
            size = file.stat().st_size
            _check_records(size, n_labels, str(file))
            with open(file, "rb") as f:
                chunks.append(_records(read_exact(f, size, str(file)), n_labels, str(file)))
        return chunks
    try:
        with open(path, "rb") as raw:
            magic = raw.read(6)
            raw.seek(0)
            compressed = magic[:2] == b"\x1f\x8b"
            if magic[:3] == b"BZh" or magic == b"\xfd7zXZ\x00":
                raise DatasetError(f"{path} is a bzip2/xz archive; CIFAR's binary version is a .tar.gz (or its "
                                   f"unpacked folder)")
            mode = "r:gz" if compressed else "r:"
            with tarfile.open(fileobj=ClampedFile(raw), mode=mode) as tar:  # type: ignore[call-overload]
                chunks = _read_members(tar, path, members, compressed, n_labels)
    except (tarfile.TarError, OSError, EOFError, zlib.error, KeyError, ValueError) as exc:
        if isinstance(exc, DatasetError):
            raise
        raise DatasetError(f"{path} is not a readable tar archive (corrupt or truncated?): {exc!s:.200}") from exc
    return chunks


def _read_members(tar: tarfile.TarFile, path: Path, members: list[str], compressed: bool,
                  n_labels: int) -> list[tuple[np.ndarray, np.ndarray]]:
    chunks = []
    found = {info.name: info for info in tar.getmembers()}
    for member in members:
        if member not in found:
            raise DatasetError(
                f"{path} lacks {member}: is it CIFAR's binary version? (it holds e.g. {sorted(found)[:4]})"
            )
        info = found[member]
        _cifar_room(path, info, compressed)
        _check_records(info.size, n_labels, f"{path}:{member}")
        handle = tar.extractfile(info)
        if handle is None:
            raise DatasetError(f"{path}: {member} is not a regular file")
        chunks.append(_records(read_exact(handle, info.size, f"{path}:{member}"), n_labels, f"{path}:{member}"))
    return chunks
