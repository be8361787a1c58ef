"""A convolution's patch-matrix layouts run over parts of the batch, on two threads when BLAS may use two.

The slides' CNN is ~60 % matrix products and ~35 % data movement (the im2col copy, col2im adds, activation
masks) that NumPy runs on one core. Splitting the batch into one part per thread, each running its own copy,
product and col2im with BLAS at one thread, puts the second core to work on the data movement too
(docs/performance.md, "Convolutions (#18)"). The parts' weight gradients are added, so with threads the
weight gradient's float32 sums run in another order (equal to the one-thread result to rounding); with one
part the arithmetic is exactly the one-thread code's.

Threads are used only when the work is large (`MIN_WORK` patch entries), the batch has two images or more,
threadpoolctl is importable (to hold BLAS at one thread meanwhile: numpy is neurona's only hard dependency,
so without it everything runs on the calling thread) and NumPy's BLAS is allowed more than one thread, so
`threadpoolctl.threadpool_limits(1)` or `OPENBLAS_NUM_THREADS=1` keep neurona on one core.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from ..switches import overriding
from ..tensor import is_grad_enabled
from .patches import SCRATCH, copy_windows, taps_matrix

MIN_WORK = 1 << 21  # patch-matrix entries (rows x columns) from which two threads pay off
MAX_WORKERS = 2
# Bytes of patch matrix per band, so that a band's copy is still in cache when its product reads it: used when
# predicting (no patches kept) and for pixel-major convs in training (their patches are rebuilt in backward).
# The slides' conv2 at batch 1,000 predicts in 67 ms with ~1,600-row (5 MB) bands, 79-95 ms with 8,192-row ones.
PATCH_BYTES = 4 << 20
# Bytes of activation gradient per band in a tap-major conv's backward when its patches are kept (KEEP_TAPS).
GRAD_BYTES = 1 << 20
# Tap-major patches (few channels) in training: kept whole for backward (KEEP_TAPS), or made in bands of
# PATCH_BYTES and rebuilt in backward, as the pixel-major ones are (the default: the slides' conv1 keeps no 5.7 MiB
# patch matrix; its step time is the same within noise, 42.9 against 42.6 ms, and 1 MiB bands cost 1.8 ms).
KEEP_TAPS = False

_state = threading.local()
_lock = threading.Lock()
_forced: list[int | None] = [None]
_blas: list[Any] = []  # [threadpoolctl lib controllers of BLAS] once looked up; [None] when unavailable
_pool: list[ThreadPoolExecutor] = []


def _blas_controllers() -> Any:
    if not _blas:
        with _lock:
            if not _blas:
                try:
                    from threadpoolctl import ThreadpoolController

                    libs = [c for c in ThreadpoolController().lib_controllers if c.user_api == "blas"]
                    _blas.append(libs or None)
                except Exception:  # not installed, or an unusual BLAS it cannot drive: stay on one thread
                    _blas.append(None)
    return _blas[0]


def workers(n_images: int, work: int) -> int:
    """How many parts to run a convolution of `n_images` with `work` patch entries in (1: no threads)."""
    if getattr(_state, "inside", False) or n_images < 2:
        return 1
    if _forced[0] is not None:
        return max(1, min(_forced[0], n_images))
    if work < MIN_WORK:
        return 1
    libs = _blas_controllers()
    if libs is None:
        return 1
    held = getattr(_state, "held", None)
    allowed = max(k for _, k in held) if held else max(c.num_threads for c in libs)
    return max(1, min(allowed, os.cpu_count() or 1, n_images, MAX_WORKERS))


def forced_workers(n: int | None) -> contextlib.AbstractContextManager[None]:
    """Run every convolution in `n` parts whatever its size (None: decide as usual); for tests and benchmarks."""
    return overriding(_forced, n)


def bounds(n: int, parts: int) -> list[tuple[int, int]]:
    """Image ranges [start, stop) of `parts` near-equal parts of a batch of n."""
    cuts = [n * i // parts for i in range(parts + 1)]
    return [(a, b) for a, b in zip(cuts[:-1], cuts[1:]) if b > a]


def _inside(fn: Callable[[], Any]) -> Any:
    _state.inside = True
    try:
        return fn()
    finally:
        _state.inside = False


@contextlib.contextmanager
def held_blas() -> Iterator[None]:
    """While it lasts (a whole fit or predict), BLAS stays at one thread from the first conv run in parts on.

    Restoring BLAS's threads after every op cost more than the parts gained: OpenBLAS's woken threads spin
    for a while after each call and take the core the other part needs (measured: 6x the CPU time per step
    on a loaded 2-core machine). Without any conv run in parts, BLAS's threads are never touched.
    """
    outer = getattr(_state, "held", None)
    if outer is not None:  # nested (predict inside fit's validation): the outer one restores
        yield
        return
    _state.held = []
    try:
        yield
    finally:
        for c, k in _state.held:
            c.set_num_threads(k)
        _state.held = None


def _blas_to_one() -> list[tuple[Any, int]]:
    """Set BLAS to one thread; returns what to restore (nothing when a `held_blas` block restores it)."""
    libs = _blas_controllers() or []
    held = getattr(_state, "held", None)
    if held is not None:
        if not held:
            held.extend((c, c.num_threads) for c in libs)
            for c in libs:
                c.set_num_threads(1)
        return []
    old = [(c, c.num_threads) for c in libs]
    for c in libs:
        c.set_num_threads(1)
    return old


@contextlib.contextmanager
def blas_at_one() -> Iterator[None]:
    """BLAS at one thread while it lasts (inside a `held_blas` block, until that block ends)."""
    restore = _blas_to_one()
    try:
        yield
    finally:
        for c, k in restore:
            c.set_num_threads(k)


def run(fns: list[Callable[[], Any]]) -> list[Any]:
    """Call each function, the first on this thread and the others on the pool, BLAS at one thread meanwhile."""
    if len(fns) == 1:
        return [fns[0]()]
    if not _pool:
        with _lock:
            if not _pool:
                _pool.append(ThreadPoolExecutor(MAX_WORKERS - 1, thread_name_prefix="neurona-conv"))
    with blas_at_one():
        futures = [_pool[0].submit(_inside, fn) for fn in fns[1:]]
        first = _inside(fns[0])
        return [first] + [f.result() for f in futures]


# ----------------------------------------------------------------------------- forward and backward by parts


def forward(op: Any, xp: np.ndarray, w2: np.ndarray, geometry: tuple, activate: Callable) -> np.ndarray:
    """z = act(patches(xp) @ w2) as (N*OH*OW, F), one patch matrix per part kept in `op.cols` (a list)."""
    (kh, kw), _, _, (oh, ow) = geometry
    n, c = xp.shape[0], xp.shape[3]
    k, f, per = kh * kw * c, w2.shape[1], oh * ow
    z = np.empty((n * per, f), np.result_type(xp, w2))
    threads = workers(n, n * per * k)
    inference = not is_grad_enabled()
    op.band_rows = max(per, PATCH_BYTES // ((k + 1) * xp.dtype.itemsize))
    # inference keeps no patches: bands of about PATCH_BYTES reuse one small patch matrix per thread
    parts = bounds(n, max(threads, -(-n * per // op.band_rows))) if inference else bounds(n, threads)

    def part(i0: int, i1: int) -> np.ndarray | None:
        rows = z[i0 * per:i1 * per]
        if op.layout == "taps" and (inference or KEEP_TAPS):
            cols = taps_matrix(xp[i0:i1], *geometry, ones_row=op.has_b)
            np.matmul(cols.T, w2, out=rows)
        elif op.layout == "taps":  # in bands, keeping nothing, as below
            for b0, b1 in train_bands(i0, i1, per, op.band_rows):
                cols = taps_matrix(xp[b0:b1], *geometry, ones_row=op.has_b)
                np.matmul(cols.T, w2, out=z[b0 * per:b1 * per])
                SCRATCH.give(cols)
            cols = None
        elif inference:
            cols = pixel_patches(op, xp, i0, i1)
            np.matmul(cols, w2, out=rows)
        else:  # in cache-sized bands, keeping nothing: backward rebuilds each band from the (much smaller) input
            for b0, b1 in train_bands(i0, i1, per, op.band_rows):
                cols = pixel_patches(op, xp, b0, b1)
                np.matmul(cols, w2, out=z[b0 * per:b1 * per])
                SCRATCH.give(cols)
            cols = None
        out = activate(rows, op.act)
        if out is not rows:
            rows[...] = out
        return cols

    if inference:
        def band(ranges: list[tuple[int, int]]) -> None:
            for i0, i1 in ranges:
                SCRATCH.give(part(i0, i1))

        run([lambda r=parts[i::threads]: band(r) for i in range(threads)])
        op.parts, op.cols = parts, None
        return z
    op.parts, op.xp = parts, xp
    op.cols = run([lambda i0=i0, i1=i1: part(i0, i1) for i0, i1 in parts])
    return z


def train_bands(i0: int, i1: int, per: int, rows: int) -> list[tuple[int, int]]:
    """Image ranges of near-equal bands of at most about `rows` patch rows covering images [i0, i1)."""
    return [(i0 + a, i0 + b) for a, b in bounds(i1 - i0, max(1, -(-(i1 - i0) * per // rows)))]


def pixel_patches(op: Any, xp: np.ndarray, i0: int, i1: int) -> np.ndarray:
    """The pixel-major patch matrix of images [i0, i1), with a last column of ones for the bias (a SCRATCH array)."""
    (kh, kw), _, _, (oh, ow) = op.geometry
    c = xp.shape[3]
    k = kh * kw * c
    cols = SCRATCH.take(((i1 - i0) * oh * ow, k + op.has_b), xp.dtype)
    copy_windows(cols[:, :k].reshape(i1 - i0, oh, ow, kh, kw, c), xp[i0:i1], *op.geometry)
    if op.has_b:
        cols[:, k] = 1
    return cols


def backward(op: Any, gy: np.ndarray, activation_grad: Callable, need_w: bool, need_x: bool):
    """(gradient of the weights with the bias as its last row or None, gradient of the padded input or None).

    Tap-major convs (few channels, many rows: the slides' conv1) take the gradient through the fused activation
    band by band, never for the whole batch (7 MiB for conv1), each band's patches rebuilt from the input and its
    weight-gradient product added (float32 rounding apart from one product). Pixel-major convs take it for the
    whole part and rebuild their patches band by band for the weight gradient, as in round two
    (docs/performance.md, "Convolutions", round three).
    """
    w, per = op.w, op.geometry[3][0] * op.geometry[3][1]
    f = w.shape[-1]
    g_all = gy.reshape(-1, f)
    gxp = np.empty(op.xp_shape, np.result_type(gy, w)) if need_x else None

    def part(i0: int, i1: int, cols: np.ndarray | None) -> tuple[np.ndarray | None, np.ndarray | None]:
        rows = op.band_rows if cols is None else max(per, GRAD_BYTES // (f * gy.itemsize))
        # pixel-major convs (many channels, few rows) take the part's activation gradient whole: band by band it
        # measured 20.1-21.3 ms against 17.4-18.5 for the slides' conv2 backward
        whole = op.layout == "pixels"
        if whole:
            g_part = activation_grad(g_all[i0 * per:i1 * per], None if op.y is None else op.y[i0 * per:i1 * per],
                                     op.act)
        gwb = None
        for b0, b1 in train_bands(i0, i1, per, rows):
            r0, r1 = b0 * per, b1 * per
            if whole:
                g = g_part[r0 - i0 * per:r1 - i0 * per]
            else:
                g = activation_grad(g_all[r0:r1], None if op.y is None else op.y[r0:r1], op.act)
            if need_w or op.has_b:
                if cols is not None:  # weights and bias (the ones row) from one product
                    prod = cols[:, r0 - i0 * per:r1 - i0 * per] @ g
                elif op.layout == "taps":  # tap-major patches rebuilt band by band
                    band = taps_matrix(op.xp[b0:b1], *op.geometry, ones_row=op.has_b)
                    prod = band @ g
                    SCRATCH.give(band)
                else:  # pixel-major patches rebuilt band by band
                    band = pixel_patches(op, op.xp, b0, b1)
                    # (g.T @ cols).T: BLAS runs this orientation of the long sum faster than cols.T @ g
                    prod = g.T @ band
                    SCRATCH.give(band)
                if gwb is None:
                    gwb = prod
                else:
                    gwb += prod
            if whole:
                continue
            if need_x:
                op._padded_input_gradient(g, b1 - b0, gxp[b0:b1])
            if op.act:
                SCRATCH.give(g)
        if whole:
            if need_x:
                op._padded_input_gradient(g_part, i1 - i0, gxp[i0:i1])
            if op.act:
                SCRATCH.give(g_part)
        if gwb is not None and op.layout == "pixels":
            gwb = gwb.T
        return gwb, None

    results = run([lambda i0=i0, i1=i1, cols=cols: part(i0, i1, cols) for (i0, i1), cols in zip(op.parts, op.cols)])
    gwb = results[0][0]
    for other, _ in results[1:]:
        gwb = gwb + other
    return gwb, gxp


def give_back(op: Any) -> None:
    """Hand the parts' patch matrices back to SCRATCH (after backward, or before the op runs again)."""
    cols = getattr(op, "cols", None)
    if isinstance(cols, list):
        for c in cols:
            SCRATCH.give(c)
    op.cols = op.xp = None
