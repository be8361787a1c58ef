"""Module-level switches that tests and benchmarks flip for a while (the two-halves split, the convolution
paths): each is a one-element list read by the code it steers, and `overriding` sets it and puts it back."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any


@contextlib.contextmanager
def overriding(cell: list[Any], value: Any) -> Iterator[None]:
    """cell[0] = value while the context lasts, then the old value again (also when the body raises)."""
    old = cell[0]
    cell[0] = value
    try:
        yield
    finally:
        cell[0] = old
