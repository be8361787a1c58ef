"""Convolutions: one im2col copy and one matrix product, forward and backward (docs/performance.md).

Images are channels_last, (batch, height, width, channels), Keras's default; kernels use Keras's
layout (kh, kw, in_channels, filters). Patches are copied in (kh, kw, C) order, so the kernel
reshaped to (kh*kw*C, filters) multiplies them directly and the whole layer is one matmul. The
input gradient sends each patch column back to the pixels it came from: kh*kw shifted adds.
1-D inputs (batch, steps, channels) run through the same code with a height of 1.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..tensor import Function, Tensor, as_tensor, is_grad_enabled
from . import activation as act
from . import conv_fft
from . import conv_parts as parts
from .nn import FUSED_ACTIVATIONS
from .patches import (
    SCRATCH,
    check_data_format,
    col2im,
    offset_view,
    output_sizes,
    pad_image,
    padding_amounts,
    tapwise_col2im,
    to_channels_first,
    to_channels_last,
    tuplify,
    windows,
)


def activate(z: np.ndarray, name: str | None) -> np.ndarray:
    """A fused activation (relu, sigmoid, tanh, softmax) of the op's output, in place where it can be."""
    if name is None:
        return z
    if name == "relu":
        return np.maximum(z, 0, out=z)
    return FUSED_ACTIVATIONS[name][0](z)


def activation_grad(gy: np.ndarray, y: np.ndarray, name: str | None) -> np.ndarray:
    """The gradient through a fused activation, written from its output y (a new array, unless name is None)."""
    if name is None:
        return gy
    if name == "relu":
        return np.multiply(gy, y > 0, out=SCRATCH.take(y.shape, np.result_type(gy, y)))
    return FUSED_ACTIVATIONS[name][1](gy, y)


# ----------------------------------------------------------------------------- functions


class Conv(Function):
    """y = act(patches(x) @ W + b) for (N, H, W, C) or (N, L, C) inputs; `groups` splits the channels.

    The patch matrix is pixel-major (N*OH*OW, kh*kw*C), or tap-major (kh*kw*C, N*OH*OW) for images
    with few channels (see `taps_matrix`); a 1x1 kernel at stride 1 uses the image itself.
    """

    FEW_CHANNELS = 4

    def __init__(self, strides, dilation, pads, groups: int = 1, activation: str | None = None) -> None:
        self.strides, self.dilation, self.pads, self.groups = strides, dilation, pads, groups
        self.act = None if activation in (None, "linear") else activation

    def forward(self, x, w, b=None):
        if getattr(self, "cols", None) is not None:
            # run again (neurona.function replays the same op every step): the last run's patches are dead,
            # and without handing them back every step would allocate (and page-fault) a fresh patch matrix
            self._give_back()
        self.one_d = x.ndim == 3
        if self.one_d:
            x, w = x[:, None], w[None]
        n, h, wd, c = x.shape
        kh, kw, cg, f = w.shape
        xp = pad_image(x, self.pads)
        oh, ow = output_sizes((h, wd), (kh, kw), self.strides, self.dilation, self.pads)
        g, m, k = self.groups, n * oh * ow, kh * kw * cg
        geometry = ((kh, kw), self.strides, self.dilation, (oh, ow))
        if g == 1 and conv_fft.wanted(xp.shape, w.shape, self.strides, self.dilation, g):
            self.layout = "fft"  # by the convolution theorem: no patch matrix at all (conv_fft.py)
        elif g > 1:
            self.layout = "groups"
        elif kh == kw == 1 and self.strides == (1, 1) and xp.flags.c_contiguous:
            self.layout = "image"  # a 1x1 kernel at stride 1 sees each pixel once
        else:
            self.layout = "taps" if c <= self.FEW_CHANNELS else "pixels"
        self.has_b = b is not None
        w2 = w.reshape(k, f)
        if self.has_b and self.layout in ("taps", "pixels"):
            # these patch matrices carry a row (column) of ones, so the bias rides along in the matmul
            w2 = np.concatenate([w2, b.reshape(1, f).astype(w.dtype, copy=False)])
        if self.layout == "fft":
            self.geometry, self.w, self.xp_shape = geometry, w, xp.shape
            z, cols = conv_fft.forward(self, xp, w, b if self.has_b else None), None
        elif self.layout == "image":
            cols = xp.reshape(m, c)
            z = cols @ w2
            if self.has_b:
                z += b
        elif self.layout in ("taps", "pixels"):  # by parts of the batch, on threads when it pays
            self.geometry, self.w = geometry, w
            z = parts.forward(self, xp, w2, geometry, activate)
            cols = self.cols
        else:  # one patch matrix per group: (G, M, kh*kw*C/G)
            win = windows(xp, *geometry).reshape(n, oh, ow, kh, kw, g, cg)
            cols = SCRATCH.take((g, m, k), x.dtype)
            np.copyto(cols.reshape(g, n, oh, ow, kh, kw, cg), win.transpose(5, 0, 1, 2, 3, 4, 6))
            z = (cols @ w.reshape(k, g, f // g).transpose(1, 0, 2)).transpose(1, 0, 2).reshape(m, f)
            if self.has_b:
                z += b
        y = z if self.layout in ("taps", "pixels") else activate(z, self.act)
        self.cols, self.w, self.xp_shape, self.geometry = cols, w, xp.shape, geometry
        # backward reads the output only through the fused activation's derivative: without one (relu moved
        # after the pool, conv_pool_train.py) it is not kept, and goes as soon as its readers are done
        self.y = y if self.act else None
        self.x_shape = x.shape
        if not is_grad_enabled():
            self._give_back()  # inference: no backward will need the patches
        y = y.reshape(n, oh, ow, f)
        return y[:, 0] if self.one_d else y

    def backward(self, gy):
        w, cols, layout = self.w, self.cols, self.layout
        kh, kw, cg, f = w.shape
        need_x, need_w = self.inputs[0].requires_grad, self.inputs[1].requires_grad
        gx = gw = gb = None
        if layout == "fft":
            gxp, gw, gb = conv_fft.backward(self, gy, activation_grad, need_w, need_x)
            gx = self._crop(gxp) if gxp is not None else None
            return (gx, gw, gb) if self.has_b else (gx, gw)
        if layout in ("taps", "pixels"):
            gwb, gxp = parts.backward(self, gy, activation_grad, need_w, need_x)
            if gwb is not None:
                gw = gwb[: kh * kw * cg].reshape(w.shape) if need_w else None
                gb = gwb[-1] if self.has_b else None
            if need_x:
                gx = self._crop(gxp)
            if gw is not None and self.one_d:
                gw = gw[0]
            return (gx, gw, gb) if self.has_b else (gx, gw)
        g = activation_grad(gy.reshape(-1, f), self.y, self.act)
        if need_w and layout == "image":
            gw = (g.T @ cols).T.reshape(w.shape)
        elif need_w:
            gg = g.reshape(-1, self.groups, f // self.groups).transpose(1, 0, 2)
            gw = (cols.transpose(0, 2, 1) @ gg).transpose(1, 0, 2).reshape(w.shape)
        if self.has_b:
            gb = np.ones(g.shape[0], g.dtype) @ g  # bias gradient as a small matmul
        if need_x:
            gx = self._crop(self._padded_input_gradient(g, self.x_shape[0]))
        if self.act:
            SCRATCH.give(g)
        if gw is not None and self.one_d:
            gw = gw[0]
        return (gx, gw, gb) if self.has_b else (gx, gw)

    def release(self) -> None:
        self._give_back()
        self.fft_saved = None
        super().release()

    def drop_saved(self) -> None:
        """Forget what forward saved for backward but keep the op runnable (`neurona.function`'s replay check)."""
        self._give_back()
        self.y = self.xp = self.fft_saved = None

    def _give_back(self) -> None:
        cols = getattr(self, "cols", None)
        if isinstance(cols, list):
            parts.give_back(self)
        elif cols is not None and self.layout != "image":
            SCRATCH.give(cols)  # the patch matrix is ours; the image layout's is the input itself
        self.cols = None

    def _padded_input_gradient(self, g: np.ndarray, n: int, out: np.ndarray | None = None) -> np.ndarray:
        """The gradient of n padded images from their rows g (n*OH*OW, F) of the output gradient."""
        w, layout, geometry = self.w, self.layout, self.geometry
        kh, kw, cg, f = w.shape
        (oh, ow), shape = geometry[3], (n,) + self.xp_shape[1:]
        if layout == "image":
            gxp = (g @ w.reshape(-1, f).T).reshape(shape)
        elif layout == "taps":
            g6 = (w.reshape(-1, f) @ g.T).reshape(kh, kw, cg, n, oh, ow)  # (kh*kw*C, M), as the taps matrix
            gxp = col2im(lambda a, b: g6[a, b].transpose(1, 2, 3, 0), shape, *geometry, g.dtype)
        elif layout == "pixels":
            return tapwise_col2im(g, w, shape, *geometry, out=out)
        else:
            gn = self.groups
            gg = g.reshape(-1, gn, f // gn).transpose(1, 0, 2)
            wg = w.reshape(-1, gn, f // gn).transpose(1, 0, 2)
            g7 = (gg @ wg.transpose(0, 2, 1)).reshape(gn, n, oh, ow, kh, kw, cg)
            grouped = shape[:3] + (gn, cg)
            gxp = col2im(lambda a, b: g7[:, :, :, :, a, b].transpose(1, 2, 3, 0, 4), grouped, *geometry,
                         g.dtype).reshape(shape)
        if out is not None:
            out[...] = gxp
            return out
        return gxp

    def _crop(self, gxp: np.ndarray) -> np.ndarray:
        (t, _), (lft, _) = self.pads
        gx = gxp[:, t : t + self.x_shape[1], lft : lft + self.x_shape[2]]
        return gx[:, 0] if self.one_d else gx


class DepthwiseConv(Function):
    """Each input channel convolved with its own `depth_multiplier` filters, kernel (kh, kw, C, dm).

    Cheap per output (kh*kw multiply-adds), so it runs as kh*kw shifted multiply-adds instead of a
    matmul; output channel c*dm + m is channel c's m-th filter, as in Keras.
    """

    def __init__(self, strides, dilation, pads, activation: str | None = None) -> None:
        self.strides, self.dilation, self.pads = strides, dilation, pads
        self.act = None if activation in (None, "linear") else activation

    def forward(self, x, w, b=None):
        self.one_d = x.ndim == 3
        if self.one_d:
            x, w = x[:, None], w[None]
        n, h, wd, c = x.shape
        kh, kw, _, dm = w.shape
        xp = pad_image(x, self.pads)
        oh, ow = output_sizes((h, wd), (kh, kw), self.strides, self.dilation, self.pads)
        z = np.zeros((n, oh, ow, c, dm), np.result_type(x, w))
        for a in range(kh):
            for bb in range(kw):
                z += offset_view(xp, a, bb, self.strides, self.dilation, (oh, ow))[..., None] * w[a, bb]
        z = z.reshape(n, oh, ow, c * dm)
        if b is not None:
            z += b
        y = activate(z, self.act)
        self.xp, self.w, self.y, self.x_shape, self.has_b = xp, w, y, x.shape, b is not None
        return y[:, 0] if self.one_d else y

    def backward(self, gy):
        w, xp = self.w, self.xp
        kh, kw, c, dm = w.shape
        g = gy.reshape(self.y.shape)
        g = activation_grad(g, self.y, self.act)
        n, oh, ow, _ = g.shape
        g5 = g.reshape(n, oh, ow, c, dm)
        need_x, need_w = self.inputs[0].requires_grad, self.inputs[1].requires_grad
        gw = np.zeros(w.shape, g.dtype) if need_w else None
        gxp = np.zeros(xp.shape, g.dtype) if need_x else None
        for a in range(kh):
            for bb in range(kw):
                if need_w:
                    src = offset_view(xp, a, bb, self.strides, self.dilation, (oh, ow))
                    gw[a, bb] = np.einsum("nijc,nijcm->cm", src, g5)
                if need_x:
                    view = offset_view(gxp, a, bb, self.strides, self.dilation, (oh, ow))
                    view += np.einsum("nijcm,cm->nijc", g5, w[a, bb])
        gx = None
        if need_x:
            (t, _), (lft, _) = self.pads
            gx = gxp[:, t : t + self.x_shape[1], lft : lft + self.x_shape[2]]
            gx = gx[:, 0] if self.one_d else gx
        if gw is not None and self.one_d:
            gw = gw[0]
        if not self.has_b:
            return gx, gw
        return gx, gw, np.ones(n * oh * ow, g.dtype) @ g.reshape(-1, c * dm)


# ----------------------------------------------------------------------------- wrappers


def _shape(t: Any) -> tuple[int, ...]:
    return tuple(getattr(t, "shape", np.shape(t)))


def _split_activation(activation: Any, data_format: str):
    """(name to fuse into the op or None, callable to apply afterwards or None)."""
    if activation is None or activation == "linear":
        return None, None
    if isinstance(activation, str) and activation in FUSED_ACTIVATIONS:
        if activation == "softmax" and data_format == "channels_first":
            return None, act.softmax  # softmax runs over the last axis of the caller's layout
        return activation, None
    if isinstance(activation, str):
        fn = getattr(act, activation, None)
        if fn is None:
            raise ValueError(f"unknown activation {activation!r}")
        return None, fn
    if callable(activation):
        return None, activation
    raise TypeError(f"activation must be a name or a callable, got {activation!r}")


def _conv_nd(
    rank, name, x, w, b, strides, padding, dilation, groups, activation, data_format, depthwise=False
) -> Tensor:
    x = as_tensor(x)
    channels_first = check_data_format(data_format)
    xs, ws = x.shape, _shape(w)
    layout = "(batch, steps, channels)" if rank == 1 else "(batch, height, width, channels)"
    if channels_first:
        layout = "(batch, channels, steps)" if rank == 1 else "(batch, channels, height, width)"
    if len(xs) != rank + 2:
        raise ValueError(f"{name}: expected a {rank + 2}-D input {layout}, got shape {xs}")
    if len(ws) != rank + 2:
        raise ValueError(f"{name}: expected a {rank + 2}-D kernel, got shape {ws}")
    c = xs[1] if channels_first else xs[-1]
    if depthwise:
        if ws[-2] != c:
            raise ValueError(f"{name}: kernel {ws} expects {ws[-2]} input channels, input {xs} has {c}")
        out_ch = ws[-1] * c
    else:
        if groups < 1 or c % groups or ws[-1] % groups:
            raise ValueError(f"{name}: groups={groups} must divide input channels {c} and filters {ws[-1]}")
        if ws[-2] * groups != c:
            raise ValueError(
                f"{name}: kernel {ws} expects {ws[-2] * groups} input channels, input {xs} has {c}"
            )
        out_ch = ws[-1]
    if b is not None and _shape(b) != (out_ch,):
        raise ValueError(f"{name}: bias shape {_shape(b)} does not match {out_ch} output channels")
    strides = tuplify(strides, rank, "strides")
    dilation = tuplify(dilation, rank, "dilation")
    x = to_channels_last(x, data_format)
    sizes = x.shape[1:-1]
    kernel = ws[:rank]
    pads = padding_amounts(sizes, kernel, strides, dilation, padding)
    output_sizes(sizes, kernel, strides, dilation, pads, what=f"{name} on input {xs}")
    if rank == 1:  # the 2-D code runs 1-D inputs with a height of 1
        strides, dilation, pads = (1,) + strides, (1,) + dilation, ((0, 0),) + pads
    fused, after = _split_activation(activation, data_format)
    fn = DepthwiseConv(strides, dilation, pads, fused) if depthwise else Conv(strides, dilation, pads, groups, fused)
    y = fn(x, w) if b is None else fn(x, w, b)
    y = to_channels_first(y, data_format)
    return after(y) if after else y


def conv2d(
    x: Any,
    w: Any,
    b: Any = None,
    strides: Any = 1,
    padding: Any = "valid",
    dilation: Any = 1,
    groups: int = 1,
    activation: Any = None,
    data_format: str = "channels_last",
) -> Tensor:
    """2-D convolution (cross-correlation, as every framework computes it) of (N, H, W, C) images.

    `w` has Keras's layout (kh, kw, C // groups, filters); `padding` is 'valid', 'same' or explicit
    ints; relu/sigmoid/tanh/softmax activations are fused into the op's backward.

    >>> import numpy as np
    >>> conv2d(np.ones((1, 3, 3, 1)), np.ones((2, 2, 1, 1))).shape
    (1, 2, 2, 1)
    """
    return _conv_nd(2, "conv2d", x, w, b, strides, padding, dilation, groups, activation, data_format)


def conv1d(
    x: Any,
    w: Any,
    b: Any = None,
    strides: Any = 1,
    padding: Any = "valid",
    dilation: Any = 1,
    groups: int = 1,
    activation: Any = None,
    data_format: str = "channels_last",
) -> Tensor:
    """1-D convolution of (N, steps, C) sequences; kernel (k, C // groups, filters); 'causal' padding too."""
    return _conv_nd(1, "conv1d", x, w, b, strides, padding, dilation, groups, activation, data_format)


def depthwise_conv2d(
    x: Any,
    w: Any,
    b: Any = None,
    strides: Any = 1,
    padding: Any = "valid",
    dilation: Any = 1,
    activation: Any = None,
    data_format: str = "channels_last",
) -> Tensor:
    """Per-channel 2-D convolution; kernel (kh, kw, C, depth_multiplier), output C * depth_multiplier."""
    return _conv_nd(2, "depthwise_conv2d", x, w, b, strides, padding, dilation, 1, activation, data_format, True)


# the transposed convolutions live in conv_transpose.py; their old import path keeps working
from .conv_transpose import (  # noqa: E402
    ConvTranspose,  # noqa: F401
    conv1d_transpose,  # noqa: F401
    conv2d_transpose,  # noqa: F401
    transpose_output_length,  # noqa: F401
)
