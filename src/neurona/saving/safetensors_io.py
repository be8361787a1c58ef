"""Read and write the safetensors format with NumPy alone, checking everything before allocating.

The format (https://huggingface.co/docs/safetensors) is three parts:

    8 bytes   N, the header length, unsigned little-endian
    N bytes   a JSON object {"name": {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}, ...,
              "__metadata__": {"str": "str"}} (optional), padded with spaces
    the rest  the tensors' bytes, little-endian, C order, offsets relative to the start of this part

Nothing in it can run code. A hostile file can still lie about sizes, so the reader checks, before it
allocates a single array: the header length against a limit and against the file size, that the JSON has
no duplicate names, that each dtype is one NumPy can hold, that every declared shape times the item size
equals the declared byte range (with Python's exact integers: no overflow), and that the ranges cover the
data part exactly once (no overlap, no gap, nothing past the end).

Files written here are read by the `safetensors` package and vice versa (tested when it is installed).
"""

from __future__ import annotations

import io
import json
import math
import os
import struct
from collections.abc import Mapping
from typing import BinaryIO

import numpy as np

from .atomic import atomic_write
from .errors import UnsafeFileError

MAX_HEADER_BYTES = 100_000_000  # the reference implementation's limit
MAX_RANK = 32
MAX_SHAPE_BYTES = 2**62  # NumPy refuses shapes whose non-zero dimensions multiply past its intp, even empty ones

# safetensors dtype code -> NumPy dtype (little-endian). BF16 is read (widened to float32) but not written.
_DTYPES: dict[str, np.dtype] = {
    "F16": np.dtype("<f2"), "F32": np.dtype("<f4"), "F64": np.dtype("<f8"),
    "I8": np.dtype("i1"), "I16": np.dtype("<i2"), "I32": np.dtype("<i4"), "I64": np.dtype("<i8"),
    "U8": np.dtype("u1"), "U16": np.dtype("<u2"), "U32": np.dtype("<u4"), "U64": np.dtype("<u8"),
    "BOOL": np.dtype("u1"), "BF16": np.dtype("<u2"),
}
_CODES: dict[tuple[str, int], str] = {
    ("f", 2): "F16", ("f", 4): "F32", ("f", 8): "F64",
    ("i", 1): "I8", ("i", 2): "I16", ("i", 4): "I32", ("i", 8): "I64",
    ("u", 1): "U8", ("u", 2): "U16", ("u", 4): "U32", ("u", 8): "U64", ("b", 1): "BOOL",
}


# ------------------------------------------------------------------------------------------------ writing
def _code_for(name: str, array: np.ndarray) -> str:
    code = _CODES.get((array.dtype.kind, array.dtype.itemsize))
    if code is None:
        raise TypeError(
            f"cannot save array {name!r}: dtype {array.dtype} is not storable in safetensors "
            f"(supported: float16/32/64, int8-64, uint8-64, bool)"
        )
    return code


def write_safetensors(f: BinaryIO, arrays: Mapping[str, np.ndarray], metadata: Mapping[str, str] | None = None) -> None:
    """Write `arrays` (name -> ndarray) in safetensors format to the binary stream `f`.

    Arrays are streamed one by one, so no second copy of all the weights is built in memory.
    """
    prepared: list[tuple[str, str, np.ndarray]] = []
    for name, value in arrays.items():
        if not isinstance(name, str) or not name or name == "__metadata__":
            raise ValueError(f"cannot save array under the name {name!r}: names must be non-empty strings")
        array = np.asarray(value)
        code = _code_for(name, array)
        array = np.asarray(array, dtype=array.dtype.newbyteorder("<"), order="C")  # (keeps 0-d arrays 0-d)
        prepared.append((name, code, array))
    # Lay the bytes out widest item first so every tensor starts aligned (the header keeps the caller's order).
    layout = sorted(prepared, key=lambda item: -item[2].dtype.itemsize)
    offsets: dict[str, list[int]] = {}
    position = 0
    for name, _, array in layout:
        offsets[name] = [position, position + array.nbytes]
        position += array.nbytes
    header: dict[str, object] = {}
    if metadata:
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
            raise TypeError("safetensors metadata must map strings to strings")
        header["__metadata__"] = dict(metadata)
    for name, code, array in prepared:
        header[name] = {"dtype": code, "shape": list(array.shape), "data_offsets": offsets[name]}
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-(8 + len(text)) % 8)  # pad so the data part starts on an 8-byte boundary
    f.write(struct.pack("<Q", len(text)))
    f.write(text)
    for _, _, array in layout:
        f.write(memoryview(array.reshape(-1).view(np.uint8)))


def dumps(arrays: Mapping[str, np.ndarray], metadata: Mapping[str, str] | None = None) -> bytes:
    """The safetensors bytes of `arrays`."""
    buffer = io.BytesIO()
    write_safetensors(buffer, arrays, metadata)
    return buffer.getvalue()


def save_file(
    arrays: Mapping[str, np.ndarray], path: str | os.PathLike, metadata: Mapping[str, str] | None = None
) -> None:
    """Write `arrays` to a .safetensors file atomically (the old file survives any failure)."""
    with atomic_write(path) as f:
        write_safetensors(f, arrays, metadata)


# ------------------------------------------------------------------------------------------------ reading
def no_duplicate_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    """`json.loads`'s object_pairs_hook that refuses a key given twice (plain JSON keeps the last silently)."""
    result: dict[str, object] = {}
    for key, value in pairs:
        if key in result:
            raise UnsafeFileError(f"duplicate key {key!r}")
        result[key] = value
    return result


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _parse_header(raw: bytes, data_len: int, source: str) -> tuple[list[tuple[str, str, tuple, int, int]], dict]:
    """Validate the header against the data length; return (name, dtype code, shape, begin, end) entries."""
    if not raw.startswith(b"{"):
        raise UnsafeFileError(f"{source}: not a safetensors file (the header is not a JSON object)")
    try:
        header = json.loads(raw.decode("utf-8"), object_pairs_hook=no_duplicate_keys)
    except UnsafeFileError as exc:
        raise UnsafeFileError(f"{source}: {exc} in the header") from None
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise UnsafeFileError(f"{source}: the safetensors header is not valid JSON ({exc})") from None
    if not isinstance(header, dict):
        raise UnsafeFileError(f"{source}: the safetensors header is not a JSON object")
    metadata = header.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise UnsafeFileError(f"{source}: '__metadata__' must map strings to strings")
    entries = []
    for name, info in header.items():
        where = f"{source}: tensor {name!r}"
        if not name:
            raise UnsafeFileError(f"{source}: a tensor has an empty name")
        if not isinstance(info, dict) or set(info) != {"dtype", "shape", "data_offsets"}:
            raise UnsafeFileError(f"{where} must have exactly the keys dtype, shape, data_offsets; got {info!r:.200}")
        code, shape, span = info["dtype"], info["shape"], info["data_offsets"]
        if not isinstance(code, str) or code not in _DTYPES:  # (a list or dict is not even hashable)
            raise UnsafeFileError(f"{where} has unsupported dtype {code!r:.40}; allowed: {', '.join(_DTYPES)}")
        if not isinstance(shape, list) or len(shape) > MAX_RANK or not all(_is_int(d) and d >= 0 for d in shape):
            raise UnsafeFileError(f"{where} has an invalid shape {shape!r:.200} (a list of at most "
                                  f"{MAX_RANK} non-negative integers expected)")
        if not isinstance(span, list) or len(span) != 2 or not all(_is_int(o) for o in span):
            raise UnsafeFileError(f"{where} has invalid data_offsets {span!r:.200}")
        begin, end = span
        if not 0 <= begin <= end <= data_len:
            raise UnsafeFileError(f"{where} declares bytes [{begin}, {end}) but the data part holds {data_len} bytes "
                                  f"(truncated or corrupt file)")
        nbytes = math.prod(shape) * _DTYPES[code].itemsize  # exact integer: a huge shape cannot wrap around
        if nbytes != end - begin:
            raise UnsafeFileError(f"{where} declares shape {shape} of {code} = {nbytes} bytes, but its byte range "
                                  f"holds {end - begin}")
        if math.prod(d for d in shape if d) * _DTYPES[code].itemsize > MAX_SHAPE_BYTES:  # empty, yet absurd
            raise UnsafeFileError(f"{where} has shape {shape!r:.200}: no element, but dimensions that multiply "
                                  f"past {MAX_SHAPE_BYTES} bytes, which no NumPy array can have")
        entries.append((name, code, tuple(shape), begin, end))
    position = 0
    for name, _, _, begin, end in sorted(entries, key=lambda e: (e[3], e[4])):
        if begin != position:
            problem = "overlaps another tensor" if begin < position else f"leaves a gap at byte {position}"
            raise UnsafeFileError(f"{source}: tensor {name!r} {problem}")
        position = end
    if position != data_len:
        raise UnsafeFileError(f"{source}: {data_len - position} bytes after the last tensor belong to none")
    return entries, metadata


def _arrays_from_buffer(entries: list, buffer: bytes | bytearray | memoryview) -> dict[str, np.ndarray]:
    arrays = {}
    for name, code, shape, begin, end in entries:
        array = np.frombuffer(buffer, dtype=_DTYPES[code], count=(end - begin) // _DTYPES[code].itemsize,
                              offset=begin).reshape(shape)
        if code == "BOOL":
            array = array != 0
        elif code == "BF16":  # bfloat16 is the top half of a float32
            array = (array.astype(np.uint32) << 16).view(np.float32)
        arrays[name] = array
    return arrays


# What a file given to the safetensors reader often really is, by its first bytes.
_MAGICS = (
    (b"PK\x03\x04", "a zip archive (a .neurona or .keras model, or a PyTorch .pt checkpoint)"),
    (b"PK\x05\x06", "an empty zip archive"),
    (b"\x89HDF\r\n\x1a\n", "an HDF5 file (a Keras .h5 model or weights file)"),
    (b"\x93NUMPY", "a NumPy .npy file"),
    (b"\x1f\x8b", "a gzip-compressed file"),
)


def _sniff(prefix: bytes) -> str | None:
    """Name the format of a file whose first bytes are `prefix`, when it is a common non-safetensors one."""
    for magic, what in _MAGICS:
        if prefix.startswith(magic):
            return what
    if len(prefix) >= 2 and prefix[0] == 0x80 and 2 <= prefix[1] <= 5:
        return "a Python pickle (a legacy PyTorch .pt/.pth file; neurona never unpickles)"
    return None


def _not_safetensors(prefix: bytes, source: str) -> None:
    what = _sniff(prefix)
    if what is not None:
        raise UnsafeFileError(f"{source}: this is {what}, not a safetensors file")


def _split(length: int, read_prefix, source: str, max_header_bytes: int) -> tuple[int, bytes]:
    if length < 8:
        raise UnsafeFileError(f"{source}: truncated safetensors file ({length} bytes, the header length alone is 8)")
    prefix = read_prefix(8)
    (n,) = struct.unpack("<Q", prefix)
    if n > max_header_bytes or 8 + n > length:
        _not_safetensors(prefix, source)  # a zip or .pt read as a length is absurd: say what the file is
    if n > max_header_bytes:
        raise UnsafeFileError(f"{source}: safetensors header declares {n} bytes, over the limit of {max_header_bytes}")
    if 8 + n > length:
        raise UnsafeFileError(f"{source}: truncated safetensors file (header declares {n} bytes, "
                              f"file has {length - 8} after the length field)")
    return n, read_prefix(n)


def loads(
    data: bytes | bytearray | memoryview, source: str = "<bytes>", max_header_bytes: int = MAX_HEADER_BYTES
) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Parse safetensors bytes into (name -> ndarray, metadata). Arrays are views into `data`."""
    view = memoryview(data).cast("B")
    cursor = [0]

    def read_prefix(k: int) -> bytes:
        chunk = bytes(view[cursor[0]:cursor[0] + k])
        cursor[0] += k
        return chunk

    n, raw = _split(len(view), read_prefix, source, max_header_bytes)
    entries, metadata = _parse_header(raw, len(view) - 8 - n, source)
    return _arrays_from_buffer(entries, view[8 + n:]), metadata


def load_file(
    path: str | os.PathLike, max_header_bytes: int = MAX_HEADER_BYTES
) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Read a .safetensors file into (name -> ndarray, metadata), validating it before allocating."""
    source = os.fspath(path)
    with open(source, "rb") as f:
        length = os.fstat(f.fileno()).st_size
        n, raw = _split(length, f.read, source, max_header_bytes)
        entries, metadata = _parse_header(raw, length - 8 - n, source)
        buffer = bytearray(length - 8 - n)  # bounded by the real file size, checked against every tensor above
        if f.readinto(buffer) != len(buffer):
            raise UnsafeFileError(f"{source}: the file shrank while being read")
    return _arrays_from_buffer(entries, buffer), metadata
