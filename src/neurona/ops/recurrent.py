"""Fused recurrent ops: SimpleRNN, LSTM and GRU over a whole sequence, each ONE Function.

Forward projects the inputs of every time step in one matmul and runs one `h @ U` matmul per step;
backward runs through time once (a handful of NumPy calls per step) and forms the weight gradients
afterwards as one big matmul over all (time, batch) rows. Layouts follow Keras: kernel (in, k*units),
LSTM gates i, f, c, o; GRU gates z, r, h with `reset_after=True` (bias (2, 3*units)).
Activations are given by name and must have a derivative expressible from their output.
That is the general path (masks, recurrent dropout, any activation); without a mask or recurrent dropout, and
with tanh (and sigmoid gates), the ops run the rows layout of `lstm_rows`, `gru_rows` and `rnn_rows` instead.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .. import numerics
from ..tensor import Function, is_grad_enabled
from . import gru_rows, lstm_rows, rnn_rows

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
    """Shared bookkeeping: unpack (x, W, U[, b][, h0[, c0]]) and turn time-major gradients back into inputs' grads.

    `mask` (batch, timesteps) bool: masked steps keep the previous state (and output it, or zeros with
    `zero_output_for_mask`). `dropout_mask` (batch, units): recurrent dropout, the previous h is multiplied
    by it before the recurrent matmul (the same mask at every step). `n_init`: initial states given after
    the weights and bias (their gradients come back too).
    """

    def __init__(self, activation: str = "tanh", recurrent_activation: str = "sigmoid",
                 return_sequences: bool = False, go_backwards: bool = False, *, n_init: int = 0,
                 mask: np.ndarray | None = None, dropout_mask: np.ndarray | None = None,
                 zero_output_for_mask: bool = False) -> None:
        self.act = _act(activation)
        self.ract = _act(recurrent_activation)
        self.return_sequences = return_sequences
        self.go_backwards = go_backwards
        self.n_init = n_init
        self.mask = mask
        self.dropout_mask = dropout_mask
        self.zero_output_for_mask = zero_output_for_mask

    def _unpack(self, arrays: tuple) -> tuple:
        """(x, w, u, b or None, [initial states]); also prepares the time-major mask and dropout mask."""
        x, w, u = arrays[:3]
        self.has_bias = len(arrays) - 3 - self.n_init == 1
        b = arrays[3] if self.has_bias else None
        init = list(arrays[3 + self.has_bias:])
        self.x, self.w, self.u = x, w, u
        self.m = self.om = None
        if self.mask is not None:
            m = self.mask.T[:, :, None].astype(x.dtype)
            self.m = np.ascontiguousarray(m[::-1] if self.go_backwards else m)
            # Output at a masked step: zeros, or (Keras) the previous step's output, zeros before the first one.
            self.om = self.m if self.zero_output_for_mask else np.maximum.accumulate(self.m, axis=0)
        self.dm = None if self.dropout_mask is None else self.dropout_mask.astype(x.dtype)
        return x, w, u, b, init

    def _give_back(self) -> None:
        """Hand the workspace to the next LSTM/GRU op once this one is done with it (its outputs are copies).

        fit traces two steps before it replays one, so two ops live at once: each holding its own gates for
        every step made the training peak ~2x its minimum. A workspace is held only from forward to the end of
        backward; a backward that finds its buffers taken since (a retained graph run again after another
        forward) recomputes the forward first."""
        ws = self.__dict__.get("_ws")
        if ws is not None and ws.get("owner") == id(self):
            ws["owner"] = None
            lstm_rows.give_workspace(ws)

    def release(self) -> None:
        self._give_back()
        super().release()

    def _init_grads(self, *grads: np.ndarray) -> tuple:
        return tuple(grads[:self.n_init])

    def _seq_out(self, hs: np.ndarray) -> np.ndarray:
        """hs (T+1, B, H) with h0 first -> the output: (B, T, H) in processing order, or the last h."""
        if self.return_sequences:
            seq = hs[1:]
            if self.om is not None:
                seq = seq * self.om
            return np.ascontiguousarray(seq.transpose(1, 0, 2))
        return hs[-1].copy()

    def _dh_seq(self, g_out: np.ndarray | None, g_last: np.ndarray | None, shape: tuple[int, ...],
                dtype: np.dtype) -> np.ndarray:
        """Gradient reaching each step's h from outside the recurrence, time-major (T, B, H)."""
        dh = np.zeros(shape, dtype)
        if g_out is not None:
            if self.return_sequences:
                g = g_out.transpose(1, 0, 2)
                if self.om is not None:
                    g = g * self.om
                dh += g
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

    def _initial(self, init: list, k: int, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
        return np.zeros(shape, dtype) if len(init) <= k else np.asarray(init[k], dtype)

    def _hprev(self, hs: np.ndarray) -> np.ndarray:
        """The previous states as the recurrent matmul saw them (after recurrent dropout)."""
        return hs[:-1] if self.dm is None else hs[:-1] * self.dm

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

    def forward(self, *arrays):
        x, w, u, b, init = self._unpack(arrays)
        f = self.act[0]
        self.rows = f is np.tanh and self.m is None and self.dm is None  # states as rows (ops.rnn_rows)
        if self.rows:
            return rnn_rows.op_forward(self, x, w, u, b, init)
        p = _project(x, w, b, self.go_backwards)
        t, bsz, h = p.shape
        hs = np.zeros((t + 1, bsz, h), p.dtype)
        hs[0] = self._initial(init, 0, (bsz, h), p.dtype)
        m, dm = self.m, self.dm
        ys = hs[1:] if m is None else np.empty((t, bsz, h), p.dtype)
        for s in range(t):
            z = p[s]
            z += (hs[s] if dm is None else hs[s] * dm) @ u
            ys[s] = f(z)
            if m is not None:
                hs[s + 1] = hs[s] + m[s] * (ys[s] - hs[s])
        self.hs, self.ys = hs, ys
        return self._seq_out(hs), hs[-1].copy()

    def backward(self, g_out, g_last):
        if self.rows:
            return rnn_rows.op_backward(self, g_out, g_last)
        hs, u, m, dm = self.hs, self.u, self.m, self.dm
        t = hs.shape[0] - 1
        dh_ext, dh = self._dh_split(g_out, g_last, hs)
        deriv = self.act[1](self.ys)
        da = np.empty_like(deriv)
        ut = np.ascontiguousarray(u.T)  # a transposed view costs BLAS ~2x on these small products
        for s in range(t - 1, -1, -1):
            if dh_ext is not None:
                dh += dh_ext[s]
            np.multiply(dh if m is None else dh * m[s], deriv[s], out=da[s])
            carry = None if m is None else dh * (1 - m[s])
            dh = da[s] @ ut
            if dm is not None:
                dh *= dm
            if carry is not None:
                dh += carry
        grads = self._input_grads(da, da, self._hprev(hs), (1,) if self.has_bias else None)
        return grads + self._init_grads(dh)


class LSTMOp(_Recurrent):
    """Keras's LSTM (gates i, f, c, o); outputs (out, h_last, c_last)."""

    def forward(self, *arrays):
        x, w, u, b, init = self._unpack(arrays)
        h4 = w.shape[1]
        h = h4 // 4
        fast = self.act[0] is np.tanh and self.ract[0] is _sigmoid
        self.rows = fast and self.m is None and self.dm is None
        if self.rows:  # the hot path: gates as rows (ops.lstm_rows), buffers reused when the op is replayed
            h0, c0 = (None if len(init) <= i else np.asarray(init[i], x.dtype) for i in (0, 1))  # None: zeros
            keep = is_grad_enabled()  # under no_grad (predict, evaluate) no backward follows: one step's gates
            if keep:
                ws = self.__dict__.get("_ws")
                if ws is None or ws.get("owner") != id(self):  # held from forward to the end of backward
                    ws = self._ws = lstm_rows.take_workspace()
                    ws["owner"] = id(self)
            else:
                ws = lstm_rows.take_workspace(infer=True)
            self._args = (x, w, u, b, h0, c0)
            with lstm_rows.one_blas_thread(u.shape[1] * (h + x.shape[2] + 1) * x.shape[0]):
                z, hx = lstm_rows.forward(ws, x, w, u, b, h0, c0, self.go_backwards, keep, self.return_sequences)
            t = x.shape[1]
            h_last = hx[t % hx.shape[0], :h].T.copy()
            out = np.ascontiguousarray(hx[1:, :h].transpose(2, 0, 1)) if self.return_sequences else h_last.copy()
            c_last = z[t % z.shape[0], 4 * h:5 * h].T.copy()
            self.z, self.hx = (z, hx) if keep else (None, None)
            if not keep:  # the outputs are copies: the buffers can serve the next op at once
                lstm_rows.give_workspace(ws, infer=True)
                self._give_back()  # gates of an earlier training forward of this op are stale now
            return out, h_last, c_last
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
        hs[0] = self._initial(init, 0, (bsz, h), p.dtype)
        cs[0] = self._initial(init, 1, (bsz, h), p.dtype)
        tcs = np.empty((t, bsz, h), p.dtype)
        m, dm = self.m, self.dm
        for s in range(t):
            z = p[s]
            z += (hs[s] if dm is None else hs[s] * dm) @ u
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
            if m is not None:  # masked steps keep the previous state
                hs[s + 1] -= hs[s]
                hs[s + 1] *= m[s]
                hs[s + 1] += hs[s]
                c -= cs[s]
                c *= m[s]
                c += cs[s]
        self.gates, self.hs, self.cs, self.tcs = p, hs, cs, tcs
        return self._seq_out(hs), hs[-1].copy(), cs[-1].copy()

    def minimum_saved_nbytes(self) -> int:
        """Bytes any LSTM backward must keep besides the outputs: every step's four gates, c and h (B, 6H)
        (the bench's algorithmic minimum; the rows path keeps the gates and c (B, 5H) and [h; x; 1] per step)."""
        x = self._args[0] if "_args" in self.__dict__ else self.x
        return x.shape[0] * x.shape[1] * 6 * self.u.shape[0] * x.itemsize

    def _backward_rows(self, g_out, g_last, g_clast):
        if self.z is None:
            raise RuntimeError("LSTM: backward through a forward that ran under no_grad() (its gates were not kept)")
        if self._ws.get("owner") != id(self):  # another op has used the buffers since: recompute the gates
            self._ws = ws = lstm_rows.take_workspace()
            ws["owner"] = id(self)
            with lstm_rows.one_blas_thread():
                self.z, self.hx = lstm_rows.forward(ws, *self._args, self.go_backwards)
        lstm_rows.drop_inference()  # fit's replay check ran a no_grad forward since this op's forward
        z, hx = self.z, self.hx
        bsz = z.shape[2]
        h = z.shape[1] // 5
        dt = z.dtype
        dh_ext, dh, x_needs_grad, dx, dx_tm = lstm_rows.backward_inputs(self, self._args[0], g_out, g_last, h, dt)
        dc = np.zeros((h, bsz), dt) if g_clast is None else np.array(g_clast.T, dtype=dt)
        with lstm_rows.one_blas_thread():
            dw, du, db, dh0, dc0 = lstm_rows.backward(self._ws, z, hx, self.u, self.w if x_needs_grad else None,
                                                      dh_ext, dh, dc, dx_tm)
        self._give_back()
        grads = (dx, dw, du) + ((db,) if self.has_bias else ())
        return grads + self._init_grads(dh0.T, dc0.T)

    def backward(self, g_out, g_last, g_clast):
        if self.rows:
            return self._backward_rows(g_out, g_last, g_clast)
        gates, hs, cs, tcs, u, m, dm = self.gates, self.hs, self.cs, self.tcs, self.u, self.m, self.dm
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
            if m is not None:  # the candidate gets m * grad, the previous state (1 - m) * grad
                carry_h, carry_c = dh * (1 - m[s]), dc * (1 - m[s])
                dh = dh * m[s]
                dc = dc * m[s]
            dc += dh * e[s]
            np.multiply(q[s, :, :3], dc[:, None], out=dz[s, :, :3])
            np.multiply(q[s, :, 3], dh, out=dz[s, :, 3])
            dc *= f[s]
            dh = dz[s].reshape(bsz, h4) @ u.T
            if dm is not None:
                dh *= dm
            if m is not None:
                dh += carry_h
                dc += carry_c
        dz = dz.reshape(t, bsz, h4)
        grads = self._input_grads(dz, dz, self._hprev(hs), (1,) if self.has_bias else None)
        return grads + self._init_grads(dh, dc)


class GRUOp(_Recurrent):
    """Keras's GRU with reset_after=True (gates z, r, h; bias (2, 3u)); outputs (out, h_last)."""

    def forward(self, *arrays):
        x, w, u, b, init = self._unpack(arrays)
        self.rows = self.act[0] is np.tanh and self.ract[0] is _sigmoid and self.m is None and self.dm is None
        if self.rows:
            return gru_rows.op_forward(self, x, w, u, b, init)
        p = _project(x, w, None if b is None else b[0], self.go_backwards)
        t, bsz, h3 = p.shape
        h = h3 // 3
        b_rec = None if b is None else b[1]
        hs = np.zeros((t + 1, bsz, h), p.dtype)
        hs[0] = self._initial(init, 0, (bsz, h), p.dtype)
        m, dm = self.m, self.dm
        rh = np.empty((t, bsz, h), p.dtype)  # recurrent part of the candidate, before the reset gate
        for s in range(t):
            rec = (hs[s] if dm is None else hs[s] * dm) @ u
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
            if m is not None:
                hs[s + 1] = hs[s] + m[s] * (hs[s + 1] - hs[s])
        self.gates, self.hs, self.rh = p, hs, rh
        return self._seq_out(hs), hs[-1].copy()

    def backward(self, g_out, g_last):
        if self.rows:
            return gru_rows.op_backward(self, g_out, g_last)
        gates, hs, rh, u, m, dm = self.gates, self.hs, self.rh, self.u, self.m, self.dm
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
        ut = np.ascontiguousarray(u.T)  # a transposed view costs BLAS ~2x on these small products (19 vs 11 us)
        back = np.empty((bsz, h), hs.dtype)
        for s in range(t - 1, -1, -1):
            if dh_ext is not None:
                dh += dh_ext[s]
            carry = None
            if m is not None:
                carry = dh * (1 - m[s])
                dh = dh * m[s]
            np.multiply(k[s], dh[:, None], out=dproj[s])
            drec[s, :, :2] = dproj[s, :, :2]
            np.multiply(dproj[s, :, 2], r[s], out=drec[s, :, 2])
            np.matmul(drec[s].reshape(bsz, h3), ut, out=back)
            if dm is not None:
                back *= dm
            dh = dh * zg[s]
            dh += back
            if carry is not None:
                dh += carry
        dproj = dproj.reshape(t, bsz, h3)
        drec = drec.reshape(t, bsz, h3)
        grads = self._input_grads(dproj, drec, self._hprev(hs), (2, h3) if self.has_bias else None)
        return grads + self._init_grads(dh)
