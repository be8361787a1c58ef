"""Fused attention: scores, masked softmax and the weighted sum of values as ONE op with its own backward.

Two score functions, as in the course and in Keras:
- dot product (Luong / Transformer): s = scale * q k^T, batched over (batch, heads);
- additive (Bahdanau): s = sum_d w_d tanh(b * (q_d + k_d)).
Masks are boolean arrays broadcastable to the scores, True = may attend. A masked score is left out of the
softmax exactly (its weight is 0, not exp(-1e9)); a row with nothing to attend to gets all-zero weights,
as Keras's masked Softmax gives, so fully padded queries output zeros instead of NaN.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import numerics
from ..tensor import Function, Tensor, is_grad_enabled
from .workspace import op_buffer, scratch

# The kernels live in neurona.numerics; importable from here as before.
masked_softmax = numerics.masked_softmax
softmax_backward = numerics.softmax_rows_backward


def causal_mask(tq: int, tk: int) -> np.ndarray:
    """(tq, tk) lower-triangular boolean mask: query i may attend to keys j <= i (Keras's convention)."""
    return np.tril(np.ones((tq, tk), dtype=bool))


def _heads(x: np.ndarray, h: int, transpose: bool = False, out: np.ndarray | None = None) -> np.ndarray:
    """(B, T, h*d) -> contiguous (B, h, T, d), or (B, h, d, T) with `transpose`; into `out` when given.

    NumPy's stacked matmul only reaches BLAS speed on contiguous operands (4x faster here), so every
    operand is laid out for its product once."""
    b, t, hd = x.shape
    v = x.reshape(b, t, h, hd // h)
    v = v.transpose(0, 2, 3, 1) if transpose else v.transpose(0, 2, 1, 3)
    if out is None:
        return np.ascontiguousarray(v)
    np.copyto(out, v)
    return out


def _merge(x: np.ndarray, transposed: bool = False) -> np.ndarray:
    """(B, h, T, d) -- or (B, h, d, T) when `transposed` -- -> a new (B, T, h*d) array (never a view of x,
    which may be a reused workspace buffer)."""
    v = x.transpose(0, 3, 1, 2) if transposed else x.transpose(0, 2, 1, 3)
    b, t = v.shape[:2]
    out = np.empty(v.shape, x.dtype)
    np.copyto(out, v)
    return out.reshape(b, t, -1)


_INFER_VALUES = 1 << 19  # score values per inference chunk (2 MiB in float32)


class DotProductAttention(Function):
    """out = softmax(scale * q k^T | mask) [* dropout] @ v over `num_heads` heads; optionally also the weights.

    Inputs: q (B, Tq, H*dk), k (B, Tk, H*dk), v (B, Tk, H*dv) and optionally a trainable scalar scale
    (Keras Attention's `use_scale`), which multiplies the constant `scale`. Outputs: (B, Tq, H*dv) and, with
    `return_weights`, the weights before dropout, (B, H, Tq, Tk). `keep` is dropout's already-rescaled keep
    mask or None; `query_mask` (B, Tq) zeroes the output rows of padded queries.
    """

    def __init__(self, num_heads: int = 1, scale: float = 1.0, mask: np.ndarray | None = None,
                 keep: np.ndarray | None = None, query_mask: np.ndarray | None = None,
                 return_weights: bool = False) -> None:
        self.h, self.scale, self.mask, self.keep, self.qmask = num_heads, scale, mask, keep, query_mask
        self.return_weights = return_weights

    def forward(self, q, k, v, w=None):
        h = self.h
        c = q.dtype.type(self.scale * (1.0 if w is None else w.reshape(())))
        if w is None and not self.return_weights and not is_grad_enabled():
            self.saved = None  # inference keeps nothing for a backward that never comes
            return self._infer(q, k, v, c)
        b, tq, tk = q.shape[0], q.shape[1], k.shape[1]
        dk, dv = q.shape[2] // h, v.shape[2] // h
        # The op's own buffers, reused by every replay of a recorded step: what backward needs lives in them
        qh = _heads(q, h, out=op_buffer(self, "q", (b, h, tq, dk), q.dtype))
        kt = _heads(k, h, True, out=op_buffer(self, "kt", (b, h, dk, tk), k.dtype))
        vh = _heads(v, h, out=op_buffer(self, "v", (b, h, tk, dv), v.dtype))
        s = None if self.return_weights else op_buffer(self, "s", (b, h, tq, tk), q.dtype)  # returned weights: new
        if w is None:
            qh *= c  # scaling q (B*H*Tq*dk values) is cheaper than scaling the scores (B*H*Tq*Tk)
            s = np.matmul(qh, kt, out=s)
            raw = None
        else:
            raw = qh @ kt
            s = np.multiply(raw, c, out=s)
        p = masked_softmax(s, self.mask, out=s)
        pd = p if self.keep is None else p * self.keep
        out = _merge(np.matmul(pd, vh, out=scratch("attention_go", (b, h, tq, dv), q.dtype)))
        if self.qmask is not None:
            out *= self.qmask[..., None]
        self.saved = (qh, kt, vh, p, pd, c, raw)
        return (out, p) if self.return_weights else out

    def minimum_saved_nbytes(self) -> int:
        """Bytes any backward of this op must keep besides its inputs and outputs (the bench's algorithmic
        minimum): the softmax weights (B, H, Tq, Tk) -- they are an output only with `return_weights` -- and,
        with dropout, the dropped weights too. q, k and v are the op's inputs, already counted."""
        saved = self.__dict__.get("saved")
        if not saved:
            return 0
        p, pd = saved[3], saved[4]
        return (0 if self.return_weights else p.nbytes) + (0 if pd is p else pd.nbytes)

    def _infer(self, q: np.ndarray, k: np.ndarray, v: np.ndarray, c: Any) -> np.ndarray:
        """The forward without saving anything, over chunks of the batch whose scores fit in about 2 MiB, in
        buffers reused from call to call (predict runs batch after batch): memory stays bounded for any batch.
        The same products and softmax per chunk: equal to the training forward (bit for bit when no score
        needs the softmax's row-max shift, see `numerics.masked_softmax`)."""
        h = self.h
        b, tq, tk = q.shape[0], q.shape[1], k.shape[1]
        dk, dv = q.shape[2] // h, v.shape[2] // h
        n = min(b, max(1, _INFER_VALUES // (h * tq * tk)))  # samples per chunk
        # the backward's scratch names: when the chunk is a training batch's size, one set of buffers serves both
        bufs = [scratch("attention_" + name, (n, h) + shape, q.dtype) for name, shape in
                (("gq", (tq, dk)), ("gk", (dk, tk)), ("k", (tk, dv)), ("gs", (tq, tk)), ("go", (tq, dv)))]
        mask = self.mask
        per_sample = mask is not None and mask.ndim == 4 and mask.shape[0] != 1
        out = np.empty((b, tq, h * dv), q.dtype)
        for i in range(0, b, n):
            j = min(b, i + n)
            qh, kt, vh, s, o = (a[:j - i] for a in bufs)
            _heads(q[i:j], h, out=qh)
            _heads(k[i:j], h, True, out=kt)
            _heads(v[i:j], h, out=vh)
            qh *= c
            masked_softmax(np.matmul(qh, kt, out=s), mask[i:j] if per_sample else mask, out=s)
            np.matmul(s, vh, out=o)
            np.copyto(out[i:j].reshape(j - i, tq, h, dv), o.transpose(0, 2, 1, 3))
        if self.qmask is not None:
            out *= self.qmask[..., None]
        return out

    def backward(self, gout, gp=None):
        qh, kt, vh, p, pd, c, raw = self.saved
        b, h, tq, dk = qh.shape
        tk, dv = kt.shape[3], vh.shape[3]
        dt = qh.dtype
        if self.qmask is not None:
            gout = gout * self.qmask[..., None]
        go = _heads(gout, h, out=scratch("attention_go", (b, h, tq, dv), dt))
        vt = scratch("attention_vt", (b, h, dv, tk), dt)
        np.copyto(vt, vh.transpose(0, 1, 3, 2))
        gpd = np.matmul(go, vt, out=scratch("attention_gs", (b, h, tq, tk), dt))
        if self.keep is not None:
            gpd *= self.keep
        if gp is not None:
            gpd += gp
        gs = softmax_backward(p, gpd, inplace=True)  # gpd is a buffer of this backward's own
        # A transposed left operand goes to BLAS as is (its trans flag): faster than a contiguous copy first
        gv_t = np.matmul(go.transpose(0, 1, 3, 2), pd, out=scratch("attention_gv", (b, h, dv, tk), dt))  # go^T pd
        gk_t = np.matmul(qh.transpose(0, 1, 3, 2), gs, out=scratch("attention_gk", (b, h, dk, tk), dt))
        kc = scratch("attention_k", (b, h, tk, dk), dt)
        np.copyto(kc, kt.transpose(0, 1, 3, 2))
        gq = np.matmul(gs, kc, out=scratch("attention_gq", (b, h, tq, dk), dt))
        gq *= c
        if raw is not None:  # else q was pre-scaled, so d/dk carries c already
            gk_t *= c
        grads = self._input_grads(gq, gk_t, gv_t)
        if raw is None:
            return grads
        gw = np.asarray((gs * raw).sum() * self.scale).reshape(self.inputs[3].shape)
        return grads + (gw,)

    def _input_grads(self, gq: np.ndarray, gk_t: np.ndarray, gv_t: np.ndarray) -> tuple[np.ndarray, ...]:
        """Head-major gradients (B, H, Tq, dk), (B, H, dk, Tk), (B, H, dv, Tk) back to the inputs' layouts."""
        return _merge(gq), _merge(gk_t, transposed=True), _merge(gv_t, transposed=True)


class PackedSelfAttention(DotProductAttention):
    """Self-attention on one packed projection qkv = x [Wq | Wk | Wv] (B, T, 2*H*dk + H*dv), as torch's
    in_proj: one wide matrix product instead of three narrow ones, and one gradient array back."""

    def __init__(self, key_size: int, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.key_size = key_size  # H * dk

    def forward(self, qkv):
        a = self.key_size
        return super().forward(qkv[..., :a], qkv[..., a:2 * a], qkv[..., 2 * a:])

    def _input_grads(self, gq, gk_t, gv_t):
        b, h, t, dk = gq.shape
        dv = gv_t.shape[2]
        g = np.empty((b, t, h * (2 * dk + dv)), gq.dtype)  # one packed gradient, written in place
        a = h * dk
        g[..., :a].reshape(b, t, h, dk)[...] = gq.transpose(0, 2, 1, 3)
        g[..., a:2 * a].reshape(b, t, h, dk)[...] = gk_t.transpose(0, 3, 1, 2)
        g[..., 2 * a:].reshape(b, t, h, dv)[...] = gv_t.transpose(0, 3, 1, 2)
        return (g,)


class AdditiveAttentionOp(Function):
    """Bahdanau attention: s_ij = c * sum_d w_d tanh(b (q_id + k_jd)); out = softmax(s | mask) [* drop] @ v.

    Inputs: q (B, Tq, D), k (B, Tk, D), v (B, Tk, Dv), w (D,) and optionally b and c, trainable scalars
    (Keras Attention's `score_mode="concat"` uses c, and b with `use_scale`). Outputs: (B, Tq, Dv) and the
    weights (B, Tq, Tk) before dropout.
    """

    def __init__(self, mask: np.ndarray | None = None, keep: np.ndarray | None = None,
                 query_mask: np.ndarray | None = None) -> None:
        self.mask, self.keep, self.qmask = mask, keep, query_mask

    def forward(self, q, k, v, w, b=None, c=None):
        bs = 1.0 if b is None else b.reshape(())
        cs = 1.0 if c is None else c.reshape(())
        pre = q[:, :, None, :] + k[:, None, :, :]  # (B, Tq, Tk, D)
        t = np.tanh(pre * bs) if b is not None else np.tanh(pre)
        tw = t @ w  # (B, Tq, Tk)
        p = masked_softmax(tw * cs, self.mask)
        pd = p if self.keep is None else p * self.keep
        out = pd @ v
        if self.qmask is not None:
            out *= self.qmask[..., None]
        self.saved = (v, w, pre, t, tw, p, pd, bs, cs)
        return out, p

    def backward(self, gout, gp):
        v, w, pre, t, tw, p, pd, bs, cs = self.saved
        if self.qmask is not None:
            gout = gout * self.qmask[..., None]
        gpd = gout @ v.transpose(0, 2, 1)
        gp = gp + (gpd if self.keep is None else gpd * self.keep)
        gs = softmax_backward(p, gp)  # d/d(c * tw)
        gv = pd.transpose(0, 2, 1) @ gout
        gtw = gs * cs
        gw = np.einsum("bqk,bqkd->d", gtw, t)
        gpre = gtw[..., None] * w * (1 - t * t)  # d tanh(u) = 1 - tanh(u)^2, u = b * pre
        grads = [None, None, gv, gw]
        if len(self.inputs) > 4 and self.inputs[4] is not None:
            grads.append(np.asarray((gpre * pre).sum()).reshape(self.inputs[4].shape))
            gpre = gpre * bs
        gq, gk = gpre.sum(axis=2), gpre.sum(axis=1)
        grads[0], grads[1] = gq, gk
        if len(self.inputs) > 5:
            grads.append(np.asarray((gs * tw).sum()).reshape(self.inputs[5].shape))
        return tuple(grads)


def dot_product_attention(q: Tensor, k: Tensor, v: Tensor, *, num_heads: int = 1, scale: float = 1.0,
                          mask: np.ndarray | None = None, keep: np.ndarray | None = None,
                          query_mask: np.ndarray | None = None, scale_weight: Tensor | None = None,
                          return_weights: bool = False) -> Any:
    """The output of scaled dot-product attention, or (output, weights); see `DotProductAttention`."""
    op = DotProductAttention(num_heads, scale, mask, keep, query_mask, return_weights)
    args = (q, k, v) if scale_weight is None else (q, k, v, scale_weight)
    return op(*args)


def packed_self_attention(qkv: Tensor, key_size: int, *, num_heads: int = 1, scale: float = 1.0,
                          mask: np.ndarray | None = None, keep: np.ndarray | None = None,
                          return_weights: bool = False) -> Any:
    """`dot_product_attention` of q, k, v packed along the last axis (see `PackedSelfAttention`)."""
    return PackedSelfAttention(key_size, num_heads, scale, mask, keep, None, return_weights)(qkv)


def additive_attention(q: Tensor, k: Tensor, v: Tensor, w: Tensor, *, inner_scale: Tensor | None = None,
                       outer_scale: Tensor | None = None, mask: np.ndarray | None = None,
                       keep: np.ndarray | None = None, query_mask: np.ndarray | None = None
                       ) -> tuple[Tensor, Tensor]:
    """(output, weights) of additive (Bahdanau) attention; see `AdditiveAttentionOp`."""
    op = AdditiveAttentionOp(mask, keep, query_mask)
    if outer_scale is not None and inner_scale is None:
        inner_scale = Tensor(np.ones((), np.asarray(q.data if isinstance(q, Tensor) else q).dtype))
    args = [q, k, v, w] + ([inner_scale] if inner_scale is not None else []) + \
        ([outer_scale] if outer_scale is not None else [])
    return op(*args)
