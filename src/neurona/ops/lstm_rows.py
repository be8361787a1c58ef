"""The LSTM's hot path with gates as rows: every per-step array is (units, batch), so each gate block is one
contiguous slab; a step is 8 NumPy calls forward (9 when the gate product runs as two halves) and, backward,
4 elementwise calls and 3 (4) products per step plus 9 whole-chunk calls per chunk (PERFORMANCE.md's LSTM lever).

Used by `LSTMOp` for the common case (tanh and sigmoid, no mask, no recurrent dropout); the result equals
the general path to float32 rounding (the sums are formed in another order). The layout, per step s:

- `hx[s]` (units + features + 1, batch) = [h_{s-1}; x_s; 1]: ONE matmul with [U; W; b] (scaled, below) gives
  all four gates' pre-activations, input projection and bias included, so there is no separate projection
  pass over the whole sequence and no `+= rec` call;
- `z[s]` (5 units, batch) = [o, i, f, g, c_{s-1}]: the gates reordered from Keras's i, f, c, o so that the
  three sigmoid gates are contiguous (sigmoid(z) = 0.5 tanh(z / 2) + 0.5, the 1/2 folded into the weights,
  so ONE tanh call activates all four gates), [i, f] times [g, c_{s-1}] is one multiply, and the cell
  gradient's three gates are one slab. tanh(c_s) is not kept (backward recomputes it per chunk, one call):
  what a step keeps is the gates, c and [h; x; 1], the algorithmic minimum plus x and a row of ones.
- products a little over OpenBLAS's small-matrix size (`SMALL_GEMM`) run as two halves.

Backward runs through time in chunks of `CHUNK` steps: the derivative factors of a chunk are computed in
whole-chunk calls in place in one buffer just before its steps (so they are still in cache), each step then
turns its factors into its gradients in that same buffer, and the weight gradient is added per step into a
single (4 units, units + features + 1) accumulator, on data that is still in cache: with SciPy one BLAS call
that adds the product in place (`weight_gradient` over `gemm_accumulate`: gemm with beta=1, no scratch product;
op forward + backward 1.01-1.08x faster, the same bits), without it a matmul and an add.
The buffers live in a workspace dict that an op holds from its forward to the end of its backward and then
hands to the next LSTM op (`take_workspace`, `give_workspace`), so a replayed training step (`neurona.function`)
reuses them instead of allocating (and page-faulting) megabytes per step, and the ops fit traces never hold
two sets at once. Without a backward to follow (`keep=False`: predict, evaluate) the forward keeps one step's
gates and, unless every h is wanted or all are small, two state slabs, in workspaces of their own that a
training step frees: the same calls on the same values, so the same bits.
"""

from __future__ import annotations

import contextlib
import math
from typing import Any

import numpy as np

CHUNK = 2  # steps per backward chunk: 2, 3, 5 as fast (LSTM(64), 50 steps, b64: 4.02, 4.12, 3.87 ms); 2 holds least

# OpenBLAS's SkylakeX kernels multiply matrices with m*n*k <= 1e6 without packing them first ("small matrix"
# kernels), about 1.3x faster per flop just below that size than the packed path just above it: a product a
# little bigger (LSTM(64), batch 64: 256 x 73 x 64 = 1.2e6) runs as two halves (measured 21 -> 16.5 us).
SMALL_GEMM = 1_000_000
SMALL_BLAS = 65536 * 4  # OpenBLAS runs a GEMM on one thread below this m*n*k (GEMM_MULTITHREAD_THRESHOLD 4)
SMALL_STATES = 1 << 18  # bytes: inference keeps every step's [h; x; 1] up to this (x placed once, not per step)


def halves(m: int, k: int, n: int) -> bool:
    """Whether an (m, k) x (k, n) product is faster as two halves (each under SMALL_GEMM, the whole above)."""
    return SMALL_GEMM < m * k * n <= 2 * SMALL_GEMM


_POOL: list[dict[str, Any]] = []  # workspaces handed back by training ops that are done with them
_POOL_MAX = 4
_INFER: list[dict[str, Any]] = []  # workspaces of no_grad forwards (one step's gates): predict reuses them


def take_workspace(infer: bool = False) -> dict[str, Any]:
    """A workspace (buffers and their per-step views) given back by an op that is done with it, else a new one.

    fit runs its first steps eagerly and then replays a traced step: without this, the eager op's gates and the
    replayed op's would be two sets of megabytes held at once (the training peak at ~2x its minimum).
    `infer`: for a forward under no_grad (two slabs, never backpropagated), from a pool of its own. Taking a
    training workspace drops the inference ones (`drop_inference`): a training step holds none."""
    if not infer:
        drop_inference()
    pool = _INFER if infer else _POOL
    try:
        return pool.pop()
    except IndexError:
        return {}


def give_workspace(ws: dict[str, Any], infer: bool = False) -> None:
    """Hand a workspace back once nothing refers to its buffers (an op's outputs are always copies)."""
    pool = _INFER if infer else _POOL
    if len(pool) < _POOL_MAX:
        pool.append(ws)


def drop_inference() -> None:
    """Free the no_grad workspaces: fit's replay check runs one forward under no_grad between a traced step's
    forward and its backward, and its buffers (two slabs of gates and states, x time-major) would otherwise
    stay allocated through every training step (0.39 MiB of 7.7 for LSTM(64), batch 64)."""
    _INFER.clear()


def clear_pools() -> None:
    """Forget every pooled workspace (the bench's memory count starts from nothing)."""
    _POOL.clear()
    _INFER.clear()


def _buffer(ws: dict[str, Any], key: str, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """ws[key] when it has this shape and dtype, else a new empty array stored there."""
    a = ws.get(key)
    if a is None or a.shape != shape or a.dtype != dtype:
        a = ws[key] = np.empty(shape, dtype)
    return a


def regions(ws: dict[str, Any], key: str, dt: np.dtype, *shapes: tuple[int, ...]) -> list[np.ndarray]:
    """Empty C-ordered arrays of these shapes, side by side in ONE buffer ws[key] (grown, never shrunk), each
    at a multiple of 64 bytes from its start (a cache line: no two arrays share one).

    The forward's scratch (the permuted weights `wall` and the products `p`) is dead once the forward returns,
    and the backward's (the factors `q`, the permuted `U` and `W`) is made anew when it starts: asking for both
    under one key puts them in the same memory, so a process holds the larger of the two instead of both
    (#18: 97 KiB less per LSTM(64) op at batch 32). Callers must not hold one set's arrays while asking for the
    other."""
    made = ws.setdefault(key + " views", {})  # (dtype, shapes) -> the arrays, made once per buffer
    arrays = made.get((dt, shapes))
    if arrays is None:
        step = max(64 // np.dtype(dt).itemsize, 1)
        offsets, n = [], 0
        for shape in shapes:
            offsets.append(n)
            n += -(-math.prod(shape) // step) * step
        buf = ws.get(key)
        if buf is None or buf.dtype != dt or buf.size < n:
            buf = ws[key] = np.empty(n, dt)
            made.clear()  # views of the old buffer
        arrays = made[(dt, shapes)] = [buf[o:o + math.prod(s)].reshape(s) for o, s in zip(offsets, shapes)]
    return arrays


def state_rows(ws: dict[str, Any], key: str, x: np.ndarray, h: int, h0: np.ndarray | None, go_backwards: bool,
               all_h: bool) -> tuple[np.ndarray, np.ndarray]:
    """(hx, xs) for a rows forward (LSTM, GRU, SimpleRNN): hx holds [h; x; 1] per step as (steps, H + D + 1, B)
    in ws[key], every step's when `all_h`, else two slabs in ws[key + '2'] used in turn (x is then copied in per
    step); h0 (or zeros) is in the first. xs is x time-major, (T, D, B), reversed for go_backwards."""
    bsz, t, d = x.shape
    k = h + d + 1
    xs = x.transpose(1, 2, 0)
    xs = xs[::-1] if go_backwards else xs
    if all_h:
        hx = _buffer(ws, key, (t + 1, k, bsz), x.dtype)
        hx[:t, h:h + d] = xs
    else:
        hx = _buffer(ws, key + "2", (2, k, bsz), x.dtype)
    hx[:, k - 1] = 1
    hx[0, :h] = 0 if h0 is None else h0.T
    return hx, xs


def _step_views(ws: dict[str, Any], z: np.ndarray, hx: np.ndarray, t: int, h: int) -> list[tuple[Any, ...]]:
    """Per step: (gates, sigmoid gates, [i, f], [g, c_prev], c_s, o, hx[s], h_s, x_s's place in hx[s]), made
    once per set of buffers.

    z and hx hold either every step (T+1 slabs, training) or two slabs used in turn (inference: step s works
    in slab s % 2 and writes c_s and h_s into the other one, so only one step's gates and two states are ever
    held). With two hx slabs, x_s is copied into its slab at each step; with every step's, x is already in
    place and that view is None (the views are ~60 KiB of objects for 50 steps: #18 keeps no unused ones)."""
    key = (id(z), id(hx), t)
    if ws.get("views of") != key:
        nz, nh = z.shape[0], hx.shape[0]
        ws["views"] = [(z[s % nz, :4 * h], z[s % nz, :3 * h], z[s % nz, h:3 * h], z[s % nz, 3 * h:5 * h],
                        z[(s + 1) % nz, 4 * h:5 * h], z[s % nz, :h], hx[s % nh],
                        hx[(s + 1) % nh, :h], hx[s % nh, h:-1] if nh == 2 else None) for s in range(t)]
        ws["views of"] = key
    return ws["views"]


_BLAS: list[Any] = []  # [threadpoolctl's controllers of the loaded BLAS libraries] once looked up ([None] without it)


_GEMM: dict[np.dtype, Any] = {}  # dtype -> SciPy's BLAS gemm for it, or None (no SciPy, another dtype)


def gemm_accumulate(dt: np.dtype) -> Any:
    """SciPy's BLAS `sgemm`/`dgemm` for dtype dt, or None (SciPy not installed, or another dtype).

    `g(1.0, a, b, beta=1.0, c=c, overwrite_c=True, trans_a=1)` adds a^T b into c in ONE call, in place when c
    is Fortran-ordered (the transpose of a C-ordered array), where NumPy takes a product into a scratch array
    and an add. The recurrences' per-step weight gradient uses it (dW^T += hx_s dz_s^T): OpenBLAS's kernel
    adds the product to c exactly as the separate add does, so the bits are the same either way (tested)."""
    key = np.dtype(dt)
    if key not in _GEMM:
        try:
            from scipy.linalg import blas
        except ImportError:
            blas = None
        _GEMM[key] = None if blas is None else {np.dtype(np.float32): blas.sgemm,
                                                 np.dtype(np.float64): blas.dgemm}.get(key)
    return _GEMM[key]


def weight_gradient(ws: dict[str, Any], key: str, shape: tuple[int, int], dt: np.dtype) -> tuple[np.ndarray, Any]:
    """A zeroed weight-gradient accumulator dW of `shape` and `add(dz, hx_s)`, which adds dz hx_s^T into it.

    With SciPy's gemm (`gemm_accumulate`) that is one call adding in place into dW's transpose (Fortran-ordered);
    without it, a matmul into the scratch buffer ws[key] and an add. The LSTM, GRU and SimpleRNN backwards call
    `add` once per time step."""
    dw = np.zeros(shape, dt)
    gemm = gemm_accumulate(dt)
    if gemm is not None:
        dwt = dw.T

        def add(dz: np.ndarray, hxs: np.ndarray) -> None:
            gemm(1.0, hxs.T, dz.T, beta=1.0, c=dwt, overwrite_c=True, trans_a=1)
    else:
        tmp = _buffer(ws, key, shape, dt)

        def add(dz: np.ndarray, hxs: np.ndarray) -> None:
            np.matmul(dz, hxs.T, out=tmp)
            np.add(dw, tmp, out=dw)
    return dw, add


class _OneThread:
    """BLAS at one thread inside the block: each library that runs more than one thread is set to one on entry
    and restored on exit, by its own get/set calls (threadpoolctl's `LibController`s, looked up once).

    The same effect as threadpoolctl's `limit(limits=1)` at a fifth of its cost: that call gathers every
    library's info dict and restores all of them (~10 us per entry and exit when one library has 2 threads,
    twice per training step: entering and leaving cost ~20 us of a ~5.5 ms LSTM step, measured in round five)."""

    __slots__ = ("libs", "saved")

    def __init__(self, libs: list[Any]) -> None:
        self.libs = libs
        self.saved: list[tuple[Any, int]] = []

    def __enter__(self) -> None:
        for lib in self.libs:
            n = lib.get_num_threads()
            if n is not None and n > 1:
                lib.set_num_threads(1)
                self.saved.append((lib, n))

    def __exit__(self, *exc: Any) -> None:
        for lib, n in self.saved:
            lib.set_num_threads(n)
        self.saved.clear()


def one_blas_thread(work: int | None = None) -> Any:
    """A context in which BLAS runs on one thread, when threadpoolctl is installed (else a no-op). A step's
    matrices are small (4 units x batch): splitting each of the ~150 products of a sequence over threads costs
    more in synchronisation than it gains, and on a busy machine every product waits for a second core
    (measured: 2-thread BLAS made an LSTM(64) step 10-100x slower on a loaded 2-core host).
    `work`: the per-step product's m*n*k; under `SMALL_BLAS` OpenBLAS runs it on one thread anyway, so the
    limit (a few us of CPU to enter and leave, ~2% of a one-sample forward) is skipped."""
    if work is not None and work < SMALL_BLAS:
        return contextlib.nullcontext()
    if not _BLAS:
        gemm_accumulate(np.dtype(np.float32))  # SciPy's BLAS (a library of its own) loaded first, so limited too
        try:
            from threadpoolctl import ThreadpoolController

            _BLAS.append(list(ThreadpoolController().select(user_api="blas").lib_controllers))
        except ImportError:
            _BLAS.append(None)
    libs = _BLAS[0]
    return contextlib.nullcontext() if not libs else _OneThread(libs)


def op_workspace(op: Any, keep: bool) -> dict[str, Any]:
    """The workspace a rows forward (GRU, SimpleRNN) runs in: under autograd the op's own, held from forward to
    the end of its backward (taken anew when another op has used it since); under no_grad a pooled inference
    one, which the caller hands back at once."""
    if not keep:
        return take_workspace(infer=True)
    ws = op.__dict__.get("_ws")
    if ws is None or ws.get("owner") != id(op):
        ws = op._ws = take_workspace()
        ws["owner"] = id(op)
    return ws


def state_outputs(op: Any, hx: np.ndarray, t: int, h: int) -> tuple[np.ndarray, np.ndarray]:
    """(output, last state) of a rows forward from its stacked states `hx` (steps, rows, batch): every step's h as
    (B, T, H) when return_sequences, else the last h; both copies, so the buffers can be reused."""
    h_last = hx[t % hx.shape[0], :h].T.copy()
    out = np.ascontiguousarray(hx[1:, :h].transpose(2, 0, 1)) if op.return_sequences else h_last.copy()
    return out, h_last


def backward_inputs(op: Any, x: np.ndarray, g_out: Any, g_last: Any, h: int,
                    dt: np.dtype) -> tuple[Any, np.ndarray, bool, Any, Any]:
    """What every rows backward (LSTM, GRU, SimpleRNN) starts from: the per-step output gradient as (T, H, B)
    rows (`dh_ext`, None unless return_sequences), the last state's gradient (H, B), whether x needs a
    gradient, and dx with its time-major view that backward writes in place (reversed for go_backwards)."""
    bsz = x.shape[0]
    dh_ext = None
    dh = np.zeros((h, bsz), dt)
    if op.return_sequences and g_out is not None:
        dh_ext = np.ascontiguousarray(g_out.transpose(1, 2, 0), dtype=dt)
    elif g_out is not None:
        dh += g_out.T
    if g_last is not None:
        dh += g_last.T
    x_needs_grad = not op.inputs or op.inputs[0].requires_grad
    dx = dx_tm = None
    if x_needs_grad:  # written by backward in place: (T, B, D) views of the (B, T, D) gradient
        dx = np.empty(x.shape, dt)
        dx_tm = dx.transpose(1, 0, 2)[::-1] if op.go_backwards else dx.transpose(1, 0, 2)
    return dh_ext, dh, x_needs_grad, dx, dx_tm


def forward(ws: dict[str, Any], x: np.ndarray, w: np.ndarray, u: np.ndarray, b: np.ndarray | None,
            h0: np.ndarray | None, c0: np.ndarray | None, go_backwards: bool = False,
            keep: bool = True, all_h: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """x (B, T, D), w (D, 4H), u (H, 4H), b (4H,) or None (Keras gate order i, f, c, o); h0, c0 (B, H) or None
    (zeros).

    Returns (z, hx), both buffers of `ws`. With `keep` (a backward may follow) z is (T+1, 5H, B), every step's
    gates, and hx (T+1, H+D+1, B), every step's input and state. Without it (inference), z is (2, 5H, B): one
    step's gates at a time, and without `all_h` (and above `SMALL_STATES` bytes) hx is (2, H+D+1, B) too: the
    same calls on the same values, so the same bits, in buffers that stay in cache. Always: h_T is
    hx[T % len(hx), :H], c_T is z[T % len(z), 4H:5H], and with all T+1 slabs hx[s + 1, :H] is h_s.
    """
    bsz, t, d = x.shape
    h = u.shape[0]
    k = h + d + 1
    dt = x.dtype
    all_h = all_h or keep or (t + 1) * k * bsz * x.itemsize <= SMALL_STATES  # small: no per-step copy of x
    # [U; W; b] transposed (rows o, i, f, g, sigmoid rows halved) and the step's products: forward-only scratch,
    # in the memory the backward's scratch uses (`regions`)
    wall, p = regions(ws, "scratch", dt, (4 * h, k), (3 * h, bsz))
    wall[:h, :h], wall[h:, :h] = u[:, 3 * h:].T, u[:, :3 * h].T  # slices, not u[:, perm]: 12 vs 21 us
    wall[:h, h:h + d], wall[h:, h:h + d] = w[:, 3 * h:].T, w[:, :3 * h].T
    if b is None:
        wall[:, k - 1] = 0
    else:
        wall[:h, k - 1], wall[h:, k - 1] = b[3 * h:], b[:3 * h]
    wall[:3 * h] *= 0.5
    hx, xs = state_rows(ws, "hx", x, h, h0, go_backwards, all_h)
    z = _buffer(ws, "z", (t + 1, 5 * h, bsz), dt) if keep else _buffer(ws, "z2", (2, 5 * h, bsz), dt)
    z[0, 4 * h:5 * h] = 0 if c0 is None else c0.T
    p_ig, p_fc, tc = p[:h], p[h:2 * h], p[2 * h:]  # tanh(c_s) is not kept: backward recomputes it per chunk
    split = halves(4 * h, k, bsz)  # the gate product as two halves of rows [o, i], [f, g]
    w_a, w_b = (wall[:2 * h], wall[2 * h:]) if split else (wall, None)
    mul, add, tanh, matmul, copyto = np.multiply, np.add, np.tanh, np.matmul, np.copyto
    half = dt.type(0.5)  # a NumPy scalar of the array's type: each call skips converting a Python float
    copy_x = not all_h
    for s, (gates, sig, i_f, g_c, c, o, hxs, h_out, x_dst) in enumerate(_step_views(ws, z, hx, t, h)):
        if copy_x:
            copyto(x_dst, xs[s])
        if split:
            matmul(w_a, hxs, out=gates[:2 * h])
            matmul(w_b, hxs, out=gates[2 * h:])
        else:
            matmul(wall, hxs, out=gates)
        tanh(gates, out=gates)
        mul(sig, half, out=sig)
        add(sig, half, out=sig)
        mul(i_f, g_c, out=p[:2 * h])  # [i g, f c_prev]
        add(p_ig, p_fc, out=c)
        tanh(c, out=tc)
        mul(o, tc, out=h_out)
    return z, hx


def backward(ws: dict[str, Any], z: np.ndarray, hx: np.ndarray, u: np.ndarray, w: np.ndarray | None,
             dh_ext: np.ndarray | None, dh: np.ndarray, dc: np.ndarray,
             dx: np.ndarray | None = None) -> tuple[np.ndarray, ...]:
    """Gradients from the forward's (z, hx): (dW, dU, db, dh0, dc0) in Keras's layouts.

    dh_ext (T, H, B) or None: gradients reaching each step's h from outside; dh, dc (H, B): those of the last
    step's h and c (overwritten). With w (D, 4H), the input's gradient is written into dx, a (T, B, D) array
    or view in processing order (the caller's (B, T, D) array transposed, reversed for go_backwards).

    Per chunk of steps, q (steps, 5, H, B) first holds the derivative factors [e, q_o, q_i, q_f, q_g] (computed
    in place, no temporaries), then step by step the gradients [dh e, dz_o, dz_i, dz_f, dz_g] over them:
    dz = q * [., dh, dc, dc, dc] needs no other buffer.
    """
    t = z.shape[0] - 1
    h, bsz = dh.shape
    k = hx.shape[1]
    dt = z.dtype
    n = min(CHUNK, t)
    d = 0 if w is None or dx is None else w.shape[0]
    # the chunk's factors, U's columns in the row order o, i, f, g (dh_prev = U dz) and W's as rows (dx_s =
    # dz_s^T W^T), in the memory of the forward's scratch, dead by now (`regions`)
    q, up, wpt = regions(ws, "scratch", dt, (n, 5, h, bsz), (h, 4 * h), (4 * h, d))
    up[:, :h], up[:, h:] = u[:, 3 * h:], u[:, :3 * h]  # slices, not u[:, perm] (a fancy-index copy)
    if d:
        wpt[:h], wpt[h:] = w[:, 3 * h:].T, w[:, :3 * h].T
    else:
        wpt = None
    dwall, add_dw = weight_gradient(ws, "tmpw", (4 * h, k), dt)
    z4 = z.reshape(t + 1, 5, h, bsz)
    hb = bsz // 2 if halves(h, 4 * h, bsz) else bsz  # dh = U dz as two halves of the batch's columns
    dh_a, dh_b = dh[:, :hb], dh[:, hb:]
    views = [(q[j, :2], q[j, 0], q[j, 2:], q[j, 1:].reshape(4 * h, bsz)) for j in range(n)]
    mul, matmul, tanh = np.multiply, np.matmul, np.tanh
    for end in range(t, 0, -n):
        a = max(end - n, 0)
        m = end - a
        zc, qc = z4[a:end], q[:m]
        np.subtract(1, zc[:, :3], out=qc[:, 1:4])
        mul(qc[:, 1:4], zc[:, :3], out=qc[:, 1:4])  # o(1-o), i(1-i), f(1-f)
        mul(qc[:, 2:4], zc[:, 3:5], out=qc[:, 2:4])  # q_i = i(1-i) g, q_f = f(1-f) c_prev
        tanh(z4[a + 1:end + 1, 4], out=qc[:, 0])  # tanh(c_s), not kept by forward
        mul(qc[:, 1], qc[:, 0], out=qc[:, 1])  # q_o = o(1-o) tanh(c)
        mul(qc[:, 0], qc[:, 0], out=qc[:, 0])
        mul(zc[:, 3], zc[:, 3], out=qc[:, 4])
        ends = qc[:, ::4]
        np.subtract(1, ends, out=ends)  # 1 - tanh(c)^2, 1 - g^2
        mul(ends, zc[:, :2], out=ends)  # e = o (1 - tanh(c)^2), q_g = i (1 - g^2)
        for s in range(end - 1, a - 1, -1):
            j = s - a
            q2, q0, q3, dzs = views[j]
            if dh_ext is not None:
                dh += dh_ext[s]
            mul(q2, dh, out=q2)  # [dh e, dz_o]
            dc += q0
            mul(q3, dc, out=q3)  # dz_i, dz_f, dz_g
            dc *= zc[j, 2]  # through the forget gate
            if hb < bsz:
                matmul(up, dzs[:, :hb], out=dh_a)
                matmul(up, dzs[:, hb:], out=dh_b)
            else:
                matmul(up, dzs, out=dh)
            add_dw(dzs, hx[s])
        if wpt is not None:
            matmul(qc[:, 1:].reshape(m, 4 * h, bsz).transpose(0, 2, 1), wpt, out=dx[a:end])
    return _keras_columns(dwall[:, h:k - 1]), _keras_columns(dwall[:, :h]), _keras_columns(dwall[:, k - 1:])[0], dh, dc


def _keras_columns(a: np.ndarray) -> np.ndarray:
    """a (4H, n) with rows in the order o, i, f, g -> (n, 4H) with Keras's columns i, f, c, o (a new array)."""
    h = a.shape[0] // 4
    out = np.empty((a.shape[1], 4 * h), a.dtype)
    out[:, :3 * h], out[:, 3 * h:] = a[h:].T, a[:h].T
    return out
