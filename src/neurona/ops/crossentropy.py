"""The cross-entropy op family, in one place: softmax with one-hot (or probability) targets, softmax with
integer labels, sigmoid with 0/1 targets — each as a batch mean (the hot path `fit` takes when the model's
last activation is fused with its loss) and per row / per value (what `neurona.losses` weights and reduces).

Every one computes from the logits with the kernels of `neurona.numerics`, so its value is stable for
any input and its backward is the combined `p - t` (softmax) or `sigmoid(z) - t`.

>>> import numpy as np
>>> from neurona import Tensor
>>> z = Tensor(np.array([[2.0, 0.0, 0.0]]), requires_grad=True)
>>> loss = sparse_softmax_cross_entropy(z, np.array([0]))
>>> loss.backward()
>>> round(float(loss.data), 4), z.grad.round(3).tolist()
(0.2395, [[-0.213, 0.107, 0.107]])
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..numerics import (
    ones,
    shifted_exp,
    sigmoid_cross_entropy_gradient,
    sigmoid_cross_entropy_values,
    softmax_cross_entropy_gradient,
    softmax_cross_entropy_rows,
    stable_softmax,
)
from ..tensor import Function, Tensor


# ----------------------------------------------------------------------------- batch means (fused losses)
class SoftmaxCrossEntropy(Function):
    """Mean over samples of -sum(t * log softmax(z)); backward is (softmax(z) * sum(t) - t) / N."""

    def forward(self, z, t):
        loss, self.e, self.f, self.n = softmax_cross_entropy_mean(z, t)
        self.t = t
        return loss

    def backward(self, gy):
        return softmax_cross_entropy_backward(self.e, self.f, self.t, gy / self.n), None


def softmax_cross_entropy_mean(z: np.ndarray, t: np.ndarray, ones_z: np.ndarray | None = None,
                               ones_t: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """(mean loss as a 0-d array, e, f, row count n) of logits z against targets t, where the gradient with
    respect to z is e * f[..., None] - t per sample: e = exp of the shifted logits (`numerics.shifted_exp`) and
    f = sum(t) / sum(e) per row, so softmax(z) * sum(t) is never formed as its own array (two broadcasts over
    the logits, ~6 us of the slides' step, become one and a division of two row vectors; #17).

    Shared by `SoftmaxCrossEntropy` and models/dense_step.py, so both compute the same bits. `ones_z`,
    `ones_t`: the vectors of k ones in z's and t's dtype (`numerics.ones`), which the dense step looks up once
    per batch shape instead of once per call.
    """
    k = z.shape[-1]
    e, m, s = shifted_exp(z, ones_z)
    n = max(z.size // k, 1)
    tsum = t @ (ones(k, t.dtype) if ones_t is None else ones_t)
    # -sum t * (m - log s) = sum tsum * log s - sum t * m, as two dot products: no product arrays (#17)
    loss = float(tsum.reshape(-1) @ np.log(s).reshape(-1)) - float(np.vdot(t, m))
    return np.asarray(loss / n, dtype=z.dtype), e, tsum / s, n


def softmax_cross_entropy_backward(e: np.ndarray, f: np.ndarray, t: np.ndarray, scale: Any) -> np.ndarray:
    """The gradient (softmax(z) * sum(t) - t) * scale of the loss with respect to the logits, as
    (e * f[..., None] - t) * scale from `softmax_cross_entropy_mean`'s e and f. Shared by `SoftmaxCrossEntropy`
    and models/dense_step.py."""
    g = e * f[..., None]
    g -= t
    g *= scale
    return g


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
        return gy * sigmoid_cross_entropy_gradient(self.z, self.t) / self.z.size, None



# ----------------------------------------------------------------------------- per row / per value (losses)
class SoftmaxCrossEntropyRows(Function):
    """-sum(t * log softmax(z)) along the last axis, one value per row; backward (p * sum(t) - t)."""

    def forward(self, z, t):
        values, self.p = softmax_cross_entropy_rows(z, t)
        self.t = t
        return values

    def backward(self, gy):
        return gy[..., None] * softmax_cross_entropy_gradient(self.p, self.t), None


class SparseSoftmaxCrossEntropyRows(Function):
    """Like SoftmaxCrossEntropyRows with integer labels (already checked to be in range)."""

    def forward(self, z, labels):
        self.p, m, s = stable_softmax(z)
        self.labels = labels
        picked = np.take_along_axis(m, labels[..., None], axis=-1)
        return (np.log(s) - picked)[..., 0]

    def backward(self, gy):
        g = self.p.copy()
        np.put_along_axis(g, self.labels[..., None], np.take_along_axis(g, self.labels[..., None], -1) - 1, -1)
        return g * gy[..., None], None


class SigmoidCrossEntropyElementwise(Function):
    """max(z, 0) - z t + log(1 + e^-|z|) per value (stable for any z); backward sigmoid(z) - t."""

    def forward(self, z, t):
        self.z, self.t = z, t
        return sigmoid_cross_entropy_values(z, t)

    def backward(self, gy):
        return gy * sigmoid_cross_entropy_gradient(self.z, self.t), None



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


__all__ = [
    "SigmoidCrossEntropy", "SigmoidCrossEntropyElementwise", "SoftmaxCrossEntropy", "SoftmaxCrossEntropyRows",
    "SparseSoftmaxCrossEntropy", "SparseSoftmaxCrossEntropyRows", "sigmoid_cross_entropy", "softmax_cross_entropy",
    "sparse_softmax_cross_entropy",
]
