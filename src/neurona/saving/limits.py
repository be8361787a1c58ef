"""How much a file may make a loader build: a parameter and byte budget, checked weight by weight.

A model file is a small config plus the weights. The config alone can declare `Dense(10**9)`; building
that layer before looking at the weights would allocate gigabytes (and draw random numbers for them)
only to find the file holds a few bytes. Loaders therefore build inside `building_within(...)`:

- initialisers are skipped (weights start as zeros the file then overwrites: no random draws),
- every `add_weight` is checked *before* its array exists: against the parameters the file's weights
  actually hold (the model must match them exactly, so more is already an error) and against the
  process-wide budget `set_load_limits(max_params=..., max_bytes=...)`.

>>> set_load_limits(max_params=10**6)
>>> get_load_limits()["max_params"]
1000000
>>> set_load_limits(max_params=DEFAULT_MAX_PARAMS)
"""

from __future__ import annotations

import contextlib
import json
import math
import threading
from collections.abc import Iterator
from typing import Any

import numpy as np

from . import safetensors_io
from .errors import UnsafeFileError

DEFAULT_MAX_PARAMS = 2_000_000_000
DEFAULT_MAX_BYTES = 8 * 2**30
MAX_JSON_ITEMS = 1_000_000  # objects, arrays and strings in one config: ~100 per layer, 10,000 layers

_limits = {"max_params": DEFAULT_MAX_PARAMS, "max_bytes": DEFAULT_MAX_BYTES}
_local = threading.local()


def _positive(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0 or value != int(value):
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def set_load_limits(max_params: int | None = None, max_bytes: int | None = None) -> None:
    """Set the largest model any loader will build: `max_params` weights in total (default 2e9) and
    `max_bytes` of weight memory (default 8 GiB). None leaves a limit as it is."""
    if max_params is not None:
        _limits["max_params"] = _positive(max_params, "max_params")
    if max_bytes is not None:
        _limits["max_bytes"] = _positive(max_bytes, "max_bytes")


def get_load_limits() -> dict[str, int]:
    """The current limits: {"max_params": ..., "max_bytes": ...}."""
    return dict(_limits)


class _Budget:
    """The running total of one load; `check` is called by `Layer.add_weight` before allocating."""

    def __init__(self, source: str, file_params: int | None, max_params: int, max_bytes: int) -> None:
        self.source, self.file_params = source, file_params
        self.max_params, self.max_bytes = max_params, max_bytes
        self.params = self.bytes = 0

    def check(self, layer: Any, name: str, shape: tuple[int, ...], dtype: np.dtype) -> None:
        if any(d < 0 for d in shape):
            raise UnsafeFileError(f"{self.source}: layer '{layer.name}' declares weight {name!r} with a negative "
                                  f"dimension {shape}")
        count = math.prod(shape)  # exact: no overflow
        self.params += count
        self.bytes += count * dtype.itemsize
        what = (f"{self.source}: layer '{layer.name}' ({type(layer).__name__}) declares weight {name!r} of shape "
                f"{shape} ({count:,} values)")
        if self.file_params is not None and self.params > self.file_params:
            raise UnsafeFileError(f"{what}, bringing the model to {self.params:,} values, but the file's weights "
                                  f"hold {self.file_params:,} in all: the config does not match its weights")
        if self.params > self.max_params:
            raise UnsafeFileError(f"{what}, bringing the model to {self.params:,} parameters, over the limit of "
                                  f"{self.max_params:,} (neurona.saving.set_load_limits(max_params=...))")
        if self.bytes > self.max_bytes:
            raise UnsafeFileError(f"{what}, bringing the model to {self.bytes:,} bytes, over the limit of "
                                  f"{self.max_bytes:,} (neurona.saving.set_load_limits(max_bytes=...))")


def current_budget() -> _Budget | None:
    """The budget of the load running in this thread, if any (read by `Layer.add_weight`)."""
    return getattr(_local, "budget", None)


@contextlib.contextmanager
def building_within(source: str, file_params: int | None = None, max_params: int | None = None,
                    max_bytes: int | None = None) -> Iterator[_Budget]:
    """Build layers (in this thread) under the load budget and without drawing initial values.

    `file_params`: the number of values the file's weights hold (None: unknown); the model may not declare
    more. `max_params`/`max_bytes` override `set_load_limits` for this load.
    """
    from ..layers.base import deferred_initialization

    budget = _Budget(source, file_params,
                     _limits["max_params"] if max_params is None else _positive(max_params, "max_params"),
                     _limits["max_bytes"] if max_bytes is None else _positive(max_bytes, "max_bytes"))
    previous = current_budget()
    _local.budget = budget
    try:
        with deferred_initialization():
            yield budget
    finally:
        _local.budget = previous


def declared_values(shapes: Any) -> int:
    """The number of values in a collection of shapes (exact integers)."""
    return sum(math.prod(int(d) for d in s) for s in shapes)


def check_json_items(text: bytes | bytearray | str, where: str) -> None:
    """Refuse JSON text holding more objects, arrays and strings than `MAX_JSON_ITEMS` before parsing it:
    a few megabytes of `{},{},...` (which deflate a thousandfold) would become hundreds of megabytes of dicts."""
    data = text.encode("utf-8", "replace") if isinstance(text, str) else text
    items = data.count(b"{") + data.count(b"[") + data.count(b'"') // 2
    if items > MAX_JSON_ITEMS:
        raise UnsafeFileError(f"{where}: the JSON holds about {items:,} objects, arrays and strings, over the limit "
                              f"of {MAX_JSON_ITEMS:,}")


def loads_json(data: bytes | str, what: str) -> Any:
    """JSON from a file, its items counted before parsing; duplicate keys and bad text are `UnsafeFileError`."""
    check_json_items(data, what)
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
        return json.loads(text, object_pairs_hook=safetensors_io.no_duplicate_keys)
    except UnsafeFileError as exc:
        raise UnsafeFileError(f"{what}: {exc}") from None
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise UnsafeFileError(f"{what} is not valid JSON ({type(exc).__name__}: {str(exc)[:200]})") from None
