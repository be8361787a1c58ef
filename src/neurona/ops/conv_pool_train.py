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
- m <= 0 (or NaN): the old path ends with gp * hit * 0 at every position of the window; the new one folds relu's
  0 into the window's code (no position named) and writes gp * 0. The same signed zero (or NaN, for an inf or
  NaN gp) at every position.
The new path finds "the first position where z == m" in forward, while z is at hand (a running maximum, replaced
only by a strictly greater value, so ties keep the first), and keeps it as a uint8 code per window instead of z
itself; backward's masks (code == k) are the same booleans the equality masks were.
The conv's own backward then runs its activation-free branch on the same gradient values (no mask pass).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .conv import Conv
from .conv_fused import _fusable_pool
from .patches import SCRATCH, offset_view, output_sizes, pad_image
from .pool import Pool


class ReluMaxPool(Pool):
    """relu(max-pool(z)): a max `Pool` whose output gets the relu a conv before it no longer applies.

    It keeps no copy of its input for backward (the conv's full-resolution output, 7 MiB for the slides' conv1
    at batch 100), only which window position holds each window's first maximum: one uint8 per pooled pixel
    (`code`), with ph * pw for a window that passes no gradient (its maximum <= 0, or NaN). The conv's output
    then goes at the end of the forward instead of living through the whole backward (round five).
    """

    def __init__(self, pool: Pool) -> None:
        super().__init__(pool.mode, pool.pool, pool.strides, pool.pads)
        # the traced op's graph links (placeholders by now), so the plan's ops all look alike to its readers
        self.inputs, self.outs = pool.inputs, getattr(pool, "outs", ())

    def forward(self, x):
        """`Pool.forward`'s maxima (the same calls, the same bits), each window's first-maximum position found in
        the same pass, then relu."""
        self.one_d = x.ndim == 3
        if self.one_d:
            x = x[:, None]
        ph, pw = self.pool
        xp = pad_image(x, self.pads, -np.inf)  # unpadded where the rewrite puts this op: x itself
        self.out_hw = output_sizes(x.shape[1:3], self.pool, self.strides, (1, 1), self.pads)
        views = [offset_view(xp, a, b, self.strides, (1, 1), self.out_hw) for a in range(ph) for b in range(pw)]
        none = ph * pw
        if none == 1:
            m, code = views[0].copy(), np.zeros(views[0].shape, np.uint8)
        else:
            m = np.maximum(views[0], views[1])
            code = np.greater(views[1], views[0]).view(np.uint8)  # 1 where position 1 beats position 0
        hit, step = np.empty(m.shape, bool), np.empty(m.shape, np.uint8)
        for k in range(2, none):
            # strictly greater: a tie keeps the earlier position (the first maximum takes the gradient, as in
            # Pool.backward); code = k there, as code += (k - code) * hit in uint8 (k > every code so far)
            np.greater(views[k], m, out=hit)
            np.subtract(k, code, out=step)
            np.multiply(step, hit, out=step)
            np.add(code, step, out=code)
            np.maximum(m, views[k], out=m)
        # relu; and a window whose maximum is <= 0 (or NaN: no comparison with it holds) passes nothing, relu's
        # derivative being 0 there: code `none`, as code = none - (none - code) * (m > 0)
        np.maximum(m, 0, out=m)
        np.greater(m, 0, out=hit)
        np.subtract(none, code, out=step)
        np.multiply(step, hit, out=step)
        np.subtract(none, step, out=code)
        self.code, self.xp_shape, self.xp, self.y, self.x_shape, self.count = code, xp.shape, None, m, x.shape, None
        return m[:, 0] if self.one_d else m

    def backward(self, gy):
        """`Pool.backward` with relu's mask folded into the window codes: each window position's pixels get the
        pooled gradient where the code names them, times 0 elsewhere (the same products, so the same bits,
        signed zeros included, as the equality masks of the conv's output gave)."""
        ph, pw = self.pool
        code = self.code
        g = gy.reshape(code.shape)
        # windows never overlap (strides == pool): each pixel of one is written once; any left over keep 0
        gx = np.empty(self.xp_shape, g.dtype) if _tiles(self) else np.zeros(self.xp_shape, g.dtype)
        hit = np.empty(code.shape, bool)
        for k in range(ph * pw):
            a, b = divmod(k, pw)
            np.equal(code, k, out=hit)
            np.multiply(g, hit, out=offset_view(gx, a, b, self.strides, (1, 1), self.out_hw))
        return gx[:, 0] if self.one_d else gx

    def drop_saved(self) -> None:
        super().drop_saved()
        self.code = None


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
        # The eager calls that traced the step left their buffers in the pool, among them the relu mask bands of
        # the convs' backward, which the rewritten plan no longer takes: idle for the whole fit, they sat under
        # every later step's memory high-water mark (slides' CNN: 3.8 MiB of 28.8). Let them go; the buffers
        # the plan does take are made again once, on its first replay.
        SCRATCH.clear()
    return len(new)


__all__ = ["ReluMaxPool", "relu_after_pool"]
