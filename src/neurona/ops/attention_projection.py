"""Self-attention's three input projections as ONE op on the three kernels as MultiHeadAttention keeps them.

q, k and v of self-attention come from the same x, so x [Wq | Wk | Wv] + [bq | bk | bv] is one wide matrix product
instead of three narrow ones (torch's in_proj; docs/performance.md, "Attention and transformers"). The kernels stay
three weights in Keras's layout, (features, heads, size) each. Written as graph ops this took three reshapes and a
concatenation of the kernels, three reshapes and a concatenation of the biases, then a dense op: nine ops per
call, each with its forward and backward run by every replayed step. Here one op copies the kernels side by side
into a buffer of its own (reused from step to step) and hands back each weight's gradient as a view of one
product. The values are those of the nine ops, bit for bit: the same product, the same gradient arrays.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import numerics
from ..tensor import Function, Tensor
from .nn import kernel_gradient
from .workspace import op_buffer


class PackedProjection(Function):
    """x (..., D) -> x @ [W1 | W2 | ...] + [b1 | b2 | ...] for kernels of shape (D, ...) and biases of any shape
    (flattened in C order, as `reshape` would), one bias per kernel or none."""

    def __init__(self, kernels: int) -> None:
        self.kernels = kernels

    def forward(self, x, *weights):
        kernels, biases = weights[:self.kernels], weights[self.kernels:]
        d = x.shape[-1]
        widths = [w.size // d for w in kernels]
        # the side-by-side kernel: the op's own buffer, rewritten every call (the weights change between steps)
        w = op_buffer(self, "kernel", (d, sum(widths)), np.result_type(*kernels))
        np.concatenate([k.reshape(d, -1) for k in kernels], axis=1, out=w)
        x2 = x.reshape(-1, d)
        z = x2 @ w
        if biases:
            z += np.concatenate([b.reshape(-1) for b in biases])
        self.x2, self.w, self.widths = x2, w, widths
        return z.reshape(x.shape[:-1] + (w.shape[1],))

    def backward(self, gz):
        g = gz.reshape(-1, gz.shape[-1])
        gx = (g @ self.w.T).reshape(self.inputs[0].shape) if self.inputs[0].requires_grad else None
        gw = kernel_gradient(g, self.x2, self.w)  # as the dense op computes it: the same bits
        gb = numerics.ones(g.shape[0], g.dtype) @ g if len(self.inputs) > 1 + self.kernels else None
        grads = [gx]
        for arrays, weights in ((gw, self.inputs[1:1 + self.kernels]), (gb, self.inputs[1 + self.kernels:])):
            start = 0
            for width, t in zip(self.widths, weights):  # each weight's block of columns, in its own shape: views
                grads.append(arrays[..., start:start + width].reshape(t.shape))
                start += width
        return tuple(grads)


def packed_projection(x: Tensor, kernels: list[Any], biases: list[Any] | None = None) -> Tensor:
    """x @ [k1 | k2 | ...] + [b1 | b2 | ...] as one op (see `PackedProjection`); kernels (D, ...) with D = x's last
    axis, biases with as many values as their kernel has columns."""
    d = x.shape[-1]
    for k, b in zip(kernels, biases or [None] * len(kernels)):
        if k.shape[0] != d or (b is not None and k.size // d != int(np.prod(b.shape))):
            raise ValueError(f"packed_projection: a kernel of shape {tuple(k.shape)} (bias "
                             f"{None if b is None else tuple(b.shape)}) does not fit an input with {d} features")
    return PackedProjection(len(kernels))(x, *kernels, *(biases or ()))
