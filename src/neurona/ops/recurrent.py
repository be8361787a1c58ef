"""Fused recurrent ops: SimpleRNN, LSTM and GRU over a whole sequence, each ONE Function.

Forward projects the inputs of every time step in one matmul and runs one `h @ U` matmul per step;
backward runs through time once (a handful of NumPy calls per step) and forms the weight gradients
afterwards as one big matmul over all (time, batch) rows. Layouts follow Keras: kernel (in, k*units),
LSTM gates i, f, c, o; GRU gates z, r, h with `reset_after=True` (bias (2, 3*units)).
Activations are given by name and must have a derivative expressible from their output.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .. import numerics
from ..tensor import Function

_sigmoid = numerics.sigmoid

# name -> (forward(z) -> y (may overwrite z), derivative from the output y), from neurona.numerics' table.
_ACTS: dict[str, tuple[Callable[[np.ndarray], np.ndarray], Callable[[np.ndarray], np.ndarray]]] = {
    "tanh": (np.tanh, numerics.DERIVATIVES["tanh"]),
    "sigmoid": (numerics.sigmoid, numerics.DERIVATIVES["sigmoid"]),
    "relu": (numerics.relu_, numerics.DERIVATIVES["relu"]),
    "linear": (lambda z: z, numerics.DERIVATIVES["linear"]),
}
RECURRENT_ACTIVATIONS = tuple(_ACTS)


def _act(name: str) -> tuple[Callable[[np.ndarray], np.ndarray], Callable[[np.ndarray], np.ndarray]]:
    try:
        return _ACTS[name]
    except KeyError:
        raise ValueError(f"recurrent ops support the activations {RECURRENT_ACTIVATIONS}, got {name!r}") from None


def _project(x: np.ndarray, w: np.ndarray, b: np.ndarray | None, go_backwards: bool) -> np.ndarray:
    """x (B, T, D) -> x W + b for all steps at once, time-major (T, B, k), contiguous."""
    xt = x.transpose(1, 0, 2)
    if go_backwards:
        xt = xt[::-1]
    t, bsz, d = xt.shape
    p = np.ascontiguousarray(xt).reshape(t * bsz, d) @ w
    if b is not None:
        p += b
    return p.reshape(t, bsz, -1)


class _Recurrent(Function):
    """Shared bookkeeping: unpack (x, W, U[, b]) and turn time-major gradients back into inputs' grads."""

    def __init__(self, activation: str = "tanh", recurrent_activation: str = "sigmoid",
                 return_sequences: bool = False, go_backwards: bool = False) -> None:
        self.act = _act(activation)
        self.ract = _act(recurrent_activation)
        self.return_sequences = return_sequences
        self.go_backwards = go_backwards

    def _seq_out(self, hs: np.ndarray) -> np.ndarray:
        """hs (T+1, B, H) with h0 first -> the output: (B, T, H) in processing order, or the last h."""
        if self.return_sequences:
            return np.ascontiguousarray(hs[1:].transpose(1, 0, 2))
        return hs[-1].copy()

    def _dh_seq(self, g_out: np.ndarray | None, g_last: np.ndarray | None, shape: tuple[int, ...],
                dtype: np.dtype) -> np.ndarray:
        """Gradient reaching each step's h from outside the recurrence, time-major (T, B, H)."""
        dh = np.zeros(shape, dtype)
        if g_out is not None:
            if self.return_sequences:
                dh += g_out.transpose(1, 0, 2)
            else:
                dh[-1] += g_out
        if g_last is not None:
            dh[-1] += g_last
        return dh

    def _dh_split(self, g_out: np.ndarray | None, g_last: np.ndarray | None,
                  hs: np.ndarray) -> tuple[np.ndarray | None, np.ndarray]:
        """(per-step outside gradients or None when only the last step gets one, the last step's gradient)."""
        if self.return_sequences and g_out is not None:
            dh_ext = self._dh_seq(g_out, g_last, hs[1:].shape, hs.dtype)
            return dh_ext, np.zeros_like(hs[0])
        dh = np.zeros_like(hs[0])
        for g in (g_out, g_last):
            if g is not None:
                dh += g
        return None, dh

    def _input_grads(self, dproj: np.ndarray, drec: np.ndarray, hprev: np.ndarray,
                     bias_shape: tuple[int, ...] | None) -> tuple:
        """Weight and input gradients as big matmuls over all (time, batch) rows."""
        t, bsz, k = dproj.shape
        d = self.x.shape[2]
        dp2 = dproj.reshape(t * bsz, k)
        xt = self.x.transpose(1, 0, 2)
        if self.go_backwards:
            xt = xt[::-1]
        dw = np.ascontiguousarray(xt).reshape(t * bsz, d).T @ dp2
        dx = (dp2 @ self.w.T).reshape(t, bsz, d)
        if self.go_backwards:
            dx = dx[::-1]
        dx = np.ascontiguousarray(dx.transpose(1, 0, 2))
        du = hprev.reshape(t * bsz, -1).T @ drec.reshape(t * bsz, -1)
        if bias_shape is None:
            return dx, dw, du
        ones = np.ones(t * bsz, dp2.dtype)
        if len(bias_shape) == 2:  # GRU reset_after: input bias and recurrent bias
            db = np.stack([ones @ dp2, ones @ drec.reshape(t * bsz, -1)])
        else:
            db = ones @ dp2
        return dx, dw, du, db


class SimpleRNNOp(_Recurrent):
    """h_t = act(x_t W + h_{t-1} U + b); outputs (out, h_last)."""

    def forward(self, x, w, u, b=None):
        self.x, self.w, self.u = x, w, u
        self.has_bias = b is not None
        f = self.act[0]
        p = _project(x, w, b, self.go_backwards)
        t, bsz, h = p.shape
        hs = np.zeros((t + 1, bsz, h), p.dtype)
        for s in range(t):
            z = p[s]
            z += hs[s] @ u
            hs[s + 1] = f(z)
        self.hs = hs
        return self._seq_out(hs), hs[-1].copy()

    def backward(self, g_out, g_last):
        hs, u = self.hs, self.u
        t = hs.shape[0] - 1
        dh_ext, dh = self._dh_split(g_out, g_last, hs)
        deriv = self.act[1](hs[1:])
        da = np.empty_like(deriv)
        for s in range(t - 1, -1, -1):
            if dh_ext is not None:
                dh += dh_ext[s]
            np.multiply(dh, deriv[s], out=da[s])
            dh = da[s] @ u.T
        return self._input_grads(da, da, hs[:-1], (1,) if self.has_bias else None)


class LSTMOp(_Recurrent):
    """Keras's LSTM (gates i, f, c, o); outputs (out, h_last, c_last)."""

    def forward(self, x, w, u, b=None):
        self.x, self.w, self.u = x, w, u
        self.has_bias = b is not None
        h4 = w.shape[1]
        h = h4 // 4
        fast = self.act[0] is np.tanh and self.ract[0] is _sigmoid
        if fast:  # sigmoid(z) = 0.5 tanh(z/2) + 0.5: all four gates in one tanh call, the 1/2 folded into W, U, b
            scale = np.full(h4, 0.5, w.dtype)
            scale[2 * h:3 * h] = 1.0
            shift = np.full(h4, 0.5, w.dtype)
            shift[2 * h:3 * h] = 0.0
            w, u, b = w * scale, u * scale, (None if b is None else b * scale)
        p = _project(x, w, b, self.go_backwards)
        t, bsz, _ = p.shape
        hs = np.zeros((t + 1, bsz, h), p.dtype)
        cs = np.zeros((t + 1, bsz, h), p.dtype)
        tcs = np.empty((t, bsz, h), p.dtype)
        for s in range(t):
            z = p[s]
            z += hs[s] @ u
            if fast:
                np.tanh(z, out=z)
                z *= scale
                z += shift
            else:
                z[:, :2 * h] = self.ract[0](z[:, :2 * h])
                z[:, 3 * h:] = self.ract[0](z[:, 3 * h:])
                z[:, 2 * h:3 * h] = self.act[0](z[:, 2 * h:3 * h])
            i, f, g, o = z[:, :h], z[:, h:2 * h], z[:, 2 * h:3 * h], z[:, 3 * h:]
            c = cs[s + 1]
            np.multiply(f, cs[s], out=c)
            c += i * g
            if fast:
                np.tanh(c, out=tcs[s])
            else:
                tcs[s] = self.act[0](c.copy())
            np.multiply(o, tcs[s], out=hs[s + 1])
        self.gates, self.hs, self.cs, self.tcs = p, hs, cs, tcs
        return self._seq_out(hs), hs[-1].copy(), cs[-1].copy()

    def backward(self, g_out, g_last, g_clast):
        gates, hs, cs, tcs, u = self.gates, self.hs, self.cs, self.tcs, self.u
        t, bsz, h4 = gates.shape
        h = h4 // 4
        dh_ext, dh = self._dh_split(g_out, g_last, hs)
        # Derivative factors of every step, computed outside the loop.
        i, f, g, o = gates[..., :h], gates[..., h:2 * h], gates[..., 2 * h:3 * h], gates[..., 3 * h:]
        dr, da = self.ract[1], self.act[1]
        q = np.empty((t, bsz, 4, h), hs.dtype)  # dz = q * [dc, dc, dc, dh]
        q[:, :, 0] = g * dr(i)
        q[:, :, 1] = cs[:-1] * dr(f)
        q[:, :, 2] = i * da(g)
        q[:, :, 3] = tcs * dr(o)
        e = o * da(tcs)  # dc += dh * e
        dz = np.empty((t, bsz, 4, h), hs.dtype)
        dc = np.zeros((bsz, h), hs.dtype) if g_clast is None else g_clast.astype(hs.dtype, copy=True)
        for s in range(t - 1, -1, -1):
            if dh_ext is not None:
                dh += dh_ext[s]
            dc += dh * e[s]
            np.multiply(q[s, :, :3], dc[:, None], out=dz[s, :, :3])
            np.multiply(q[s, :, 3], dh, out=dz[s, :, 3])
            dc *= f[s]
            dh = dz[s].reshape(bsz, h4) @ u.T
        dz = dz.reshape(t, bsz, h4)
        return self._input_grads(dz, dz, hs[:-1], (1,) if self.has_bias else None)


class GRUOp(_Recurrent):
    """Keras's GRU with reset_after=True (gates z, r, h; bias (2, 3u)); outputs (out, h_last)."""

    def forward(self, x, w, u, b=None):
        self.x, self.w, self.u = x, w, u
        self.has_bias = b is not None
        p = _project(x, w, None if b is None else b[0], self.go_backwards)
        t, bsz, h3 = p.shape
        h = h3 // 3
        b_rec = None if b is None else b[1]
        hs = np.zeros((t + 1, bsz, h), p.dtype)
        rh = np.empty((t, bsz, h), p.dtype)  # recurrent part of the candidate, before the reset gate
        for s in range(t):
            rec = hs[s] @ u
            if b_rec is not None:
                rec += b_rec
            z = p[s]
            z[:, :2 * h] += rec[:, :2 * h]
            z[:, :2 * h] = self.ract[0](z[:, :2 * h])
            rh[s] = rec[:, 2 * h:]
            cand = z[:, 2 * h:]
            cand += z[:, h:2 * h] * rh[s]
            z[:, 2 * h:] = self.act[0](cand)
            zg, hh = z[:, :h], z[:, 2 * h:]
            hs[s + 1] = hh + zg * (hs[s] - hh)  # z h_prev + (1 - z) hh
        self.gates, self.hs, self.rh = p, hs, rh
        return self._seq_out(hs), hs[-1].copy()

    def backward(self, g_out, g_last):
        gates, hs, rh, u = self.gates, self.hs, self.rh, self.u
        t, bsz, h3 = gates.shape
        h = h3 // 3
        dh_ext, dh = self._dh_split(g_out, g_last, hs)
        zg, r, hh = gates[..., :h], gates[..., h:2 * h], gates[..., 2 * h:]
        # Per-step factors, outside the loop: dproj = dh * [kz, kr, kh], drec = dproj with r on the h block.
        k = np.empty((t, bsz, 3, h), hs.dtype)
        kh = (1 - zg) * self.act[1](hh)
        k[:, :, 0] = (hs[:-1] - hh) * self.ract[1](zg)
        k[:, :, 1] = kh * rh * self.ract[1](r)
        k[:, :, 2] = kh
        dproj = np.empty((t, bsz, 3, h), hs.dtype)
        drec = np.empty((t, bsz, 3, h), hs.dtype)
        for s in range(t - 1, -1, -1):
            if dh_ext is not None:
                dh += dh_ext[s]
            np.multiply(k[s], dh[:, None], out=dproj[s])
            drec[s, :, :2] = dproj[s, :, :2]
            np.multiply(dproj[s, :, 2], r[s], out=drec[s, :, 2])
            dh = dh * zg[s] + drec[s].reshape(bsz, h3) @ u.T
        dproj = dproj.reshape(t, bsz, h3)
        drec = drec.reshape(t, bsz, h3)
        return self._input_grads(dproj, drec, hs[:-1], (2, h3) if self.has_bias else None)
