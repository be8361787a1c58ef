"""Keras's GRU with `reset_after=False` (the original Cho et al. form) as one fused op.

The reset gate multiplies the previous state before the recurrent matmul of the candidate:
hh = act(x W_h + (r * h) U_h + b_h), so that block of U gets its own gradient matmul, on r * h.
Bias shape (3 units,), gates z, r, h as in Keras.
"""

from __future__ import annotations

import numpy as np

from .recurrent import _project, _Recurrent


class GRUV1Op(_Recurrent):
    """h = z h_prev + (1 - z) act(x W_h + (r h_prev) U_h + b_h); outputs (out, h_last)."""

    def forward(self, *arrays):
        x, w, u, b, init = self._unpack(arrays)
        p = _project(x, w, b, self.go_backwards)
        t, bsz, h3 = p.shape
        h = h3 // 3
        hs = np.zeros((t + 1, bsz, h), p.dtype)
        hs[0] = self._initial(init, 0, (bsz, h), p.dtype)
        m, dm = self.m, self.dm
        u_zr, u_h = u[:, :2 * h], u[:, 2 * h:]
        for s in range(t):
            hp = hs[s] if dm is None else hs[s] * dm
            z = p[s]
            z[:, :2 * h] += hp @ u_zr
            z[:, :2 * h] = self.ract[0](z[:, :2 * h])
            z[:, 2 * h:] += (z[:, h:2 * h] * hp) @ u_h
            z[:, 2 * h:] = self.act[0](z[:, 2 * h:])
            zg, hh = z[:, :h], z[:, 2 * h:]
            hs[s + 1] = hh + zg * (hs[s] - hh)
            if m is not None:
                hs[s + 1] = hs[s] + m[s] * (hs[s + 1] - hs[s])
        self.gates, self.hs = p, hs
        return self._seq_out(hs), hs[-1].copy()

    def backward(self, g_out, g_last):
        gates, hs, u, m, dm = self.gates, self.hs, self.u, self.m, self.dm
        t, bsz, h3 = gates.shape
        h = h3 // 3
        dh_ext, dh = self._dh_split(g_out, g_last, hs)
        zg, r, hh = gates[..., :h], gates[..., h:2 * h], gates[..., 2 * h:]
        hp = self._hprev(hs)
        u_zr, u_h = u[:, :2 * h], u[:, 2 * h:]
        kz = (hs[:-1] - hh) * self.ract[1](zg)
        kh = (1 - zg) * self.act[1](hh)
        kr = hp * self.ract[1](r)
        dproj = np.empty((t, bsz, 3, h), hs.dtype)
        for s in range(t - 1, -1, -1):
            if dh_ext is not None:
                dh += dh_ext[s]
            carry = None
            if m is not None:
                carry = dh * (1 - m[s])
                dh = dh * m[s]
            dproj[s, :, 0] = dh * kz[s]
            dproj[s, :, 2] = dh * kh[s]
            drh = dproj[s, :, 2] @ u_h.T  # gradient of r * h_prev
            dproj[s, :, 1] = drh * kr[s]
            back = drh * r[s] + dproj[s, :, :2].reshape(bsz, 2 * h) @ u_zr.T
            if dm is not None:
                back *= dm
            dh = dh * zg[s] + back
            if carry is not None:
                dh += carry
        dproj = dproj.reshape(t, bsz, h3)
        d = self.x.shape[2]
        xt = self.x.transpose(1, 0, 2)
        if self.go_backwards:
            xt = xt[::-1]
        dp2 = dproj.reshape(t * bsz, h3)
        dw = np.ascontiguousarray(xt).reshape(t * bsz, d).T @ dp2
        dx = (dp2 @ self.w.T).reshape(t, bsz, d)
        if self.go_backwards:
            dx = dx[::-1]
        dx = np.ascontiguousarray(dx.transpose(1, 0, 2))
        du = np.empty_like(u)
        du[:, :2 * h] = hp.reshape(t * bsz, h).T @ dp2[:, :2 * h]
        du[:, 2 * h:] = (r * hp).reshape(t * bsz, h).T @ dp2[:, 2 * h:]
        grads = (dx, dw, du) + ((dp2.sum(axis=0),) if self.has_bias else ())
        return grads + self._init_grads(dh)
