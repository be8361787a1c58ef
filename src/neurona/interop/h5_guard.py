"""HDF5 reads that cannot hang: global heaps checked before the library parses them, attributes read
only after their size, shape and type are known.

Variable-length strings (the names in Keras's `layer_names`/`weight_names` attributes) live in "global
heap collections" (`GCOL` blocks). The HDF5 library walks a collection object by object, each object
saying how long it is; a damaged length can leave the walk on a free-space object of size zero, where
it stops advancing and spins forever (found by fuzzing: one changed byte in a valid file). So before any
attribute of an untrusted file is read, every collection in the file is walked here the way the library
walks it, and a collection whose walk would not land exactly on its end is refused; so is a reference to a
heap object (a variable-length value) that claims more elements than the object holds.

Attributes are then read after a look through the low-level API: their dataspace (at most 1-D and
`MAX_ATTR_ITEMS` values), type (strings or numbers) and declared size are checked before any value is read.
"""

from __future__ import annotations

import bisect
import math
import mmap
import os
from typing import Any

import numpy as np

from ..saving.errors import UnsafeFileError

MAX_ATTR_ITEMS = 1_000_000
MAX_ATTR_BYTES = 64 * 2**20
_SIGNATURE = b"\x89HDF\r\n\x1a\n"


def _lengths_size(data: Any, name: str) -> int:
    """The superblock's "size of lengths" (8 in every file h5py writes)."""
    if bytes(data[:8]) != _SIGNATURE or len(data) < 16:
        raise UnsafeFileError(f"{name}: not an HDF5 file (no HDF5 signature at its start)")
    version = data[8]
    offsets, size = (data[13], data[14]) if version in (0, 1) else (data[9], data[10]) if version in (2, 3) \
        else (None, None)
    if offsets != 8 or size not in (4, 8):
        raise UnsafeFileError(f"{name}: unsupported HDF5 superblock (version {version}, size of offsets {offsets}, "
                              f"size of lengths {size})")
    return size


def _check_collection(data: Any, at: int, lengths: int, name: str) -> dict[int, int]:
    """Walk the global heap collection at offset `at` as HDF5's H5HG deserializer does; refuse a walk that
    would stall (an object of size zero), overrun the collection, or not end exactly at its end. Returns
    {object index: size} of the collection's objects."""
    header = 8 + lengths
    objects: dict[int, int] = {}
    if at + header > len(data) or data[at + 4] != 1:  # not a collection HDF5 would accept: it errors, not hangs
        return objects
    size = int.from_bytes(data[at + 8:at + 8 + lengths], "little")
    end = at + size
    if size < header or end > len(data):
        raise UnsafeFileError(f"{name}: HDF5 global heap at byte {at} declares {size} bytes, past the end of the "
                              f"file or too small (a damaged file)")
    p = at + ((header + 7) // 8) * 8
    object_header = 8 + lengths
    while p < end:
        if p + object_header > end:  # too small for an object: the library takes it as free space
            return objects
        index = int.from_bytes(data[p:p + 2], "little")
        length = int.from_bytes(data[p + 8:p + 8 + lengths], "little")
        need = object_header + (length + 7) // 8 * 8 if index > 0 else length
        if need == 0 or p + need > end:
            raise UnsafeFileError(f"{name}: damaged HDF5 global heap at byte {at}: object {index} at byte {p} "
                                  f"declares {length} bytes, which the library would "
                                  f"{'loop on forever' if need == 0 else 'read past the heap'}; refused")
        if index > 0:
            objects[index] = length
        p += need
    if p != end:
        raise UnsafeFileError(f"{name}: damaged HDF5 global heap at byte {at}: its objects do not add up to its size")
    return objects


def _check_references(data: Any, at: int, objects: dict[int, int], name: str,
                      skip: list[tuple[int, int]]) -> None:
    """Every reference to the collection at `at` (a variable-length value: its length, 4 bytes, then the
    collection's address and the object's index, 4 bytes) must not claim more elements than the object
    holds bytes: the library allocates and copies what the reference claims (a damaged length of 3e9 had
    it churn through gigabytes for one five-letter name). Byte ranges in `skip` (datasets' raw data, where
    weights can hold the address's bytes by chance) are not references."""
    starts = [a for a, _ in skip]
    address = at.to_bytes(8, "little")
    q = data.find(address)
    while q != -1:
        i = bisect.bisect_right(starts, q) - 1
        if i >= 0 and q < skip[i][1]:
            q = data.find(address, skip[i][1])
            continue
        if q >= 12 and q + 12 <= len(data):
            index = int.from_bytes(data[q + 8:q + 12], "little")
            claimed = int.from_bytes(data[q - 4:q], "little")
            if index in objects and claimed > objects[index] and _in_vlen_data(data, q - 4, address):
                raise UnsafeFileError(f"{name}: a variable-length value at byte {q - 4} claims {claimed} elements but "
                                      f"its HDF5 heap object {index} holds {objects[index]} bytes (a damaged file)")
        q = data.find(address, q + 1)


def _in_vlen_data(data: Any, record: int, address: bytes) -> bool:
    """Whether the 16 bytes at `record` sit where an attribute's variable-length values are stored: after the
    dataspace's last dimension (a count from 1 to MAX_ATTR_ITEMS; a scalar's v1 dataspace header reads as 1)
    or after another value in the same heap. Other matches of the heap's address are metadata or numbers
    that hold those 8 bytes by chance (seen in a Keras-saved InceptionV3), not references."""
    before = int.from_bytes(data[record - 8:record], "little")
    if 1 <= before <= MAX_ATTR_ITEMS:
        return True
    return record >= 16 and bytes(data[record - 12:record - 4]) == address


def check_global_heaps(source: Any, name: str, references: bool = True,
                       skip: list[tuple[int, int]] | None = None) -> None:
    """Refuse an HDF5 file (a path or its bytes) holding a global heap collection the library would spin on,
    and (`references`) a variable-length value claiming more than its heap object holds; `skip`: the
    (start, end) byte ranges of the datasets' raw data, which hold numbers, not references.

    Run the references check once links, virtual datasets and non-numeric datasets have been refused
    (`check_tree`): a virtual dataset's mapping also points into a heap, without a length in front.
    """
    ranges = sorted(skip or [])
    if isinstance(source, (bytes, bytearray)):
        _scan(source, name, references, ranges)
        return
    with open(os.fspath(source), "rb") as f:
        if os.fstat(f.fileno()).st_size == 0:
            raise UnsafeFileError(f"{name}: empty file")
        with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as view:
            _scan(view, name, references, ranges)


def _scan(data: Any, name: str, references: bool, skip: list[tuple[int, int]]) -> None:
    lengths = _lengths_size(data, name)
    collections = {}
    at = data.find(b"GCOL")
    while at != -1:
        collections[at] = _check_collection(data, at, lengths, name)
        at = data.find(b"GCOL", at + 4)
    for at, objects in collections.items():
        if objects and references:
            _check_references(data, at, objects, name, skip)


def read_attr(obj: Any, key: str, where: str) -> Any:
    """The attribute `key` of an open HDF5 object, or None when absent, after checking its size and type.

    Returns a str/bytes/number for a scalar, a NumPy array for a 1-D attribute. Refused: more than
    `MAX_ATTR_ITEMS` values or `MAX_ATTR_BYTES` of storage, more than one dimension, types other than
    strings and numbers.
    """
    from .keras_h5 import h5py_module

    h5py = h5py_module()
    raw_key = key.encode("utf-8")
    if not h5py.h5a.exists(obj.id, raw_key):
        return None
    attr = h5py.h5a.open(obj.id, raw_key)
    shape = attr.shape
    items = math.prod(shape) if shape else 1
    if shape is not None and len(shape) > 1 or items > MAX_ATTR_ITEMS:
        raise UnsafeFileError(f"{where}: attribute {key!r} has shape {shape}; at most a list of {MAX_ATTR_ITEMS} "
                              f"values is expected")
    kind = attr.get_type()
    if items * kind.get_size() > MAX_ATTR_BYTES:  # a variable-length string counts its 16-byte reference here
        raise UnsafeFileError(f"{where}: attribute {key!r} declares {items * kind.get_size()} bytes, over the limit "
                              f"of {MAX_ATTR_BYTES}")
    type_class = kind.get_class()
    if type_class not in (h5py.h5t.STRING, h5py.h5t.INTEGER, h5py.h5t.FLOAT):
        raise UnsafeFileError(f"{where}: attribute {key!r} is neither strings nor numbers (HDF5 type class "
                              f"{type_class})")
    if shape is None:  # an empty (null) dataspace
        return np.array([], dtype=object)
    value = obj.attrs[key]
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value[()]
    return value



def raw_data_ranges(h5: Any) -> list[tuple[int, int]]:
    """(start, end) byte offsets of every dataset's stored values in an open, already checked HDF5 file."""
    from .keras_h5 import h5py_module

    h5py = h5py_module()
    ranges: list[tuple[int, int]] = []

    def visit(_name: str, obj: Any) -> None:
        if not isinstance(obj, h5py.Dataset):
            return
        dsid = obj.id
        offset = dsid.get_offset()
        if offset is not None:
            ranges.append((offset, offset + dsid.get_storage_size()))
        elif obj.chunks is not None:
            for i in range(dsid.get_num_chunks()):
                info = dsid.get_chunk_info(i)
                ranges.append((info.byte_offset, info.byte_offset + info.size))

    h5.visititems(visit)
    return ranges
