"""Data-parallel training across processes and machines, on MPI (mpi4py), in the Horovod style.

Every rank holds the whole model and trains on its part of each global batch; the gradients are averaged
with an allreduce every step, so all replicas take the same steps. Start the script with MPI:

    mpirun -n 4 python train.py          # train.py calls model.fit(..., distribute="mpi")

`init()`, `rank()`, `size()` and `local_rank()` give the job's layout; `DataParallel` is the strategy.
Needs the optional extra: `pip install 'neurona[mpi]'`. See docs/distributed.md.
"""

from .comm import available, init, local_rank, rank, size
from .sharding import shard_bounds
from .strategy import DataParallel, resolve

__all__ = ["DataParallel", "available", "init", "local_rank", "rank", "resolve", "shard_bounds", "size"]
