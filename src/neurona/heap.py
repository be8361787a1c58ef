"""Keep the memory a training step frees for the next step (glibc's malloc thresholds, set once per process).

Every training step allocates its activations and gradients afresh and frees them at the end: the wide MLP
(784-512-512-10, batch 128) frees about 3.5 MB per step, the slide CNN tens of MB. With glibc's default,
adaptive thresholds, a block freed at the top of the heap that leaves more than the trim threshold free is
handed back to the kernel (and a large block can come from its own mmap), so the next step faults the same
pages in again: in a fresh process the wide MLP took ~800 page faults and ~1 ms of kernel time per 3.5 ms
step (docs/performance.md, "Wide MLP (#18), round two"). Fixing the two thresholds at the values glibc's own
adaptation reaches after freeing one 32 MB block (mmap from 32 MiB, trim above 64 MiB free) keeps those
pages: the same step then takes ~1 page fault. The arithmetic is untouched.

`keep_freed_memory()` is called by the optimizers at their first update, so `fit` and hand-written loops
alike get it, and by `predict` (each batch's activations are freed and allocated again too). It does nothing
off glibc, when the user set the thresholds (`MALLOC_TRIM_THRESHOLD_`, `MALLOC_MMAP_THRESHOLD_`,
`GLIBC_TUNABLES`), or with `NEURONA_KEEP_HEAP=0`. The cost: a process that trained keeps up to 64 MiB of
freed heap mapped instead of returning it to the system.
"""

from __future__ import annotations

import ctypes
import os
import sys
import threading

MMAP_THRESHOLD = 32 << 20  # bytes: smaller blocks come from the heap (glibc's adaptive maximum on 64-bit)
TRIM_THRESHOLD = 64 << 20  # bytes of free heap top kept mapped (twice the mmap threshold, as glibc adapts it)
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # mallopt's parameter numbers (glibc's malloc.h)
_USER_SETTINGS = ("MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TOP_PAD_")

_done: list[bool] = []  # [whether the thresholds were set] once decided
_lock = threading.Lock()


def wanted() -> bool:
    """Whether neurona may set the thresholds here: Linux with glibc, and nobody chose them already."""
    if not sys.platform.startswith("linux") or os.environ.get("NEURONA_KEEP_HEAP", "1") == "0":
        return False
    if any(name in os.environ for name in _USER_SETTINGS) or "malloc" in os.environ.get("GLIBC_TUNABLES", ""):
        return False
    return True


def keep_freed_memory() -> bool:
    """Set glibc's mmap and trim thresholds once per process (see the module docstring); True when they are set."""
    if _done:
        return _done[0]
    with _lock:
        if not _done:
            _done.append(_set_thresholds() if wanted() else False)
    return _done[0]


def _set_thresholds() -> bool:
    try:
        libc = ctypes.CDLL(None)  # the symbols already loaded into Python: its C library's among them
        if not hasattr(libc, "gnu_get_libc_version") or not hasattr(libc, "mallopt"):
            return False  # musl and other C libraries: their malloc has no such knobs
        libc.mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
        return bool(libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and \
            bool(libc.mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))
    except (OSError, AttributeError):
        return False


__all__ = ["MMAP_THRESHOLD", "TRIM_THRESHOLD", "keep_freed_memory", "wanted"]
