"""Convolutions by the convolution theorem: a few FFTs and one complex product per frequency (#18).

The im2col path copies every input pixel kh*kw times into a patch matrix and sends each patch column back
with kh*kw shifted adds in backward; for the slides' conv2 those copies and adds cost as much as the products.
The convolution theorem removes them: a 2-D correlation of two images is a product in the frequency domain,

    y[i, j] = sum_ab x[i+a, j+b] w[a, b]   <=>   Y(u, v) = X(u, v) * conj(W(u, v))        (real w)

and over channels the product becomes, at every frequency (u, v), a small matrix product (B, C) @ (C, O).
The transforms are CIRCULAR, of size N = the image size: index i+a wraps around only when i+a >= N, and the
valid outputs (i <= H-kh) never reach that far, so no zero padding to H+kh-1 is needed. Backward reuses the
input's spectrum: with G the spectrum of the output gradient (zero-padded to N),

    dX = G * W            (a full convolution: its indices i+a <= H-1 never wrap either)
    dW = X * conj(G)      (a correlation; only lags 0..kh-1 are kept)

so one forward and three inverse-size transforms replace the patch matrix, its product and its col2im adds.
The arithmetic order differs from im2col's, so the results agree with it to float32 rounding, not bit for bit.

SciPy's `scipy.fft` (optional; 3-4x faster than `numpy.fft` on these small 2-D transforms) does the FFTs;
without SciPy every convolution takes the im2col path. Which convs use this path is decided from the shapes
alone, never by timing (`wanted`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from ..tensor import is_grad_enabled
from .patches import SCRATCH

try:  # optional: numpy is neurona's only hard dependency
    import scipy.fft as _sfft
except ImportError:  # pragma: no cover - exercised only without SciPy
    _sfft = None

# The rule (`wanted`): stride 1, dilation 1, one group, a kernel of at least MIN_KERNEL taps per side and at
# least MIN_CHANNELS input channels. The product per frequency costs 4 real multiply-adds per (B, C, O) entry
# against kh*kw per output pixel for im2col, and the transforms cost about the same per channel whatever C is:
# with few input channels (the slides' conv1, C = 1) the O output maps' inverse transforms dominate and
# im2col wins (measured: docs/performance.md, "Convolutions (#18), round four").
MIN_KERNEL = 3
MIN_CHANNELS = 8
# The transforms' work grows as N^2 log N per map and the products as N^2 per entry while im2col's grow as
# (N-k+1)^2 kh kw: beyond about this many output pixels per input the FFT's saving is not worth its memory.
MAX_SIDE = 64

_enabled = [True]


@contextlib.contextmanager
def disabled() -> Iterator[None]:
    """Every convolution takes the im2col path while this lasts (tests compare the two paths)."""
    old = _enabled[0]
    _enabled[0] = False
    try:
        yield
    finally:
        _enabled[0] = old


def available() -> bool:
    """Whether the FFT path can run at all (SciPy importable and not switched off)."""
    return _sfft is not None and _enabled[0]


def wanted(x_shape: tuple[int, ...], w_shape: tuple[int, ...], strides: tuple, dilation: tuple,
           groups: int) -> bool:
    """Whether a channels-last conv of input `x_shape` (N, H, W, C), kernel (kh, kw, C, F) runs by FFT."""
    if not available() or len(x_shape) != 4 or groups != 1:
        return False
    if tuple(strides) != (1, 1) or tuple(dilation) != (1, 1):
        return False
    _, h, wd, c = x_shape
    kh, kw = w_shape[:2]
    return (min(kh, kw) >= MIN_KERNEL and c >= MIN_CHANNELS and max(h, wd) <= MAX_SIDE
            and kh <= h and kw <= wd)


# ----------------------------------------------------------------------------- one function per step
# Images travel pixel-major, (H, W, B, C): the transforms then run over the two leading axes, and the spectrum
# (N, M, B, C) is already the stack of per-frequency (B, C) matrices that np.matmul wants, with no transposing
# copy between the transforms and the products (measured: docs/performance.md, round four).


def to_pixel_major(a: np.ndarray) -> np.ndarray:
    """(B, H, W, C) images as a C-contiguous (H, W, B, C) array."""
    return np.ascontiguousarray(a.transpose(1, 2, 0, 3))


def spectrum(a: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The 2-D real FFT over the two leading (spatial) axes of an (h, w, ...) array, zero-padded to `size`.

    The rows (along the width) are transformed first, only the h rows there are; the zero rows the padding
    adds are transformed (to zeros) only by the second, complex FFT along the height.
    """
    half = _sfft.rfft(a, n=size[1], axis=1)
    return _sfft.fft(half, n=size[0], axis=0)


def inverse(spec: np.ndarray, size: tuple[int, int], rows: int, cols: int) -> np.ndarray:
    """The top-left (rows, cols) block of the real inverse FFT, over the two leading axes, of a spectrum.

    The inverse along the height runs first and keeps only the `rows` rows wanted, so the real inverse
    along the width transforms only those.
    """
    part = _sfft.ifft(spec, axis=0)[:rows]
    return _sfft.irfft(part, n=size[1], axis=1)[:, :cols]


def per_frequency(spec: np.ndarray) -> np.ndarray:
    """An (N, M, B, C) spectrum as (N*M, B, C): one (B, C) matrix per frequency (a view)."""
    n, m = spec.shape[:2]
    return spec.reshape(n * m, *spec.shape[2:])


# ----------------------------------------------------------------------------- forward and backward


def forward(op: Any, xp: np.ndarray, w: np.ndarray, b: np.ndarray | None) -> np.ndarray:
    """z = correlate(xp, w) + b as (B*OH*OW, F), saving on `op` the spectra backward reuses."""
    n, h, wd, _ = xp.shape
    kh, kw, _, f = w.shape
    oh, ow, size = h - kh + 1, wd - kw + 1, (h, wd)
    xf = spectrum(to_pixel_major(xp), size)  # (N, M, B, C)
    wf = spectrum(w, size)  # (N, M, C, F)
    # Y = X conj(W) at every frequency: (N*M, B, C) @ (N*M, C, F)
    yf = np.matmul(per_frequency(xf), per_frequency(wf).conj())
    y = inverse(yf.reshape(size[0], -1, n, f), size, oh, ow)  # (OH, OW, B, F)
    z = np.empty((n, oh, ow, f), np.result_type(xp, w))
    np.copyto(z, y.transpose(2, 0, 1, 3), casting="same_kind")
    z = z.reshape(n * oh * ow, f)
    if b is not None:
        z += b
    op.fft_saved = (xf, wf, size) if _grad_needed() else None
    return z


def backward(op: Any, gy: np.ndarray, activation_grad: Callable, need_w: bool, need_x: bool):
    """(gradient of the padded input or None, of the kernel or None, of the bias or None) from the output's."""
    xf, wf, size = op.fft_saved
    kh, kw, c, f = op.w.shape
    n, (oh, ow) = op.xp_shape[0], op.geometry[3]
    g = activation_grad(gy.reshape(-1, f), op.y, op.act)
    gb = g.sum(axis=0) if op.has_b else None
    gx = gw = None
    if need_x or need_w:
        gf = per_frequency(spectrum(to_pixel_major(g.reshape(n, oh, ow, f)), size))  # (N*M, B, F)
        if need_x:  # dX = G W at every frequency: (N*M, B, F) @ (N*M, F, C), a full convolution
            gxf = np.matmul(gf, per_frequency(wf).transpose(0, 2, 1))
            gxt = inverse(gxf.reshape(size[0], -1, n, c), size, op.xp_shape[1], op.xp_shape[2])
            gx = np.empty(op.xp_shape, g.dtype)
            np.copyto(gx, gxt.transpose(2, 0, 1, 3), casting="same_kind")
        if need_w:  # dW = X conj(G) summed over the batch: (N*M, C, B) @ (N*M, B, F); lags 0..k-1 kept
            gwf = np.matmul(per_frequency(xf).transpose(0, 2, 1), np.conjugate(gf, out=gf))
            gw = inverse(gwf.reshape(size[0], -1, c, f), size, kh, kw)
            gw = np.ascontiguousarray(gw, dtype=g.dtype)
    if op.act:
        SCRATCH.give(g)  # activation_grad's buffer
    return gx, gw, gb


def _grad_needed() -> bool:
    return is_grad_enabled()
