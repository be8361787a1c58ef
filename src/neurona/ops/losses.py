"""Fused loss ops besides the cross-entropies (ops/crossentropy.py): the regression hot path, the weight
penalty of L1/L2 regularizers, and the output-layer losses of the scikit-learn estimators.

Each is one op with a hand-written backward where the composed graph would take several NumPy passes.

>>> import numpy as np
>>> from neurona import Tensor
>>> float(MeanSquaredErrorMean()(Tensor(np.array([1.0, 3.0])), Tensor(np.array([0.0, 0.0]))).data)
5.0
"""

from __future__ import annotations

import numpy as np

from ..numerics import sigmoid, sigmoid_cross_entropy_values, softmax_cross_entropy_rows
from ..tensor import Function


class MeanSquaredErrorMean(Function):
    """mean((p - t)²) over every value; backward 2 (p - t) / n. The regression hot path."""

    def forward(self, p, t):
        self.shape = p.shape
        self.d = d = (p - t).reshape(-1)
        return np.asarray(np.dot(d, d) / max(d.size, 1), dtype=p.dtype)  # a dot product: no temporary d²

    def backward(self, gy):
        return (gy * (2.0 / max(self.d.size, 1))) * self.d.reshape(self.shape), None


class L1L2Penalty(Function):
    """l1 * sum|w| + l2 * sum w², one op with its own backward (a regularized weight costs two NumPy calls)."""

    def __init__(self, l1: float, l2: float) -> None:
        self.l1, self.l2 = l1, l2

    def forward(self, w):
        self.w = w
        flat = w.reshape(-1)
        value = 0.0
        if self.l1:
            value += self.l1 * np.abs(flat).sum()
        if self.l2:
            value += self.l2 * np.dot(flat, flat)  # a dot product: no temporary w² array
        return np.asarray(value, dtype=w.dtype)

    def backward(self, gy):
        w = self.w
        g = (2.0 * self.l2) * w if self.l2 else np.zeros_like(w)
        if self.l1:
            g += self.l1 * np.sign(w)  # subgradient 0 at w = 0, as d|w| is taken by the Abs op
        return g * gy


def _xlogy_self(y: np.ndarray) -> np.ndarray:
    """y log y with 0 log 0 = 0 (the constant term of the Poisson deviance)."""
    out = np.zeros_like(y)
    np.log(y, out=out, where=y > 0)
    return out * y


class OutputLoss(Function):
    """scikit-learn's MLP loss on the output layer's pre-activation `z`, weighted per sample by `c`.

    The value is sum_i c_i * l(y_i, act(z_i)) for one of the canonical pairs scikit-learn uses: softmax with
    cross-entropy, logistic with binary cross-entropy (summed over outputs), identity with half the squared
    error, exp with half the Poisson deviance. For each pair dl/dz = act(z) - y, so the backward is simply
    c * (act(z) - y), the same `activations[-1] - y` scikit-learn starts its backpropagation from.
    `c` is 1/n (a number) or sample_weight / sum(sample_weight) (a column).
    """

    def __init__(self, kind: str, y: np.ndarray, c: float | np.ndarray) -> None:
        self.kind, self.y, self.c = kind, y, c

    def forward(self, z):
        y, kind = self.y, self.kind
        if kind == "softmax":
            per, self.p = softmax_cross_entropy_rows(z, y)
            per = per[:, None]  # a column, like the other kinds' per-value terms, for the weights c
        elif kind == "logistic":
            self.p = sigmoid(z)
            # log(1 + e^-|z|) form: no overflow for large |z|, no log(0) for saturated outputs
            per = sigmoid_cross_entropy_values(z, y)
        elif kind == "identity":
            self.p = z
            d = z - y
            per = 0.5 * d * d
        elif kind == "exp":
            self.p = np.exp(z)
            per = self.p - y * z + _xlogy_self(y) - y
        else:
            raise ValueError(f"unknown output activation {kind!r}")
        total = per.sum() * self.c if np.ndim(self.c) == 0 else (per * self.c).sum()
        return np.asarray(total, dtype=z.dtype)

    def backward(self, gy):
        g = self.p - self.y
        g *= self.c * gy
        return g


__all__ = ["L1L2Penalty", "MeanSquaredErrorMean", "OutputLoss"]
