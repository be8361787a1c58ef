"""Pooling and upsampling on channels_last images (N, H, W, C) and sequences (N, L, C).

A pooling window of ph x pw is ph*pw strided slices of the image, one per window offset: max
pooling is their elementwise maximum, average and sum pooling their sum (docs/performance.md: 5x faster
than a reshape and a reduction). The max backward sends each gradient to the first maximum of its
window, as PyTorch and TensorFlow do, through equality masks. Overlapping windows (strides smaller
than the pool) take the same path, adding instead of writing.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..tensor import Function, Tensor, as_tensor
from .patches import (
    offset_view,
    output_sizes,
    pad_image,
    padding_amounts,
    to_channels_first,
    to_channels_last,
    tuplify,
)
from .shape import reshape

POOL_MODES = ("max", "avg", "sum")


class Pool(Function):
    """Max, average or sum pooling of (N, H, W, C) or (N, L, C) by strided slices.

    Average pooling with 'same' padding divides by the number of real pixels in each window
    (padding is not counted), as TensorFlow and Keras do.
    """

    def __init__(self, mode: str, pool, strides, pads) -> None:
        self.mode, self.pool, self.strides, self.pads = mode, pool, strides, pads

    def forward(self, x):
        self.one_d = x.ndim == 3
        if self.one_d:
            x = x[:, None]
        ph, pw = self.pool
        xp = pad_image(x, self.pads, -np.inf if self.mode == "max" else 0.0)
        self.out_hw = output_sizes(x.shape[1:3], self.pool, self.strides, (1, 1), self.pads)
        views = [offset_view(xp, a, b, self.strides, (1, 1), self.out_hw) for a in range(ph) for b in range(pw)]
        combine = np.maximum if self.mode == "max" else np.add
        # the first two windows make the new array (no copy of the first: one pass less over the image)
        y = combine(views[0], views[1]) if len(views) > 1 else views[0].copy()
        for v in views[2:]:
            combine(y, v, out=y)
        self.count = None
        if self.mode == "avg":
            if any(lo or hi for lo, hi in self.pads):  # count only the real pixels of each window
                ones = pad_image(np.ones((1,) + x.shape[1:3], x.dtype), self.pads)
                self.count = sum(offset_view(ones, a, b, self.strides, (1, 1), self.out_hw)
                                 for a in range(ph) for b in range(pw))[..., None]
            else:
                self.count = x.dtype.type(ph * pw)
            y /= self.count
        self.xp, self.y, self.x_shape = xp, y, x.shape
        return y[:, 0] if self.one_d else y

    def backward(self, gy):
        ph, pw = self.pool
        xp, y = self.xp, self.y
        g = gy.reshape(y.shape)
        # windows that tile the image exactly write each pixel once: no clearing, no adding
        tiles = self.strides == self.pool and xp.shape[1:3] == tuple(o * p for o, p in zip(self.out_hw, self.pool))
        gxp = np.empty(xp.shape, g.dtype) if tiles else np.zeros(xp.shape, g.dtype)
        if self.mode == "avg":
            g = g / self.count
        taken = None
        for a, b in ((a, b) for a in range(ph) for b in range(pw)):
            dst = offset_view(gxp, a, b, self.strides, (1, 1), self.out_hw)
            if self.mode != "max":
                if tiles:
                    dst[...] = g
                else:
                    dst += g
                continue
            hit = offset_view(xp, a, b, self.strides, (1, 1), self.out_hw) == y
            if taken is None:
                taken = hit
            else:  # ties: only the first maximum of a window gets the gradient
                np.greater(hit, taken, out=hit)  # in place: one window-sized mask fewer alive
                taken |= hit
            if tiles:
                np.multiply(g, hit, out=dst)
            else:
                dst += g * hit
        (t, _), (lft, _) = self.pads
        gx = gxp[:, t : t + self.x_shape[1], lft : lft + self.x_shape[2]]
        return gx[:, 0] if self.one_d else gx


    def drop_saved(self) -> None:
        """Forget what forward saved for backward but keep the op runnable (`neurona.function`'s replay check)."""
        self.xp = self.y = None


class GlobalPool(Function):
    """Max or mean over every spatial axis of (N, ..., C); the max gradient goes to the first maximum."""

    def __init__(self, mode: str, keepdims: bool) -> None:
        self.mode, self.keepdims = mode, keepdims

    def forward(self, x):
        n, c = x.shape[0], x.shape[-1]
        x3 = x.reshape(n, -1, c)
        self.x_shape = x.shape
        if self.mode == "max":
            self.idx = x3.argmax(axis=1)[:, None]
            y = np.take_along_axis(x3, self.idx, axis=1)[:, 0]
        else:
            y = x3.mean(axis=1, dtype=x.dtype)
        return y.reshape((n,) + (1,) * (x.ndim - 2) + (c,)) if self.keepdims else y

    def backward(self, gy):
        n, c = self.x_shape[0], self.x_shape[-1]
        g = gy.reshape(n, 1, c)
        if self.mode == "max":
            gx = np.zeros((n, int(np.prod(self.x_shape[1:-1])), c), gy.dtype)
            np.put_along_axis(gx, self.idx, g, axis=1)
            return gx.reshape(self.x_shape)
        size = int(np.prod(self.x_shape[1:-1]))
        return np.broadcast_to((g / size).reshape((n,) + (1,) * (len(self.x_shape) - 2) + (c,)), self.x_shape)


class UpSampleNearest(Function):
    """Repeat each pixel sh x sw times; backward sums each block."""

    def __init__(self, size) -> None:
        self.size = size

    def forward(self, x):
        n, h, w, c = x.shape
        sh, sw = self.size
        y = np.empty((n, h, sh, w, sw, c), x.dtype)
        y[...] = x[:, :, None, :, None, :]
        return y.reshape(n, h * sh, w * sw, c)

    def backward(self, gy):
        n, hh, ww, c = gy.shape
        sh, sw = self.size
        return gy.reshape(n, hh // sh, sh, ww // sw, sw, c).sum(axis=(2, 4))


def interpolation_matrix(size: int, out: int, dtype: Any = np.float32) -> np.ndarray:
    """(out, size) bilinear weights with half-pixel centres, edges clamped (TF / PyTorch align_corners=False)."""
    src = np.maximum((np.arange(out) + 0.5) * (size / out) - 0.5, 0.0)
    lo = np.minimum(np.floor(src).astype(int), size - 1)
    hi = np.minimum(lo + 1, size - 1)
    frac = src - lo
    m = np.zeros((out, size), dtype)
    rows = np.arange(out)
    np.add.at(m, (rows, lo), 1 - frac)
    np.add.at(m, (rows, hi), frac)
    return m


class UpSampleBilinear(Function):
    """Bilinear resize as two small matrix products, one per spatial axis."""

    def __init__(self, size) -> None:
        self.size = size

    def forward(self, x):
        n, h, w, c = x.shape
        self.ah = interpolation_matrix(h, h * self.size[0], x.dtype)
        self.aw = interpolation_matrix(w, w * self.size[1], x.dtype)
        t = np.matmul(self.ah, x.reshape(n, h, w * c)).reshape(n, -1, w, c)  # rows
        return np.matmul(self.aw, t)  # columns: (OW, W) @ (n, OH, W, C)

    def backward(self, gy):
        n, oh, ow, c = gy.shape
        g = np.matmul(self.aw.T, gy)  # (n, OH, W, C)
        w = g.shape[2]
        return np.matmul(self.ah.T, g.reshape(n, oh, w * c)).reshape(n, -1, w, c)


# ----------------------------------------------------------------------------- wrappers


def _pool_nd(rank: int, mode: str, x: Any, pool_size, strides, padding, data_format: str) -> Tensor:
    x = as_tensor(x)
    name = f"{mode}_pool{rank}d"
    if mode not in POOL_MODES:
        raise ValueError(f"pooling mode must be one of {POOL_MODES}, got {mode!r}")
    if x.ndim != rank + 2:
        layout = "(batch, steps, channels)" if rank == 1 else "(batch, height, width, channels)"
        raise ValueError(f"{name}: expected a {rank + 2}-D input {layout}, got shape {x.shape}")
    if x.dtype.kind != "f":
        raise TypeError(f"{name}: expected a floating-point input, got dtype {x.dtype}")
    pool = tuplify(pool_size, rank, "pool_size")
    strides = pool if strides is None else tuplify(strides, rank, "strides")
    shape = x.shape
    x = to_channels_last(x, data_format)
    pads = padding_amounts(x.shape[1:-1], pool, strides, (1,) * rank, padding)
    output_sizes(x.shape[1:-1], pool, strides, (1,) * rank, pads, what=f"{name} on input {shape}")
    if rank == 1:
        pool, strides, pads = (1,) + pool, (1,) + strides, ((0, 0),) + pads
    return to_channels_first(Pool(mode, pool, strides, pads)(x), data_format)


def max_pool2d(x: Any, pool_size: Any = 2, strides: Any = None, padding: Any = "valid",
               data_format: str = "channels_last") -> Tensor:
    """Largest value of each pool_size window (strides default to pool_size: non-overlapping).

    >>> import numpy as np
    >>> max_pool2d(np.arange(16.0).reshape(1, 4, 4, 1)).data[0, :, :, 0]
    array([[ 5.,  7.],
           [13., 15.]])
    """
    return _pool_nd(2, "max", x, pool_size, strides, padding, data_format)


def avg_pool2d(x: Any, pool_size: Any = 2, strides: Any = None, padding: Any = "valid",
               data_format: str = "channels_last") -> Tensor:
    """Mean of each window; with 'same' padding, the mean of the window's real pixels."""
    return _pool_nd(2, "avg", x, pool_size, strides, padding, data_format)


def sum_pool2d(x: Any, pool_size: Any = 2, strides: Any = None, padding: Any = "valid",
               data_format: str = "channels_last") -> Tensor:
    """Sum of each window, the slides' third kind of pooling."""
    return _pool_nd(2, "sum", x, pool_size, strides, padding, data_format)


def max_pool1d(x: Any, pool_size: Any = 2, strides: Any = None, padding: Any = "valid",
               data_format: str = "channels_last") -> Tensor:
    """Max pooling of (N, steps, C) sequences."""
    return _pool_nd(1, "max", x, pool_size, strides, padding, data_format)


def avg_pool1d(x: Any, pool_size: Any = 2, strides: Any = None, padding: Any = "valid",
               data_format: str = "channels_last") -> Tensor:
    """Average pooling of (N, steps, C) sequences."""
    return _pool_nd(1, "avg", x, pool_size, strides, padding, data_format)


def _global(mode: str, x: Any, keepdims: bool, data_format: str) -> Tensor:
    x = as_tensor(x)
    if x.ndim < 3:
        raise ValueError(f"global_{mode}_pool: expected (batch, ..., channels) with spatial axes, got shape {x.shape}")
    x = to_channels_last(x, data_format)
    y = GlobalPool(mode, keepdims)(x)
    return to_channels_first(y, data_format) if keepdims else y


def global_max_pool(x: Any, keepdims: bool = False, data_format: str = "channels_last") -> Tensor:
    """Max over every spatial axis: (N, H, W, C) or (N, L, C) -> (N, C)."""
    return _global("max", x, keepdims, data_format)


def global_avg_pool(x: Any, keepdims: bool = False, data_format: str = "channels_last") -> Tensor:
    """Mean over every spatial axis: (N, H, W, C) or (N, L, C) -> (N, C)."""
    return _global("avg", x, keepdims, data_format)


def upsampling2d(x: Any, size: Any = 2, interpolation: str = "nearest", data_format: str = "channels_last") -> Tensor:
    """Enlarge (N, H, W, C) images by integer factors, repeating pixels or interpolating bilinearly."""
    x = as_tensor(x)
    if x.ndim != 4:
        raise ValueError(f"upsampling2d: expected a 4-D input (batch, height, width, channels), got shape {x.shape}")
    size = tuplify(size, 2, "size")
    x = to_channels_last(x, data_format)
    if interpolation == "nearest":
        y = UpSampleNearest(size)(x)
    elif interpolation == "bilinear":
        y = UpSampleBilinear(size)(x)
    else:
        raise ValueError(f"upsampling2d: interpolation must be 'nearest' or 'bilinear', got {interpolation!r}")
    return to_channels_first(y, data_format)


def upsampling1d(x: Any, size: int = 2) -> Tensor:
    """Repeat each step of (N, steps, C) sequences `size` times."""
    x = as_tensor(x)
    if x.ndim != 3:
        raise ValueError(f"upsampling1d: expected a 3-D input (batch, steps, channels), got shape {x.shape}")
    y = UpSampleNearest((1, int(size)))(reshape(x, (x.shape[0], 1) + x.shape[1:]))
    return reshape(y, (x.shape[0], -1, x.shape[2]))
