"""Convolutions by the convolution theorem: Fourier transforms and one complex product per frequency (#18).

The im2col path copies every input pixel kh*kw times into a patch matrix and sends each patch column back
with kh*kw shifted adds in backward; for the slides' conv2 those copies and adds cost as much as the products.
The convolution theorem removes them: a 2-D correlation of two images is a product in the frequency domain,

    y[i, j] = sum_ab x[i+a, j+b] w[a, b]   <=>   Y(u, v) = X(u, v) * conj(W(u, v))        (real w)

and summed over channels the product becomes, at every frequency (u, v), a small matrix product (B, C) @ (C, O).
The transforms are CIRCULAR, of size N = the image size: index i+a wraps around only when i+a >= N, and the
valid outputs (i <= H-kh) never reach that far, so no zero padding to H+kh-1 is needed. Backward reuses the
input's spectrum: with G the spectrum of the output gradient (zero-padded to N),

    dX = G * W            (a full convolution: its indices i+a <= H-1 never wrap either)
    dW = X * conj(G)      (a correlation; only the lags 0..kh-1 are kept)

so four small transforms and three per-frequency products replace the patch matrix, its products and the
col2im adds. The arithmetic order differs from im2col's: results agree with it to float32 rounding, not bit
for bit (tested).

The transforms themselves are matrix products, not FFTs. A discrete Fourier transform of length N is the
product with the N x N matrix exp(-2 pi i u k / N); for the small sides of a CNN's images (12 for the slides'
conv2) one BLAS product over every line at once beats pocketfft's per-line FFTs (the forward transforms 1.4-2x
faster than scipy.fft on conv2's shapes: docs/performance.md, "Convolutions (#18), round four"), needs nothing
beyond NumPy, and handles zero padding and pruned outputs for free: the matrix has fewer columns or rows.
Which convs take this path is decided from the shapes alone, never by timing (`wanted`).
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable
from typing import Any

import numpy as np

from ..switches import overriding
from ..tensor import is_grad_enabled
from .patches import SCRATCH

# The rule (`wanted`), from the shapes alone: stride 1, dilation 1, one group, a kernel of at least MIN_KERNEL
# taps per side, and the multiply-adds of a training step over the batch (`step_costs` per image, plus the
# kernel's transforms once per call, `weight_costs`) at least PENALTY times fewer than im2col's. PENALTY
# covers what the count leaves out: the FFT path's small complex products run at ~2/3 of the speed of
# im2col's one big real product, and it makes more passes over memory. Measured (one thread, forward +
# backward): the slides' conv2 (12x12x32 -> 64, 5x5), 2.6x fewer multiply-adds, ~2x faster: taken; its
# conv1 (28x28x1 -> 32, 5x5), 5.4x MORE (the 32 output maps' transforms dominate), 5.7x slower: not taken.
# One image (predict_on_batch) of conv2: the kernel's transforms dominate, 684 against 280 us when it took
# the FFT path (bench/RESULTS.md): im2col below ~10 images.
MIN_KERNEL = 3
PENALTY = 2.0
# Bytes of spectrum per band of images, forward and backward: the conv's temporaries stay about this size. The
# count of bands is rounded to the nearest (`_bands`); at 0.9 MiB the slides' conv2 (43 KB of spectrum per image)
# runs the whole batch in 5 bands of 20 images, as with 1 MiB before (training peak unchanged), and each half of
# it on two threads in 2 bands of 25 instead of 3 of 16-17 (round five)
BAND_BYTES = (9 << 20) // 10

_mode: list[bool | None] = [None]  # None: the rule decides; False: never this path; True: whenever it can run


def disabled() -> contextlib.AbstractContextManager[None]:
    """Every convolution takes the im2col path while this lasts (tests compare the two paths)."""
    return overriding(_mode, False)


def forced() -> contextlib.AbstractContextManager[None]:
    """Every stride-1, undilated, ungrouped conv with a kernel of at least MIN_KERNEL takes this path (tests)."""
    return overriding(_mode, True)


def wanted(x_shape: tuple[int, ...], w_shape: tuple[int, ...], strides: tuple, dilation: tuple,
           groups: int) -> bool:
    """Whether a channels-last conv of padded input `x_shape` (B, H, W, C), kernel (kh, kw, C, O) runs here."""
    if _mode[0] is False or len(x_shape) != 4 or len(w_shape) != 4 or groups != 1:
        return False
    if tuple(strides) != (1, 1) or tuple(dilation) != (1, 1):
        return False
    kh, kw = w_shape[:2]
    if min(kh, kw) < MIN_KERNEL or kh > x_shape[1] or kw > x_shape[2]:
        return False
    if _mode[0]:
        return True
    im2col, fft = step_costs(x_shape[1:], w_shape)
    n = x_shape[0]  # the kernel's transforms are paid once per call, whatever the batch: a single image stays
    return (n * fft + weight_costs(x_shape[1:], w_shape)) * PENALTY <= n * im2col  # on im2col (predict_on_batch)


def step_costs(image: tuple[int, ...], w_shape: tuple[int, ...]) -> tuple[int, int]:
    """Multiply-adds per image of a training step (forward, input and weight gradients): (im2col, FFT path).

    im2col: three products of OH*OW*kh*kw*C*O. FFT path: three per-frequency complex products (4 real
    multiply-adds each) over N*M frequencies, and the transforms of the input, output, output-gradient and
    input-gradient maps, each about (2 M + 4 N) real multiply-adds per pixel as products with DFT matrices.
    """
    h, w, c = image
    kh, kw, _, o = w_shape
    oh, ow, m = h - kh + 1, w - kw + 1, w // 2 + 1
    im2col = 3 * oh * ow * kh * kw * c * o
    products = 3 * 4 * h * m * c * o
    transforms = (2 * c + 2 * o) * h * w * (2 * m + 4 * h)
    return im2col, products + transforms


def weight_costs(image: tuple[int, ...], w_shape: tuple[int, ...]) -> int:
    """Real multiply-adds per call of the FFT path's kernel transforms: W's spectrum (forward) and the weight
    gradient's inverse (backward), C*O maps each, whatever the batch. The slides' conv2: ~10.6 M, against
    ~3.8 M per image for the rest, so it takes the FFT path from about 10 images on (one image: im2col)."""
    h, w, c = image
    kh, kw, _, o = w_shape
    m = w // 2 + 1
    return c * o * (8 * h * m * kw + 6 * h * kh * kw)


# ----------------------------------------------------------------------------- the transforms, as products
# Arrays travel pixel-major, (H, W, B*C): the transforms run over the two leading axes as single products
# over every line at once, and the spectrum (N, M, B, C) is already the stack of per-frequency (B, C)
# matrices np.matmul wants, with no transposing copy between transforms and products.


@functools.lru_cache(maxsize=64)
def dft_matrix(n_out: int, n_in: int, n: int, inverse: bool, dtype: np.dtype, conjugate: bool = False) -> np.ndarray:
    """Rows 0..n_out-1, columns 0..n_in-1 of the length-n DFT matrix exp(-+2 pi i u k / n) (/ n if inverse).

    Fewer columns than n: the input is zero-padded to n. Fewer rows: only the first outputs are computed.
    `conjugate`: the complex conjugate matrix (the opposite sign), see `spectrum`.
    """
    u, k = np.arange(n_out)[:, None], np.arange(n_in)[None, :]
    sign = (1 if inverse else -1) * (-1 if conjugate else 1)
    m = np.exp(sign * 2j * np.pi * (u * k % n) / n) / (n if inverse else 1)
    m = m.astype(dtype)
    m.flags.writeable = False
    return m


@functools.lru_cache(maxsize=64)
def real_inverse_matrix(n_out: int, m: int, n: int, dtype: np.dtype, conjugate: bool = False) -> np.ndarray:
    """(n_out, m) complex matrix whose product's REAL part is the real inverse DFT of a half spectrum.

    A real signal's spectrum keeps frequencies 0..n//2 only (the others are their complex conjugates), so
    y[j] = Re sum_u c_u Z_u exp(2 pi i u j / n) / n, c_u = 2 for the frequencies standing for a conjugate
    pair too, 1 for 0 and (n even) n/2. From the conjugate spectrum (`conjugate`) the sign flips. A complex
    product whose imaginary half is thrown away does twice the useful work, yet measured faster than a real
    product over the interleaved (Re, Im) view and the add that combines its halves (0.48 against 0.87 ms
    for conv2's output).
    """
    u, j = np.arange(m)[None, :], np.arange(n_out)[:, None]
    c = np.where((u == 0) | (2 * u == n), 1.0, 2.0) / n
    sign = -1 if conjugate else 1
    out = (c * np.exp(sign * 2j * np.pi * (u * j % n) / n)).astype(dtype)
    out.flags.writeable = False
    return out


def complex_dtype(dtype: Any) -> np.dtype:
    return np.dtype(np.complex128 if np.dtype(dtype) == np.float64 else np.complex64)


def real_forward(a: np.ndarray, n: int, conjugate: bool = False) -> np.ndarray:
    """Real (h, w, L) -> complex (h, n//2+1, L): the DFT along axis 1, zero-padded to n (two real products)."""
    h, w, lines = a.shape
    d = dft_matrix(n // 2 + 1, w, n, False, complex_dtype(a.dtype), conjugate)
    out = np.empty((h, n // 2 + 1, lines), d.dtype)
    np.matmul(np.ascontiguousarray(d.real), a, out=out.real)
    np.matmul(np.ascontiguousarray(d.imag), a, out=out.imag)
    return out


def complex_forward(a: np.ndarray, n: int, conjugate: bool = False) -> np.ndarray:
    """Complex (h, ...) -> (n, ...): the DFT along axis 0, zero-padded to n (one product)."""
    d = dft_matrix(n, a.shape[0], n, False, a.dtype, conjugate)
    return (d @ a.reshape(a.shape[0], -1)).reshape((n,) + a.shape[1:])


def complex_inverse(a: np.ndarray, rows: int, conjugate: bool = False) -> np.ndarray:
    """Complex (n, ...) -> (rows, ...): the inverse DFT along axis 0, only its first `rows` outputs."""
    d = dft_matrix(rows, a.shape[0], a.shape[0], True, a.dtype, conjugate)
    return (d @ a.reshape(a.shape[0], -1)).reshape((rows,) + a.shape[1:])


def real_inverse(a: np.ndarray, n: int, cols: int, conjugate: bool = False) -> np.ndarray:
    """Complex (r, m, L) -> real (r, cols, L): the real inverse DFT (length n) along axis 1, first `cols` outputs.

    Returns the real part of a complex product, a strided view: the caller's next copy reads it.
    """
    return (real_inverse_matrix(cols, a.shape[1], n, a.dtype, conjugate) @ a).real


def spectrum(a: np.ndarray, size: tuple[int, int], conjugate: bool = False) -> np.ndarray:
    """The 2-D real DFT over the two leading (spatial) axes of an (h, w, ...) array, zero-padded to `size`.

    `conjugate`: its complex conjugate instead, at no extra cost: for a real signal that is the transform
    with the opposite sign in the exponent (backward needs conj(G) for the weight gradient).
    """
    h, w = a.shape[:2]
    half = real_forward(a.reshape(h, w, -1), size[1], conjugate)
    return complex_forward(half, size[0], conjugate).reshape(size[0], size[1] // 2 + 1, *a.shape[2:])


def inverse(spec: np.ndarray, size: tuple[int, int], rows: int, cols: int, conjugate: bool = False) -> np.ndarray:
    """The top-left (rows, cols) block of the real inverse 2-D DFT, over the two leading axes, of a spectrum.

    `conjugate`: `spec` is the conjugate of the spectrum to invert (the matrices take the other sign instead).
    """
    n, m = spec.shape[:2]
    part = complex_inverse(spec.reshape(n, m, -1), rows, conjugate)
    return real_inverse(part, size[1], cols, conjugate).reshape(rows, cols, *spec.shape[2:])


def per_frequency(spec: np.ndarray) -> np.ndarray:
    """An (N, M, B, C) spectrum as (N*M, B, C): one (B, C) matrix per frequency (a view)."""
    n, m = spec.shape[:2]
    return spec.reshape(n * m, *spec.shape[2:])


def to_pixel_major(a: np.ndarray) -> np.ndarray:
    """(B, H, W, C) images as a C-contiguous (H, W, B, C) array."""
    return np.ascontiguousarray(a.transpose(1, 2, 0, 3))


# ----------------------------------------------------------------------------- forward and backward


def forward(op: Any, xp: np.ndarray, w: np.ndarray, b: np.ndarray | None, wc: np.ndarray | None = None) -> np.ndarray:
    """z = correlate(xp, w) + b as (B*OH*OW, O), saving on `op` the spectra backward reuses.

    `wc`: conj(W) already made (predict's fused bands, `conv_fused.ConvPool`, make it once per batch).
    """
    n, h, wd, _ = xp.shape
    kh, kw, _, f = w.shape
    oh, ow, size = h - kh + 1, wd - kw + 1, (h, wd)
    dtype = np.result_type(xp, w)
    x_pixels = to_pixel_major(xp.astype(dtype, copy=False))
    xf = spectrum(x_pixels, size)  # (N, M, B, C)
    del x_pixels
    if wc is None:
        wc = spectrum(w.astype(dtype, copy=False), size, conjugate=True)  # conj(W): (N, M, C, O)
    z = np.empty((n, oh, ow, f), dtype)
    x_freq, w_freq = per_frequency(xf), per_frequency(wc)
    for i0, i1 in _bands(n, _band_images(x_freq, f)):  # in bands: the temporaries stay ~BAND_BYTES each
        # Y = X conj(W) at every frequency: (N*M, b, C) @ (N*M, C, O)
        yf = np.matmul(x_freq[:, i0:i1], w_freq).reshape(size[0], -1, (i1 - i0) * f)
        # the steps of `inverse`, each temporary freed as soon as the next exists
        part = complex_inverse(yf, oh)
        del yf
        y = real_inverse(part, size[1], ow).reshape(oh, ow, i1 - i0, f)
        del part
        if b is not None:  # the bias added on the way back to batch-major order (one pass, not two)
            np.add(y.transpose(2, 0, 1, 3), b, out=z[i0:i1])
        else:
            np.copyto(z[i0:i1], y.transpose(2, 0, 1, 3))
    op.fft_saved = (xp, xf, wc, size) if is_grad_enabled() else None
    return z.reshape(n * oh * ow, f)


def backward(op: Any, gy: np.ndarray, activation_grad: Callable, need_w: bool, need_x: bool):
    """(gradient of the padded input or None, of the kernel or None, of the bias or None) from the output's.

    Both products take conj(G) (made directly by `spectrum(..., conjugate=True)`, no conjugating pass):
    dW = X conj(G) as it is, and dX = G W as the conjugate of conj(G) conj(W), inverted by `inverse(...,
    conjugate=True)` -- conj(W) being what forward kept. The batch goes through in bands of about
    BAND_BYTES of spectrum, the bands' weight-gradient spectra added: this backward is the training step's
    memory high-water mark, and whole it held ~8 MiB of temporaries for the slides' conv2 (round four).
    """
    xp, xf, wc, size = op.fft_saved
    if xf is None:  # a second backward of the same graph (retain_graph): the spectra again
        xf = spectrum(to_pixel_major(xp), size)
        wc = spectrum(op.w.astype(xp.dtype, copy=False), size, conjugate=True)
    # let the spectra go now: kept until the next forward they sat under the step's memory high-water mark
    # (the first pool's backward, 3.5 MiB for the slides' conv2); the input itself is the graph's anyway
    op.fft_saved = (xp, None, None, size)
    kh, kw, c, f = op.w.shape
    n, (oh, ow) = op.xp_shape[0], op.geometry[3]
    per, x_freq, gy2 = oh * ow, per_frequency(xf), gy.reshape(-1, f)
    dtype = np.result_type(gy, xp)
    gx = np.empty(op.xp_shape, dtype) if need_x else None
    gwf = gb = None
    for i0, i1 in _bands(n, _band_images(x_freq, f)):
        # the gradient through the fused activation, band by band too (a whole one is 1.6 MiB for conv2)
        g = activation_grad(gy2[i0 * per:i1 * per], None if op.y is None else op.y[i0 * per:i1 * per], op.act)
        if op.has_b:
            gb = g.sum(axis=0) if gb is None else gb + g.sum(axis=0)
        if need_x or need_w:
            g_pixels = to_pixel_major(g.reshape(i1 - i0, oh, ow, f))
            gc = per_frequency(spectrum(g_pixels, size, conjugate=True))  # (N*M, b, O)
            del g_pixels
        if op.act:
            SCRATCH.give(g)  # activation_grad's buffer
        if need_w:  # dW = X conj(G) summed over the batch: (N*M, C, b) @ (N*M, b, O)
            prod = np.matmul(x_freq[:, i0:i1].transpose(0, 2, 1), gc)
            if gwf is None:
                gwf = prod
            else:
                gwf += prod
            del prod
        if need_x:  # conj(dX) = conj(G) conj(W): (N*M, b, O) @ (N*M, O, C), a full convolution
            input_gradient(gc, wc, size, gx[i0:i1])
    gw = None
    if need_w:  # only the lags 0..k-1 of the correlation are the kernel's gradient
        gw = np.ascontiguousarray(inverse(gwf.reshape(size[0], -1, c, f), size, kh, kw), dtype=dtype)
    return gx, gw, gb


def _band_images(x_freq: np.ndarray, f: int) -> int:
    """Images per band: about BAND_BYTES of the widest per-frequency stack, (N*M, b, max(C, O))."""
    per_image = x_freq.shape[0] * max(x_freq.shape[2], f) * x_freq.itemsize
    return max(1, BAND_BYTES // per_image)


def _bands(n: int, size: int) -> list[tuple[int, int]]:
    """[start, stop) ranges of near-equal bands of about `size` of n images (at most 1.5 x `size`).

    The count is rounded to the nearest, not up: rounded up, a batch just over a multiple of `size` fell into
    one more band of short ones (half of the slides' batch, 50 images at 21 per band: 3 bands of 16-17
    images instead of 2 of 25), and short bands make small per-frequency products: conv2's forward and
    backward 7.5 against 6.8 ms on 50 images (round five).
    """
    count = max(1, round(n / size))
    cuts = [n * i // count for i in range(count + 1)]
    return list(zip(cuts[:-1], cuts[1:]))


def input_gradient(gc: np.ndarray, wc: np.ndarray, size: tuple[int, int], out: np.ndarray) -> None:
    """Write into `out` (b, H, W, C) the input gradient from conj(G) (N*M, b, O) and conj(W) (N, M, C, O).

    The steps of `inverse`, spelled out so that each temporary is freed as soon as the next exists.
    """
    n, h, wd, c = out.shape
    gxc = np.matmul(gc, per_frequency(wc).transpose(0, 2, 1)).reshape(size[0], -1, n * c)
    part = complex_inverse(gxc, h, conjugate=True)
    del gxc
    gxt = real_inverse(part, size[1], wd, conjugate=True).reshape(h, wd, n, c)
    del part
    np.copyto(out, gxt.transpose(2, 0, 1, 3))
