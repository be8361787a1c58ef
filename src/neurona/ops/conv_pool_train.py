"""Training: relu moved after the max-pool that alone reads a relu conv's output (4x fewer pixels to activate).

`Conv(activation="relu") -> max Pool` computes pool(relu(z)). Rewritten, the conv keeps no activation and the
pool applies it to its own, 4x smaller, output: relu(pool(z)). In the slides' CNN that takes the relu and its
backward mask off conv1's full-resolution output (100x24x24x32) and onto the pooled one (100x12x12x32), as the
hand-written floor (bench/cnn_floor.py) does. `relu_after_pool(plan)` rewrites fit's recorded training plan
(`neurona.function.Plan`, before its first replay); eager steps are never rewritten.

Why the numbers are the same, bit for bit (tests/test_conv_pool_train.py checks weights after fit):

Forward. relu is monotone, so max_i relu(z_i) = relu(max_i z_i) for every window. Signed zeros agree too:
`np.maximum(v, 0)` returns its second argument when the two compare equal, so both orders give +0 for a window
whose values are all <= 0 (never -0). NaN propagates through both.

Backward, window by window, with gp the pooled gradient and m = max z over the window (the windows tile the
conv's output: one write per pixel, no adds):
- m > 0: the old path sends gp to the first position where relu(z) == relu(m) = m > 0, that is where z == m, and
  multiplies by (relu(z) > 0) = 1 there; the new path sends gp to the first position where z == relu(m) = m, as
  relu(m) > 0. Same position (ties included: first maximum in both), same value gp * 1 (* 1). Every other position
  gets gp * 0 (then * 0 or * 1): +0 or -0 with gp's sign, in both.
- m <= 0: the old path ends with gp * hit * 0 at every position of the window; the new one folds relu's 0 into
  the window's equality masks (`taken` starts as y <= 0: all False) and writes gp * 0. The same signed zero (or
  NaN, for an inf or NaN gp) at every position.
The conv's own backward then runs its activation-free branch on the same gradient values (no mask pass).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .conv import Conv
from .conv_fused import _fusable_pool
from .patches import offset_view
from .pool import Pool


class ReluMaxPool(Pool):
    """relu(max-pool(z)): a max `Pool` whose output gets the relu a conv before it no longer applies."""

    def __init__(self, pool: Pool) -> None:
        super().__init__(pool.mode, pool.pool, pool.strides, pool.pads)
        # the traced op's graph links (placeholders by now), so the plan's ops all look alike to its readers
        self.inputs, self.outs = pool.inputs, getattr(pool, "outs", ())

    def forward(self, x):
        y = super().forward(x)
        # in place: `self.y` (what backward's equality masks compare against) is relu'd too; where that changes
        # it (m <= 0) the relu mask stops the gradient anyway (above)
        return np.maximum(y, 0, out=y)

    def backward(self, gy):
        """`Pool.backward` with the relu's mask (y > 0, on the pooled pixels) folded into the windows' equality
        masks: no pooled-size gradient made just to be masked, no mask array more than `Pool.backward` makes."""
        ph, pw = self.pool
        xp, y = self.xp, self.y  # the conv's output and the relu'd maxima, both (N, H, W, C) (H = 1 for 1-D)
        g = gy.reshape(y.shape)
        # windows never overlap (strides == pool): each pixel of one is written once; any left over keep 0
        gx = np.empty(xp.shape, g.dtype) if _tiles(self) else np.zeros(xp.shape, g.dtype)
        # a window whose maximum is <= 0 passes no gradient (relu's derivative is 0 there): counted as already
        # taken, its equality masks are all False
        taken = y <= 0
        for a, b in ((a, b) for a in range(ph) for b in range(pw)):
            hit = offset_view(xp, a, b, self.strides, (1, 1), self.out_hw) == y
            np.greater(hit, taken, out=hit)  # ties: only the first maximum of a window, as in Pool.backward
            taken |= hit
            np.multiply(g, hit, out=offset_view(gx, a, b, self.strides, (1, 1), self.out_hw))
        return gx[:, 0] if self.one_d else gx


def _tiles(pool: Pool) -> bool:
    """Whether the traced pool's windows cover its input exactly (each pixel in one window, none left over).

    Only then is `Pool.backward` one write per pixel (its `tiles`). Otherwise it adds into zeros, where
    +0 + (-0) = +0 turns some of its -0 into +0, which `ReluMaxPool` writes as -0: equal values, but not the same
    bits, so such pools are left as they are.
    """
    return tuple(pool.x_shape[1:3]) == tuple(o * p for o, p in zip(pool.out_hw, pool.pool))


def relu_after_pool(plan: Any) -> int:
    """Rewrite a training plan's relu conv -> max-pool pairs (`ReluMaxPool`); returns how many were rewritten.

    A pair qualifies as for predict's fusion (ops/conv_fused.py): the pool non-overlapping and unpadded, the conv's
    output read by the pool alone and not an output of the plan; and the conv's activation is relu and the
    pool's windows tile the conv's output (`_tiles`). The conv op
    loses its activation in place (it belongs to this plan only). Run before the plan's first replay.
    """
    ops = plan.ops
    readers: dict[int, int] = {}
    for _, ins, _ in ops:
        for s in ins:
            readers[s] = readers.get(s, 0) + 1
    producer = {outs[0]: f for f, _, outs in ops if type(f) is Conv and len(outs) == 1}
    outputs = set(plan.outputs)
    new = {}
    for k, (f, ins, _) in enumerate(ops):
        conv = producer.get(ins[0]) if ins and type(f) is Pool and _fusable_pool(f) else None
        if conv is not None and conv.act == "relu" and readers[ins[0]] == 1 and ins[0] not in outputs \
                and _tiles(f):
            new[k] = ReluMaxPool(f)
    if new:
        plan.replace_ops(new)  # takes the backward order from the traced graph first
        for k in new:
            producer[plan.ops[k][1][0]].act = None  # the pool applies it now
    return len(new)


__all__ = ["ReluMaxPool", "relu_after_pool"]
