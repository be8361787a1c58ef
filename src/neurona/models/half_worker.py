"""The first half of a split batch in a forked worker process: two cores, and no GIL between the halves.

`models/parallel.py` runs fit's replayed step as two half-batch replicas. On two threads, every one of the
step's small NumPy calls needs the GIL, so the halves of a recurrence (thousands of calls of a few µs) or of a
transformer take turns more than they overlap. On Linux the first half can instead run in a child process,
forked once the replicas' plans are confirmed: the child holds its own copy of the model and of replica A's
plan, and per step

    parent: weights and half A's arrays -> shared memory, a short header down a pipe; runs half B itself
    child:  replays half A's plan and its backward on the weights in shared memory (its model's weights are views
            of it), writes gradients (over the weights), loss and outputs (over the inputs) back to shared
            memory, a short header up the other pipe

The parent then adds the two halves' gradients in the same order as the two-thread split, so the results are
the same bits as on two threads. Replayable models draw no random numbers and keep no state between steps
(`replay.replayable`), so nothing the child computes is lost when it is not sent back.

One child lives at a time (a new split model's child replaces the last one); it ends when its pipe closes: the
model's halves are collected, another model needs a child, or the interpreter exits. `in_processes(False)`
keeps the split on threads (tests, comparisons), and so do `NEURONA_WORKER_PROCESS=0`, one of several MPI
processes (neurona.distributed) and any platform other than Linux (macOS's system libraries are not safe to
use after a fork; Windows has no fork).
"""

from __future__ import annotations

import json
import mmap
import os
import select
import signal
import struct
import sys
import threading
import time
import traceback
import warnings
import weakref
from typing import Any

import numpy as np

from ..function import Plan, _drop_saved
from ..ops import conv_parts
from ..switches import overriding

_enabled: list[bool | None] = [None]
_IN_CHILD = False  # set in the worker process itself
_live: list[Any] = []  # the one running worker, if any
_lock = threading.Lock()
# each side polls its pipe this long before sleeping in `read`: the other side's answer usually comes within a
# fraction of a millisecond, and a sleeping process takes tens of µs to wake on this kind of VM. Measured, whole
# steps (median of 4 runs, 2 threads): LSTM 3.93 -> 3.75 ms, transformer 9.32 -> 8.96, slide CNN unchanged
SPIN_S = 0.002
# called in the parent with "fork" just before each fork and with "released" once the parent has let go of the
# replica the child runs (the bench's memory accounting: bench/_timing.traced_peak)
FORK_HOOKS: list[Any] = []
_child_peak = [0]  # bytes the last child allocated at its peak (tracemalloc running), for the bench's memory table


def in_processes(mode: bool | None) -> Any:
    """While it lasts: False splits on threads only, True or None uses a worker process where possible."""
    return overriding(_enabled, mode)


def available() -> bool:
    """Whether half A may run in a forked process here (`NEURONA_WORKER_PROCESS=0` in the environment: never)."""
    mode = _enabled[0]
    if mode is None:
        mode = os.environ.get("NEURONA_WORKER_PROCESS", "1") != "0"
    return mode and sys.platform.startswith("linux") and hasattr(os, "fork") and not _IN_CHILD and not _under_mpi()


_MPI_RUN: list[bool] = []


def _under_mpi() -> bool:
    """True in one of several MPI processes (neurona.distributed): Open MPI warns about fork(), and some
    interconnects break on it. A lone process that merely imported mpi4py may fork."""
    if _MPI_RUN:
        return _MPI_RUN[0]
    mpi = sys.modules.get("mpi4py.MPI")
    if mpi is None:
        return False  # not yet: asked again next time
    try:
        _MPI_RUN.append(bool(mpi.Is_initialized() and mpi.COMM_WORLD.Get_size() > 1))
    except Exception:  # an unusual build: stay on threads  # noqa: BLE001
        _MPI_RUN.append(True)
    return _MPI_RUN[0]


class Worker:
    """A forked child replaying one replica's confirmed plans (the signatures it knew when it was forked)."""

    def __init__(self, replica: Any, weights: list[Any], part: tuple, sig: Any = None) -> None:
        self.known = {sig for sig, plan in replica._plans.items() if isinstance(plan, Plan)}
        self.weights = weights
        self._layout, nw = _layout([w.data for w in weights], 0)
        # room for the weights, and the first half's inputs (`part`, of signature `sig`), which the outputs
        # overwrite once read: as many bytes as the larger of the two (the outputs' size from the recorded plan;
        # 16 KiB more than the inputs when unknown). A larger batch later runs on threads; outputs that do not
        # fit, here (`finish`). The gradients go over the weights: the child writes them once its backward is
        # done (nothing reads the weights after it), and the parent has added them (into arrays of its own)
        # before it writes the next step's weights (#18: 74 + 16 KiB less for the LSTM(64) bench model)
        ins = sum(_nbytes(a) for a in _flat(part[:3]))
        outs = _outputs_nbytes(replica._plans.get(sig))
        self.size = nw + (ins + (16 << 10) if outs is None else max(ins, outs))
        self.shm = mmap.mmap(-1, self.size)
        self.buf = np.frombuffer(self.shm, np.uint8)
        self.io_base = nw
        # each weight's place (in its own layout) and its gradient's (C order, the same bytes), made once: both
        # processes use them
        self.weight_views = [_view(self.buf, off, shape, dtype, order) for off, shape, dtype, order in self._layout]
        self.grad_views = [_view(self.buf, off, shape, dtype, "C") for off, shape, dtype, _ in self._layout]
        cmd_r, self.cmd_w = os.pipe()
        self.done_r, done_w = os.pipe()
        for hook in FORK_HOOKS:
            hook("fork")
        with warnings.catch_warnings():  # Python 3.12+ warns about forking a process with threads (BLAS's)
            warnings.simplefilter("ignore", DeprecationWarning)
            pid = os.fork()
        if pid == 0:  # the child: never returns
            _serve(self, replica, cmd_r, done_w)
        os.close(cmd_r)
        os.close(done_w)
        self.pid = pid
        self.steps = 0  # half steps the child has run
        self._finalizer = weakref.finalize(self, _stop, self.cmd_w, self.done_r, pid)

    def runs(self, sig: Any, part: tuple) -> bool:
        """Whether this worker can run half A with these arrays (a signature it knows, and room for them)."""
        return sig in self.known and sum(_nbytes(a) for a in _flat(part[:3])) <= self.size - self.io_base

    def start(self, part: tuple, sig: Any) -> None:
        """Send the weights and half A's arrays (of signature `sig`); the child starts at once."""
        self._sig = sig
        for w, view in zip(self.weights, self.weight_views):
            np.copyto(view, w.data)
        x, y, sw, share = part
        specs, _ = _pack(self.buf, self.io_base, [x, y, sw])
        _send(self.cmd_w, {"args": specs, "share": share})

    def finish(self) -> tuple[Any, list[np.ndarray], dict[int, np.ndarray]] | None:
        """(loss, outputs, {id(weight): gradient}) of half A, once the child is done; None when its outputs did
        not fit in the shared memory (the caller runs the half itself; this worker is not used for it again)."""
        msg = _receive(self.done_r, SPIN_S)
        if msg is None:
            self.close()
            raise RuntimeError("neurona: the worker process running half of each batch ended unexpectedly")
        if "error" in msg:
            self.close()
            raise RuntimeError(f"neurona: half of the batch failed in the worker process:\n{msg['error']}")
        if msg.get("no_room"):
            self.known.discard(self._sig)
            return None
        _child_peak[0] = max(_child_peak[0], msg.get("peak", 0))
        self.steps += 1
        loss, *outs = [a.copy() for a in _unpack(self.buf, msg["outs"])]
        grads = {id(w): g for w, g, sent in zip(self.weights, self.grad_views, msg["grads"]) if sent}
        return loss, outs, grads

    def alive(self) -> bool:
        return self._finalizer.alive

    def close(self) -> None:
        self._finalizer()
        if self in _live:  # a list op under the GIL
            _live.remove(self)


def worker_for(replica: Any, weights: list[Any], part: tuple, sig: Any = None) -> Worker:
    """A new worker for this replica, forked now (the last one, any model's, stopped first); `part` is a first
    half it will run (of signature `sig`), which sizes its shared memory."""
    with _lock:
        for w in list(_live):
            w.close()
        worker = Worker(replica, weights, part, sig)
        _live.append(worker)
        return worker


def _forget_saved(replica: Any) -> None:
    """Let the ops of the replica's confirmed plans forget what they saved; the plans stay runnable."""
    for plan in replica._plans.values():
        if isinstance(plan, Plan):
            _drop_saved(plan)


def release(replica: Any, other: Any) -> None:
    """In the parent, after the fork: let go of the replica the child now runs (its ops' saved arrays, its plans,
    which may sit in reference cycles), and of what the other replica's ops saved for the backward that already
    ran (its traced call's arrays, until its first replay), before the child allocates half A's."""
    import gc

    _forget_saved(replica)
    replica._plans.clear()
    replica._last = replica._last_eager = None
    _forget_saved(other)  # the next call computes everything anew
    gc.collect()
    for hook in FORK_HOOKS:
        hook("released")


def child_peak_mib() -> float:
    """MiB the worker processes allocated at their peak since the last call (the bench adds it to the parent's)."""
    peak, _child_peak[0] = _child_peak[0], 0
    return peak / 2**20 + sum(w.size for w in _live) / 2**20


# ----------------------------------------------------------------------------- the child
def _serve(worker: Worker, replica: Any, cmd_r: int, done_w: int) -> None:
    """The child's loop: one half step per header read; exits when the pipe closes. Never returns."""
    global _IN_CHILD
    code = 0
    try:
        _IN_CHILD = True
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle; the child ends with it
        # every descriptor the fork copied except stdio and this worker's two pipe ends: a pipe to another
        # subprocess (a peer in the bench, a notebook's kernel sockets) must see EOF when the parent closes it
        for name in os.listdir("/proc/self/fd"):
            fd = int(name)
            if fd > 2 and fd not in (cmd_r, done_w):
                try:
                    os.close(fd)
                except OSError:
                    pass
        for c in conv_parts._blas_controllers() or []:
            c.set_num_threads(1)
        conv_parts._state.inside = True  # the half is not split again
        import tracemalloc

        tracing = tracemalloc.is_tracing()
        if tracing:  # count what half A needs as the child's own: its ops' state and buffers are made anew here
            _release_inherited(replica)
            tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0] if tracing else 0
        from .parallel import _run_half

        # the weights are read where the parent writes them each step: no copy per step, and the arrays the child
        # inherited stay shared with the parent (writing into them would duplicate their pages, copy-on-write)
        for w, view in zip(worker.weights, worker.weight_views):
            w.data = view
        while True:
            msg = _receive(cmd_r, SPIN_S)
            if msg is None:
                break
            try:
                x, y, sw = _unpack(worker.buf, msg["args"])
                into: dict[int, np.ndarray] = {}
                loss, outs = _run_half(replica, (x, y, sw, msg["share"]), into, worker.weights)
                present = []
                for w, view in zip(worker.weights, worker.grad_views):
                    g = into.get(id(w))
                    present.append(g is not None)
                    if g is not None:
                        np.copyto(view, g)
                results = [np.asarray(loss), *outs]
                if sum(_nbytes(a) for a in _flat(results)) > worker.size - worker.io_base:
                    _send(done_w, {"no_room": True})  # the parent runs this half itself
                    continue
                specs, _ = _pack(worker.buf, worker.io_base, results)  # over the inputs: read, no longer needed
                peak = tracemalloc.get_traced_memory()[1] - base if tracing else 0
                _send(done_w, {"outs": specs, "grads": present, "peak": peak})
            except BaseException:  # noqa: BLE001 - reported to the parent, which raises it
                _send(done_w, {"error": traceback.format_exc()})
    except BaseException:  # noqa: BLE001 - the child must never run the parent's code after the fork
        code = 1
    finally:
        os._exit(code)


def _release_inherited(replica: Any) -> None:
    """In the child, before a traced run (the bench's memory table): let go of the buffers and op state it
    inherited, so that those half A uses are allocated, and counted, in the child. The ops stay runnable."""
    import gc

    from ..ops import lstm_rows, patches, workspace

    _forget_saved(replica)  # its confirmed plans are the ones the worker knows
    lstm_rows.clear_pools()
    patches.SCRATCH.clear()
    workspace.clear()
    gc.collect()


def _stop(cmd_w: int, done_r: int, pid: int) -> None:
    """Tell the child to exit (an empty header; closing the pipe does too), and reap it. A child that has not
    exited after a second (busy, or its pipe held open by some other forked process) is killed."""
    try:
        os.write(cmd_w, struct.pack("<I", 0))
    except OSError:
        pass
    for fd in (cmd_w, done_r):
        try:
            os.close(fd)
        except OSError:
            pass
    try:
        for _ in range(1000):
            if os.waitpid(pid, os.WNOHANG)[0]:
                return
            time.sleep(0.001)
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    except (ChildProcessError, OSError):
        pass


# ----------------------------------------------------------------------------- shared memory and messages
def _outputs_nbytes(plan: Any) -> int | None:
    """Bytes the outputs of a recorded plan (the loss and the model's outputs) take in shared memory, from the
    shapes its ops recorded; None when not known (not a confirmed plan, an output that no op made)."""
    if not isinstance(plan, Plan):
        return None
    made = {s: y for f, _, outs in plan.ops for s, y in zip(outs, f.outs or ())}
    arrays = [made.get(s) for s in plan.outputs]
    if not all(isinstance(a, np.ndarray) for a in arrays):
        return None
    return sum(_nbytes(a) for a in arrays)


def _layout(arrays: list[np.ndarray], base: int) -> tuple[list[tuple], int]:
    """(offset, shape, dtype, order) of each array packed from `base` (64-byte aligned), and the bytes used."""
    out, off = [], base
    for a in arrays:
        order = "F" if a.flags.f_contiguous and not a.flags.c_contiguous else "C"
        out.append((off, a.shape, a.dtype, order))
        off += -(-a.nbytes // 64) * 64
    return out, off - base


def _view(buf: np.ndarray, off: int, shape: tuple, dtype: np.dtype, order: str) -> np.ndarray:
    n = int(np.prod(shape, dtype=np.int64)) * np.dtype(dtype).itemsize
    return buf[off:off + n].view(dtype).reshape(shape, order=order)


def _flat(items: Any) -> list[np.ndarray]:
    out = []
    for a in items:
        if isinstance(a, (list, tuple)):
            out.extend(_flat(a))
        elif a is not None:
            out.append(np.asarray(a))
    return out


def _nbytes(a: np.ndarray) -> int:
    return -(-a.nbytes // 64) * 64


def _pack(buf: np.ndarray, base: int, items: list[Any]) -> tuple[list[Any], int]:
    """Copy arrays (nested lists/tuples, None kept) into buf from base; returns their JSON-able specs."""
    specs, off = [], base
    for a in items:
        if a is None:
            specs.append(None)
        elif isinstance(a, (list, tuple)):
            inner, off = _pack(buf, off, list(a))
            specs.append({"seq": inner, "tuple": isinstance(a, tuple)})
        else:
            a = np.asarray(a)
            np.copyto(_view(buf, off, a.shape, a.dtype, "C"), a)
            specs.append([off, list(a.shape), a.dtype.str])
            off += _nbytes(a)
    return specs, off


def _unpack(buf: np.ndarray, specs: list[Any]) -> list[Any]:
    out: list[Any] = []
    for s in specs:
        if s is None:
            out.append(None)
        elif isinstance(s, dict):
            inner = _unpack(buf, s["seq"])
            out.append(tuple(inner) if s["tuple"] else inner)
        else:
            out.append(_view(buf, s[0], tuple(s[1]), np.dtype(s[2]), "C"))
    return out


def _send(fd: int, msg: dict[str, Any]) -> None:
    data = json.dumps(msg).encode()
    data = struct.pack("<I", len(data)) + data
    while data:
        data = data[os.write(fd, data):]


def _receive(fd: int, spin: float = 0.0) -> dict[str, Any] | None:
    """The next message, or None: the pipe closed, or an empty header (the parent's "exit"). With `spin`, polls
    the pipe for up to that many seconds before sleeping in `read` (waking a sleeping process costs more here)."""
    if spin:
        end = time.perf_counter() + spin
        while not select.select([fd], [], [], 0)[0] and time.perf_counter() < end:
            pass
    head = _read(fd, 4)
    n = struct.unpack("<I", head)[0] if head is not None else 0
    body = _read(fd, n) if n else None
    return None if body is None else json.loads(body)


def _read(fd: int, n: int) -> bytes | None:
    chunks = []
    while n:
        try:
            b = os.read(fd, n)
        except InterruptedError:
            continue
        if not b:
            return None
        chunks.append(b)
        n -= len(b)
    return b"".join(chunks)


__all__ = ["Worker", "available", "child_peak_mib", "in_processes", "worker_for"]
