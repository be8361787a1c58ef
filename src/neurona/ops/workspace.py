"""Buffers reused from call to call by the ops of a replayed step (attention, layer normalisation).

A fresh multi-megabyte NumPy array is paid for in page faults each time it is first written (measured on this
project's machines: ~0.7 ms for the 2 MiB attention scores of the bench's transformer, against 0.15 ms for the
product into a reused buffer; docs/performance.md, "Attention and transformers"). An op that runs every training
step therefore keeps what its backward needs in buffers of its own (`op_buffer`), and takes its scratch --
arrays used and dropped within one forward or backward -- from a pool shared by every op of the thread
(`scratch`): one set of scratch buffers for the whole model, never one per op. Arrays an op returns are always
new: the caller may keep them.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np


class _Pool(threading.local):
    """Scratch buffers of one thread, by name (two threads training two halves of a batch never share one)."""

    def __init__(self) -> None:
        self.buffers: dict[str, np.ndarray] = {}


_POOL = _Pool()


def _get(pool: dict[str, np.ndarray], name: str, shape: tuple[int, ...], dtype: Any) -> np.ndarray:
    a = pool.get(name)
    if a is None or a.shape != shape or a.dtype != dtype:
        a = pool[name] = np.empty(shape, dtype)
    return a


def scratch(name: str, shape: tuple[int, ...], dtype: Any) -> np.ndarray:
    """The thread's scratch buffer `name` with this shape and dtype (uninitialised; valid until the next op
    asks for the same name)."""
    return _get(_POOL.buffers, name, shape, dtype)


def op_buffer(op: Any, name: str, shape: tuple[int, ...], dtype: Any) -> np.ndarray:
    """A buffer that belongs to `op` (kept on it from call to call: a replayed op reuses it)."""
    ws = op.__dict__.get("_ws")
    if ws is None:
        ws = op.__dict__["_ws"] = {}
    return _get(ws, name, shape, dtype)


def clear() -> None:
    """Drop this thread's scratch buffers (the bench's memory count starts from an empty pool)."""
    _POOL.buffers.clear()
