"""Interleaved, repeated timing: the host is noisy, so peers run in turns and we keep medians.

Also the things every benchmark needs to report honestly: which BLAS kernel ran, equal thread counts for
all peers, this machine's float32 matmul peak (to express GFLOP/s as a fraction of it) and peak memory.
"""

from __future__ import annotations

import contextlib
import gc
import importlib.util
import os
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np


def blas_info() -> str:
    """Which BLAS kernel NumPy uses (docs/performance.md: OPENBLAS_CORETYPE caps float32 matmul)."""
    core = os.environ.get("OPENBLAS_CORETYPE", "unset")
    try:
        from threadpoolctl import threadpool_info

        info = [f"{d.get('internal_api')} {d.get('version')} {d.get('architecture')}" for d in threadpool_info()]
        return f"OPENBLAS_CORETYPE={core}; " + "; ".join(info)
    except ImportError:
        return f"OPENBLAS_CORETYPE={core}"


def numpy_blas_kernel() -> str:
    """The kernel NumPy's own BLAS runs, e.g. 'openblas 0.3.31 SkylakeX, 2 threads'."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "unknown (pip install threadpoolctl)"
    for d in threadpool_info():
        if d.get("user_api") == "blas" and "numpy" in d.get("filepath", ""):
            return f"{d.get('internal_api')} {d.get('version')} {d.get('architecture')}, {d.get('num_threads')} threads"
    return "unknown"


@contextlib.contextmanager
def equal_threads(n: int) -> Iterator[None]:
    """Give every peer the same number of threads: all BLAS/OpenMP pools (threadpoolctl) and torch's own."""
    torch = sys.modules.get("torch")
    if torch is None and importlib.util.find_spec("torch") is not None:
        import torch  # now, so that its OpenMP pool exists when threadpoolctl sets the limits
    old_torch = torch.get_num_threads() if torch is not None else None
    if torch is not None:
        torch.set_num_threads(n)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        limiter = contextlib.nullcontext()
    else:
        limiter = threadpool_limits(limits=n)
    try:
        with limiter:
            yield
    finally:
        if torch is not None and old_torch is not None:
            torch.set_num_threads(old_torch)


def settle_allocator() -> None:
    """Put glibc's malloc in its steady state before timing anything: free one 31 MiB block.

    glibc serves blocks above M_MMAP_THRESHOLD (128 KiB at start) with fresh mmap pages, page-faulted on every
    use, and raises the threshold to the size of the largest mmapped block freed so far (up to 32 MiB). So a
    peer's speed depended on what ran before it in the process: torch eager's CNN step took 5,500 page faults
    and ~1.25x the time until some NumPy array of tens of MB had been freed (docs/performance.md,
    "Convolutions (#18)"). Every training program frees such blocks in its first steps; this does it once,
    for every peer alike.
    """
    block = np.ones(31 << 18, np.float32)
    del block


def matmul_peak(n: int = 2048, repeats: int = 5) -> float:
    """NumPy's float32 matmul speed on a large square product, GFLOP/s (median of a few)."""
    a = np.random.default_rng(0).random((n, n), dtype=np.float32)
    out = np.empty_like(a)
    np.matmul(a, a, out=out)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        np.matmul(a, a, out=out)
        times.append(time.perf_counter() - t0)
    return 2 * n**3 / float(np.median(times)) / 1e9


def _status_kib(key: str) -> int | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(key):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def peak_memory(fn: Callable[[], object]) -> tuple[float | None, float | None]:
    """Run fn once; return (peak RSS of the process during it, peak growth above the RSS before it), in MiB.

    Linux only (the peak is reset through /proc/self/clear_refs); (None, None) elsewhere.
    """
    gc.collect()
    before = _status_kib("VmRSS")
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # resets VmHWM, the peak resident set, to the current RSS
    except OSError:
        fn()
        return None, None
    fn()
    peak = _status_kib("VmHWM")
    if before is None or peak is None:
        return None, None
    return peak / 1024, max(peak - before, 0) / 1024


def traced_peak(fn: Callable[[], object]) -> float:
    """Peak MiB of Python and NumPy allocations made while fn runs (tracemalloc; NumPy reports its buffers).

    Unlike the resident set this counts exactly what fn allocates, not what the allocator keeps from earlier.
    """
    import sys
    import tracemalloc

    rows = sys.modules.get("neurona.ops.lstm_rows")
    if rows is not None:  # workspaces earlier runs handed back would hide the LSTM's buffers from the count
        rows.clear_pools()
    patches = sys.modules.get("neurona.ops.patches")
    if patches is not None:  # the same for the conv ops' patch matrices and gradient bands (#18, round three)
        patches.SCRATCH.clear()
    workspace = sys.modules.get("neurona.ops.workspace")
    if workspace is not None:  # the same for the scratch buffers of attention and layer normalisation
        workspace.clear()
    gc.collect()
    try:
        from neurona.models import half_worker as worker
    except ImportError:  # pragma: no cover - the bench measures neurona
        worker = None
    before_fork: list[int] = []

    def at_fork(stage: str) -> None:
        # half of each split batch is about to run in a worker process ("fork"), and this process has let go of
        # what the worker took over ("released"): its peak so far is kept, and its peak from then on is what
        # coexists with the worker's
        before_fork.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.reset_peak()

    if worker is not None:
        worker.child_peak_mib()  # forget earlier children's peaks
        worker.FORK_HOOKS.append(at_fork)
    tracemalloc.start()
    try:
        fn()
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        if worker is not None and before_fork:  # (models/half_worker.py) the worker's own peak and the shared
            # memory count from the fork on, added to this process's peak since (an upper bound: the two peaks
            # need not coincide); before it, this process alone
            peak = max(max(before_fork) / 2**20, peak + worker.child_peak_mib())
        return peak
    finally:
        if worker is not None:
            worker.FORK_HOOKS.remove(at_fork)
        tracemalloc.stop()


# Seconds of quiet before each sample. Idle BLAS and OpenMP worker threads keep spinning on a core after the
# last parallel call that woke them (OpenBLAS ~2^28 cycles, about 0.1 s; Intel OpenMP 0.2 s), so without a
# pause each runner starts its sample while the previous runner's threads still hold the second core.
SETTLE_S = 0.25


def interleaved_runs(runners: dict[str, Callable[[int], float]], repeats: int = 7,
                     min_time: float = 0.2, settle: float = SETTLE_S) -> dict[str, list[float]]:
    """Seconds per call of each runner, one sample per round, rounds alternating between the runners.

    A runner takes a count n, makes n calls and returns the seconds they took (measured wherever the work
    runs, so a peer in another process is timed without the pipe). Each runner is called once to warm up,
    then its n is doubled until a sample lasts about min_time / 4. Every sample starts after `settle`
    seconds of sleep, so no runner pays for the spinning threads of the one before it.
    """
    loops = {}
    for name, run in runners.items():
        # warm-up: first-call costs (building, caches, compilation) stay out of the samples; a slow first
        # call already says that one call per sample is enough
        if run(1) >= min_time / 4:
            loops[name] = 1
            continue
        n = 1
        while run(n) < min_time / 4 and n < 1_000_000:
            n *= 2
        loops[name] = n
    samples: dict[str, list[float]] = {name: [] for name in runners}
    for _ in range(repeats):
        for name, run in runners.items():
            time.sleep(settle)
            samples[name].append(run(loops[name]) / loops[name])
    return samples


def timed(fn: Callable[[], object]) -> Callable[[int], float]:
    """A runner for interleaved_runs from a function of no arguments."""

    def run(n: int) -> float:
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        return time.perf_counter() - t0

    return run


def interleaved(fns: dict[str, Callable[[], None]], repeats: int = 7, min_time: float = 0.2) -> dict[str, float]:
    """Median seconds per call of each function, measured in alternating rounds."""
    samples = interleaved_runs({name: timed(fn) for name, fn in fns.items()}, repeats, min_time)
    return {name: float(np.median(v)) for name, v in samples.items()}


def report(title: str, times: dict[str, float], base: str = "neurona") -> str:
    """Lines of 'name: ms, ratio' where ratio = peer time / neurona time (>1 means neurona is faster)."""
    lines = [title]
    for name, t in times.items():
        ratio = t / times[base]
        lines.append(f"  {name:<22s} {t * 1e3:9.3f} ms   {'' if name == base else f'{ratio:5.2f}x'}")
    return "\n".join(lines)


def floor_tasks(net: Any, data: dict[str, np.ndarray], batch: int, task: str,
                phases: dict[str, list[float]] | None = None) -> Callable[[], object]:
    """The suite's work function for a hand-written floor `net` (`step(xb, yb, phases)`, `predict(x)`): train =
    one shuffled epoch, its gathers timed as the 'gather' phase; predict = batches of 1,000; latency = one sample."""
    x, y = data["x"], data["onehot"]
    rng = np.random.default_rng(0)
    if task == "train":
        def epoch() -> None:
            perm = rng.permutation(len(x))
            for i in range(0, len(x), batch):
                t0 = time.perf_counter()
                idx = perm[i:i + batch]
                xb, yb = np.take(x, idx, axis=0), np.take(y, idx, axis=0)
                if phases is not None:
                    phases.setdefault("gather", []).append(time.perf_counter() - t0)
                net.step(xb, yb, phases)
        epoch.net = net  # type: ignore[attr-defined]
        return epoch
    if task == "predict":
        return lambda: np.concatenate([net.predict(x[i:i + 1000]) for i in range(0, len(x), 1000)])
    x1 = x[:1]
    return lambda: net.predict(x1)
