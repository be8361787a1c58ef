"""The `.neurona` file: a zip archive with a fixed, small set of members, read without trusting it.

Members (nothing else is accepted):

    config.json            the model's architecture and compile settings (JSON)
    metadata.json          format version, neurona and NumPy versions, save date (JSON)
    model.safetensors      the weights, by layer-qualified name ("dense/kernel")
    optimizer.safetensors  optional: the optimizer's state (slots and iteration count)
    training.json          optional: where an interrupted fit resumes (epoch, random-generator state)

Reading never extracts to disk: each member is read into memory after its name, type and size have
been checked. Refused: names with '..', absolute paths or backslashes, names outside the list above,
duplicate names, symbolic links, directories, encrypted members, members larger than their limit
(declared *and* actually decompressed), and compression ratios only a zip bomb reaches.
"""

from __future__ import annotations

import os
import stat
import struct
import zipfile
import zlib
from collections.abc import Collection, Mapping
from typing import Any

from . import safetensors_io
from .atomic import atomic_write
from .errors import UnsafeFileError
from .sniff import describe, sniff

JSON_MEMBERS = ("config.json", "metadata.json", "training.json")
TENSOR_MEMBERS = ("model.safetensors", "optimizer.safetensors")
MEMBERS = JSON_MEMBERS + TENSOR_MEMBERS

MAX_JSON_BYTES = 8 * 2**20  # a config of 10,000 layers is ~3 MiB
MAX_TENSOR_BYTES = 16 * 2**30
MAX_RATIO = 200  # configs compress ~10-fold; a member inflating 200-fold is a bomb
MAX_TENSOR_RATIO = 10  # weights barely compress (and neurona and Keras store them uncompressed)
_RATIO_FLOOR = 2**20  # below this size, any ratio is harmless
_CHUNK = 2**20
_FIXED_DATE = (1980, 1, 1, 0, 0, 0)  # the same model saved twice gives the same bytes
# What zipfile and zlib raise on a damaged archive (bad headers, zip64 locators, non-UTF-8 names, bad
# deflate streams, declared sizes that do not fit): turned into UnsafeFileError at the readers' boundary.
ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, NotImplementedError, OSError,
              ValueError, UnicodeDecodeError, KeyError, IndexError, OverflowError, struct.error, MemoryError)


def write_archive(path: str | os.PathLike, members: Mapping[str, bytes], overwrite: bool = True) -> None:
    """Write the members to a .neurona zip atomically (JSON compressed, weights stored as they are)."""
    for name in members:
        if name not in MEMBERS:
            raise ValueError(f"{name!r} is not a .neurona member; allowed: {', '.join(MEMBERS)}")
    with atomic_write(path, overwrite=overwrite) as f, zipfile.ZipFile(f, "w") as archive:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, date_time=_FIXED_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED if name in JSON_MEMBERS else zipfile.ZIP_STORED
            info.external_attr = (stat.S_IFREG | 0o644) << 16
            archive.writestr(info, data)


def check_member(info: zipfile.ZipInfo, seen: set[str], source: str, limit: int | None,
                 expected: Collection[str] | None = None) -> None:
    """Refuse a zip member before anything reads it: an absolute path, '..', a symbolic link, a name outside
    `expected` (None: any name), a duplicate, encryption, and, when it is to be read (`limit` not None), a
    declared size over `limit` or a compression ratio only a zip bomb reaches. `seen` collects the names."""
    name = info.filename
    if not name or "\x00" in name:
        raise UnsafeFileError(f"{source}: a member has an empty or invalid name {name!r}")
    parts = name.replace("\\", "/").split("/")
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        raise UnsafeFileError(f"{source}: member {name!r} has an absolute path")
    if ".." in parts:
        raise UnsafeFileError(f"{source}: member {name!r} points outside the archive ('..')")
    if stat.S_ISLNK(info.external_attr >> 16):
        raise UnsafeFileError(f"{source}: member {name!r} is a symbolic link")
    if expected is not None and (info.is_dir() or name not in expected):
        raise UnsafeFileError(f"{source}: unexpected member {name!r}; the archive may hold only "
                              f"{', '.join(expected)}")
    if name in seen:
        raise UnsafeFileError(f"{source}: member {name!r} appears twice")
    seen.add(name)
    if info.flag_bits & 0x1:
        raise UnsafeFileError(f"{source}: member {name!r} is encrypted")
    if limit is None:
        return
    if info.file_size > limit:
        raise UnsafeFileError(f"{source}: member {name!r} declares {info.file_size} bytes uncompressed, "
                              f"over the limit of {limit}")
    ratio = MAX_TENSOR_RATIO if name.endswith((".safetensors", ".h5")) else MAX_RATIO
    if info.file_size > _RATIO_FLOOR and info.file_size > ratio * max(info.compress_size, 1):
        raise UnsafeFileError(f"{source}: member {name!r} would inflate {info.compress_size} bytes to "
                              f"{info.file_size} (ratio over {ratio}: a zip bomb?)")


def read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, source: str) -> bytes | bytearray:
    """The bytes of a checked member, streamed into one buffer of the declared size (so the member is held
    once, never as chunks plus their join): a member that decompresses to more is lying."""
    size = info.file_size
    buffer = bytearray(size)
    view = memoryview(buffer)
    total = 0
    with archive.open(info) as stream:
        while total < size:
            n = stream.readinto(view[total:total + _CHUNK])
            if not n:
                raise UnsafeFileError(f"{source}: member {info.filename!r} is truncated")
            total += n
        if stream.read(1):
            raise UnsafeFileError(f"{source}: member {info.filename!r} decompresses past its declared size")
    return buffer


def read_archive(
    path: str | os.PathLike, max_json_bytes: int = MAX_JSON_BYTES, max_tensor_bytes: int = MAX_TENSOR_BYTES
) -> dict[str, bytes]:
    """Read a .neurona archive into {member name: bytes}, refusing anything unexpected (see module doc)."""
    source = os.fspath(path)
    if not os.path.isfile(source):
        raise FileNotFoundError(f"no such file: {source!r}")
    kind = sniff(source)
    if kind not in ("neurona", "zip"):
        raise UnsafeFileError(f"{source}: not a .neurona archive: this is {describe(kind)}")
    limits = {name: max_json_bytes for name in JSON_MEMBERS} | {name: max_tensor_bytes for name in TENSOR_MEMBERS}
    try:
        with zipfile.ZipFile(source) as archive:
            infos = archive.infolist()
            if len(infos) > len(MEMBERS):
                raise UnsafeFileError(f"{source}: {len(infos)} members, a .neurona archive has at most {len(MEMBERS)}")
            seen: set[str] = set()
            for info in infos:
                check_member(info, seen, source, limits.get(info.filename), expected=MEMBERS)
            return {info.filename: read_member(archive, info, source) for info in infos}
    except (FileNotFoundError, PermissionError, UnsafeFileError):
        raise
    except ZIP_ERRORS as exc:
        raise UnsafeFileError(f"{source}: corrupt .neurona archive ({type(exc).__name__}: {exc})") from None


def read_tensors(reader: Any, data: Any, source: str = "<bytes>") -> tuple[dict[str, Any], dict[str, str]]:
    """`reader(data, source=...)` with NumPy's own complaints about a header (a zero-size shape whose other
    dimensions overflow, say) reported as UnsafeFileError naming the file."""
    try:
        return reader(data, source=source) if reader is not safetensors_io.load_file else reader(data)
    except (UnsafeFileError, FileNotFoundError, PermissionError):
        raise
    except (ValueError, TypeError, OverflowError, MemoryError) as exc:
        raise UnsafeFileError(f"{source}: unreadable safetensors data ({type(exc).__name__}: {exc})") from None


def model_weights(members: Mapping[str, Any], source: str) -> tuple[dict[str, Any], dict[str, str]]:
    """The arrays of an archive's `model.safetensors` member (views into its bytes: nothing copied)."""
    return read_tensors(safetensors_io.loads, members["model.safetensors"], source=f"{source}:model.safetensors")
