"""DataParallel: `fit` on every rank of an MPI job, each on its part of every global batch.

    model.fit(x, y, batch_size=128, epochs=5, distribute="mpi")      # mpirun -n 4 python train.py
    with neurona.distributed.DataParallel():
        model.fit(x, y, batch_size=128, epochs=5)

What happens in a distributed fit (all in this package; `fit` only calls `begin_fit`):
1. the batches are sharded (`sharding.Sharded`): `batch_size` is the global batch, split across the ranks;
2. before the first epoch, rank 0's weights and optimizer state are broadcast (after any
   BackupAndRestore has restored them), once every rank has checked it built the same model;
3. every optimizer step averages the gradients across ranks (`gradients.GradientAverager`);
4. at each epoch's end the training loss and metrics are averaged over all the samples of all ranks, so
   History, EarlyStopping and the printed line see the whole epoch;
5. only rank 0 prints progress and writes checkpoints (ModelCheckpoint, BackupAndRestore's backups).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..callbacks.base import Callback
from . import comm
from .gradients import GradientAverager
from .sharding import Sharded
from .syncbn import attach, detach

_ACTIVE: list[DataParallel] = []


class DataParallel:
    """Synchronous data-parallel training over MPI (one model replica per rank).

    `bucket_mb` is the size of each gradient allreduce (the gradients are flattened into buckets of
    about this many megabytes). `sync_batchnorm=True` computes every BatchNormalization's training
    statistics over the whole global batch (all ranks), as one process would (distributed/syncbn.py).
    Use it as `fit(..., distribute=DataParallel())` or as a context manager around `fit` calls.
    """

    def __init__(self, bucket_mb: float = 25.0, sync_batchnorm: bool = False) -> None:
        if not isinstance(bucket_mb, (int, float)) or isinstance(bucket_mb, bool) or bucket_mb <= 0:
            raise ValueError(f"DataParallel: bucket_mb must be a positive number of megabytes, got {bucket_mb!r}")
        if not isinstance(sync_batchnorm, bool):
            raise ValueError(f"DataParallel: sync_batchnorm must be True or False, got {sync_batchnorm!r}")
        self.sync_batchnorm = sync_batchnorm
        self.bucket_bytes = int(bucket_mb * 2**20)
        comm.init()
        self.rank, self.size = comm.rank(), comm.size()
        self.averager: GradientAverager | None = None  # the last fit's (its .seconds / .steps time the allreduce)

    def __enter__(self) -> DataParallel:
        _ACTIVE.append(self)
        return self

    def __exit__(self, *exc: Any) -> None:
        _ACTIVE.remove(self)

    def __repr__(self) -> str:
        return f"DataParallel(rank={self.rank}, size={self.size})"

    def begin_fit(self, model: Any, train: Any, batch_size: int, verbose: int,
                  callbacks: Sequence[Any] | None) -> tuple[Any, int, list[Any]]:
        """Shard fit's batches and arrange the callbacks; returns (batches, verbose, callbacks) for fit."""
        if hasattr(train, "xs") and batch_size < self.size:
            raise ValueError(f"batch_size={batch_size} is smaller than the number of ranks ({self.size}): batch_size "
                             f"is the global batch, split across the ranks, so it must be at least {self.size}")
        averager = GradientAverager(model.optimizer, None, self.bucket_bytes)
        if self.sync_batchnorm:
            _check_full_shards(train, batch_size, self.size)
        shards = Sharded(train, self.rank, self.size, lambda: self._empty_step(averager, model))
        averager.shards = shards
        callbacks = list(callbacks or [])
        if self.rank != 0:
            verbose = 0
            callbacks = [_rank0_only(cb) for cb in callbacks]
            callbacks = [cb for cb in callbacks if cb is not None]
        self.averager = averager
        return shards, verbose, [_Session(self, shards, averager), *callbacks]

    def _empty_step(self, averager: GradientAverager, model: Any) -> None:
        if self.sync_batchnorm:  # the other ranks' BatchNormalization layers wait for this rank's statistics
            raise ValueError(f"rank {self.rank} got no sample of a global batch smaller than the number of ranks "
                             f"({self.size}); sync_batchnorm=True needs every batch to have at least {self.size} "
                             f"samples")
        averager.step_without_data(model.trainable_weights)


def _check_full_shards(train: Any, batch_size: int, size: int) -> None:
    """With synchronised batch norm every rank must get a part of every batch (in-memory data: checked now)."""
    if not hasattr(train, "n"):
        return
    last = train.n % batch_size
    if 0 < last < size:
        raise ValueError(f"sync_batchnorm=True: the last batch of {train.n} samples in batches of {batch_size} has "
                         f"{last} sample(s), fewer than the {size} ranks, so some rank would have no part of it; "
                         f"choose a batch_size that leaves 0 or at least {size} samples for the last batch")


def resolve(distribute: Any) -> DataParallel | None:
    """fit's `distribute=` argument (or the active `with DataParallel()`) as a strategy, or None."""
    if distribute is None:
        return _ACTIVE[-1] if _ACTIVE else None
    if distribute is False:
        return None
    if isinstance(distribute, DataParallel):
        return distribute
    if distribute == "mpi":
        return DataParallel()
    raise ValueError(f"distribute must be 'mpi', a neurona.distributed.DataParallel or None, got {distribute!r}")


def _rank0_only(cb: Any) -> Any:
    """What a rank other than 0 keeps of a callback: no progress bar, no checkpoint writing, but
    BackupAndRestore still restores."""
    from ..callbacks.backup import BackupAndRestore
    from ..callbacks.checkpoint import ModelCheckpoint
    from ..callbacks.progress import ProgbarLogger

    if isinstance(cb, (ModelCheckpoint, ProgbarLogger)):
        return None
    if isinstance(cb, BackupAndRestore):
        return _RestoreOnly(cb)
    return cb


class _RestoreOnly(Callback):
    """A BackupAndRestore that restores (so every rank starts at the same epoch) but never writes or deletes."""

    def __init__(self, backup: Any) -> None:
        super().__init__()
        self.backup = backup

    def set_model(self, model: Any) -> None:
        super().set_model(model)
        self.backup.set_model(model)

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self.backup.on_train_begin(logs)


class _Session(Callback):
    """The distributed parts of one fit, run from the callback hooks (first in the list)."""

    def __init__(self, strategy: DataParallel, shards: Sharded, averager: GradientAverager) -> None:
        super().__init__()
        self.strategy, self.shards, self.averager = strategy, shards, averager
        self._synced = False
        self._bn: list[Any] = []

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self.averager.install()
        self._bn = attach(self.model, self.shards) if self.strategy.sync_batchnorm else []

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if not self._synced:  # after every on_train_begin, so a restored backup is what gets broadcast
            broadcast_model(self.model)
            self._synced = True

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if logs is not None:
            reduce_logs(logs, self.shards.samples)

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        self.averager.uninstall()
        detach(self._bn)


# ------------------------------------------------------------------------------------------ synchronisation
def _signature(model: Any) -> list[list[Any]]:
    return [[w.name or "", list(w.data.shape), str(w.data.dtype)] for w in model.weights]


def check_same_model(model: Any) -> None:
    """Raise on every rank when some rank built a model whose weights differ in number, shape or dtype."""
    mine = _signature(model)
    root = comm.bcast_json(mine)
    problem = ""
    if len(root) != len(mine):
        problem = f"rank {comm.rank()} has {len(mine)} weights, rank 0 has {len(root)}"
    else:
        for i, (a, b) in enumerate(zip(mine, root)):
            if a[1:] != b[1:]:
                problem = (f"weight {i} is {a[0]!r} of shape {tuple(a[1])} {a[2]} on rank {comm.rank()} but {b[0]!r} "
                           f"of shape {tuple(b[1])} {b[2]} on rank 0")
                break
    bad = comm.any_rank(bool(problem))
    if bad:
        where = problem or f"rank(s) {bad} built a model different from rank 0's"
        raise ValueError(f"the model's architecture differs across ranks: {where}; every rank must build the same "
                         f"model (same layers, shapes and dtype) before a distributed fit")


def broadcast_model(model: Any) -> None:
    """Rank 0's weights (trainable and not) and optimizer state on every rank."""
    check_same_model(model)
    for w in model.weights:
        if w.data.flags.c_contiguous:
            comm.bcast_array(w.data)
        else:
            buf = np.ascontiguousarray(w.data)
            comm.bcast_array(buf)
            w.data[...] = buf
    opt = model.optimizer
    weights = model.trainable_weights
    slots = getattr(opt, "_slots", None)
    if slots is None:
        return
    header = comm.bcast_json({"has": [id(w) in slots for w in weights],
                              "scalars": {k: v for k, v in vars(opt).items() if type(v) in (int, float)}})
    for key, value in header["scalars"].items():
        if type(getattr(opt, key, None)) in (int, float):
            setattr(opt, key, value)
    for w, has in zip(weights, header["has"]):
        if not has:
            slots.pop(id(w), None)
            continue
        entry = slots.get(id(w)) or opt._add_slots(w)
        for arr in entry[1]:
            comm.bcast_array(arr)


def reduce_logs(logs: dict[str, Any], samples: int) -> None:
    """The epoch's training values (not val_*, which every rank computes on the same data) averaged over
    the ranks, each weighted by its number of samples; exact for means (loss, accuracy, mse)."""
    keys = sorted(k for k, v in logs.items() if not k.startswith("val_") and np.ndim(v) == 0)
    vec = np.array([float(logs[k]) * samples for k in keys] + [float(samples)], np.float64)
    comm.allreduce_sum(vec)
    if vec[-1] > 0:
        for i, k in enumerate(keys):
            logs[k] = float(vec[i] / vec[-1])
