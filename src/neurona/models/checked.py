"""Input validation once per array: an array already scanned for NaN/inf is not scanned again.

fit/evaluate/predict are often called again and again on the same arrays (one fit per epoch in a loop,
predict_on_batch on one sample). An array is remembered by identity together with its buffer address, shape,
strides and dtype, through a weak reference, so a new or reallocated array is always checked. Writing NaN
into an array in place after it was checked is not noticed: validate such data yourself.
"""

from __future__ import annotations

import weakref
from typing import Any

import numpy as np

from .data import check_finite

_SEEN: dict[int, tuple[Any, ...]] = {}
_LIMIT = 64


def _key(arr: np.ndarray) -> tuple[Any, ...]:
    return arr.__array_interface__["data"][0], arr.shape, arr.strides, arr.dtype.str


def check_finite_once(arr: np.ndarray, name: str, dtype: Any = None) -> None:
    """`check_finite(arr, name, dtype)`, skipped for an array that already passed it unchanged in shape and place."""
    if not isinstance(arr, np.ndarray):  # a DataFrame's columns (frames.FrameColumns): checked by column
        check_finite(arr, name, dtype)
        return
    key = (*_key(arr), None if dtype is None else np.dtype(dtype).str)
    entry = _SEEN.get(id(arr))
    if entry is not None and entry[0]() is arr and entry[1] == key:
        return
    check_finite(arr, name, dtype)
    if arr.dtype.kind != "f" or arr.base is not None and not arr.flags.owndata and arr.size < 4096:
        return  # small views (batches cut from a bigger array) are cheap to check and short-lived
    if len(_SEEN) >= _LIMIT:
        _SEEN.clear()
    _SEEN[id(arr)] = (weakref.ref(arr), key)


__all__ = ["check_finite_once"]
