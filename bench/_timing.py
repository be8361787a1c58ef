"""Interleaved, repeated timing: the host is noisy, so peers run in turns and we keep medians."""

from __future__ import annotations

import os
import time
from collections.abc import Callable

import numpy as np


def blas_info() -> str:
    """Which BLAS kernel NumPy uses (PERFORMANCE.md: OPENBLAS_CORETYPE caps float32 matmul)."""
    core = os.environ.get("OPENBLAS_CORETYPE", "unset")
    try:
        from threadpoolctl import threadpool_info

        info = [f"{d.get('internal_api')} {d.get('version')} {d.get('architecture')}" for d in threadpool_info()]
        return f"OPENBLAS_CORETYPE={core}; " + "; ".join(info)
    except ImportError:
        return f"OPENBLAS_CORETYPE={core}"


def interleaved(fns: dict[str, Callable[[], None]], repeats: int = 7, min_time: float = 0.2) -> dict[str, float]:
    """Median seconds per call of each function, measured in alternating rounds."""
    loops = {}
    for name, fn in fns.items():  # warm up and size the inner loop
        fn()
        n, t = 1, 0.0
        while True:
            t0 = time.perf_counter()
            for _ in range(n):
                fn()
            t = time.perf_counter() - t0
            if t >= min_time / 4 or n > 1e6:
                break
            n *= 2
        loops[name] = n
    samples: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            n = loops[name]
            t0 = time.perf_counter()
            for _ in range(n):
                fn()
            samples[name].append((time.perf_counter() - t0) / n)
    return {name: float(np.median(v)) for name, v in samples.items()}


def report(title: str, times: dict[str, float], base: str = "neurona") -> str:
    """Lines of 'name: ms, ratio' where ratio = peer time / neurona time (>1 means neurona is faster)."""
    lines = [title]
    for name, t in times.items():
        ratio = t / times[base]
        lines.append(f"  {name:<22s} {t * 1e3:9.3f} ms   {'' if name == base else f'{ratio:5.2f}x'}")
    return "\n".join(lines)
