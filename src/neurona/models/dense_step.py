"""A stack of Dense layers trained with softmax cross-entropy: its whole recorded step as one function (#17).

fit replays its recorded step through `neurona.function`'s plan: a loop over the ops that looks up each op's
inputs, stores its output, and in backward walks the ops again adding gradients into slots. For the slides'
MLP (784-10 sigmoid-10 softmax, batch 100) that bookkeeping is several microseconds of a ~150 us step. When
the confirmed plan is exactly a chain `Dense -> Dense -> ... -> SoftmaxCrossEntropy` (what `fit` records for
a Sequential of Dense layers compiled with categorical cross-entropy on a softmax output), `dense_chain` reads
that chain out of the plan and `DenseStep` runs it as straight-line code:

    forward:  h = act(h @ W + b) per layer, then the fused loss on the last layer's logits
    backward: g = exp(z') * (sum(t) / sum(exp(z'))) - t, scaled by 1/n (z' the shifted logits);
              per layer (last first): g = act'(g, y), gW, gb, g @ W.T

Every line calls the same NumPy functions on the same arrays, in the same order, as the ops' own `forward`
and `backward` (ops/nn.py `Dense`, ops/crossentropy.py `SoftmaxCrossEntropy`; the loss, its gradient and the
kernel gradient are the very functions those ops call), so the results are
bit-identical to the replayed plan and to eager execution (tests/test_dense_step.py compares three epochs
bitwise). What differs is only the Python around them: no slots, no Function objects, no `.grad` attributes
set and cleared (the gradients go to the optimizer as a list).

The rule is read from the recorded plan, never from timings: anything else (another op, a sample weight,
a branch, a shared layer, integer labels) is not a chain and keeps the replayed plan.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..function import _ARG, _PARAM, Plan
from ..numerics import ones
from ..ops.crossentropy import SoftmaxCrossEntropy, softmax_cross_entropy_backward, softmax_cross_entropy_mean
from ..ops.nn import Dense, kernel_gradient


class DenseStep:
    """Forward, loss and backward of a Dense chain with a fused softmax cross-entropy, as one call.

    `layers`: per Dense op, (kernel Tensor, bias Tensor or None, (activation, its derivative) or None),
    first layer first. `slots`: where each of those Tensors' gradients go in the list handed to the optimizer.
    One DenseStep serves one batch signature (fit keeps one per batch shape), so the constants the ops look up
    per call (the vectors of ones, the gradient's 1/n scale) are looked up once, at the first call (#17).
    """

    def __init__(self, layers: list[tuple[Any, Any, Any]], slots: list[tuple[int, int | None]], n_weights: int):
        self.layers = layers
        self.slots = slots
        self.n_weights = n_weights
        # the backward's walk, last layer first: (index, kernel, bias, activation derivative, kernel slot, bias slot)
        self._backward = tuple((i, k, b, act[1] if act else None, *slots[i])
                               for i, (k, b, act) in reversed(list(enumerate(layers))))
        self._const: tuple[Any, ...] | None = None  # (logits dtype, targets dtype, ones_k, ones_k of t, ones_n, 1/n)

    def __call__(self, x: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[Any]]:
        """(loss as a 0-d array, logits, gradients in the model's trainable-weights order) of one batch."""
        # forward: Dense.forward per layer (x is 2-D here, so no reshape)
        hs = [x]
        h = x
        for kernel, bias, act in self.layers:
            z = h @ kernel.data
            if bias is not None:
                z += bias.data
            h = act[0](z) if act else z
            hs.append(h)
            del z  # the pre-activation goes now, as it does when Dense.forward returns (peak memory, #18)
        c = self._const
        if c is None or c[0] != h.dtype or c[1] != t.dtype:
            c = self._constants(h, t)
        # the fused loss and its backward, seeded with d loss / d loss = 1 as the plan seeds it
        loss, e, f, _ = softmax_cross_entropy_mean(h, t, c[2], c[3])
        g = softmax_cross_entropy_backward(e, f, t, c[5])
        grads: list[Any] = [None] * self.n_weights
        ones_n = c[4]
        for i, kernel, bias, derivative, kslot, bslot in self._backward:  # Dense.backward, last layer first
            w = kernel.data
            if derivative is not None:
                g = derivative(g, hs[i + 1])
            gx = g @ w.T if i else None  # the first layer's input (the batch) needs no gradient
            grads[kslot] = kernel_gradient(g, hs[i], w)
            if bias is not None:
                grads[bslot] = ones_n @ g
            g = gx
        return loss, h, grads

    def _constants(self, z: np.ndarray, t: np.ndarray) -> tuple[Any, ...]:
        """The per-signature constants: `numerics.ones` vectors, and `gy / n` as SoftmaxCrossEntropy.backward
        computes it from the plan's seed (a 0-d array of ones in the loss's dtype)."""
        n, k = z.shape
        seed = np.ones((), z.dtype)
        c = self._const = (z.dtype, t.dtype, ones(k, z.dtype), ones(k, t.dtype), ones(n, z.dtype), seed / n)
        return c


def dense_chain(plan: Plan, weights: list[Any]) -> DenseStep | None:
    """The plan's step as a `DenseStep` when it is a chain of Dense ops ending in the fused softmax
    cross-entropy on (x, y) with every kernel and bias a trainable weight; None for anything else."""
    ops, leaves = plan.ops, {s: (kind, v) for s, kind, v in plan.leaves}
    if len(ops) < 2 or any(type(f) is not Dense for f, _, _ in ops[:-1]) or type(ops[-1][0]) is not SoftmaxCrossEntropy:
        return None
    args = sorted(v for kind, v in leaves.values() if kind == _ARG)
    if args != [0, 1] or len(leaves) != 2 + sum(len(ins) - 1 for _, ins, _ in ops[:-1]):
        return None  # exactly x, y and the layers' own weights: no constants, nothing shared
    index = {id(w): i for i, w in enumerate(weights)}
    layers, slots, prev = [], [], leaves_slot(leaves, 0)
    for f, ins, outs in ops[:-1]:
        if ins[0] != prev or len(ins) not in (2, 3) or len(outs) != 1 or plan.need[prev] != bool(layers):
            return None
        params = [leaves.get(s, (None, None)) for s in ins[1:]]
        if any(kind != _PARAM or id(v) not in index for kind, v in params):
            return None
        kernel, bias = params[0][1], params[1][1] if len(params) == 2 else None
        layers.append((kernel, bias, f.act))
        slots.append((index[id(kernel)], None if bias is None else index[id(bias)]))
        prev = outs[0]
    _, ins, outs = ops[-1]
    if ins != [prev, leaves_slot(leaves, 1)] or plan.outputs != [outs[0], prev]:
        return None
    if len({s for pair in slots for s in pair if s is not None}) != sum(1 + (b is not None) for _, b, _ in layers):
        return None  # a weight used twice (a shared layer): its gradients would add up
    return DenseStep(layers, slots, len(weights))


def leaves_slot(leaves: dict[int, tuple[int, Any]], arg: int) -> int:
    """The slot of argument `arg` of the traced call (-1 when the plan does not read it)."""
    return next((s for s, (kind, v) in leaves.items() if kind == _ARG and v == arg), -1)


__all__ = ["DenseStep", "dense_chain"]
