"""SimpleRNN (tanh) with states as rows, the LSTM's layout (`ops.lstm_rows`) for one gate: every per-step array
is (units, batch).

Per step s, `hx[s]` (units + features + 1, batch) = [h_{s-1}; x_s; 1], and ONE product with
`wall` (units, units + features + 1) = [U | W | b] written straight into h_s's place in hx[s + 1], then one
tanh in place: 2 NumPy calls per step, and every step's h (which backward needs) is kept where the next step
reads it. Backward: per chunk of `CHUNK` steps the factors 1 - h^2 in two calls, then per step one multiply
(da = dh (1 - h^2)), one product for dh and one for the weight gradient into a (units, units + features + 1)
accumulator. Used by `SimpleRNNOp` for tanh without mask or recurrent dropout; equals the general path to
rounding (the sums are formed in another order). Under no_grad the forward keeps two state slabs for big
batches (x copied in per step): the same calls on the same values, so the same bits as training's.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..tensor import is_grad_enabled
from . import lstm_rows
from .lstm_rows import SMALL_STATES, _buffer, state_rows

CHUNK = 4


def forward(ws: dict[str, Any], x: np.ndarray, w: np.ndarray, u: np.ndarray, b: np.ndarray | None,
            h0: np.ndarray | None, go_backwards: bool = False, all_h: bool = True) -> np.ndarray:
    """x (B, T, D), w (D, H), u (H, H), b (H,) or None; h0 (B, H) or None (zeros). Returns hx, a buffer of `ws`:
    (T+1, H+D+1, B) with h_s at hx[s + 1, :H], or without `all_h` (and above `SMALL_STATES` bytes) two slabs
    used in turn; h_T is hx[T % len(hx), :H]."""
    bsz, t, d = x.shape
    h = u.shape[0]
    k = h + d + 1
    dt = x.dtype
    all_h = all_h or (t + 1) * k * bsz * x.itemsize <= SMALL_STATES
    wall = _buffer(ws, "rnn_wall", (h, k), dt)
    wall[:, :h] = u.T
    wall[:, h:h + d] = w.T
    wall[:, k - 1] = 0 if b is None else b
    hx, xs = state_rows(ws, "rnn_hx", x, h, h0, go_backwards, all_h)
    nh = hx.shape[0]
    matmul, tanh = np.matmul, np.tanh
    for s in range(t):
        hxs, h_out = hx[s % nh], hx[(s + 1) % nh, :h]
        if not all_h:
            np.copyto(hxs[h:h + d], xs[s])
        matmul(wall, hxs, out=h_out)
        tanh(h_out, out=h_out)
    return hx


def backward(ws: dict[str, Any], hx: np.ndarray, u: np.ndarray, w: np.ndarray | None, dh_ext: np.ndarray | None,
             dh: np.ndarray, dx: np.ndarray | None = None) -> tuple[np.ndarray, ...]:
    """Gradients from the forward's hx: (dW, dU, db, dh0) in Keras's layouts. dh_ext (T, H, B) or None; dh (H, B)
    the last h's gradient (overwritten); with w, the input's gradient is written into dx, a (T, B, D) view in
    processing order."""
    t = hx.shape[0] - 1
    h, bsz = dh.shape
    k = hx.shape[1]
    d = k - h - 1
    dt = hx.dtype
    wt = None if w is None or dx is None else np.ascontiguousarray(w.T)  # (H, D): dx_s = da_s^T W^T
    n = min(CHUNK, t)
    q = _buffer(ws, "rnn_q", (n, h, bsz), dt)
    dwall, add_dw = lstm_rows.weight_gradient(ws, "rnn_tmpw", (h, k), dt)
    mul, matmul = np.multiply, np.matmul
    for end in range(t, 0, -n):
        a = max(end - n, 0)
        m = end - a
        qc, hs = q[:m], hx[a + 1:end + 1, :h]  # h_s of the chunk's steps
        mul(hs, hs, out=qc)
        np.subtract(1, qc, out=qc)  # 1 - h^2
        for s in range(end - 1, a - 1, -1):
            da = qc[s - a]
            if dh_ext is not None:
                dh += dh_ext[s]
            mul(da, dh, out=da)
            matmul(u, da, out=dh)
            add_dw(da, hx[s])
        if wt is not None:
            matmul(qc.transpose(0, 2, 1), wt, out=dx[a:end])
    return (np.ascontiguousarray(dwall[:, h:h + d].T), np.ascontiguousarray(dwall[:, :h].T), dwall[:, k - 1].copy(),
            dh)


def op_forward(op: Any, x: np.ndarray, w: np.ndarray, u: np.ndarray, b: np.ndarray | None,
               init: list) -> tuple[np.ndarray, np.ndarray]:
    """`SimpleRNNOp.forward` on this path (workspaces from `lstm_rows`' pools, as the LSTM's)."""
    keep = is_grad_enabled()
    ws = lstm_rows.op_workspace(op, keep)
    h0 = np.asarray(init[0], x.dtype) if init else None
    op._args = (x, w, u, b, h0)
    with lstm_rows.one_blas_thread(u.shape[0] * (u.shape[0] + x.shape[2] + 1) * x.shape[0]):
        hx = forward(ws, x, w, u, b, h0, op.go_backwards, keep or op.return_sequences)
    out, h_last = lstm_rows.state_outputs(op, hx, x.shape[1], u.shape[0])
    op.hxr = hx if keep else None
    if not keep:
        lstm_rows.give_workspace(ws, infer=True)
        op._give_back()
    return out, h_last


def op_backward(op: Any, g_out: np.ndarray | None, g_last: np.ndarray | None) -> tuple:
    """`SimpleRNNOp.backward` on this path; recomputes its forward when another op took its buffers since."""
    if op.hxr is None:
        raise RuntimeError("SimpleRNN: backward through a forward that ran under no_grad() (its states were not kept)")
    lstm_rows.drop_inference()
    if op._ws.get("owner") != id(op):
        op._ws = ws = lstm_rows.take_workspace()
        ws["owner"] = id(op)
        with lstm_rows.one_blas_thread():
            op.hxr = forward(ws, *op._args, op.go_backwards)
    hx = op.hxr
    x = op._args[0]
    h = op.u.shape[0]
    dt = hx.dtype
    dh_ext, dh, x_needs_grad, dx, dx_tm = lstm_rows.backward_inputs(op, x, g_out, g_last, h, dt)
    with lstm_rows.one_blas_thread():
        dw, du, db, dh0 = backward(op._ws, hx, op.u, op.w if x_needs_grad else None, dh_ext, dh, dx_tm)
    op._give_back()
    return (dx, dw, du) + ((db,) if op.has_bias else ()) + op._init_grads(dh0.T)
