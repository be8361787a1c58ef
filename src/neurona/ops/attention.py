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


# Score values per chunk of the batch (0.25 MiB in float32). Training, inference and the replay check all run the
# products chunk by chunk over the batch, in small scratch buffers shared by every attention op of the thread
# (one size for all three, so no pass reallocates them at another size): training keeps only its softmax weights,
# the backward's (B, H, Tq, Tk) temporary is one chunk's, and inference stays bounded for any batch. With the
# plan's placeholders (neurona/function.py) this took the bench transformer's training peak from 1.56x to 1.14x
# its algorithmic minimum (#18; docs/performance.md, "Attention and transformers"). The products per chunk are
# the same per-matrix BLAS calls as over the whole batch: the results are bit for bit those of one chunk.
# 2^16 rather than 2^17 since round three (#13): with half the batch in a forked worker process, each process holds
# its own scratch, and the smaller chunks took the two-halves peak from 1.30x to 1.23x the minimum, at 1.4 % of the
# op's time at batch 32 and 2 % at 16 (docs/performance.md, "Transformer, round three").
_CHUNK_VALUES = 1 << 16


def _chunk_size(b: int, h: int, tq: int, tk: int, values: int) -> int:
    """Samples per chunk whose (h, tq, tk) scores hold about `values` values (at least one sample)."""
    return min(b, max(1, values // (h * tq * tk)))


def _per_sample(a: np.ndarray | None) -> bool:
    """Whether a mask (or dropout keep mask) has its own entry per sample, so a chunk takes its rows."""
    return a is not None and a.ndim == 4 and a.shape[0] != 1


def _rows(a: np.ndarray | None, i: int, j: int) -> np.ndarray | None:
    """Samples i:j of a per-sample mask; a mask shared by all samples as it is."""
    return a[i:j] if _per_sample(a) else a


class _Scratch:
    """The attention ops' chunk buffers: `n` samples each, from the thread's scratch pool (ops/workspace.py),
    sliced to a shorter last chunk. One set serves every attention op and both passes (names, not ops, own them)."""

    def __init__(self, n: int, h: int, tq: int, tk: int, dk: int, dv: int, dtype: Any) -> None:
        self.n, self.h, self.dtype = n, h, dtype
        self.shapes = {"q": (tq, dk), "kt": (dk, tk), "k": (tk, dk), "v": (tk, dv), "vt": (dv, tk), "s": (tq, tk),
                       "o": (tq, dv)}  # per head: q, k^T, k, v, v^T, scores, output (and their gradients' reuse)

    def __call__(self, name: str, m: int) -> np.ndarray:
        return scratch("attention_" + name, (self.n, self.h) + self.shapes[name], self.dtype)[:m]


class DotProductAttention(Function):
    """out = softmax(scale * q k^T | mask) [* dropout] @ v over `num_heads` heads; optionally also the weights.

    Inputs: q (B, Tq, H*dk), k (B, Tk, H*dk), v (B, Tk, H*dv) and optionally a trainable scalar scale
    (Keras Attention's `use_scale`), which multiplies the constant `scale`. Outputs: (B, Tq, H*dv) and, with
    `return_weights`, the weights before dropout, (B, H, Tq, Tk). `keep` is dropout's already-rescaled keep
    mask or None; `query_mask` (B, Tq) zeroes the output rows of padded queries.

    Memory (#18): what backward keeps is the softmax weights (in a buffer of the op's own, reused by every replay
    of a recorded step) and references to the inputs; the head-major copies of q, k and v that the products need
    are made chunk by chunk over the batch, in the thread's scratch, in the forward and again in the backward.
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
        buf = _Scratch(_chunk_size(b, h, tq, tk, _CHUNK_VALUES), h, tq, tk, dk, dv, q.dtype)
        # The weights: the op's own buffer, reused by every replay of a recorded step; returned weights are new
        p = np.empty((b, h, tq, tk), q.dtype) if self.return_weights else op_buffer(self, "s", (b, h, tq, tk), q.dtype)
        raw = None if w is None else np.empty((b, h, tq, tk), q.dtype)  # d/dw needs the unscaled scores
        for i in range(0, b, buf.n):  # the scores, chunk by chunk, into p
            j = min(b, i + buf.n)
            qh = _heads(q[i:j], h, out=buf("q", j - i))
            kt = _heads(k[i:j], h, True, out=buf("kt", j - i))
            if raw is None:
                qh *= c  # scaling q (B*H*Tq*dk values) is cheaper than scaling the scores (B*H*Tq*Tk)
                np.matmul(qh, kt, out=p[i:j])
            else:
                np.multiply(np.matmul(qh, kt, out=raw[i:j]), c, out=p[i:j])
        p = masked_softmax(p, self.mask, out=p)  # the whole batch at once: one decision on the row-max shift
        pd = p if self.keep is None else p * self.keep
        out = np.empty((b, tq, h * dv), q.dtype)
        for i in range(0, b, buf.n):  # the weighted sums of the values
            j = min(b, i + buf.n)
            o = np.matmul(pd[i:j], _heads(v[i:j], h, out=buf("v", j - i)), out=buf("o", j - i))
            np.copyto(out[i:j].reshape(j - i, tq, h, dv), o.transpose(0, 2, 1, 3))
        if self.qmask is not None:
            out *= self.qmask[..., None]
        self.saved = (q, k, v, p, pd, c, raw)
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
        """The forward without saving anything, over chunks of the batch (`_CHUNK_VALUES` scores each), in
        buffers reused from call to call (predict runs batch after batch): memory stays bounded for any batch.
        The same products and softmax per chunk: equal to the training forward (bit for bit when no score
        needs the softmax's row-max shift, see `numerics.masked_softmax`)."""
        h = self.h
        b, tq, tk = q.shape[0], q.shape[1], k.shape[1]
        dk, dv = q.shape[2] // h, v.shape[2] // h
        buf = _Scratch(_chunk_size(b, h, tq, tk, _CHUNK_VALUES), h, tq, tk, dk, dv, q.dtype)
        out = np.empty((b, tq, h * dv), q.dtype)
        for i in range(0, b, buf.n):
            j = min(b, i + buf.n)
            m = j - i
            qh = _heads(q[i:j], h, out=buf("q", m))
            kt = _heads(k[i:j], h, True, out=buf("kt", m))
            vh = _heads(v[i:j], h, out=buf("v", m))
            qh *= c
            s = masked_softmax(np.matmul(qh, kt, out=buf("s", m)), _rows(self.mask, i, j), out=buf("s", m))
            o = np.matmul(s, vh, out=buf("o", m))
            np.copyto(out[i:j].reshape(m, tq, h, dv), o.transpose(0, 2, 1, 3))
        if self.qmask is not None:
            out *= self.qmask[..., None]
        return out

    def backward(self, gout, gp=None):
        q, k, v, p, pd, c, raw = self.saved
        h = self.h
        b, tq, tk = q.shape[0], q.shape[1], k.shape[1]
        dk, dv = q.shape[2] // h, v.shape[2] // h
        if self.qmask is not None:
            gout = gout * self.qmask[..., None]
        # One chunk when d/dw is wanted: its sum over all the scores then runs in the order it always did
        n = b if raw is not None else _chunk_size(b, h, tq, tk, _CHUNK_VALUES)
        buf = _Scratch(n, h, tq, tk, dk, dv, q.dtype)
        grads, result = self._grad_arrays(q, k, v)
        gw = None
        for i in range(0, b, n):
            j = min(b, i + n)
            m = j - i
            go = _heads(gout[i:j], h, out=buf("o", m))
            gpd = np.matmul(go, _heads(v[i:j], h, True, out=buf("vt", m)), out=buf("s", m))  # go v^T
            if self.keep is not None:
                gpd *= _rows(self.keep, i, j)
            if gp is not None:
                gpd += gp[i:j]
            gs = softmax_backward(p[i:j], gpd, inplace=True)  # gpd is a scratch buffer of this backward's own
            # A transposed left operand goes to BLAS as is (its trans flag): faster than a contiguous copy first
            gv_t = np.matmul(go.transpose(0, 1, 3, 2), pd[i:j], out=buf("vt", m))  # go^T pd (v^T is used up)
            qh = _heads(q[i:j], h, out=buf("q", m))
            if raw is None:
                qh *= c  # q as the forward scaled it
            gk_t = np.matmul(qh.transpose(0, 1, 3, 2), gs, out=buf("kt", m))
            gq = np.matmul(gs, _heads(k[i:j], h, out=buf("k", m)), out=buf("q", m))  # (q is used up)
            gq *= c
            if raw is not None:  # else q was pre-scaled, so d/dk carries c already
                gk_t *= c
                gw = np.asarray((gs * raw).sum() * self.scale).reshape(self.inputs[3].shape)
            self._put_grads(grads, i, j, gq, gk_t, gv_t)
        return result if gw is None else result + (gw,)

    def _grad_arrays(self, q: np.ndarray, k: np.ndarray, v: np.ndarray) -> tuple[tuple[np.ndarray, ...], tuple]:
        """(the gradients of q, k and v, which the backward fills chunk by chunk; what it returns): new arrays."""
        grads = (np.empty(q.shape, q.dtype), np.empty(k.shape, k.dtype), np.empty(v.shape, v.dtype))
        return grads, grads

    def _put_grads(self, grads: tuple[np.ndarray, ...], i: int, j: int, gq: np.ndarray, gk_t: np.ndarray,
                   gv_t: np.ndarray) -> None:
        """Samples i:j of the head-major gradients (m, H, Tq, dk), (m, H, dk, Tk), (m, H, dv, Tk) into the
        inputs' layouts."""
        for g, part, axes in zip(grads, (gq, gk_t, gv_t), ((0, 2, 1, 3), (0, 3, 1, 2), (0, 3, 1, 2))):
            heads = part.transpose(axes)  # (m, T, H, d)
            np.copyto(g[i:j].reshape(heads.shape), heads)


class PackedSelfAttention(DotProductAttention):
    """Self-attention on one packed projection qkv = x [Wq | Wk | Wv] (B, T, 2*H*dk + H*dv), as torch's
    in_proj: one wide matrix product instead of three narrow ones, and one gradient array back."""

    def __init__(self, key_size: int, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.key_size = key_size  # H * dk

    def forward(self, qkv):
        a = self.key_size
        return super().forward(qkv[..., :a], qkv[..., a:2 * a], qkv[..., 2 * a:])

    def _grad_arrays(self, q, k, v):
        g = np.empty(q.shape[:2] + (2 * q.shape[2] + v.shape[2],), q.dtype)  # one packed gradient, filled in place
        a = self.key_size
        return (g[..., :a], g[..., a:2 * a], g[..., 2 * a:]), (g,)


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
