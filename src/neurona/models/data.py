"""Feeding data to fit/evaluate/predict: checks at the door (one pass over the arrays), then batches.

Arrays are shuffled once per epoch with `neurona.random.get_rng()` and gathered batch by batch
(`gather.Rows`: O(batch) for strided views, Fortran order and memmaps; x converted to the model's float
dtype per batch); unshuffled, they are cut into contiguous slices (views when no conversion is needed). Iterators,
generators and Dataset-like objects (anything with `__iter__`, plus `__len__` or `steps_per_epoch`)
yield ready-made batches `(x, y)` or `(x, y, sample_weight)`.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from ..random import get_rng
from ..tensor import Tensor
from .frames import FrameColumns
from .gather import Rows, check_memmap, memmap_file


def as_array(a: Any, name: str) -> np.ndarray:
    if isinstance(a, Tensor):
        return a.data
    try:
        arr = np.asarray(a)
    except ValueError as e:  # ragged lists
        raise ValueError(f"{name} cannot be made into an array: {e}") from None
    if arr.dtype == object:
        raise TypeError(f"{name} holds Python objects (dtype=object), not numbers: check that every sample has "
                        f"the same shape")
    return arr


def to_float(arr: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Numbers as the model's float dtype (uint8 images, float64 tables); one conversion per call."""
    if arr.dtype != dtype and arr.dtype.kind in "biuf":
        return arr.astype(dtype)
    return arr


# Memory-mapped inputs at least this big are read one batch ahead on a background thread, so reading from
# disk overlaps the step; a smaller file is likely in the page cache, where the thread's hand-over costs
# more than it saves (~0.25 ms per step measured with a cached 62 MB file). None: never.
PREFETCH_MAPPED_BYTES: int | None = 256 << 20
_CHECK_CHUNK = 1 << 22  # elements per chunk of the NaN/inf scan


def _check_range(part: np.ndarray, start: int, name: str, dtype: np.dtype) -> None:
    """Raise when a value of `part` (rows from `start` on) overflows to inf in `dtype`."""
    limit = np.finfo(dtype).max
    if -limit <= part.min() and part.max() <= limit:  # reductions: no temporary as big as the chunk
        return
    big = np.abs(part) > limit
    if big.any():
        first = np.unravel_index(int(np.argmax(big)), part.shape)
        where = ", ".join(map(str, (first[0] + start, *first[1:])))
        raise ValueError(f"{name}[{where}] = {part[first]} does not fit in {dtype} (largest {limit:.4g}); "
                         f"rescale the data or use a float64 model")


def check_finite(arr: np.ndarray, name: str, dtype: Any = None) -> None:
    """Raise naming the array, the number of NaN/inf values and where the first one is.

    With `dtype` narrower than the array's (float64 data for a float32 model), values that would become inf
    when each batch is converted are refused too, since the conversion happens per batch, after this check.
    """
    if isinstance(arr, FrameColumns):
        arr.check_finite(dtype)
        return
    check_memmap(arr, name)  # a truncated file would crash the scan with a bus error
    if arr.dtype.kind != "f" or arr.size == 0:
        return
    # One BLAS pass: row sums propagate NaN and inf without a mask as big as the data (a finite row whose
    # sum overflows falls through to the exact check below, which then finds nothing). Done in chunks of
    # rows, so a strided view, Fortran order or a memmap never gets copied whole.
    if arr.ndim == 0:
        arr = arr.reshape(1)
    rows = max(1, _CHECK_CHUNK // max(1, arr[0].size))
    ones = np.ones(arr[0].size, arr.dtype)
    narrow = dtype is not None and np.dtype(dtype).kind == "f" and np.dtype(dtype).itemsize < arr.dtype.itemsize
    clean = True
    with np.errstate(over="ignore", invalid="ignore"):
        for start in range(0, len(arr), rows):
            part = arr[start:start + rows]
            if not np.isfinite(part.reshape(len(part), -1) @ ones).all():
                clean = False
                break
            if narrow:
                _check_range(part, start, name, np.dtype(dtype))
    if clean:
        return
    bad = ~np.isfinite(arr)
    count = int(bad.sum())
    if count == 0:
        return
    first = np.unravel_index(int(np.argmax(bad)), arr.shape)
    value = arr[first]
    raise ValueError(f"{name} contains {count} NaN or infinite value{'s' if count > 1 else ''} (the first, {value}, "
                     f"at {name}[{', '.join(map(str, first))}]); remove or impute them before training")


def split_structure(value: Any, names: Sequence[str], what: str) -> list[Any]:
    """x or y as a list with one entry per model input/output (dicts by name, lists in order)."""
    n = len(names)
    if isinstance(value, Mapping):
        missing = [k for k in names if k not in value]
        if missing:
            raise ValueError(f"{what} is a dict without the key(s) {missing}; the model's names are {list(names)}")
        return [value[k] for k in names]
    if n > 1:
        if not isinstance(value, (list, tuple)) or len(value) != n:
            got = f"a list of {len(value)}" if isinstance(value, (list, tuple)) else type(value).__name__
            raise ValueError(f"the model has {n} {'inputs' if what.startswith('x') else 'outputs'} {list(names)}, "
                             f"so {what} must be a list of {n} arrays (or a dict by name); got {got}")
        return list(value)
    if isinstance(value, (list, tuple)) and len(value) == 1 and isinstance(value[0], (np.ndarray, Tensor)):
        return [value[0]]
    return [value]


def is_array_like(x: Any) -> bool:
    if isinstance(x, (np.ndarray, Tensor, list, tuple, Mapping)) or np.isscalar(x):
        return True
    return hasattr(x, "__array__") and not hasattr(x, "__next__")


def num_samples(arrays: Sequence[np.ndarray], names: Sequence[str]) -> int:
    counts = {name: len(a) if a.ndim else 0 for a, name in zip(arrays, names)}
    values = set(counts.values())
    if len(values) > 1:
        desc = ", ".join(f"{k} has {v}" for k, v in counts.items())
        raise ValueError(f"the arrays have different numbers of samples: {desc}; x, y (and sample_weight) need "
                         f"the same first dimension")
    n = values.pop() if values else 0
    if n == 0:
        shapes = ", ".join(f"{k} {a.shape}" for a, k in zip(arrays, names))
        raise ValueError(f"no samples to work on: {shapes}")
    return n


def permutation(n: int) -> np.ndarray:
    """`get_rng().permutation(n)` (the same order, the same draws) in the smallest unsigned integer type that
    holds n - 1: the shuffle order is the largest array fit keeps besides the data, 2 bytes per sample up to
    65,536 samples and 4 up to 2**32 instead of 8, shuffled in place."""
    if n >= 2**32:
        return get_rng().permutation(n)
    perm = np.arange(n, dtype=np.min_scalar_type(max(n - 1, 0)))
    get_rng().shuffle(perm)
    return perm


class ArrayBatches:
    """In-memory (or memory-mapped) arrays cut into batches; optionally reshuffled every epoch.

    Each batch costs O(batch) whatever the arrays' layout (`gather.Rows`): `dtype` converts x per batch,
    and `reuse=True` gathers into one buffer per input, valid until the next batch is drawn. Large memory-mapped
    inputs are read one batch ahead on a background thread (`PREFETCH_MAPPED_BYTES`), with the shuffle order
    drawn before, in the caller's thread, so the batches are the same as without it.
    """

    def __init__(self, xs: list[np.ndarray], ys: list[np.ndarray] | None, sw: np.ndarray | None, batch_size: int,
                 shuffle: bool = False, steps: int | None = None, dtype: Any = None,
                 reuse: bool = False, y_dtypes: list[Any] | None = None) -> None:
        self.xs, self.ys, self.sw = xs, ys, sw
        self.n = len(xs[0])
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.full_steps = math.ceil(self.n / batch_size)
        self.steps = steps or self.full_steps
        self._stream = PassStream(self._pass)
        self.single = len(xs) == 1
        names = ["x"] if self.single else [f"x[{i}]" for i in range(len(xs))]
        self.prefetch = PREFETCH_MAPPED_BYTES is not None and any(
            memmap_file(a) is not None and a.nbytes >= PREFETCH_MAPPED_BYTES for a in xs + (ys or []))
        # prefetching one ahead: the consumer's batch, the one queued and the one being filled
        ring = 3 if self.prefetch else 1
        x_dtypes = dtype if isinstance(dtype, list) else [dtype] * len(xs)  # one for all inputs, or one each
        self._x_rows = [Rows(x, t, reuse, name, ring) for x, t, name in zip(xs, x_dtypes, names)]
        y_dtypes = y_dtypes or [None] * len(ys or [])  # targets converted per batch too (None: as they are)
        self._y_rows = None if ys is None else [Rows(y, t, reuse, f"y[{i}]", ring)
                                                for i, (y, t) in enumerate(zip(ys, y_dtypes))]

    def _pass(self, perm: np.ndarray | None = None) -> Iterator[tuple[Any, Any, Any]]:
        xr, yr, sw = self._x_rows, self._y_rows, self.sw
        bs, n = self.batch_size, self.n
        if not self.shuffle:  # contiguous slices: views unless x needs converting
            for start in range(0, n, bs):
                stop = start + bs
                yield (xr[0].slice(start, stop) if self.single else [r.slice(start, stop) for r in xr],
                       None if yr is None else [r.slice(start, stop) for r in yr],
                       None if sw is None else sw[start:stop])
            return
        # Gathering each batch's rows is ~3x faster than permuting the whole arrays once per epoch
        # (a fresh array of the data's size costs page faults every epoch).
        if perm is None:
            perm = permutation(n)
        # each batch's rows as intp, once for all arrays: `take` would convert the compact order's slice itself,
        # on every call (1.3 µs of a 100x784 float32 batch's 26 µs)
        rows = np.empty(min(bs, n), np.intp)
        for start in range(0, n, bs):
            part = perm[start:start + bs]
            idx = rows[:len(part)]
            np.copyto(idx, part)
            xb = xr[0].take(idx) if self.single else [r.take(idx) for r in xr]
            yield (xb, None if yr is None else [r.take(idx) for r in yr],
                   None if sw is None else sw[idx])

    def epoch(self) -> Iterator[tuple[Any, Any, Any]]:
        if self.steps == self.full_steps:
            if self.prefetch:  # the permutation now, in this thread: the same draw as without prefetching
                from ..data.dataset import _prefetch

                return _prefetch(self._pass(permutation(self.n) if self.shuffle else None), 1)
            return self._pass()
        return self._stream.take(self.steps)


class PassStream:
    """Batches from passes over the data that go on across epochs: with `steps_per_epoch` shorter than a pass,
    each epoch takes the next `k` batches and a new (reshuffled) pass starts where the last one ran out."""

    def __init__(self, make_pass: Callable[[], Iterator[Any]]) -> None:
        self._make_pass = make_pass
        self._pass: Iterator[Any] | None = None

    def take(self, k: int) -> Iterator[Any]:
        for _ in range(k):
            if self._pass is None:
                self._pass = self._make_pass()
            try:
                yield next(self._pass)
            except StopIteration:
                self._pass = self._make_pass()
                yield next(self._pass)


class IterableBatches:
    """Batches from a generator, an iterator (ImageDataGenerator.flow) or a Dataset-like object."""

    def __init__(self, source: Any, steps: int | None, convert: Any, what: str = "x") -> None:
        self.source = source
        self.convert = convert  # batch tuple -> (x, ys, sw) in the model's form
        has_len = hasattr(source, "__len__")
        if steps is None and not has_len:
            raise ValueError(f"{what} is an iterator or generator without a length, so the number of batches per "
                             f"epoch is unknown: pass steps_per_epoch= (validation_steps= / steps= for "
                             f"evaluation)")
        self.steps = int(steps) if steps is not None else len(source)
        if self.steps <= 0:
            raise ValueError(f"{what} yields no batches (length {self.steps})")
        self.persistent = steps is not None
        self._it: Iterator[Any] | None = None
        self.exhausted = False

    def epoch(self) -> Iterator[tuple[Any, Any, Any]]:
        if not self.persistent or self._it is None:
            self._it = iter(self.source)
        for i in range(self.steps):
            try:
                batch = next(self._it)
            except StopIteration:
                if not self.persistent:  # a Dataset shorter than its len(): the epoch just ends
                    return
                again = iter(self.source)
                if again is self._it:  # a one-shot generator: nothing left for further epochs
                    self._warn_exhausted(i)
                    return
                self._it = again
                try:
                    batch = next(self._it)
                except StopIteration:
                    self._warn_exhausted(i)
                    return
            yield self.convert(batch)

    def _warn_exhausted(self, i: int) -> None:
        self.exhausted = True
        warnings.warn(f"the input ran out of data after {i} batch(es) of the {self.steps} expected: a one-shot "
                      f"generator must yield steps_per_epoch * epochs batches (or use a repeating source)",
                      stacklevel=4)


def unpack_batch(batch: Any) -> tuple[Any, Any, Any]:
    """(x, y) / (x, y, sample_weight) / x, as generators yield them."""
    if isinstance(batch, tuple):
        if len(batch) == 2:
            return batch[0], batch[1], None
        if len(batch) == 3:
            return batch
        if len(batch) == 1:
            return batch[0], None, None
        raise ValueError(f"a batch must be (x, y) or (x, y, sample_weight), got a tuple of {len(batch)} items")
    return batch, None, None
