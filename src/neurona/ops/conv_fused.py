"""Inference: a convolution and the max-pool that alone reads its output, run as one pass over cache-sized bands.

In the slides' CNN at batch 1,000 the first conv's output is 74 MB: written once by the product, read back by
relu, read again by the pool, all out of cache. Fused, each band of images goes patches -> product -> 2x2 max ->
relu while its rows are still in cache, and only the 4x smaller pooled result is ever whole. relu(max(z)) equals
max(relu(z)) (both are monotone), and the bands and products are those of the unfused inference forward, so the
results are the same numbers (docs/performance.md, "Convolutions", round three).

`fuse_conv_pool(plan)` rewrites a recorded inference plan (`neurona.function.Plan`): a `Conv` whose output feeds
only a non-overlapping, unpadded max `Pool` becomes one `ConvPool`. Predict's traced forward uses it; training
plans are never rewritten (their backward needs the conv's full output).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..tensor import Function
from . import conv_fft
from . import conv_parts as parts
from .conv import Conv, activate
from .patches import SCRATCH, offset_view, output_sizes, pad_image, taps_matrix
from .pool import Pool

FUSABLE_ACTIVATIONS = (None, "relu")  # commute with max exactly


class ConvPool(Function):
    """pool(act(conv(x))) for inference, band by band; anything it cannot fuse runs the two ops one after the other."""

    FFT_IMAGES = 100  # images per band on the FFT path: the slides' conv2 output of a band is 1.6 MiB

    def __init__(self, conv: Conv, pool: Pool) -> None:
        self.conv, self.pool = conv, pool

    def forward(self, x, w, b=None):
        conv, pool = self.conv, self.pool
        layout = _layout(conv, x, w)
        if layout is None:
            y = conv.forward(x, w) if b is None else conv.forward(x, w, b)
            return pool.forward(y)
        n = x.shape[0]
        kh, kw, c, f = w.shape
        xp = pad_image(x, conv.pads)
        if conv_fft.wanted(xp.shape, w.shape, conv.strides, conv.dilation, conv.groups):
            return self._by_fft(xp, w, b)
        oh, ow = output_sizes(x.shape[1:3], (kh, kw), conv.strides, conv.dilation, conv.pads)
        qh, qw = output_sizes((oh, ow), pool.pool, pool.strides, (1, 1), pool.pads)
        geometry = ((kh, kw), conv.strides, conv.dilation, (oh, ow))
        k, per = kh * kw * c, oh * ow
        w2 = w.reshape(k, f)
        if b is not None:
            w2 = np.concatenate([w2, b.reshape(1, f).astype(w.dtype, copy=False)])
        self.geometry, self.has_b = geometry, b is not None  # what parts.pixel_patches reads
        dtype = np.result_type(xp, w2)
        y = np.empty((n, qh, qw, f), dtype)
        band_rows = max(per, parts.PATCH_BYTES // ((k + 1) * xp.dtype.itemsize))
        threads = parts.workers(n, n * per * k)
        bands = parts.bounds(n, max(threads, -(-n * per // band_rows)))  # the unfused inference forward's bands

        def run_bands(ranges: list[tuple[int, int]]) -> None:
            z = SCRATCH.take((max(i1 - i0 for i0, i1 in ranges) * per, f), dtype)
            for i0, i1 in ranges:
                if layout == "taps":
                    cols = taps_matrix(xp[i0:i1], *geometry, ones_row=self.has_b)
                    zb = np.matmul(cols.T, w2, out=z[:(i1 - i0) * per])
                else:
                    cols = parts.pixel_patches(self, xp, i0, i1)
                    zb = np.matmul(cols, w2, out=z[:(i1 - i0) * per])
                SCRATCH.give(cols)
                _max_pool_into(zb.reshape(i1 - i0, oh, ow, f), pool, (qh, qw), y[i0:i1])
                activate(y[i0:i1], conv.act)
            SCRATCH.give(z)

        parts.run([lambda r=bands[i::threads]: run_bands(r) for i in range(threads)])
        return y

    def _by_fft(self, xp: np.ndarray, w: np.ndarray, b: np.ndarray | None) -> np.ndarray:
        """The same for a conv that takes the FFT path (`conv_fft`): per band of FFT_IMAGES images, the conv's
        output (by the convolution theorem, W's spectrum made once), 2x2 max, activation, while in cache."""
        conv, pool = self.conv, self.pool
        n, h, wd, _ = xp.shape
        kh, kw, _, f = w.shape
        oh, ow = h - kh + 1, wd - kw + 1
        qh, qw = output_sizes((oh, ow), pool.pool, pool.strides, (1, 1), pool.pads)
        dtype = np.result_type(xp, w)
        wc = conv_fft.spectrum(w.astype(dtype, copy=False), (h, wd), conjugate=True)
        y = np.empty((n, qh, qw, f), dtype)
        threads = parts.workers(n, n * oh * ow * kh * kw * w.shape[2])
        bands = parts.bounds(n, max(threads, -(-n // self.FFT_IMAGES)))

        def run_bands(ranges: list[tuple[int, int]]) -> None:
            for i0, i1 in ranges:
                z = conv_fft.forward(self, xp[i0:i1], w, b, wc=wc).reshape(i1 - i0, oh, ow, f)
                _max_pool_into(z, pool, (qh, qw), y[i0:i1])
                activate(y[i0:i1], conv.act)

        parts.run([lambda r=bands[i::threads]: run_bands(r) for i in range(threads)])
        return y

    def backward(self, gy):
        raise RuntimeError("ConvPool is an inference op: training plans keep the conv and the pool apart")


def _layout(conv: Conv, x: np.ndarray, w: np.ndarray) -> str | None:
    """The conv's patch layout when the fused path applies, else None."""
    if x.ndim != 4 or w.ndim != 4 or conv.groups != 1 or conv.act not in FUSABLE_ACTIVATIONS:
        return None
    kh, kw = w.shape[:2]
    if kh == kw == 1 and conv.strides == (1, 1):
        return None  # the "image" layout: no patches to band
    return "taps" if x.shape[3] <= Conv.FEW_CHANNELS else "pixels"


def _max_pool_into(z: np.ndarray, pool: Pool, out_hw: tuple[int, int], out: np.ndarray) -> None:
    """out = the max of each pool window of z (N, H, W, C): the pool's strided slices, as `Pool.forward` takes them."""
    ph, pw = pool.pool
    views = [offset_view(z, a, b, pool.strides, (1, 1), out_hw) for a in range(ph) for b in range(pw)]
    if len(views) == 1:
        out[...] = views[0]
        return
    np.maximum(views[0], views[1], out=out)
    for v in views[2:]:
        np.maximum(out, v, out=out)


def _fusable_pool(f: Any) -> bool:
    return (isinstance(f, Pool) and f.mode == "max" and tuple(f.strides) == tuple(f.pool)
            and not any(lo or hi for lo, hi in f.pads))


def fuse_conv_pool(plan: Any) -> int:
    """Rewrite an inference plan's conv -> max-pool pairs as `ConvPool` ops; returns how many were fused.

    A pair qualifies when the pool is non-overlapping and unpadded, the conv's activation is relu or none, and
    the conv's output goes to nothing but the pool (not to another op, not out of the plan). The plan must not
    have run yet (its compiled form is rebuilt on its next call).
    """
    ops = plan.ops
    readers: dict[int, int] = {}
    for _, ins, _ in ops:
        for s in ins:
            readers[s] = readers.get(s, 0) + 1
    outputs = set(plan.outputs)
    fused, new_ops, skip = 0, [], set()
    by_input = {ins[0]: k for k, (f, ins, _) in enumerate(ops) if _fusable_pool(f)}
    for k, (f, ins, outs) in enumerate(ops):
        if k in skip:
            continue
        j = by_input.get(outs[0]) if type(f) is Conv and len(outs) == 1 else None
        if j is not None and j > k and readers.get(outs[0]) == 1 and outs[0] not in outputs \
                and f.act in FUSABLE_ACTIVATIONS and f.groups == 1:
            pool, _, pool_outs = ops[j]
            new_ops.append((ConvPool(f, pool), ins, pool_outs))
            skip.add(j)
            fused += 1
        else:
            new_ops.append((f, ins, outs))
    if fused:
        plan.ops = new_ops
        plan.__dict__.pop("_compiled", None)
    return fused
