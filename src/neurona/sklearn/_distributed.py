"""Data-parallel `fit` for MLPClassifier / MLPRegressor over MPI (`distribute="mpi"`).

The estimators keep their one flat parameter buffer and scikit-learn's loop; what changes per step is in
`shard_step`: each rank computes the gradient of its contiguous part of the global batch (the batch the
one-process fit would take) with the global batch's per-sample weights, so the sum over the ranks is the
one-process gradient; the L2 penalty is added once in total (alpha / size on each rank). The sum is
taken with neurona.distributed's bucketed in-place Allreduce, so all ranks apply the same update. At the
start of fit the random state (shuffles, validation split), the parameters and the solver's state are
rank 0's, after a check that every rank built the same network.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..distributed import comm
from ..distributed.gradients import allreduce_buckets, bucket_slices
from ..distributed.sharding import shard_bounds
from ..distributed.strategy import DataParallel, resolve


def strategy_for(estimator: Any) -> DataParallel | None:
    """The estimator's `distribute` as a strategy (None: train alone); refuses what it cannot shard."""
    dp = resolve(estimator.distribute)
    if dp is None:
        return None
    name = type(estimator).__name__
    if estimator.dropout or estimator.batch_norm:
        raise ValueError(f"{name}: distribute={estimator.distribute!r} does not support dropout or batch_norm "
                         f"(got dropout={estimator.dropout}, batch_norm={estimator.batch_norm}); use a Keras "
                         f"model with neurona.distributed.DataParallel(sync_batchnorm=True) for those")
    if isinstance(estimator.batch_size, int) and estimator.batch_size < dp.size:
        raise ValueError(f"{name}: batch_size={estimator.batch_size} is smaller than the number of ranks "
                         f"({dp.size}): batch_size is the global batch, split across the ranks")
    return dp


def sync_random_state(random_state: np.random.RandomState) -> np.random.RandomState:
    """A RandomState in rank 0's state on every rank (the same shuffles and validation split)."""
    kind, keys, pos, has_gauss, cached = random_state.get_state()
    keys = np.ascontiguousarray(keys, np.uint32)
    comm.bcast_array(keys)
    rest = comm.bcast_json([int(pos), int(has_gauss), float(cached)])
    synced = np.random.RandomState()
    synced.set_state((kind, keys, rest[0], rest[1], rest[2]))
    return synced


def sync_start(estimator: Any, net: Any, solver: Any | None) -> None:
    """Check that every rank built the same network, then broadcast rank 0's parameters and solver state."""
    mine = [list(s) for s in net.shapes] + [[str(net.params.dtype)]]
    root = comm.bcast_json(mine)
    bad = comm.any_rank(mine != root)
    if bad:
        raise ValueError(f"{type(estimator).__name__}: the network differs across ranks: rank(s) {bad} have "
                         f"parameter shapes {mine if comm.rank() in bad else '(see those ranks)'} but rank 0 has "
                         f"{root}; every rank must fit the same X columns, targets and hidden_layer_sizes")
    comm.bcast_array(net.params)
    if solver is None:
        return
    for name in ("velocity", "m", "v"):
        arr = getattr(solver, name, None)
        if isinstance(arr, np.ndarray):
            comm.bcast_array(arr)
    scalars = {k: v for k, v in vars(solver).items() if type(v) in (int, float)}
    for key, value in comm.bcast_json(scalars).items():
        setattr(solver, key, value)


class ShardedSteps:
    """Gradient steps on this rank's part of each global batch, summed over the ranks."""

    def __init__(self, dp: DataParallel, net: Any) -> None:
        self.rank, self.size = dp.rank, dp.size
        self.buckets = bucket_slices(net.grads.size, net.grads.itemsize, dp.bucket_bytes)

    def loss_and_grad(self, net: Any, X: np.ndarray, Y: np.ndarray, idx: Any, c: Any, sw_sum: float,
                      alpha: float) -> tuple[float, float]:
        """Fill `net.grads` with the whole global batch's gradient; returns this rank's parts of
        (objective, reported loss), whose sums over the ranks are the global batch's values."""
        rows = _rows(idx, X.shape[0])
        lo, hi = shard_bounds(len(rows), self.rank, self.size)
        share_alpha = alpha / self.size
        if hi > lo:
            rows = rows[lo:hi]
            part = slice(rows.start, rows.stop) if isinstance(rows, range) else rows
            c_part = c[lo:hi] if isinstance(c, np.ndarray) else c
            objective, reported = net.loss_and_grad(X[part], Y[part], c_part, sw_sum, share_alpha)
        else:  # a global batch smaller than the ranks: this rank adds only its share of the penalty
            net.grads[...] = 0
            objective = reported = 0.0
            if share_alpha:
                w = net.params[: net.n_coef]
                net.grads[: net.n_coef] += (share_alpha / sw_sum) * w
                objective = reported = 0.5 * share_alpha * float(np.dot(w, w)) / sw_sum
        allreduce_buckets(net.grads, self.buckets)
        return objective, reported


def _rows(idx: Any, n: int) -> Any:
    """The global batch's row numbers: a range for a slice, the index array itself otherwise."""
    if isinstance(idx, slice):
        return range(*idx.indices(n))
    return idx


def allreduce_scalar(value: float) -> float:
    """The sum of `value` over the ranks (float64)."""
    buf = np.array([value], np.float64)
    comm.allreduce_sum(buf)
    return float(buf[0])
