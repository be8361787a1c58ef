"""Transposed ("de-")convolutions: the adjoint of `conv2d` / `conv1d`, which upsample by their strides.

Kernel (kh, kw, filters, in_channels), as Keras's Conv2DTranspose; each input pixel stamps the kernel onto
the output (col2im), and the backward copies the output gradient's windows (im2col). Moved out of conv.py,
which re-exports everything here.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..tensor import Function, Tensor, as_tensor
from .conv import _shape, _split_activation, activate, activation_grad
from .patches import (
    SCRATCH,
    check_data_format,
    col2im,
    copy_windows,
    padding_amounts,
    tap_products,
    to_channels_first,
    to_channels_last,
    tuplify,
)


class ConvTranspose(Function):
    """The adjoint of Conv: each input pixel stamps the kernel, weighted, onto the output (col2im).

    Kernel (kh, kw, filters, in_channels), as Keras's Conv2DTranspose. The output is the window
    [before, before + size) of the full stamped canvas.
    """

    def __init__(self, strides, dilation, out_hw, before, activation: str | None = None) -> None:
        self.strides, self.dilation, self.out_hw, self.before = strides, dilation, out_hw, before
        self.act = None if activation in (None, "linear") else activation

    def forward(self, x, w, b=None):
        self.one_d = x.ndim == 3
        if self.one_d:
            x, w = x[:, None], w[None]
        n, h, wd, c = x.shape
        kh, kw, f, _ = w.shape
        x2 = x.reshape(-1, c)
        taps = tap_products(x2, w.reshape(kh * kw, f, c).transpose(0, 2, 1))  # (kh*kw, N*H*W, F)
        (oh, ow), (bh, bw) = self.out_hw, self.before
        full = [(s - 1) * st + (k - 1) * d + 1 for s, st, k, d in zip((h, wd), self.strides, (kh, kw), self.dilation)]
        canvas_hw = (max(full[0], bh + oh), max(full[1], bw + ow))
        canvas = col2im(lambda a, b: taps[a * kw + b].reshape(n, h, wd, f), (n,) + canvas_hw + (f,), (kh, kw),
                        self.strides, self.dilation, (h, wd), x.dtype)
        SCRATCH.give(taps)
        z = canvas[:, bh : bh + oh, bw : bw + ow]
        z = z + b if b is not None else np.ascontiguousarray(z)
        y = activate(z, self.act)
        self.x2, self.w, self.y, self.canvas_hw, self.x_shape, self.has_b = x2, w, y, canvas_hw, x.shape, b is not None
        return y[:, 0] if self.one_d else y

    def backward(self, gy):
        w, x2 = self.w, self.x2
        kh, kw, f, c = w.shape
        g = gy.reshape(self.y.shape)
        g = activation_grad(g, self.y, self.act)
        n, oh, ow, _ = g.shape
        (bh, bw), (h, wd) = self.before, self.x_shape[1:3]
        gcanvas = np.zeros((n,) + self.canvas_hw + (f,), g.dtype)
        gcanvas[:, bh : bh + oh, bw : bw + ow] = g
        gcols = SCRATCH.take((n * h * wd, kh * kw * f), g.dtype)
        copy_windows(gcols.reshape(n, h, wd, kh, kw, f), gcanvas, (kh, kw), self.strides, self.dilation, (h, wd))
        gx = gw = gb = None
        if self.inputs[0].requires_grad:
            gx = (gcols @ w.reshape(-1, c)).reshape(self.x_shape)
            gx = gx[:, 0] if self.one_d else gx
        if self.inputs[1].requires_grad:
            gw = (gcols.T @ x2).reshape(w.shape)
            gw = gw[0] if self.one_d else gw
        if self.has_b:
            gb = np.ones(n * oh * ow, g.dtype) @ g.reshape(-1, f)
        SCRATCH.give(gcols)
        if self.act:
            SCRATCH.give(g)
        return (gx, gw, gb) if self.has_b else (gx, gw)


def transpose_output_length(size: int, kernel: int, stride: int, dilation: int, padding: str, output_padding) -> int:
    """Output length of a transposed convolution, Keras's `deconv_output_length`."""
    span = (kernel - 1) * dilation + 1
    if output_padding is None:
        return size * stride + max(span - stride, 0) if padding == "valid" else size * stride
    pad = span // 2 if padding == "same" else 0
    return (size - 1) * stride + span - 2 * pad + output_padding


def conv2d_transpose(
    x: Any,
    w: Any,
    b: Any = None,
    strides: Any = 1,
    padding: str = "valid",
    output_padding: Any = None,
    dilation: Any = 1,
    activation: Any = None,
    data_format: str = "channels_last",
) -> Tensor:
    """Transposed ("de-")convolution: the adjoint of `conv2d`, which upsamples by `strides`.

    `w` is (kh, kw, filters, C) as in Keras's Conv2DTranspose; the output size follows Keras, and
    the result equals the gradient of `conv2d(·, w, padding=padding)` on an input of that size.
    """
    return _conv_transpose_nd(2, x, w, b, strides, padding, output_padding, dilation, activation, data_format)


def conv1d_transpose(
    x: Any,
    w: Any,
    b: Any = None,
    strides: Any = 1,
    padding: str = "valid",
    output_padding: Any = None,
    dilation: Any = 1,
    activation: Any = None,
    data_format: str = "channels_last",
) -> Tensor:
    """Transposed 1-D convolution; kernel (k, filters, C)."""
    return _conv_transpose_nd(1, x, w, b, strides, padding, output_padding, dilation, activation, data_format)


def _conv_transpose_nd(rank, x, w, b, strides, padding, output_padding, dilation, activation, data_format):
    name = f"conv{rank}d_transpose"
    x = as_tensor(x)
    channels_first = check_data_format(data_format)
    xs, ws = x.shape, _shape(w)
    if len(xs) != rank + 2 or len(ws) != rank + 2:
        raise ValueError(f"{name}: expected {rank + 2}-D input and kernel, got shapes {xs} and {ws}")
    c = xs[1] if channels_first else xs[-1]
    if ws[-1] != c:
        raise ValueError(f"{name}: kernel {ws} expects {ws[-1]} input channels, input {xs} has {c}")
    if b is not None and _shape(b) != (ws[-2],):
        raise ValueError(f"{name}: bias shape {_shape(b)} does not match {ws[-2]} filters")
    if padding not in ("valid", "same"):
        raise ValueError(f"{name}: padding must be 'valid' or 'same', got {padding!r}")
    strides, dilation = tuplify(strides, rank, "strides"), tuplify(dilation, rank, "dilation")
    if output_padding is None:
        ops_pad = (None,) * rank
    else:
        ops_pad = (output_padding,) * rank if isinstance(output_padding, (int, np.integer)) else output_padding
        ops_pad = tuple(int(p) for p in ops_pad)
        if len(ops_pad) != rank or any(not 0 <= p < s for p, s in zip(ops_pad, strides)):
            raise ValueError(f"{name}: output_padding must be {rank} ints in [0, stride), got {output_padding!r}")
    x = to_channels_last(x, data_format)
    sizes, kernel = x.shape[1:-1], ws[:rank]
    out = tuple(transpose_output_length(*args, padding, p) for args, p in
                zip(zip(sizes, kernel, strides, dilation), ops_pad))
    # the op is the gradient of a conv on an input of size `out`: that conv's padding says where to crop
    before = tuple(p[0] for p in padding_amounts(out, kernel, strides, dilation, padding))
    if rank == 1:
        strides, dilation, out, before = (1,) + strides, (1,) + dilation, (1,) + out, (0,) + before
    fused, after = _split_activation(activation, data_format)
    fn = ConvTranspose(strides, dilation, out, before, fused)
    y = fn(x, w) if b is None else fn(x, w, b)
    y = to_channels_first(y, data_format)
    return after(y) if after else y
