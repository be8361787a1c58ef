"""Averaging the gradients across ranks: flattened into buckets, one in-place Allreduce per bucket.

`GradientAverager` stands in for the optimizer's `apply` during a distributed `fit` (the Horovod
"distributed optimizer"): it copies each rank's gradients, weighted by the rank's share of the global
batch, into one flat buffer in the weights' dtype (float32 for float32 models), sums the buffer over the
ranks in buckets of `bucket_bytes`, and hands the optimizer views of the result. Every rank then applies
the same update to the same weights, so the replicas stay identical without further communication.
The gradients themselves are never written to (they may alias other arrays).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from . import comm


class GradientAverager:
    """Callable replacing `optimizer.apply`; `seconds` and `steps` measure the time spent in allreduce."""

    def __init__(self, optimizer: Any, shards: Any, bucket_bytes: int) -> None:
        self.optimizer = optimizer
        stale = optimizer.__dict__.get("apply")
        if isinstance(stale, GradientAverager):  # left by a fit that ended with an exception
            stale.uninstall()
        self.original = optimizer.apply
        self.shards = shards  # .share: this rank's fraction of the current global batch
        self.bucket_bytes = bucket_bytes
        self._layout: tuple[Any, ...] | None = None
        self.seconds = 0.0
        self.steps = 0

    def install(self) -> None:
        self.optimizer.apply = self

    def uninstall(self) -> None:
        if self.optimizer.__dict__.get("apply") is self:
            del self.optimizer.__dict__["apply"]

    def _buffers(self, variables: Sequence[Any]) -> tuple[np.ndarray, list[tuple[int, int]], list[slice]]:
        key = tuple((id(v), v.data.shape, v.data.dtype) for v in variables)
        if self._layout is None or self._layout[0] != key:
            dtype = np.result_type(*[v.data.dtype for v in variables]) if variables else np.float32
            offsets, at = [], 0
            for v in variables:
                offsets.append((at, at + v.data.size))
                at += v.data.size
            flat = np.zeros(at, dtype)
            buckets = bucket_slices(at, flat.itemsize, self.bucket_bytes)
            self._layout = (key, flat, offsets, buckets)
        return self._layout[1], self._layout[2], self._layout[3]

    def step_without_data(self, variables: Sequence[Any]) -> None:
        """This rank's step for a global batch it has no part of: zero gradients, the same update."""
        self(len(variables) * [None], variables)

    def __call__(self, grads: Sequence[np.ndarray | None], variables: Sequence[Any] | None = None) -> None:
        if variables is None:
            variables = self.optimizer._variables
        if not variables or len(grads) != len(variables):
            return self.original(grads, variables)  # the optimizer's own error
        flat, offsets, buckets = self._buffers(variables)
        share = self.shards.share
        for g, (lo, hi) in zip(grads, offsets):
            if g is None:
                flat[lo:hi] = 0
            else:
                np.multiply(np.asarray(g).reshape(-1), share, out=flat[lo:hi], casting="same_kind")
        start = time.perf_counter()
        allreduce_buckets(flat, buckets)
        self.seconds += time.perf_counter() - start
        self.steps += 1
        reduced = [flat[lo:hi].reshape(v.data.shape) for (lo, hi), v in zip(offsets, variables)]
        return self.original(reduced, variables)


def bucket_slices(n: int, itemsize: int, bucket_bytes: int) -> list[slice]:
    """A flat buffer of `n` items cut into consecutive slices of at most `bucket_bytes` each."""
    per_bucket = max(1, bucket_bytes // itemsize)
    return [slice(i, min(i + per_bucket, n)) for i in range(0, n, per_bucket)]


def allreduce_buckets(flat: np.ndarray, buckets: Sequence[slice]) -> None:
    """Sum the flat buffer over the ranks in place, one Allreduce per bucket."""
    for b in buckets:
        comm.allreduce_sum(flat[b])
