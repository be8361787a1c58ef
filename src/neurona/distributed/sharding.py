"""Each rank's part of every global batch.

The global batch is what one process would train on (`batch_size` samples); rank r takes the r-th of
`size` nearly equal contiguous parts of it (the first `batch % size` ranks get one sample more). Shuffling
stays the one-process shuffle: rank 0 draws the epoch's permutation from neurona's generator, exactly as
`fit` does alone, and broadcasts it, so all ranks cut the same batches.

`share` is this rank's fraction of the current global batch: the gradient reducer weights the rank's
gradient by it, so the sum over ranks is the gradient of the whole batch's mean loss even when the last
batch does not divide evenly. A rank whose part is empty (a last batch smaller than the number of ranks)
skips that batch but still takes the step: `empty_step` joins the allreduce with zero gradients and
applies the same update as the other ranks, and its metrics see no made-up sample.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from ..random import get_rng
from . import comm


def shard_bounds(n: int, rank: int, size: int) -> tuple[int, int]:
    """[lo, hi) of rank's part of n items split into `size` nearly equal contiguous parts."""
    base, extra = divmod(n, size)
    lo = rank * base + min(rank, extra)
    return lo, lo + base + (1 if rank < extra else 0)


class Sharded:
    """Wraps fit's batch source (`ArrayBatches` or `IterableBatches`) to yield this rank's shards."""

    def __init__(self, source: Any, rank: int, size: int, empty_step: Callable[[], None]) -> None:
        self.source, self.rank, self.size = source, rank, size
        self.empty_step = empty_step
        self.steps = source.steps
        self.share = 1.0
        self.samples = 0  # real samples this rank trained on in the current epoch
        from ..models.data import PassStream  # here: neurona.models imports this package when fit starts

        self._stream = PassStream(self._array_pass)

    def __getattr__(self, name: str) -> Any:  # `exhausted` and friends of the wrapped source
        return getattr(self.source, name)

    def epoch(self) -> Iterator[tuple[Any, Any, Any]]:
        self.samples = 0
        if hasattr(self.source, "xs"):
            return self._array_epoch()
        return self._generator_epoch()

    def _generator_epoch(self) -> Iterator[tuple[Any, Any, Any]]:
        for batch in self.source.epoch():
            part = self._cut(*batch)
            if part is None:
                self.empty_step()
            else:
                yield part

    # ------------------------------------------------------------------ in-memory arrays
    def _array_epoch(self) -> Iterator[tuple[Any, Any, Any]]:
        if self.source.steps == self.source.full_steps:
            yield from self._array_pass()
            return
        yield from self._stream.take(self.steps)  # steps_per_epoch shorter than the data: one stream across epochs

    def _array_pass(self) -> Iterator[tuple[Any, Any, Any]]:
        src = self.source
        n, bs = src.n, src.batch_size
        if src.shuffle:
            perm = get_rng().permutation(n) if self.rank == 0 else np.empty(n, np.int64)
            perm = np.ascontiguousarray(perm, np.int64)
            comm.bcast_array(perm)
        else:
            perm = None
        for start in range(0, n, bs):
            stop = min(start + bs, n)
            bounds = self._bounds(stop - start)
            if bounds is None:
                self.empty_step()
                continue
            lo, hi = bounds
            idx = slice(start + lo, start + hi) if perm is None else perm[start + lo:start + hi]
            yield self._take(idx)

    def _take(self, idx: Any) -> tuple[Any, Any, Any]:
        """The rows `idx` (a slice or indices) through the source's per-batch gatherers, which convert the
        dtype as a one-process fit does; plain arrays for a source without them."""
        src = self.source
        x_rows, y_rows = getattr(src, "_x_rows", None), getattr(src, "_y_rows", None)

        def pick(a: Any, rows: Any = None) -> np.ndarray:
            if rows is not None:
                return rows.slice(idx.start, idx.stop) if isinstance(idx, slice) else rows.take(idx)
            return a[idx] if isinstance(idx, slice) else np.take(a, idx, axis=0)

        xs = [pick(x, None if x_rows is None else x_rows[i]) for i, x in enumerate(src.xs)]
        ys = None if src.ys is None else [pick(y, None if y_rows is None else y_rows[i]) for i, y in enumerate(src.ys)]
        return xs[0] if src.single else xs, ys, None if src.sw is None else pick(src.sw)

    # ------------------------------------------------------------------ batches from generators
    def _cut(self, x: Any, ys: Any, sw: Any) -> tuple[Any, Any, Any] | None:
        """This rank's part of a batch that every rank's generator yielded alike (None: nothing)."""
        n = len(x[0] if isinstance(x, list) else x)
        bounds = self._bounds(n)
        if bounds is None:
            return None
        sl = slice(*bounds)
        xb = [a[sl] for a in x] if isinstance(x, list) else x[sl]
        return xb, None if ys is None else [y[sl] for y in ys], None if sw is None else sw[sl]

    def _bounds(self, n: int) -> tuple[int, int] | None:
        lo, hi = shard_bounds(n, self.rank, self.size)
        self.samples += hi - lo
        if hi == lo:
            return None
        self.share = (hi - lo) / n
        return lo, hi
