"""The MPI world as neurona sees it: start-up, rank/size, failure handling and the few collectives it needs.

mpi4py is imported only on first use, so `import neurona.distributed` works without it; asking for MPI
then raises an error that names the `neurona[mpi]` extra. Structured messages (the architecture, the
optimizer's scalars) travel as JSON bytes, never pickled; arrays travel as raw buffers.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from typing import Any

import numpy as np

_state: dict[str, Any] = {"mpi": None, "comm": None, "local_rank": None, "hook": False}

INSTALL_HINT = "pip install 'neurona[mpi]' (it brings mpi4py and a working Open MPI)"


def _mpi() -> Any:
    """The mpi4py.MPI module (MPI is initialised on this first import)."""
    if _state["mpi"] is None:
        try:
            from mpi4py import MPI
        except ImportError as exc:
            raise ImportError(f"distributed training needs mpi4py, which is not installed ({exc}); {INSTALL_HINT}, "
                              f"then start the script with `mpirun -n 2 python script.py`") from None
        _state["mpi"] = MPI
    return _state["mpi"]


def available() -> bool:
    """True when mpi4py can be imported (MPI itself is not started by this check)."""
    if _state["mpi"] is not None:
        return True
    import importlib.util

    return importlib.util.find_spec("mpi4py") is not None


def init() -> Any:
    """Start MPI (once) and install the failure hook; returns the world communicator.

    After `init()`, an exception that escapes on any rank prints its traceback and aborts the whole job
    (MPI_Abort), so the other ranks never wait forever in a collective for a rank that is gone.
    """
    if _state["comm"] is None:
        mpi = _mpi()
        _state["comm"] = mpi.COMM_WORLD
    if not _state["hook"]:
        _install_abort_hook()
    return _state["comm"]


def comm() -> Any:
    return _state["comm"] if _state["comm"] is not None else init()


def rank() -> int:
    """This process's number in the job, 0 .. size()-1 (0 outside mpirun)."""
    return comm().Get_rank()


def size() -> int:
    """How many processes train together (1 outside mpirun)."""
    return comm().Get_size()


def local_rank() -> int:
    """This process's number among the ranks on the same machine (for pinning threads or devices)."""
    if _state["local_rank"] is None:
        for var in ("OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID", "MV2_COMM_WORLD_LOCAL_RANK", "SLURM_LOCALID"):
            if os.environ.get(var, "").isdigit():
                _state["local_rank"] = int(os.environ[var])
                break
        else:
            mpi = _mpi()
            _state["local_rank"] = comm().Split_type(mpi.COMM_TYPE_SHARED).Get_rank()
    return _state["local_rank"]


def _install_abort_hook() -> None:
    previous = sys.excepthook

    def abort_on_error(kind: type, value: BaseException, tb: Any) -> None:
        world = _state["comm"]
        if world is None or world.Get_size() == 1:
            previous(kind, value, tb)
            return
        text = "".join(traceback.format_exception(kind, value, tb))
        sys.stderr.write(f"neurona.distributed: rank {world.Get_rank()} of {world.Get_size()} failed; aborting "
                         f"the job so the other ranks do not wait for it:\n{text}")
        sys.stderr.flush()
        world.Abort(1)

    sys.excepthook = abort_on_error
    _state["hook"] = True


# ------------------------------------------------------------------------------------------ collectives
def bcast_json(obj: Any, root: int = 0) -> Any:
    """`obj` from `root` to every rank, as JSON (numbers, strings, lists, dicts)."""
    world = comm()
    data = json.dumps(obj).encode() if world.Get_rank() == root else b""
    n = np.array([len(data)], np.int64)
    world.Bcast(n, root=root)
    buf = np.frombuffer(data, np.uint8).copy() if world.Get_rank() == root else np.empty(int(n[0]), np.uint8)
    world.Bcast(buf, root=root)
    return json.loads(buf.tobytes().decode())


def bcast_array(arr: np.ndarray, root: int = 0) -> None:
    """Overwrite `arr` (contiguous) on every rank with root's values."""
    comm().Bcast(arr, root=root)


def allreduce_sum(arr: np.ndarray) -> None:
    """Sum `arr` over the ranks, in place."""
    comm().Allreduce(_mpi().IN_PLACE, arr, op=_mpi().SUM)


def any_rank(flag: bool) -> list[int]:
    """The ranks where `flag` is true (a collective: every rank must call it)."""
    world = comm()
    flags = np.zeros(world.Get_size(), np.int32)
    flags[world.Get_rank()] = int(bool(flag))
    allreduce_sum(flags)
    return [int(i) for i in np.flatnonzero(flags)]
