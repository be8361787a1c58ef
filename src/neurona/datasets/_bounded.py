"""Reading dataset files with bounded memory: sizes checked before anything is inflated or allocated.

A hostile or corrupt file can declare any size in its header, and a small compressed file can inflate to
gigabytes. So every reader here (1) reads the header first, (2) computes the declared payload with Python's
exact integers (no wrap-around), (3) compares it with what the file can physically hold: the bytes left
in a plain file, or `MAX_DEFLATE_RATIO` times the compressed bytes (deflate cannot do better), and with
`MAX_ARRAY_BYTES` (and, past 64 MiB, `MAX_INFLATION_RATIO`), and only then (4) allocates the array once
and inflates into it in 1 MiB chunks.
"""

from __future__ import annotations

import math
import os
from typing import BinaryIO

import numpy as np

from ._files import DatasetError

MAX_ARRAY_BYTES = 1 << 30  # the largest array a dataset file may declare (CIFAR-100: 150 MB, EMNIST: 550 MB)
MAX_DEFLATE_RATIO = 1032  # deflate's maximum: one 258-byte match per 2 bits (zlib's technical notes)
# Real image and table datasets compress 1-10 fold (MNIST's images: 4.7); a file inflating more than this
# past RATIO_FREE_BYTES is treated as a decompression bomb, so a 1 MB file never becomes more than ~100 MB.
MAX_INFLATION_RATIO = 100
RATIO_FREE_BYTES = 64 << 20
_CHUNK = 1 << 20


def check_declared(nbytes: int, room: int, compressed: bool, source: str) -> None:
    """Refuse a payload of `nbytes` that cannot fit in `room` stored bytes (or their inflation) or the limit."""
    if nbytes > MAX_ARRAY_BYTES:
        raise DatasetError(f"{source}: the header declares {nbytes:,} bytes of data, over the limit of "
                           f"{MAX_ARRAY_BYTES:,} (neurona.datasets._bounded.MAX_ARRAY_BYTES): corrupt file?")
    most = room * MAX_DEFLATE_RATIO if compressed else room
    if nbytes > most:
        kind = f"{room:,} compressed bytes can inflate to at most {most:,}" if compressed else \
            f"the file holds {room:,} bytes after the header"
        raise DatasetError(f"{source} is truncated or corrupt: the header declares {nbytes:,} bytes of data, "
                           f"but {kind}")
    if compressed and nbytes > RATIO_FREE_BYTES and nbytes > room * MAX_INFLATION_RATIO:
        raise DatasetError(f"{source}: {room:,} compressed bytes declare {nbytes:,} bytes of data, a ratio of "
                           f"{nbytes // max(room, 1):,} to 1 that no real dataset has (a decompression bomb?); if "
                           f"the file is genuine, raise neurona.datasets._bounded.MAX_INFLATION_RATIO "
                           f"({MAX_INFLATION_RATIO})")


def check_shape(shape: tuple[int, ...], itemsize: int, source: str) -> None:
    """Refuse an empty shape whose other dimensions NumPy cannot represent (``(0, 10**30)`` is no array);
    call it after `check_declared`, which refuses non-empty shapes over the limit."""
    nonzero = math.prod(d for d in shape if d) * max(itemsize, 1)
    if nonzero > MAX_ARRAY_BYTES:
        raise DatasetError(f"{source}: the header declares shape {shape}: no element, but dimensions that "
                           f"multiply past {MAX_ARRAY_BYTES:,} bytes, which no dataset array can have")


def read_exact(stream: BinaryIO, nbytes: int, source: str, what: str = "data") -> np.ndarray:
    """`nbytes` bytes of `stream` in one uint8 array allocated once, then a check that nothing follows."""
    out = np.empty(nbytes, np.uint8)
    view = memoryview(out)
    position = 0
    while position < nbytes:
        got = stream.readinto(view[position:position + _CHUNK])
        if not got:
            raise DatasetError(f"{source} is truncated: its header declares {nbytes:,} bytes of {what}, "
                               f"the file holds {position:,}")
        position += got
    if stream.read(1):
        raise DatasetError(f"{source} is longer than its header says ({nbytes:,} bytes of {what} declared)")
    return out


class ClampedFile:
    """A read-only file whose `read(n)` never asks for more than what is left in it.

    Python's file objects allocate `n` bytes before reading, so a library trusting a size field (tarfile
    reading a GNU long name of declared size 2**40) would allocate that much for a 10 KB file."""

    def __init__(self, f: BinaryIO) -> None:
        self._f = f
        self.name = getattr(f, "name", None)
        self.mode = "rb"
        self._size = os.fstat(f.fileno()).st_size

    def read(self, n: int = -1) -> bytes:
        left = max(0, self._size - self._f.tell())
        return self._f.read(left if n is None or n < 0 or n > left else n)

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._f.seek(offset, whence)

    def tell(self) -> int:
        return self._f.tell()

    def seekable(self) -> bool:
        return True

    def readable(self) -> bool:
        return True

    def close(self) -> None:  # the caller's `with open(...)` closes the real file
        pass
