"""``Dataset``: an input pipeline in the style of ``tf.data`` — build it from arrays or a generator, then
chain ``shuffle``, ``map``, ``batch``, ``repeat``, ``take``, ``prefetch``.

    ds = Dataset.from_tensor_slices((x_train, y_train)).shuffle(1000, seed=0).batch(32).prefetch(2)
    model.fit(ds, epochs=5)

A dataset is a recipe, not a stream: every ``iter(ds)`` (one per epoch in ``fit``) starts a fresh pass,
and a seeded ``shuffle`` gives pass ``k`` its own order, the same in every run. ``len(ds)`` is the number
of elements (batches, after ``batch``) when it is known; ``cardinality()`` returns -1 for infinite and -2
for unknown instead of raising.

Datasets made from arrays track *indices* until ``batch`` (or ``map``) needs values, so shuffling and
batching 60,000 images is a permutation and one fancy-indexing gather per batch, not 60,000 Python
objects.
"""

from __future__ import annotations

import itertools
import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np

from ..random import get_rng

INFINITE = -1
UNKNOWN = -2

Key = tuple[int, ...]  # identifies one pass (and, inside repeat, one repetition) for seeding


def _map_structure(fn: Callable[[Any], Any], structure: Any) -> Any:
    if isinstance(structure, tuple):
        return tuple(_map_structure(fn, s) for s in structure)
    if isinstance(structure, dict):
        return {k: _map_structure(fn, v) for k, v in structure.items()}
    return fn(structure)


def _leaves(structure: Any) -> list[Any]:
    if isinstance(structure, tuple):
        return [leaf for s in structure for leaf in _leaves(s)]
    if isinstance(structure, dict):
        return [leaf for v in structure.values() for leaf in _leaves(v)]
    return [structure]


def _stack(elements: list[Any]) -> Any:
    """A list of elements with the same structure -> one element whose leaves are stacked arrays."""
    first = elements[0]
    if isinstance(first, tuple):
        return tuple(_stack([e[i] for e in elements]) for i in range(len(first)))
    if isinstance(first, dict):
        return {k: _stack([e[k] for e in elements]) for k in first}
    return np.stack([np.asarray(e) for e in elements])


def _seed_from(seed: int | None) -> int:
    return int(get_rng().integers(2**63)) if seed is None else int(seed)


def _shuffle_buffer(items: Iterable[Any], buffer_size: int, rng: np.random.Generator) -> Iterator[Any]:
    """tf.data's buffered shuffle: keep `buffer_size` items, emit a random one, refill from the input."""
    buffer: list[Any] = []
    for item in items:
        if len(buffer) < buffer_size:
            buffer.append(item)
            continue
        j = int(rng.integers(buffer_size))
        buffer[j], item = item, buffer[j]
        yield item
    for j in rng.permutation(len(buffer)):
        yield buffer[j]


class _End:
    pass


class _Failure:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


def _prefetch(items: Iterator[Any], size: int) -> Iterator[Any]:
    """Produce `items` on a background thread, up to `size` ahead of the consumer."""
    q: queue.Queue = queue.Queue(maxsize=size)
    stop = threading.Event()

    def put(item: Any) -> bool:
        while not stop.is_set():
            try:
                q.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def work() -> None:
        try:
            for item in items:
                if not put(item):
                    return
            put(_End())
        except BaseException as exc:  # handed to the consumer, which re-raises it where it iterates
            put(_Failure(exc))

    thread = threading.Thread(target=work, name="neurona-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            item = q.get()
            if isinstance(item, _End):
                return
            if isinstance(item, _Failure):
                raise item.exc
            yield item
    finally:  # the consumer stopped (end, error, break, garbage collection): let the thread finish
        stop.set()


def _concat(blocks: list[Any]) -> Any:
    first = blocks[0]
    if isinstance(first, tuple):
        return tuple(_concat([b[i] for b in blocks]) for i in range(len(first)))
    if isinstance(first, dict):
        return {k: _concat([b[k] for b in blocks]) for k in first}
    return blocks[0] if len(blocks) == 1 else np.concatenate(blocks)


def _batched_blocks(blocks: Callable[[Key], Iterator[Any]], batch_size: int,
                    drop_remainder: bool) -> Callable[[Key], Iterator[Any]]:
    """Blocks of rows (disk sources) re-cut into batches: slices, one concatenation per block boundary."""

    def elements(key: Key) -> Iterator[Any]:
        pending: list[Any] = []
        size = 0
        for block in blocks(key):
            rows = len(_leaves(block)[0])
            if not rows:
                continue
            pending.append(block)
            size += rows
            if size >= batch_size:
                flat = _concat(pending)
                cut = size - size % batch_size
                for start in range(0, cut, batch_size):
                    yield _map_structure(lambda a, s=start: a[s:s + batch_size], flat)
                pending = [_map_structure(lambda a: a[cut:], flat)] if cut < size else []
                size -= cut
        if size and not drop_remainder:
            yield _concat(pending)

    return elements


class Dataset:
    """A re-iterable pipeline of elements (arrays or tuples/dicts of arrays). Build with
    ``from_tensor_slices`` or ``from_generator``; every method returns a new dataset."""

    def __init__(
        self,
        elements: Callable[[Key], Iterator[Any]],
        cardinality: int,
        arrays: Any = None,
        indices: Callable[[Key], Iterator[np.ndarray]] | None = None,
    ) -> None:
        self._elements = elements
        self._cardinality = cardinality
        self._arrays = arrays  # set while the dataset is still "indices into these arrays"
        self._indices = indices
        self._passes = 0
        self._lock = threading.Lock()
        self._blocks: Callable[[Key], Iterator[Any]] | None = None  # disk sources: blocks of rows
        self._skips: Any = None  # disk sources: what on_error="skip" skipped

    # ------------------------------------------------------------------ sources
    @staticmethod
    def from_tensor_slices(tensors: Any) -> Dataset:
        """One element per row of the array(s): ``from_tensor_slices((x, y))`` yields ``(x[i], y[i])``."""
        if isinstance(tensors, list):
            tensors = np.asarray(tensors)
        arrays = _map_structure(np.asarray, tensors)
        leaves = _leaves(arrays)
        if any(a.ndim == 0 for a in leaves):
            raise ValueError("from_tensor_slices needs arrays with a first (sample) axis, got a scalar")
        lengths = {len(a) for a in leaves}
        if len(lengths) != 1:
            shapes = [a.shape for a in leaves]
            raise ValueError(f"from_tensor_slices: all arrays must have the same first dimension, got shapes {shapes}")
        n = lengths.pop()
        return Dataset._from_indices(arrays, lambda key: iter([np.arange(n)]), n)

    @staticmethod
    def from_generator(generator: Callable[[], Iterable[Any]] | Iterable[Any], output_signature: Any = None,
                       length: int | None = None) -> Dataset:
        """Elements from ``generator()`` — a function called afresh for each pass (``length`` if known).

        A generator *object* (not a function) can only be consumed once; a second pass raises.
        ``output_signature`` is accepted for tf.data compatibility and ignored.
        """
        if callable(generator):
            def elements(key: Key) -> Iterator[Any]:
                return iter(generator())
        else:
            source = iter(generator)
            used = []

            def elements(key: Key) -> Iterator[Any]:
                if used:
                    raise RuntimeError("this Dataset wraps a generator object, which can be iterated only once; "
                                       "pass the generator function instead: Dataset.from_generator(gen_fn)")
                used.append(True)
                return source

        return Dataset(elements, UNKNOWN if length is None else int(length))

    @staticmethod
    def from_npy_shards(files: Any, shuffle: bool = False, seed: int | None = None,
                        on_error: str = "raise") -> Dataset:
        """Rows of `.npy` shards read from disk one shard at a time (memory-mapped), in file order.

        `files` is a list of paths, or a tuple/dict of lists for `(x, y)` elements (`(x_files, y_files)`).
        `shuffle=True` permutes the shards and the rows inside each shard, anew every pass (seeded).
        A shard with other row shapes or dtype than the first raises naming it (`on_error="skip"`: skipped).
        """
        from .sources import npy_shards

        blocks, total, skips = npy_shards(files, shuffle, _seed_from(seed), on_error)
        return Dataset._from_blocks(blocks, total, skips)

    @staticmethod
    def from_csv(paths: Any, label: str | None = None, columns: Any = None, shuffle: bool = False,
                 seed: int | None = None, delimiter: str = ",", dtype: Any = "float32",
                 chunk_rows: int = 4096, on_error: str = "raise") -> Dataset:
        """Rows of CSV files (with a header line) parsed `chunk_rows` at a time; `(x, y)` when `label` names
        the target column. `shuffle=True` permutes the files and the rows inside each chunk (seeded).
        A file with another column set, or a line that is not numbers, raises naming the file
        (`on_error="skip"`: skipped and counted)."""
        from .sources import csv_files

        paths = [str(paths)] if isinstance(paths, (str, bytes)) or hasattr(paths, "__fspath__") else \
            [str(p) for p in paths]
        if not paths:
            raise ValueError("from_csv needs at least one file")
        blocks, total, skips = csv_files(paths, label, columns, shuffle, _seed_from(seed), delimiter, dtype,
                                         int(chunk_rows), on_error)
        return Dataset._from_blocks(blocks, total, skips)

    @staticmethod
    def from_parquet(paths: Any, label: str | None = None, columns: Any = None, batch_size: int | None = None,
                     shuffle: bool = False, seed: int | None = None, dtype: Any = "float32",
                     chunk_rows: int = 4096, on_error: str = "raise") -> Dataset:
        """Rows of Parquet files read row group by row group (pyarrow, the `parquet` extra); `(x, y)` when
        `label` names the target column, batched when `batch_size` is given. `shuffle=True` permutes the row
        groups of all files and the rows inside each (seeded). A file with another column set raises naming it
        (`on_error="skip"`: skipped and counted)."""
        from .parquet import parquet_files

        paths = [str(paths)] if isinstance(paths, (str, bytes)) or hasattr(paths, "__fspath__") else \
            [str(p) for p in paths]
        if not paths:
            raise ValueError("from_parquet needs at least one file")
        blocks, total, skips = parquet_files(paths, label, columns, shuffle, _seed_from(seed), dtype,
                                             int(chunk_rows), on_error)
        ds = Dataset._from_blocks(blocks, total, skips)
        return ds if batch_size is None else ds.batch(int(batch_size))

    @staticmethod
    def from_image_folder(root: Any, image_size: tuple[int, int], color_mode: str = "rgb", shuffle: bool = False,
                          seed: int | None = None, on_error: str = "raise") -> Dataset:
        """`(image, class index)` elements from `root/<class>/<file>` (Pillow), decoded one at a time as the
        pass reaches them; the classes are the sorted sub-folder names (`ds.class_names`). An image that
        fails to decode raises naming it (`on_error="skip"`: skipped and counted)."""
        from .sources import image_folder

        elements, total, skips, classes = image_folder(str(root), tuple(image_size), color_mode, shuffle,
                                                       _seed_from(seed), on_error)
        ds = Dataset(elements, total)
        ds.class_names = classes
        ds._skips = skips
        return ds

    @staticmethod
    def _from_blocks(blocks: Callable[[Key], Iterator[Any]], cardinality: int, skips: Any = None) -> Dataset:
        def elements(key: Key) -> Iterator[Any]:
            for block in blocks(key):
                leaves = _leaves(block)
                for i in range(len(leaves[0])):
                    yield _map_structure(lambda a, i=i: a[i], block)

        ds = Dataset(elements, cardinality)
        ds._blocks = blocks
        ds._skips = skips
        return ds

    @property
    def skipped(self) -> int:
        """Items a disk source (or a dataset made from one) skipped with on_error="skip", over all passes so far."""
        return 0 if self._skips is None else self._skips.total

    def _derived(self, ds: Dataset) -> Dataset:
        ds._skips = self._skips  # a transformed disk source still reports what its source skipped
        return ds

    @staticmethod
    def _from_indices(arrays: Any, indices: Callable[[Key], Iterator[np.ndarray]], cardinality: int) -> Dataset:
        def elements(key: Key) -> Iterator[Any]:
            for chunk in indices(key):
                for i in chunk:
                    yield _map_structure(lambda a, i=i: a[i], arrays)

        return Dataset(elements, cardinality, arrays=arrays, indices=indices)

    # ------------------------------------------------------------------ iteration
    def _next_key(self) -> Key:
        with self._lock:
            self._passes += 1
            return (self._passes - 1,)

    def __iter__(self) -> Iterator[Any]:
        return self._elements(self._next_key())

    def as_numpy_iterator(self) -> Iterator[Any]:
        """tf.data's name for iterating: elements are already NumPy arrays."""
        return iter(self)

    def cardinality(self) -> int:
        """Number of elements; -1 (``INFINITE``) after ``repeat()``, -2 (``UNKNOWN``) for generators."""
        return self._cardinality

    def __len__(self) -> int:
        if self._cardinality == INFINITE:
            raise TypeError("this Dataset is infinite (repeat() without a count): pass steps_per_epoch to fit")
        if self._cardinality == UNKNOWN:
            raise TypeError("the length of this Dataset is unknown (from_generator without length=): pass "
                            "steps_per_epoch to fit, or length= to from_generator")
        return self._cardinality

    def __repr__(self) -> str:
        size = {INFINITE: "infinite", UNKNOWN: "unknown"}.get(self._cardinality, self._cardinality)
        return f"<Dataset cardinality={size}>"

    # ------------------------------------------------------------------ transformations
    def shuffle(self, buffer_size: int, seed: int | None = None, reshuffle_each_iteration: bool = True) -> Dataset:
        """Randomise the order with a buffer of `buffer_size` elements (>= the dataset size: a full shuffle)."""
        if not isinstance(buffer_size, (int, np.integer)) or buffer_size < 1:
            raise ValueError(f"shuffle buffer_size must be a positive integer, got {buffer_size!r}")
        seed = _seed_from(seed)

        def rng(key: Key) -> np.random.Generator:
            return np.random.default_rng([seed, *(key if reshuffle_each_iteration else (0,) * len(key))])

        if self._indices is not None:
            inner, n = self._indices, self._cardinality
            if n >= 0 and buffer_size >= n:
                def indices(key: Key) -> Iterator[np.ndarray]:
                    order = np.concatenate(list(inner(key)) or [np.arange(0)])
                    yield order[rng(key).permutation(len(order))]
            else:
                def indices(key: Key) -> Iterator[np.ndarray]:
                    flat = (i for chunk in inner(key) for i in chunk)
                    for i in _shuffle_buffer(flat, buffer_size, rng(key)):
                        yield np.array([i])
            return Dataset._from_indices(self._arrays, indices, self._cardinality)
        source = self._elements
        return self._derived(Dataset(lambda key: _shuffle_buffer(source(key), buffer_size, rng(key)),
                                     self._cardinality))

    def batch(self, batch_size: int, drop_remainder: bool = False) -> Dataset:
        """Group consecutive elements into batches (stacked arrays, same structure)."""
        if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        n = self._cardinality
        count = n if n < 0 else (n // batch_size if drop_remainder else -(-n // batch_size))
        if self._indices is not None:
            inner, arrays = self._indices, self._arrays

            def elements(key: Key) -> Iterator[Any]:
                pending: list[np.ndarray] = []
                size = 0
                for chunk in inner(key):
                    pending.append(chunk)
                    size += len(chunk)
                    if size >= batch_size:
                        flat = np.concatenate(pending)
                        cut = len(flat) - len(flat) % batch_size
                        for start in range(0, cut, batch_size):
                            idx = flat[start : start + batch_size]
                            yield _map_structure(lambda a: a[idx], arrays)
                        pending, size = [flat[cut:]], len(flat) - cut
                if size and not drop_remainder:
                    idx = np.concatenate(pending)
                    yield _map_structure(lambda a: a[idx], arrays)

            return Dataset(elements, count)
        if self._blocks is not None:
            return self._derived(Dataset(_batched_blocks(self._blocks, batch_size, drop_remainder), count))
        source = self._elements

        def grouped(key: Key) -> Iterator[Any]:
            it = source(key)
            while group := list(itertools.islice(it, batch_size)):
                if len(group) < batch_size and drop_remainder:
                    return
                yield _stack(group)

        return self._derived(Dataset(grouped, count))

    def map(self, map_func: Callable[..., Any], num_parallel_calls: Any = None) -> Dataset:
        """Apply ``map_func`` to every element (a tuple element is unpacked into arguments, as in tf.data)."""
        source = self._elements

        def mapped(key: Key) -> Iterator[Any]:
            for e in source(key):
                yield map_func(*e) if isinstance(e, tuple) else map_func(e)

        return self._derived(Dataset(mapped, self._cardinality))

    def prefetch(self, buffer_size: int = 1) -> Dataset:
        """Prepare up to `buffer_size` elements on a background thread while the model trains."""
        if not isinstance(buffer_size, (int, np.integer)) or buffer_size < 1:
            buffer_size = 1  # tf's AUTOTUNE (-1) and friends: one ahead is what a single thread can do
        source = self._elements
        return self._derived(Dataset(lambda key: _prefetch(source(key), int(buffer_size)), self._cardinality))

    def repeat(self, count: int | None = None) -> Dataset:
        """Repeat the dataset `count` times (forever when None); each repetition is a new pass (new shuffle)."""
        if count is not None and (not isinstance(count, (int, np.integer)) or count < -1):
            raise ValueError(f"repeat count must be a non-negative integer or None, got {count!r}")
        forever = count is None or count == -1
        n = self._cardinality
        total = (INFINITE if n != 0 else 0) if forever else (n * count if n >= 0 else n)
        passes = itertools.count if forever else (lambda: range(count))
        if self._indices is not None:
            inner = self._indices

            def indices(key: Key) -> Iterator[np.ndarray]:
                for r in passes():
                    yield from inner((*key, r))

            return Dataset._from_indices(self._arrays, indices, total)
        source = self._elements

        def elements(key: Key) -> Iterator[Any]:
            for r in passes():
                yield from source((*key, r))

        return self._derived(Dataset(elements, total))

    def take(self, count: int) -> Dataset:
        """The first `count` elements (all of them if count is -1)."""
        return self._slice(0, None if count == -1 else int(count))

    def skip(self, count: int) -> Dataset:
        """All but the first `count` elements."""
        return self._slice(int(count), None)

    def _slice(self, start: int, stop: int | None) -> Dataset:
        n = self._cardinality
        if n >= 0:
            total = max(0, (n if stop is None else min(n, stop)) - start)
        else:
            total = max(0, stop - start) if stop is not None and n == INFINITE else n
        if self._indices is not None:
            inner = self._indices

            def indices(key: Key) -> Iterator[np.ndarray]:
                if n >= 0:  # known length: slice whole index arrays instead of walking them
                    yield np.concatenate(list(inner(key)) or [np.arange(0)])[start:stop]
                    return
                flat = itertools.islice((i for chunk in inner(key) for i in chunk), start, stop)
                while chunk := list(itertools.islice(flat, 4096)):
                    yield np.asarray(chunk, dtype=np.intp)

            return Dataset._from_indices(self._arrays, indices, total)
        source = self._elements
        return self._derived(Dataset(lambda key: itertools.islice(source(key), start, stop), total))
