"""The small transformer's training step written by hand in NumPy: the floor neurona's attention should approach.

Post-norm encoder blocks as torch's `TransformerEncoderLayer` (dropout 0) and KerasHub's `TransformerEncoder`:
    h = LN(x + MHA(x)),  out = LN(h + W2 relu(W1 h + b1) + b2)
then the mean over steps and a dense head (softmax cross-entropy or MSE), plain SGD, float32, no masks.

The kernels are the leanest measured on this machine kind (docs/performance.md, "Attention and transformers"):
  projections         q, k, v as ONE (B*T, D) x (D, 3D) product, each head block copied once into the layout
                      its batched product wants: q (B, H, T, dk) pre-scaled by 1/sqrt(dk), k^T (B, H, dk, T), v;
  scores / weights    batched matmuls over (B, H); softmax in place (row sums as a product with a ones vector,
                      the row-max shift skipped when every score is within +-30, where exp cannot over/underflow);
  residual + LN       the residual added into the projection's output in place; row means and variances as
                      matrix-vector products; backward from x-hat and 1/std;
  feed-forward        relu in place, its backward as one multiply by the mask;
  backward            softmax backward in place on the buffer of dL/dp; the three head gradients written straight
                      into one packed (B, T, 3, H, dk) array, so the input projection's backward is one product;
                      weight and bias gradients as single products (biases against a ones vector).
`phases` collects per-step seconds of gather / forward / loss / backward / optimizer, as the other floors do.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from ._timing import floor_tasks

_SAFE = 30.0


def _glorot(rng: np.random.Generator, fan_in: int, fan_out: int, dtype: Any) -> np.ndarray:
    limit = np.sqrt(6 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, (fan_in, fan_out)).astype(dtype)


class TransformerFloor:
    """`blocks` encoder blocks (d_model `d`, `heads` heads, feed-forward `ff`) -> mean over steps -> Dense(outputs).

    Weights per block, as matrices that multiply row vectors on the right (torch's are the transposes):
    wqkv (d, 3d) = [Wq | Wk | Wv], bqkv, wo (d, d), bo, g1, be1 (first LayerNorm), w1 (d, ff), b1, w2 (ff, d),
    b2, g2, be2; the head v (d, outputs), c."""

    NAMES = ("wqkv", "bqkv", "wo", "bo", "g1", "be1", "w1", "b1", "w2", "b2", "g2", "be2")

    def __init__(self, d: int, heads: int, ff: int, blocks: int, outputs: int, lr: float, loss: str = "softmax",
                 dtype: Any = np.float32, eps: float = 1e-5, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        self.d, self.h, self.ff, self.lr, self.loss, self.dtype = d, heads, ff, lr, loss, np.dtype(dtype)
        self.eps = eps
        zeros, ones = (lambda n: np.zeros(n, dtype)), (lambda n: np.ones(n, dtype))
        self.blocks = [{"wqkv": _glorot(rng, d, 3 * d, dtype), "bqkv": zeros(3 * d), "wo": _glorot(rng, d, d, dtype),
                        "bo": zeros(d), "g1": ones(d), "be1": zeros(d), "w1": _glorot(rng, d, ff, dtype),
                        "b1": zeros(ff), "w2": _glorot(rng, ff, d, dtype), "b2": zeros(d), "g2": ones(d),
                        "be2": zeros(d)} for _ in range(blocks)]
        self.v, self.c = _glorot(rng, d, outputs, dtype), zeros(outputs)
        self.ones_d = np.ones(d, dtype)
        self.scratch: dict[str, np.ndarray] = {}  # buffers used within one block's forward or backward

    # ----------------------------------------------------------------- pieces
    def _get(self, pool: dict[str, np.ndarray], name: str, shape: tuple[int, ...]) -> np.ndarray:
        """pool[name] with this shape, allocated once: a fresh multi-megabyte array costs page faults every step."""
        a = pool.get(name)
        if a is None or a.shape != shape:
            a = pool[name] = np.empty(shape, self.dtype)
        return a

    def _copy(self, pool: dict[str, np.ndarray], name: str, view: np.ndarray) -> np.ndarray:
        out = self._get(pool, name, view.shape)
        np.copyto(out, view)
        return out

    def _buffers(self, p: dict[str, Any], keep: bool) -> dict[str, np.ndarray]:
        """The block's own buffers for what backward reads (q, k^T, v, the weights), or scratch in inference."""
        return p.setdefault("_buffers", {}) if keep else self.scratch

    def _layer_norm(self, r: np.ndarray, gamma: np.ndarray, beta: np.ndarray) -> tuple[np.ndarray, ...]:
        """(y, xhat, 1/std) of r (N, d); r becomes x-hat in place."""
        inv_n = self.dtype.type(1 / r.shape[1])
        r -= ((r @ self.ones_d) * inv_n)[:, None]
        y = np.multiply(r, r)
        var = (y @ self.ones_d) * inv_n
        var += self.dtype.type(self.eps)
        inv = (1 / np.sqrt(var))[:, None]
        r *= inv
        np.multiply(r, gamma, out=y)
        y += beta
        return y, r, inv

    def _layer_norm_backward(self, g: np.ndarray, xhat: np.ndarray, inv: np.ndarray, gamma: np.ndarray
                             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(d input, d gamma, d beta) from g = d output (N, d)."""
        inv_n = self.dtype.type(1 / g.shape[1])
        ones_n = np.ones(g.shape[0], self.dtype)
        gxh = g * xhat
        ggamma, gbeta = ones_n @ gxh, ones_n @ g
        a = (g @ gamma) * inv_n
        b = (gxh @ gamma) * inv_n
        gx = np.multiply(g, gamma, out=gxh)
        gx -= a[:, None]
        gx -= xhat * b[:, None]
        gx *= inv
        return gx, ggamma, gbeta

    def _softmax_(self, s: np.ndarray) -> np.ndarray:
        lo, hi = float(s.min()), float(s.max())
        if not -_SAFE < lo <= hi < _SAFE:
            s -= s.max(axis=-1, keepdims=True)
        np.exp(s, out=s)
        s /= (s @ np.ones(s.shape[-1], s.dtype))[..., None]
        return s

    def _block_forward(self, x2: np.ndarray, p: dict[str, np.ndarray], bsz: int, keep: bool) -> tuple[np.ndarray,
                                                                                                     dict[str, Any]]:
        n, d = x2.shape
        t, h = n // bsz, self.h
        dk = d // h
        qkv = x2 @ p["wqkv"]
        qkv += p["bqkv"]
        q5 = qkv.reshape(bsz, t, 3, h, dk)
        buf = self._buffers(p, keep)
        q = self._copy(buf, "q", q5[:, :, 0].transpose(0, 2, 1, 3))
        q *= self.dtype.type(1 / np.sqrt(dk))
        kt = self._copy(buf, "kt", q5[:, :, 1].transpose(0, 2, 3, 1))
        v = self._copy(buf, "v", q5[:, :, 2].transpose(0, 2, 1, 3))
        del qkv, q5
        s = self._softmax_(np.matmul(q, kt, out=self._get(buf, "s", (bsz, h, t, t))))
        om = np.ascontiguousarray(np.matmul(s, v, out=self._get(self.scratch, "o", (bsz, h, t, dk)))
                                  .transpose(0, 2, 1, 3)).reshape(n, d)
        r = om @ p["wo"]
        r += p["bo"]
        r += x2
        h1, xh1, inv1 = self._layer_norm(r, p["g1"], p["be1"])
        f = h1 @ p["w1"]
        f += p["b1"]
        np.maximum(f, 0, out=f)
        r2 = f @ p["w2"]
        r2 += p["b2"]
        r2 += h1
        out, xh2, inv2 = self._layer_norm(r2, p["g2"], p["be2"])
        saved = {"x2": x2, "q": q, "kt": kt, "v": v, "p": s, "om": om, "xh1": xh1, "inv1": inv1, "h1": h1, "f": f,
                 "xh2": xh2, "inv2": inv2} if keep else {}
        return out, saved

    def _block_backward(self, g: np.ndarray, p: dict[str, np.ndarray], sv: dict[str, Any], bsz: int
                        ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        n, d = g.shape
        t, h = n // bsz, self.h
        dk = d // h
        ones_n = np.ones(n, self.dtype)
        grads: dict[str, np.ndarray] = {}
        gr2, grads["g2"], grads["be2"] = self._layer_norm_backward(g, sv["xh2"], sv["inv2"], p["g2"])
        f = sv["f"]
        grads["w2"], grads["b2"] = f.T @ gr2, ones_n @ gr2
        gf = gr2 @ p["w2"].T
        gf *= f > 0
        grads["w1"], grads["b1"] = sv["h1"].T @ gf, ones_n @ gf
        gh1 = gf @ p["w1"].T
        gh1 += gr2
        gr1, grads["g1"], grads["be1"] = self._layer_norm_backward(gh1, sv["xh1"], sv["inv1"], p["g1"])
        grads["wo"], grads["bo"] = sv["om"].T @ gr1, ones_n @ gr1
        sc = self.scratch
        go = self._copy(sc, "go", (gr1 @ p["wo"].T).reshape(bsz, t, h, dk).transpose(0, 2, 1, 3))
        q, kt, v, pr = sv["q"], sv["kt"], sv["v"], sv["p"]
        gs = np.matmul(go, v.transpose(0, 1, 3, 2), out=self._get(sc, "gs", (bsz, h, t, t)))  # d loss / d weights,
        # then in place d loss / d scores
        row = np.einsum("...k,...k->...", gs, pr)[..., None]
        gs -= row
        gs *= pr
        gqkv = self._get(sc, "gqkv", (bsz, t, 3, h, dk))
        np.matmul(pr.transpose(0, 1, 3, 2), go, out=gqkv[:, :, 2].transpose(0, 2, 1, 3))
        gq = np.matmul(gs, self._copy(sc, "k", kt.transpose(0, 1, 3, 2)), out=self._get(sc, "gq", (bsz, h, t, dk)))
        gq *= self.dtype.type(1 / np.sqrt(dk))
        gqkv[:, :, 0] = gq.transpose(0, 2, 1, 3)
        np.matmul(gs.transpose(0, 1, 3, 2), q, out=gqkv[:, :, 1].transpose(0, 2, 1, 3))  # q carries the scale
        g2 = gqkv.reshape(n, 3 * d)
        grads["wqkv"], grads["bqkv"] = sv["x2"].T @ g2, ones_n @ g2
        gx = g2 @ p["wqkv"].T
        gx += gr1
        return gx, grads

    # ----------------------------------------------------------------- whole model
    def forward(self, x: np.ndarray, keep: bool = False) -> np.ndarray:
        """The head's output (B, outputs) before its softmax; with `keep`, what backward needs is kept."""
        bsz, t, d = x.shape
        h = np.ascontiguousarray(x, self.dtype).reshape(bsz * t, d)
        self.saved = []
        for p in self.blocks:
            h, sv = self._block_forward(h, p, bsz, keep)
            self.saved.append(sv)
        self.pooled = (np.ones(t, self.dtype) * self.dtype.type(1 / t)) @ h.reshape(bsz, t, d)  # mean over steps
        out = self.pooled @ self.v
        out += self.c
        return out

    def gradients(self, x: np.ndarray, y: np.ndarray, phases: dict[str, list[float]] | None = None
                  ) -> tuple[list[dict[str, np.ndarray]], dict[str, np.ndarray]]:
        """(per-block gradients, head gradients) of the mean loss over the batch x (B, T, d), y (B, outputs)."""
        t0 = time.perf_counter()
        out = self.forward(x, keep=True)
        t1 = time.perf_counter()
        bsz, t, d = x.shape
        if self.loss == "softmax":
            out -= out.max(axis=1, keepdims=True)
            np.exp(out, out=out)
            out /= out.sum(axis=1, keepdims=True)
            g = (out - y) * self.dtype.type(1 / bsz)
        else:
            g = (out - y) * self.dtype.type(2 / (bsz * y.shape[1]))
        t2 = time.perf_counter()
        head = {"v": self.pooled.T @ g, "c": np.ones(bsz, self.dtype) @ g}
        gp = (g @ self.v.T) * self.dtype.type(1 / t)
        gh = np.broadcast_to(gp[:, None, :], (bsz, t, d)).reshape(bsz * t, d)  # a copy: backward writes rows
        grads: list[dict[str, np.ndarray]] = []
        for p, sv in zip(reversed(self.blocks), reversed(self.saved)):
            gh, gb = self._block_backward(gh, p, sv, bsz)
            grads.append(gb)
        self.saved = []
        if phases is not None:
            t3 = time.perf_counter()
            for k, v in (("forward", t1 - t0), ("loss", t2 - t1), ("backward", t3 - t2)):
                phases.setdefault(k, []).append(v)
        return grads[::-1], head

    def step(self, x: np.ndarray, y: np.ndarray, phases: dict[str, list[float]] | None = None) -> None:
        """One SGD step on the batch."""
        grads, head = self.gradients(x, y, phases)
        t0 = time.perf_counter()
        lr = self.dtype.type(self.lr)
        for p, gb in zip(self.blocks, grads):
            for name in self.NAMES:
                p[name] -= lr * gb[name]
        self.v -= lr * head["v"]
        self.c -= lr * head["c"]
        if phases is not None:
            phases.setdefault("optimizer", []).append(time.perf_counter() - t0)

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Softmax probabilities (or the linear outputs with the MSE loss), nothing kept for backward."""
        out = self.forward(x)
        if self.loss == "softmax":
            out -= out.max(axis=1, keepdims=True)
            np.exp(out, out=out)
            out /= out.sum(axis=1, keepdims=True)
        return out


def floor_work(wl: Any, data: dict[str, np.ndarray], task: str, phases: dict[str, list[float]] | None = None
               ) -> Any:
    """A work function for the bench suite: the transformer row's step by hand (train: one shuffled epoch;
    predict: batches of 1,000; latency: one sample)."""
    blocks = [layer for layer in wl.layers if layer[0] == "transformer"]
    net = TransformerFloor(wl.input_shape[-1], blocks[0][1], blocks[0][2], len(blocks), wl.layers[-1][1], wl.lr)
    return floor_tasks(net, data, wl.batch, task, phases)


def is_floor_workload(wl: Any) -> bool:
    """True for encoder blocks -> mean over steps -> one dense head, all blocks alike (the floor's model)."""
    kinds = [layer[0] for layer in wl.layers]
    n = kinds.count("transformer")
    return (n > 0 and kinds == ["transformer"] * n + ["gap1d", "dense"]
            and len({layer for layer in wl.layers if layer[0] == "transformer"}) == 1)
