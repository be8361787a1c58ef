"""The LSTM's hot path with gates as rows: every per-step array is (units, batch), so each gate block of the
(4 units, batch) pre-activations is one contiguous slab (PERFORMANCE.md's LSTM lever).

Used by `LSTMOp` for the common case (tanh and sigmoid, no mask, no recurrent dropout); the result equals
the general path. sigmoid(z) = 0.5 tanh(z / 2) + 0.5, so one `tanh` call activates all four gates; the
derivative factors of every step are computed outside the backward loop, and the weight gradients are one
matmul each over all (time, batch) columns.
"""

from __future__ import annotations

import numpy as np


def forward(x: np.ndarray, w: np.ndarray, u: np.ndarray, b: np.ndarray | None, h0: np.ndarray, c0: np.ndarray,
            go_backwards: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """x (B, T, D), w (D, 4H), u (H, 4H), b (4H,) (Keras gate order i, f, c, o). Returns (gates (T, 4H, B)
    after their activations, hs (T+1, H, B), cs (T+1, H, B), tanh(c) (T, H, B))."""
    bsz, t, _ = x.shape
    h4 = w.shape[1]
    h = h4 // 4
    scale = np.full(h4, 0.5, x.dtype)  # the 1/2 inside the sigmoids' tanh, folded into W, U and b
    scale[2 * h:3 * h] = 1.0
    xr = x.transpose(1, 2, 0)  # (T, D, B)
    if go_backwards:
        xr = xr[::-1]
    gates = np.matmul((w * scale).T, np.ascontiguousarray(xr))  # (T, 4H, B): all steps' projections at once
    if b is not None:
        gates += (b * scale)[:, None]
    ut = np.ascontiguousarray((u * scale).T)  # (4H, H)
    hs = np.empty((t + 1, h, bsz), x.dtype)
    cs = np.empty((t + 1, h, bsz), x.dtype)
    hs[0], cs[0] = h0.T, c0.T
    tcs = np.empty((t, h, bsz), x.dtype)
    rec = np.empty((h4, bsz), x.dtype)
    ig = np.empty((h, bsz), x.dtype)
    for s in range(t):
        z = gates[s]
        np.matmul(ut, hs[s], out=rec)
        z += rec
        np.tanh(z, out=z)
        sig_if, sig_o = z[:2 * h], z[3 * h:]  # contiguous slabs: sigmoid = 0.5 tanh + 0.5
        sig_if *= 0.5
        sig_if += 0.5
        sig_o *= 0.5
        sig_o += 0.5
        c = cs[s + 1]
        np.multiply(z[h:2 * h], cs[s], out=c)
        np.multiply(z[:h], z[2 * h:3 * h], out=ig)
        c += ig
        np.tanh(c, out=tcs[s])
        np.multiply(sig_o, tcs[s], out=hs[s + 1])
    return gates, hs, cs, tcs


def backward(gates: np.ndarray, hs: np.ndarray, cs: np.ndarray, tcs: np.ndarray, u: np.ndarray,
             dh_ext: np.ndarray | None, dh: np.ndarray, dc: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients of the pre-activations (T, 4H, B) and of h0, c0 ((H, B) each).

    dh_ext (T, H, B) or None: gradients reaching each step's h from outside; dh, dc (H, B): those of the last
    step's h and c."""
    t, h4, bsz = gates.shape
    h = h4 // 4
    i, f, g, o = gates[:, :h], gates[:, h:2 * h], gates[:, 2 * h:3 * h], gates[:, 3 * h:]
    q = np.empty((t, 4, h, bsz), gates.dtype)  # dz = q * [dc, dc, dc, dh]
    np.multiply(g, i * (1 - i), out=q[:, 0])
    np.multiply(cs[:-1], f * (1 - f), out=q[:, 1])
    np.multiply(i, 1 - g * g, out=q[:, 2])
    np.multiply(tcs, o * (1 - o), out=q[:, 3])
    e = o * (1 - tcs * tcs)  # dc += dh * e
    dz = np.empty((t, 4, h, bsz), gates.dtype)
    u = np.ascontiguousarray(u)
    tmp = np.empty((h, bsz), gates.dtype)
    for s in range(t - 1, -1, -1):
        if dh_ext is not None:
            dh += dh_ext[s]
        np.multiply(dh, e[s], out=tmp)
        dc += tmp
        np.multiply(q[s, :3], dc, out=dz[s, :3])
        np.multiply(q[s, 3], dh, out=dz[s, 3])
        dc *= f[s]
        dh = u @ dz[s].reshape(h4, bsz)
    return dz.reshape(t, h4, bsz), dh, dc


def weight_grads(dz: np.ndarray, hs: np.ndarray, x: np.ndarray, w: np.ndarray, go_backwards: bool,
                 has_bias: bool) -> tuple[np.ndarray, ...]:
    """(dx, dW, dU[, db]) from dz (T, 4H, B), each one matmul over all (time, batch) columns."""
    t, h4, bsz = dz.shape
    d = x.shape[2]
    cols = np.ascontiguousarray(dz.transpose(1, 0, 2)).reshape(h4, t * bsz)  # (4H, T*B), column = (t, b)
    hp = np.ascontiguousarray(hs[:-1].transpose(1, 0, 2)).reshape(-1, t * bsz)  # (H, T*B)
    xt = x.transpose(1, 0, 2)
    if go_backwards:
        xt = xt[::-1]
    xs = np.ascontiguousarray(xt).reshape(t * bsz, d)
    dw = (cols @ xs).T
    du = (hp @ cols.T)
    dx = (cols.T @ w.T).reshape(t, bsz, d)
    if go_backwards:
        dx = dx[::-1]
    dx = np.ascontiguousarray(dx.transpose(1, 0, 2))
    if not has_bias:
        return dx, np.ascontiguousarray(dw), du
    return dx, np.ascontiguousarray(dw), du, cols @ np.ones(t * bsz, dz.dtype)
