"""Fused hot paths: one op where the naive graph would be several.

`dense` is the slides' neuron layer, y = f(x W + b), with its whole backward in one place. The fused
cross-entropies (softmax folded into the loss, backward `p - y`) are in `ops/crossentropy.py`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import numerics
from ..tensor import Function, Tensor
from . import activation as act
from .crossentropy import (  # noqa: F401  (the cross-entropy family moved to ops/crossentropy.py)
    SigmoidCrossEntropy,
    SoftmaxCrossEntropy,
    SparseSoftmaxCrossEntropy,
    sigmoid_cross_entropy,
    softmax_cross_entropy,
    sparse_softmax_cross_entropy,
)

# Kernels live in neurona.numerics; these names stay importable from here (older imports, other branches).
FUSED_ACTIVATIONS = numerics.OUTPUT_ACTIVATIONS  # activations dense()/conv can fuse: derivative from y alone
_ones = numerics.ones
# Dense kernels with at most this many units are stored in Fortran order, i.e. as (units, inputs) rows (PyTorch's
# Linear layout; same values, `kernel.data` is still (inputs, units)). Their weight gradient's fast product,
# (g.T @ x).T, comes out in that layout, so the optimizer's passes stay contiguous (a C kernel paid a transposing
# pass, 3.5 us of the slide MLP's step), and OpenBLAS's small-matrix kernel takes x @ W for batch x units <= 1,200
# (784x10 at batch 100: 26 -> 19.5 us; at 128 x 512x10 the forward loses 9 us, the input gradient gains 10).
# docs/performance.md, "#17 third pass".
NARROW_UNITS = 16
stable_softmax = numerics.stable_softmax
sigmoid_cross_entropy_values = numerics.sigmoid_cross_entropy_values


def kernel_gradient(g: np.ndarray, x2: np.ndarray, w: np.ndarray) -> np.ndarray:
    """dL/dW of z = x2 @ w given g = dL/dz, in w's own layout.

    Small kernels: the transposed product is several times faster in OpenBLAS for these shapes; large
    kernels: the gradient in the kernel's own layout, so the optimizer's passes over it stay contiguous
    (both measured in bench/, docs/performance.md). Shared by `Dense.backward` and models/dense_step.py.
    """
    return (g.T @ x2).T if w.size < 65536 or not w.flags.c_contiguous else x2.T @ g


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
        # y only when the activation's backward reads it: a linear layer's output is otherwise free to go once its
        # consumers are done with it (#18: the transformer's training peak)
        self.x2, self.w, self.y, self.has_b = x2, w, y if self.act else None, b is not None
        return y.reshape(self.lead + (w.shape[1],)) if x.ndim != 2 else y

    def backward(self, gy):
        g = gy.reshape(-1, gy.shape[-1]) if gy.ndim != 2 else gy
        if self.act:
            g = self.act[1](g, self.y)
        gx = None
        if self.inputs[0].requires_grad:
            gx = g @ self.w.T  # C order, so the previous layer's activation backward runs on contiguous rows
            if len(self.lead) != 1:
                gx = gx.reshape(self.lead + (self.w.shape[0],))
        gw = kernel_gradient(g, self.x2, self.w)
        if not self.has_b:
            return gx, gw
        return gx, gw, _ones(g.shape[0], g.dtype) @ g  # bias gradient as a small matmul (docs/performance.md)


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


class DropoutMask(Function):
    """Multiply by a fixed mask already scaled by 1/(1-rate) (inverted dropout)."""

    def __init__(self, mask: np.ndarray) -> None:
        self.mask = mask

    def forward(self, x):
        return x * self.mask

    def backward(self, gy):
        return gy * self.mask


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
