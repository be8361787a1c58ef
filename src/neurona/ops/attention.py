"""Fused attention: scores, masked softmax and the weighted sum of values as ONE op with its own backward.

Two score functions, as in the course and in Keras:
- dot product (Luong / Transformer): s = scale * q k^T, batched over (batch, heads);
- additive (Bahdanau): s = sum_d w_d tanh(b * (q_d + k_d)).
Masks are boolean arrays broadcastable to the scores, True = may attend. A masked score is left out of the
softmax exactly (its weight is 0, not exp(-1e9)); a row with nothing to attend to gets all-zero weights,
as Keras's masked Softmax gives, so fully padded queries output zeros instead of NaN.
"""

from __future__ import annotations

import numpy as np

from ..tensor import Function, Tensor


def masked_softmax(s: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    """Softmax over the last axis leaving out positions where `mask` is False (all-masked rows -> zeros)."""
    if mask is not None:
        s = np.where(mask, s, -np.inf)
    m = s.max(axis=-1, keepdims=True)
    if mask is not None:
        m[~np.isfinite(m)] = 0.0  # a fully masked row: exp(-inf - 0) = 0 everywhere, no NaN
    p = np.exp(s - m)  # subtract the row max so exp cannot overflow
    total = p.sum(axis=-1, keepdims=True)
    if mask is not None:
        total[total == 0] = 1.0
    p /= total
    return p


def softmax_backward(p: np.ndarray, gp: np.ndarray) -> np.ndarray:
    """d loss / d scores from d loss / d p for p = softmax(s): p * (gp - sum(gp * p)). Masked p are 0."""
    return p * (gp - (gp * p).sum(axis=-1, keepdims=True))


def causal_mask(tq: int, tk: int) -> np.ndarray:
    """(tq, tk) lower-triangular boolean mask: query i may attend to keys j <= i (Keras's convention)."""
    return np.tril(np.ones((tq, tk), dtype=bool))


def _heads(x: np.ndarray, h: int) -> np.ndarray:
    """(B, T, h*d) -> (B, h, T, d) view."""
    b, t, hd = x.shape
    return x.reshape(b, t, h, hd // h).transpose(0, 2, 1, 3)


class DotProductAttention(Function):
    """out = softmax(scale * q k^T | mask) [* dropout] @ v over `num_heads` heads; also returns the weights.

    Inputs: q (B, Tq, H*dk), k (B, Tk, H*dk), v (B, Tk, H*dv) and optionally a trainable scalar scale
    (Keras Attention's `use_scale`), which multiplies the constant `scale`. Outputs: (B, Tq, H*dv) and the
    weights before dropout, (B, H, Tq, Tk). `keep` is dropout's already-rescaled keep mask or None;
    `query_mask` (B, Tq) zeroes the output rows of padded queries.
    """

    def __init__(self, num_heads: int = 1, scale: float = 1.0, mask: np.ndarray | None = None,
                 keep: np.ndarray | None = None, query_mask: np.ndarray | None = None) -> None:
        self.h, self.scale, self.mask, self.keep, self.qmask = num_heads, scale, mask, keep, query_mask

    def forward(self, q, k, v, w=None):
        qh, kh, vh = _heads(q, self.h), _heads(k, self.h), _heads(v, self.h)
        c = self.scale * (1.0 if w is None else w.reshape(()))
        raw = qh @ kh.transpose(0, 1, 3, 2)
        p = masked_softmax(raw * c, self.mask)
        pd = p if self.keep is None else p * self.keep
        out = pd @ vh  # (B, H, Tq, dv)
        b, _, tq, dv = out.shape
        out = np.ascontiguousarray(out.transpose(0, 2, 1, 3)).reshape(b, tq, self.h * dv)
        if self.qmask is not None:
            out *= self.qmask[..., None]
        self.saved = (qh, kh, vh, p, pd, c, raw if w is not None else None)
        return out, p

    def backward(self, gout, gp):
        qh, kh, vh, p, pd, c, raw = self.saved
        gout = _heads(gout if self.qmask is None else gout * self.qmask[..., None], self.h)
        gpd = gout @ vh.transpose(0, 1, 3, 2)
        gp = gp + (gpd if self.keep is None else gpd * self.keep)
        gs = softmax_backward(p, gp)
        gv = pd.transpose(0, 1, 3, 2) @ gout
        gq = (gs @ kh) * c
        gk = (gs.transpose(0, 1, 3, 2) @ qh) * c
        b, _, tq, _ = qh.shape
        tk = kh.shape[2]
        gq = np.ascontiguousarray(gq.transpose(0, 2, 1, 3)).reshape(b, tq, -1)
        gk = np.ascontiguousarray(gk.transpose(0, 2, 1, 3)).reshape(b, tk, -1)
        gv = np.ascontiguousarray(gv.transpose(0, 2, 1, 3)).reshape(b, tk, -1)
        if raw is None:
            return gq, gk, gv
        gw = np.asarray((gs * raw).sum() * self.scale).reshape(self.inputs[3].shape)
        return gq, gk, gv, gw


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
                          query_mask: np.ndarray | None = None, scale_weight: Tensor | None = None
                          ) -> tuple[Tensor, Tensor]:
    """(output, weights) of scaled dot-product attention; see `DotProductAttention`."""
    op = DotProductAttention(num_heads, scale, mask, keep, query_mask)
    args = (q, k, v) if scale_weight is None else (q, k, v, scale_weight)
    return op(*args)


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
