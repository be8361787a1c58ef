"""Fused hot paths: one op where the naive graph would be several.

`dense` is the slides' neuron layer, y = f(x W + b), with its whole backward in one place;
`softmax_cross_entropy` folds softmax into the loss so the backward is simply `p - y`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..tensor import Function, Tensor
from . import activation as act


def _relu_fwd(z):
    return np.maximum(z, 0, out=z)


def _softmax_fwd(z):
    z -= z.max(axis=-1, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=-1, keepdims=True)
    return z


# Activations whose derivative can be written from the output y alone, so dense() can fuse them.
FUSED_ACTIVATIONS = {
    "relu": (_relu_fwd, act.relu_backward),
    "sigmoid": (act._sigmoid, act.sigmoid_backward),
    "tanh": (np.tanh, act.tanh_backward),
    "softmax": (_softmax_fwd, act.softmax_backward),
}


_ONES: dict[tuple[int, np.dtype], np.ndarray] = {}


def _ones(n: int, dtype: np.dtype) -> np.ndarray:
    """A cached read-only vector of ones (row sums as matmuls reuse it every step)."""
    key = (n, dtype)
    v = _ONES.get(key)
    if v is None:
        if len(_ONES) > 64:
            _ONES.clear()
        v = _ONES[key] = np.ones(n, dtype)
        v.flags.writeable = False
    return v


def _rowmax(z: np.ndarray) -> np.ndarray:
    """Row maxima with keepdims; NumPy's axis=-1 max is ~3x slower than a transposed copy for <= 16 columns."""
    if z.ndim == 2 and z.shape[-1] <= 16:
        return np.ascontiguousarray(z.T).max(axis=0)[:, None]
    return z.max(axis=-1, keepdims=True)


def stable_softmax(z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(p, m, s): softmax along the last axis, z minus its row max, and the row sums of exp(m) (kept dims).

    log softmax(z) = m - log(s); the cross-entropy ops here and in `neurona.losses` share this.
    """
    m = z - _rowmax(z)  # subtract the row max so exp cannot overflow
    p = np.exp(m)
    s = (p @ _ones(z.shape[-1], z.dtype))[..., None]  # row sums as a matmul against ones (PERFORMANCE.md)
    p /= s
    return p, m, s


def sigmoid_cross_entropy_values(z: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Binary cross-entropy of sigmoid(z) against t, per value, stable for any z."""
    return np.maximum(z, 0) - z * t + np.log1p(np.exp(-np.abs(z)))


class Dense(Function):
    """y = activation(x @ W + b) over the last axis of x, with a hand-written backward."""

    def __init__(self, activation: str | None = None) -> None:
        self.act = FUSED_ACTIVATIONS.get(activation) if activation else None

    def forward(self, x, w, b=None):
        self.lead = x.shape[:-1]
        x2 = x.reshape(-1, x.shape[-1]) if x.ndim != 2 else x
        z = x2 @ w
        if b is not None:
            z += b
        y = self.act[0](z) if self.act else z
        self.x2, self.w, self.y, self.has_b = x2, w, y, b is not None
        return y.reshape(self.lead + (w.shape[1],)) if x.ndim != 2 else y

    def backward(self, gy):
        g = gy.reshape(self.y.shape) if gy.ndim != 2 else gy
        if self.act:
            g = self.act[1](g, self.y)
        gx = None
        if self.inputs[0].requires_grad:
            gx = g @ self.w.T  # C order, so the previous layer's activation backward runs on contiguous rows
            if len(self.lead) != 1:
                gx = gx.reshape(self.lead + (self.w.shape[0],))
        # Small kernels: the transposed product is several times faster in OpenBLAS for these shapes;
        # large kernels: keep the gradient C-ordered so the optimizer's passes over it stay contiguous
        # (both measured in bench/, PERFORMANCE.md).
        gw = (g.T @ self.x2).T if self.w.size < 65536 else self.x2.T @ g
        if not self.has_b:
            return gx, gw
        return gx, gw, _ones(g.shape[0], g.dtype) @ g  # bias gradient as a small matmul (PERFORMANCE.md)


def dense(x: Any, w: Any, b: Any = None, activation: str | None = None) -> Tensor:
    """activation(x @ W + b); relu/sigmoid/tanh/softmax/linear are fused into one op.

    Other activations are applied as their own op after the fused affine map.
    """
    if isinstance(activation, str) and activation not in FUSED_ACTIVATIONS and activation != "linear":
        fn = getattr(act, activation, None)
        if fn is None:
            raise ValueError(f"unknown activation {activation!r}")
        return fn(dense(x, w, b))
    if callable(activation):
        return activation(dense(x, w, b))
    xin = x.shape if isinstance(x, (Tensor, np.ndarray)) else np.shape(x)
    win = w.shape if isinstance(w, (Tensor, np.ndarray)) else np.shape(w)
    if len(xin) == 0 or len(win) != 2 or xin[-1] != win[0]:
        raise ValueError(f"dense: inputs of shape {tuple(xin)} do not fit a kernel of shape {tuple(win)}")
    f = Dense(activation if activation != "linear" else None)
    return f(x, w) if b is None else f(x, w, b)


class SoftmaxCrossEntropy(Function):
    """Mean over samples of -sum(t * log softmax(z)); backward is (softmax(z) * sum(t) - t) / N."""

    def forward(self, z, t):
        k = z.shape[-1]
        e, m, s = stable_softmax(z)
        self.p, self.t = e, t
        self.n = max(z.size // k, 1)
        self.tsum = (t @ _ones(k, t.dtype))[..., None]
        # -sum t * (m - log s) = sum tsum * log s - sum t * m
        loss = (self.tsum * np.log(s)).sum() - (t * m).sum()
        return np.asarray(loss / self.n, dtype=z.dtype)

    def backward(self, gy):
        g = self.p * self.tsum
        g -= self.t
        g *= gy / self.n
        return g, None


class SparseSoftmaxCrossEntropy(Function):
    """Like SoftmaxCrossEntropy with integer class labels instead of one-hot rows."""

    def forward(self, z, labels):
        k = z.shape[-1]
        z2 = z.reshape(-1, k)
        lab = labels.reshape(-1).astype(np.intp)
        if lab.size != z2.shape[0]:
            raise ValueError(
                f"sparse cross-entropy: {lab.size} labels for {z2.shape[0]} rows of logits {z.shape}"
            )
        if lab.size and (lab.min() < 0 or lab.max() >= k):
            bad = lab[(lab < 0) | (lab >= k)][0]
            raise ValueError(f"sparse cross-entropy: label {bad} is outside [0, {k}) for {k} classes")
        self.p, m, s = stable_softmax(z2)
        self.lab, self.shape = lab, z.shape
        rows = np.arange(lab.size)
        logp = m[rows, lab] - np.log(s[:, 0])
        return np.asarray(-logp.mean() if lab.size else 0.0, dtype=z.dtype)

    def backward(self, gy):
        g = self.p.copy()
        g[np.arange(self.lab.size), self.lab] -= 1
        g *= gy / max(self.lab.size, 1)
        return g.reshape(self.shape), None


class SigmoidCrossEntropy(Function):
    """Mean binary cross-entropy on logits: max(z,0) - z t + log(1 + e^-|z|)."""

    def forward(self, z, t):
        self.z, self.t = z, t
        return np.asarray(sigmoid_cross_entropy_values(z, t).mean(), dtype=z.dtype)

    def backward(self, gy):
        return gy * (act._sigmoid(self.z) - self.t) / self.z.size, None


class DropoutMask(Function):
    """Multiply by a fixed mask already scaled by 1/(1-rate) (inverted dropout)."""

    def __init__(self, mask: np.ndarray) -> None:
        self.mask = mask

    def forward(self, x):
        return x * self.mask

    def backward(self, gy):
        return gy * self.mask


def softmax_cross_entropy(logits: Any, targets: Any) -> Tensor:
    """Cross-entropy of softmax(logits) against one-hot (or probability) targets, batch mean."""
    lshape = getattr(logits, "shape", np.shape(logits))
    tshape = getattr(targets, "shape", np.shape(targets))
    if tuple(lshape) != tuple(tshape):
        raise ValueError(f"softmax_cross_entropy: logits shape {tuple(lshape)} != targets shape {tuple(tshape)}")
    return SoftmaxCrossEntropy()(logits, targets)


def sparse_softmax_cross_entropy(logits: Any, labels: Any) -> Tensor:
    """Cross-entropy of softmax(logits) against integer class labels, batch mean."""
    return SparseSoftmaxCrossEntropy()(logits, labels)


def sigmoid_cross_entropy(logits: Any, targets: Any) -> Tensor:
    """Binary cross-entropy of sigmoid(logits) against 0/1 targets, mean over all values."""
    return SigmoidCrossEntropy()(logits, targets)


def dropout(x: Any, rate: float, training: bool = True, rng: np.random.Generator | None = None) -> Tensor:
    """Zero each value with probability `rate` and scale the rest by 1/(1-rate), when training."""
    if not 0 <= rate < 1:
        raise ValueError(f"dropout rate must be in [0, 1), got {rate}")
    xd = x.data if isinstance(x, Tensor) else np.asarray(x)
    if not training or rate == 0:
        return x if isinstance(x, Tensor) else Tensor(xd)
    rng = rng or np.random.default_rng()
    keep = rng.random(xd.shape, dtype=np.float32) >= rate
    mask = keep.astype(xd.dtype) * xd.dtype.type(1 / (1 - rate))
    return DropoutMask(mask)(x)
