"""Batch assembly in O(batch) whatever the input's layout.

`np.take` first makes its input C-contiguous, so on a strided view (`pairs[:, 0]`), a Fortran-ordered array
or a non-contiguous slice it copies the *whole* array for every batch. `Rows` gathers one batch instead:
`np.take(..., out=buffer)` where that is a pure gather (C-contiguous, same dtype), otherwise fancy indexing on
the first axis (which walks the strides and touches only the batch's rows) copied into the buffer, with the
conversion to the model's float dtype done there, per batch, never on the whole input. For a file-backed
`np.memmap` the file's size is checked before every read, so a file truncated underneath raises an error
naming it instead of a bus error.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np


def memmap_file(arr: np.ndarray) -> tuple[str, int] | None:
    """(file name, bytes the array needs from the file's start) for an array that views a file-backed memmap."""
    base: Any = arr
    while base is not None and not (isinstance(base, np.memmap) and getattr(base, "filename", None)):
        base = getattr(base, "base", None)
    if base is None:
        return None
    return str(base.filename), int(base.offset) + int(base.nbytes)


def check_memmap(arr: np.ndarray, name: str) -> None:
    """Raise (naming the file) when the file under a memmap is now shorter than the array it backs."""
    info = memmap_file(arr)
    if info is None:
        return
    path, needed = info
    try:
        size = os.stat(path).st_size
    except OSError as e:
        raise OSError(f"{name} is a memory-mapped view of {path!r}, which can no longer be read: {e}") from None
    if size < needed:
        raise OSError(f"{name} is a memory-mapped view of {path!r}, which shrank to {size} bytes while in use "
                      f"(the array needs {needed}); reading it would crash the process")


class Rows:
    """One input's batches: rows gathered into a reused buffer (or fresh arrays with `reuse=False`)."""

    def __init__(self, arr: np.ndarray, dtype: np.dtype | None, reuse: bool, name: str = "x", ring: int = 1) -> None:
        self.arr = arr
        self.name = name
        convert = dtype is not None and arr.dtype != dtype and arr.dtype.kind in "biuf"
        self.dtype = np.dtype(dtype) if convert else arr.dtype
        self.reuse = reuse
        self.direct = arr.flags.c_contiguous and self.dtype == arr.dtype
        self.mapped = memmap_file(arr) is not None
        self.frame = hasattr(arr, "take_into")  # a DataFrame's columns (frames.FrameColumns)
        self._bufs: list[np.ndarray | None] = [None] * ring  # a ring when batches are prepared ahead
        self._next = 0

    def _buffer(self, n: int) -> np.ndarray:
        if not self.reuse:
            return np.empty((n, *self.arr.shape[1:]), self.dtype)
        i = self._next
        self._next = (i + 1) % len(self._bufs)
        buf = self._bufs[i]
        if buf is None or len(buf) < n:
            buf = self._bufs[i] = np.empty((n, *self.arr.shape[1:]), self.dtype)
        return buf[:n]

    def take(self, idx: np.ndarray) -> np.ndarray:
        """Rows `idx` (in that order, each in range(len(arr)), unchecked) as one array of the target dtype."""
        if self.mapped:
            check_memmap(self.arr, self.name)
        out = self._buffer(len(idx))
        if self.frame:
            self.arr.take_into(idx, out)
        elif self.direct:
            # idx is a slice of a permutation of range(len(arr)), always in range: mode="clip" changes nothing
            # but skips NumPy's bounds-checked path, which gathers into a temporary batch-sized array and
            # copies it to out (one batch of memory more, and 2.6x slower for a 100x784 float32 batch)
            self.arr.take(idx, axis=0, out=out, mode="clip")  # the method: np.take adds two Python calls
        else:
            out[...] = self.arr[idx]  # fancy indexing: only the batch's rows, then one cast into the buffer
        return out

    def slice(self, start: int, stop: int) -> np.ndarray:
        """Rows start:stop: a view when no conversion is needed, else converted into the buffer."""
        if self.mapped:
            check_memmap(self.arr, self.name)
        if self.frame:
            stop = min(stop, len(self.arr))
            return self.arr.take_into(slice(start, stop), self._buffer(stop - start))
        part = self.arr[start:stop]
        if self.dtype == self.arr.dtype:
            return part
        out = self._buffer(len(part))
        out[...] = part
        return out


__all__ = ["Rows", "check_memmap", "memmap_file"]
