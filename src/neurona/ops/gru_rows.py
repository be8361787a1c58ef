"""The GRU's path with gates as rows (Keras's `reset_after=True` GRU), the LSTM's layout
(`ops.lstm_rows`) applied to three gates: every per-step array is (units, batch).

Per step s, `hx[s]` (units + features + 1, batch) = [h_{s-1}; x_s; 1] and ONE product with
`wa` (3 units, units + features + 1) = [[U_zr | W_zr | b_zr], [U_h | 0 | b_rec_h]] (the sigmoid rows halved:
sigmoid(a) = 0.5 tanh(a / 2) + 0.5, one tanh call for both gates) gives z, r and the candidate's recurrent
part rec_h = U_h h + b_rec_h. The candidate's input part x W_h + b_in_h of every step comes from one batched
product before the loop (under no_grad, per step). `g[s]` (4 units, batch) = [z, r, rec_h, hh]: the forward is
10 NumPy calls per step.

Backward runs in chunks of `CHUNK` steps: the derivative factors q = [q_z, q_r, q_rh, q_a] of a chunk are
computed in place in one buffer (11 whole-chunk calls), and each step turns them into its gradients
[dz, dr, drec_h, da_h] = q * dh in ONE multiply, then dh_prev = z dh + U [dz; dr; drec_h], and the weight
gradient is one product per step into a (4 units, units + features + 1) accumulator (the same layout as
`wa` plus the candidate's input rows). Used by `GRUOp` for tanh/sigmoid without mask or recurrent dropout;
equals the general path to rounding (the sums are formed in another order). Under no_grad (predict) the
forward keeps one step's gates and, for big batches, two state slabs, with the same bits as training's.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..tensor import is_grad_enabled
from . import lstm_rows
from .lstm_rows import SMALL_STATES, _buffer, halves, state_rows

CHUNK = 2


def forward(ws: dict[str, Any], x: np.ndarray, w: np.ndarray, u: np.ndarray, b: np.ndarray | None,
            h0: np.ndarray | None, go_backwards: bool = False, keep: bool = True,
            all_h: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """x (B, T, D), w (D, 3H), u (H, 3H), b (2, 3H) or None (Keras gates z, r, h); h0 (B, H) or None (zeros).

    Returns (g, hx), buffers of `ws`. With `keep` (a backward follows) g (T, 4H, B) holds every step's
    [z, r, rec_h, hh] and hx (T+1, H+D+1, B) every step's [h_prev; x; 1]. Without it (no_grad) g is two slabs
    used in turn, and without `all_h` (above `SMALL_STATES` bytes) hx too, x copied in per step: the same
    products on the same values, so the same bits. h_T is hx[T % len(hx), :H]."""
    bsz, t, d = x.shape
    h = u.shape[0]
    k = h + d + 1
    dt = x.dtype
    all_h = all_h or keep or (t + 1) * k * bsz * x.itemsize <= SMALL_STATES
    wa = _buffer(ws, "gru_wa", (3 * h, k), dt)
    wa[:, :h] = u.T
    wa[:2 * h, h:h + d] = w[:, :2 * h].T
    wa[2 * h:, h:h + d] = 0
    wh = _buffer(ws, "gru_wh", (h, d + 1), dt)  # [W_h | b_in_h]: the candidate's input part from [x; 1]
    wh[:, :d] = w[:, 2 * h:].T
    if b is None:
        wa[:, k - 1] = 0
        wh[:, d] = 0
    else:
        np.add(b[0, :2 * h], b[1, :2 * h], out=wa[:2 * h, k - 1])
        wa[2 * h:, k - 1] = b[1, 2 * h:]
        wh[:, d] = b[0, 2 * h:]
    wa[:2 * h] *= 0.5
    hx, xs = state_rows(ws, "gru_hx", x, h, h0, go_backwards, all_h)
    if keep:
        g = _buffer(ws, "gru_g", (t, 4 * h, bsz), dt)
        np.matmul(wh, hx[:t, h:], out=g[:, 3 * h:])  # x W_h + b_in_h, every step in one call
    else:
        g = _buffer(ws, "gru_g2", (2, 4 * h, bsz), dt)
    tmp = _buffer(ws, "gru_tmp", (h, bsz), dt)
    split = halves(3 * h, k, bsz)
    wa_a, wa_b = wa[:2 * h], wa[2 * h:]
    half = dt.type(0.5)
    ng, nh = g.shape[0], hx.shape[0]
    mul, add, sub, tanh, matmul = np.multiply, np.add, np.subtract, np.tanh, np.matmul
    for s in range(t):
        gs, hxs = g[s % ng], hx[s % nh]
        zr, z, r, rec, hh = gs[:2 * h], gs[:h], gs[h:2 * h], gs[2 * h:3 * h], gs[3 * h:]
        if not keep:
            if not all_h:
                np.copyto(hxs[h:h + d], xs[s])
            matmul(wh, hxs[h:], out=hh)
        if split:
            matmul(wa_a, hxs, out=zr)
            matmul(wa_b, hxs, out=rec)
        else:
            matmul(wa, hxs, out=gs[:3 * h])
        tanh(zr, out=zr)
        mul(zr, half, out=zr)
        add(zr, half, out=zr)
        mul(r, rec, out=tmp)
        add(hh, tmp, out=hh)
        tanh(hh, out=hh)
        sub(hxs[:h], hh, out=tmp)
        mul(tmp, z, out=tmp)
        add(hh, tmp, out=hx[(s + 1) % nh, :h])  # z h_prev + (1 - z) hh
    return g, hx


def backward(ws: dict[str, Any], g: np.ndarray, hx: np.ndarray, u: np.ndarray, w: np.ndarray | None,
             dh_ext: np.ndarray | None, dh: np.ndarray, dx: np.ndarray | None = None) -> tuple[np.ndarray, ...]:
    """Gradients from the forward's (g, hx): (dW, dU, db (2, 3H), dh0) in Keras's layouts.

    dh_ext (T, H, B) or None: gradients reaching each step's h from outside; dh (H, B): the last h's
    (overwritten). With w (D, 3H), the input's gradient is written into dx, a (T, B, D) view in processing
    order."""
    t = g.shape[0]
    h, bsz = dh.shape
    k = hx.shape[1]
    d = k - h - 1
    dt = g.dtype
    wx = None
    if w is not None and dx is not None:  # dx_s = dG^T [W_zr^T; 0; W_h^T]
        wx = np.zeros((4 * h, d), dt)
        wx[:2 * h] = w[:, :2 * h].T
        wx[3 * h:] = w[:, 2 * h:].T
    n = min(CHUNK, t)
    q = _buffer(ws, "gru_q", (n, 4, h, bsz), dt)
    tmp = _buffer(ws, "gru_tmp", (h, bsz), dt)
    dwall, add_dw = lstm_rows.weight_gradient(ws, "gru_tmpw", (4 * h, k), dt)
    g4 = g.reshape(t, 4, h, bsz)
    hb = bsz // 2 if halves(h, 3 * h, bsz) else bsz
    views = [(q[j], q[j].reshape(4 * h, bsz)) for j in range(n)]
    mul, sub, add, matmul = np.multiply, np.subtract, np.add, np.matmul
    for end in range(t, 0, -n):
        a = max(end - n, 0)
        m = end - a
        gc, qc = g4[a:end], q[:m]
        z, r, rec, hh = gc[:, 0], gc[:, 1], gc[:, 2], gc[:, 3]
        q_z, q_r, q_rh, q_a = qc[:, 0], qc[:, 1], qc[:, 2], qc[:, 3]
        mul(hh, hh, out=q_a)
        sub(1, q_a, out=q_a)
        sub(1, z, out=q_rh)  # 1 - z, for now
        mul(q_a, q_rh, out=q_a)  # q_a = (1 - z)(1 - hh^2): da_h = dh q_a
        sub(hx[a:end, :h], hh, out=q_z)
        mul(q_z, z, out=q_z)
        mul(q_z, q_rh, out=q_z)  # q_z = (h_prev - hh) z (1 - z)
        mul(q_a, r, out=q_rh)  # q_rh = q_a r: drec_h = dh q_rh
        sub(1, r, out=q_r)
        mul(q_r, rec, out=q_r)
        mul(q_r, q_rh, out=q_r)  # q_r = q_a rec_h r (1 - r)
        for s in range(end - 1, a - 1, -1):
            j = s - a
            qj, dg = views[j]
            if dh_ext is not None:
                dh += dh_ext[s]
            mul(qj, dh, out=qj)  # [dz, dr, drec_h, da_h]
            mul(dh, z[j], out=tmp)  # through z h_prev
            if hb < bsz:
                matmul(u, dg[:3 * h, :hb], out=dh[:, :hb])
                matmul(u, dg[:3 * h, hb:], out=dh[:, hb:])
            else:
                matmul(u, dg[:3 * h], out=dh)
            add(dh, tmp, out=dh)
            add_dw(dg, hx[s])
        if wx is not None:
            matmul(qc.reshape(m, 4 * h, bsz).transpose(0, 2, 1), wx, out=dx[a:end])
    dw = np.concatenate([dwall[:2 * h, h:h + d], dwall[3 * h:, h:h + d]]).T
    du = np.ascontiguousarray(dwall[:3 * h, :h].T)
    db = np.empty((2, 3 * h), dt)
    db[:, :2 * h] = dwall[:2 * h, k - 1]
    db[0, 2 * h:] = dwall[3 * h:, k - 1]
    db[1, 2 * h:] = dwall[2 * h:3 * h, k - 1]
    return np.ascontiguousarray(dw), du, db, dh


def op_forward(op: Any, x: np.ndarray, w: np.ndarray, u: np.ndarray, b: np.ndarray | None,
               init: list) -> tuple[np.ndarray, np.ndarray]:
    """`GRUOp.forward` on this path: under autograd the buffers are held from forward to the end of backward
    (`lstm_rows`' pool); under no_grad one step's gates in a no_grad workspace, handed back at once."""
    keep = is_grad_enabled()
    ws = lstm_rows.op_workspace(op, keep)
    h0 = np.asarray(init[0], x.dtype) if init else None
    op._args = (x, w, u, b, h0)
    with lstm_rows.one_blas_thread(u.shape[1] * (u.shape[0] + x.shape[2] + 1) * x.shape[0]):
        g, hx = forward(ws, x, w, u, b, h0, op.go_backwards, keep, op.return_sequences)
    out, h_last = lstm_rows.state_outputs(op, hx, x.shape[1], u.shape[0])
    op.g, op.hxr = (g, hx) if keep else (None, None)
    if not keep:  # the outputs are copies
        lstm_rows.give_workspace(ws, infer=True)
        op._give_back()
    return out, h_last


def op_backward(op: Any, g_out: np.ndarray | None, g_last: np.ndarray | None) -> tuple:
    """`GRUOp.backward` on this path; a backward that finds its buffers taken by another op since (a retained
    graph run again) recomputes its forward first."""
    if op.g is None:
        raise RuntimeError("GRU: backward through a forward that ran under no_grad() (its gates were not kept)")
    lstm_rows.drop_inference()
    if op._ws.get("owner") != id(op):
        op._ws = ws = lstm_rows.take_workspace()
        ws["owner"] = id(op)
        with lstm_rows.one_blas_thread():
            op.g, op.hxr = forward(ws, *op._args, op.go_backwards)
    g, hx = op.g, op.hxr
    x = op._args[0]
    h = g.shape[1] // 4
    dt = g.dtype
    dh_ext, dh, x_needs_grad, dx, dx_tm = lstm_rows.backward_inputs(op, x, g_out, g_last, h, dt)
    with lstm_rows.one_blas_thread():
        dw, du, db, dh0 = backward(op._ws, g, hx, op.u, op.w if x_needs_grad else None, dh_ext, dh, dx_tm)
    op._give_back()
    return (dx, dw, du) + ((db,) if op.has_bias else ()) + op._init_grads(dh0.T)
