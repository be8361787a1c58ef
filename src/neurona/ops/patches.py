"""Sliding windows, shared by convolution and pooling: padding, output sizes, patch views, im2col, col2im.

Every window operation here is a handful of strided views of the image, one per kernel offset, so no
Python loop ever visits a pixel or a sample.
"""

from __future__ import annotations

import bisect
import math
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ..tensor import Tensor
from .shape import transpose

# ----------------------------------------------------------------------------- scratch memory


class Scratch:
    """Reusable memory for temporaries that never leave an op: patch matrices, gradient bands, per-tap products.

    A fresh array of tens of megabytes is new memory from the operating system on every training step
    (the allocator hands large blocks back when they are freed); those page faults made the slides'
    CNN step almost twice as slow on a 2-core VM. Only arrays an op gives back are reused, and an op
    gives back only what it took and nothing else still refers to. Buffers are matched by size, not shape:
    a free buffer of at least the bytes asked for (and at most `SLACK` times them) serves any shape, so the
    bands of differently shaped ops (training's and inference's, #18 round three) share memory instead of
    each keeping its own. A looser fit (4x) let small requests take the big bands: 32.6 MiB training peak
    of the slides' CNN against 30.3.
    """

    SLACK = 2

    def __init__(self, max_bytes: int = 256 << 20) -> None:
        self.max_bytes = max_bytes
        self._free: list[np.ndarray] = []  # flat uint8 views of whole buffers, smallest first
        self._bytes = 0
        self._lock = threading.Lock()

    def take(self, shape: Sequence[int], dtype: Any) -> np.ndarray:
        """An uninitialised C-contiguous array of `shape`, carved from a buffer given back earlier if one fits."""
        shape = tuple(int(s) for s in shape)
        dt = np.dtype(dtype)
        need = dt.itemsize * math.prod(shape)
        with self._lock:
            for i, buf in enumerate(self._free):
                if need <= buf.nbytes <= self.SLACK * need + 4096:
                    del self._free[i]
                    self._bytes -= buf.nbytes
                    return buf[:need].view(dt).reshape(shape)
        return np.empty(shape, dt)

    def give(self, arr: np.ndarray | None) -> None:
        """Hand back an array from `take` once nothing uses it (beyond `max_bytes` it is simply freed)."""
        if arr is None:
            return
        base = arr if arr.base is None else arr.base  # NumPy points a view's base at the array owning the memory
        if not isinstance(base, np.ndarray) or base.base is not None or not base.flags.c_contiguous:
            return  # not memory this pool handed out: let it go
        buf = base.reshape(-1).view(np.uint8)
        with self._lock:
            if any(b.base is base for b in self._free):
                return  # given back twice
            if self._bytes + buf.nbytes <= self.max_bytes:
                sizes = [b.nbytes for b in self._free]
                self._free.insert(bisect.bisect(sizes, buf.nbytes), buf)
                self._bytes += buf.nbytes

    def has(self, shape: Sequence[int], dtype: Any) -> bool:
        """Whether `take(shape, dtype)` would reuse a buffer given back (for tests)."""
        need = np.dtype(dtype).itemsize * math.prod(int(s) for s in shape)
        with self._lock:
            return any(need <= b.nbytes <= self.SLACK * need + 4096 for b in self._free)

    def clear(self) -> None:
        with self._lock:
            self._free.clear()
            self._bytes = 0


SCRATCH = Scratch()


# ----------------------------------------------------------------------------- geometry


def tuplify(value: Any, n: int, name: str) -> tuple[int, ...]:
    """An int, or a sequence of `n` ints, as an `n`-tuple of positive ints."""
    try:
        if isinstance(value, (int, np.integer)):
            out = (int(value),) * n
        else:
            out = tuple(int(v) for v in value)
    except (TypeError, ValueError, OverflowError):  # a string, a float infinity or NaN from a config
        raise ValueError(f"{name} must be a positive int or {n} positive ints, got {value!r}") from None
    if len(out) != n or any(v < 1 for v in out):
        raise ValueError(f"{name} must be a positive int or {n} positive ints, got {value!r}")
    return out


def padding_amounts(
    sizes: Sequence[int], kernel: Sequence[int], strides: Sequence[int], dilation: Sequence[int], padding: Any
) -> tuple[tuple[int, int], ...]:
    """(before, after) padding per spatial axis.

    'valid' pads nothing; 'same' pads so that out = ceil(size / stride), with the odd extra pixel
    after (bottom/right), as TensorFlow and Keras do; 'causal' pads only before (1-D sequences);
    an int or a sequence of ints / (before, after) pairs pads explicitly (PyTorch style).
    """
    n = len(sizes)
    if isinstance(padding, str):
        mode = padding.lower()
        if mode == "valid":
            return ((0, 0),) * n
        if mode == "same":
            pads = []
            for size, k, s, d in zip(sizes, kernel, strides, dilation):
                span = (k - 1) * d + 1
                total = max((-(-size // s) - 1) * s + span - size, 0)
                pads.append((total // 2, total - total // 2))
            return tuple(pads)
        if mode == "causal":
            return tuple(((k - 1) * d, 0) for k, d in zip(kernel, dilation))
        raise ValueError(f"padding must be 'valid', 'same', 'causal' or ints, got {padding!r}")
    items = [padding] * n if isinstance(padding, (int, np.integer)) else list(padding)
    pads = [(int(p), int(p)) if isinstance(p, (int, np.integer)) else tuple(int(v) for v in p) for p in items]
    if len(pads) != n or any(len(p) != 2 or min(p) < 0 for p in pads):
        raise ValueError(f"padding must give {n} non-negative ints or (before, after) pairs, got {padding!r}")
    return tuple(pads)


def output_sizes(
    sizes: Sequence[int],
    kernel: Sequence[int],
    strides: Sequence[int],
    dilation: Sequence[int],
    pads: Sequence[tuple[int, int]],
    what: str = "conv",
) -> tuple[int, ...]:
    """Spatial output sizes of a sliding window; an error when the window does not fit."""
    out = []
    for size, k, s, d, (lo, hi) in zip(sizes, kernel, strides, dilation, pads):
        span = (k - 1) * d + 1
        if size + lo + hi < span:
            padded = tuple(z + a + b for z, (a, b) in zip(sizes, pads))
            raise ValueError(
                f"{what}: window {tuple(kernel)} (dilation {tuple(dilation)}) is larger than the padded "
                f"input {padded} (input {tuple(sizes)}); use a smaller kernel or padding='same'"
            )
        out.append((size + lo + hi - span) // s + 1)
    return tuple(out)


def pad_image(x: np.ndarray, pads: Sequence[tuple[int, int]], value: float = 0.0) -> np.ndarray:
    """x (N, H, W, C...) with `pads` around H and W, as one new array (x itself when no padding)."""
    (t, b), (lft, r) = pads
    if not (t or b or lft or r):
        return x
    n, h, w = x.shape[:3]
    shape = (n, h + t + b, w + lft + r) + x.shape[3:]
    xp = np.zeros(shape, x.dtype) if value == 0 else np.full(shape, value, x.dtype)
    xp[:, t : t + h, lft : lft + w] = x
    return xp


def offset_view(xp: np.ndarray, a: int, b: int, strides, dilation, out_hw) -> np.ndarray:
    """The pixels that kernel offset (a, b) meets, one per output position: a strided view."""
    (sh, sw), (dh, dw), (oh, ow) = strides, dilation, out_hw
    return xp[:, a * dh : a * dh + sh * (oh - 1) + 1 : sh, b * dw : b * dw + sw * (ow - 1) + 1 : sw]


def copy_windows(dst: np.ndarray, xp: np.ndarray, kernel, strides, dilation, out_hw) -> None:
    """Copy every patch into `dst` (N, OH, OW, kh, kw, C), the pixel-major patch matrix."""
    np.copyto(dst, windows(xp, kernel, strides, dilation, out_hw))


def windows(xp: np.ndarray, kernel, strides, dilation, out_hw) -> np.ndarray:
    """Every patch as a read-only view (N, OH, OW, kh, kw, C...): no copy yet."""
    (kh, kw), (sh, sw), (dh, dw), (oh, ow) = kernel, strides, dilation, out_hw
    s_n, s_h, s_w = xp.strides[:3]
    shape = (xp.shape[0], oh, ow, kh, kw) + xp.shape[3:]
    steps = (s_n, s_h * sh, s_w * sw, s_h * dh, s_w * dw) + xp.strides[3:]
    return as_strided(xp, shape, steps, writeable=False)


def taps_matrix(xp: np.ndarray, kernel, strides, dilation, out_hw, ones_row: bool = False) -> np.ndarray:
    """Patches transposed, (kh*kw*C, N*OH*OW): one row per kernel tap and channel (a `SCRATCH` array).

    For images with few channels the pixel-major copy moves runs of only kw*C values at a time; here
    each of the kh*kw*C copies moves a whole strided plane, several times faster.
    """
    (kh, kw), (oh, ow) = kernel, out_hw
    n, c = xp.shape[0], xp.shape[3]
    k, m = kh * kw * c, n * oh * ow
    out = SCRATCH.take((k + ones_row, m), xp.dtype)
    cols = out[:k].reshape(kh, kw, c, n, oh, ow)
    for a in range(kh):
        for b in range(kw):
            np.copyto(cols[a, b], offset_view(xp, a, b, strides, dilation, out_hw).transpose(3, 0, 1, 2))
    if ones_row:  # a last row of ones multiplies the bias
        out[k] = 1
    return out


def col2im(tap, padded_shape, kernel, strides, dilation, out_hw, dtype) -> np.ndarray:
    """Sum patch gradients back into an image: kh*kw shifted adds.

    `tap(a, b)` gives the (N, OH, OW, C...) gradient that kernel offset (a, b) sent to its pixels.
    """
    img = np.zeros(padded_shape, dtype)
    for a in range(kernel[0]):
        for b in range(kernel[1]):
            view = offset_view(img, a, b, strides, dilation, out_hw)
            view += tap(a, b)
    return img


def tap_products(g: np.ndarray, w_taps: np.ndarray) -> np.ndarray:
    """(kh*kw, M, C): g (M, F) times each tap's (F, C) weights, one batched matmul (a `SCRATCH` array).

    Each tap's block is contiguous, so col2im adds whole blocks; from one (M, kh*kw*C) product it
    would add runs of C values scattered through memory, twice as slow.
    """
    out = SCRATCH.take((w_taps.shape[0], g.shape[0], w_taps.shape[2]), np.result_type(g, w_taps))
    return np.matmul(g, w_taps, out=out)



def tapwise_col2im(g: np.ndarray, w: np.ndarray, padded_shape, kernel, strides, dilation, out_hw,
                   out: np.ndarray | None = None) -> np.ndarray:
    """A conv's input gradient, g (N*OH*OW, F) against kernel w (kh, kw, C, F), without the (M, kh*kw*C) matrix.

    For a band of images at a time, each tap's (rows, C) product is written to one small buffer that stays in
    cache and added at its shift at once; the whole-batch form wrote and re-read kh*kw*M*C floats (20 MB for the
    slides' second conv), 1.2-1.4x slower (docs/performance.md, "Convolutions (#18)").
    """
    kh, kw, c, f = w.shape
    n, (oh, ow) = padded_shape[0], out_hw
    dtype = np.result_type(g, w)
    if out is None:
        img = np.zeros(padded_shape, dtype)
    else:
        img = out
        img[...] = 0
    wt = np.ascontiguousarray(w.reshape(kh * kw, c, f).transpose(0, 2, 1), dtype)  # (taps, F, C)
    band = max(1, min(n, 1024 // max(oh * ow, 1)))  # images per band: ~1024 rows of products
    buf = SCRATCH.take((band * oh * ow, c), dtype)
    for i in range(0, n, band):
        j = min(n, i + band)
        rows, part = g[i * oh * ow:j * oh * ow], img[i:j]
        out = buf[:rows.shape[0]]
        for a in range(kh):
            for b in range(kw):
                np.matmul(rows, wt[a * kw + b], out=out)
                view = offset_view(part, a, b, strides, dilation, out_hw)
                view += out.reshape(j - i, oh, ow, c)
    SCRATCH.give(buf)
    return img


# ----------------------------------------------------------------------------- layouts


def check_data_format(data_format: str) -> bool:
    """True for channels_first; an error for anything but the two Keras names."""
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"data_format must be 'channels_last' or 'channels_first', got {data_format!r}")
    return data_format == "channels_first"


def to_channels_last(x: Tensor, data_format: str) -> Tensor:
    """A channels_first tensor viewed as channels_last (a transpose, no copy)."""
    if not check_data_format(data_format):
        return x
    return transpose(x, (0,) + tuple(range(2, x.ndim)) + (1,))


def to_channels_first(y: Tensor, data_format: str) -> Tensor:
    """Undo `to_channels_last` on an op's output."""
    if data_format != "channels_first":
        return y
    return transpose(y, (0, y.ndim - 1) + tuple(range(1, y.ndim - 1)))


