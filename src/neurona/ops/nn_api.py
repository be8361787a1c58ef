"""Keras 3's `keras.ops` NN namespace: activations, normalisations, cross-entropies, convolutions and pooling
by Keras's names and arguments, built from neurona's differentiable ops."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..tensor import Tensor, as_tensor
from . import activation as _a
from . import conv as _c
from . import math as _m
from . import pool as _p
from . import shape as _s
from ._api import arr

_EPS = 1e-7


def _f(x: Any) -> Tensor:
    t = as_tensor(x)
    return t if t.data.dtype.kind == "f" else Tensor(t.data.astype(np.float32))


# ----------------------------------------------------------------------------- activations
def relu6(x: Any) -> Tensor:
    """min(max(x, 0), 6)."""
    return _m.minimum(_a.relu(x), 6.0)


def hard_sigmoid(x: Any) -> Tensor:
    """relu6(x + 3) / 6, Keras 3's piecewise-linear sigmoid."""
    return _m.div(relu6(_m.add(_f(x), 3.0)), 6.0)


def hard_silu(x: Any) -> Tensor:
    """x * hard_sigmoid(x)."""
    return _m.mul(x, hard_sigmoid(x))


hard_swish = hard_silu
silu = _a.silu


def celu(x: Any, alpha: float = 1.0) -> Tensor:
    """max(0, x) + min(0, alpha * (exp(x / alpha) - 1))."""
    t = _f(x)
    return _m.add(_a.relu(t), _m.minimum(0.0, _m.mul(alpha, _m.sub(_m.exp(_m.div(t, alpha)), 1.0))))


def glu(x: Any, axis: int = -1) -> Tensor:
    """a * sigmoid(b) for the two halves a, b of `axis`."""
    t = _f(x)
    n = t.shape[axis] // 2
    pre = (slice(None),) * (axis % t.ndim)
    return _m.mul(_s.getitem(t, pre + (slice(0, n),)), _a.sigmoid(_s.getitem(t, pre + (slice(n, None),))))


def hard_tanh(x: Any) -> Tensor:
    return _m.clip(_f(x), -1.0, 1.0)


def hard_shrink(x: Any, threshold: float = 0.5) -> Tensor:
    t = _f(x)
    return _m.where(np.abs(t.data) > threshold, t, 0.0)


def soft_shrink(x: Any, threshold: float = 0.5) -> Tensor:
    t = _f(x)
    return _m.where(t.data > threshold, _m.sub(t, threshold), _m.where(t.data < -threshold, _m.add(t, threshold), 0.0))


def tanh_shrink(x: Any) -> Tensor:
    return _m.sub(_f(x), _a.tanh(x))


def squareplus(x: Any, b: float = 4) -> Tensor:
    t = _f(x)
    return _m.div(_m.add(t, _m.sqrt(_m.add(_m.square(t), float(b)))), 2.0)


def sparse_plus(x: Any) -> Tensor:
    t = _f(x)
    return _m.where(t.data <= -1, 0.0, _m.where(t.data >= 1, t, _m.div(_m.square(_m.add(t, 1.0)), 4.0)))


def sparse_sigmoid(x: Any) -> Tensor:
    t = _f(x)
    return _m.where(t.data <= -1, 0.0, _m.where(t.data >= 1, 1.0, _m.div(_m.add(t, 1.0), 2.0)))


def threshold(x: Any, threshold: float, default_value: float) -> Tensor:
    t = _f(x)
    return _m.where(t.data > threshold, t, float(default_value))


def softsign(x: Any) -> Tensor:
    t = _f(x)
    return _m.div(t, _m.add(_m.abs(t), 1.0))


def log_sigmoid(x: Any) -> Tensor:
    return _m.neg(_a.softplus(_m.neg(_f(x))))


def sparsemax(x: Any, axis: int = -1) -> Tensor:
    """Euclidean projection onto the simplex (values only, no gradient)."""
    z = np.moveaxis(np.asarray(arr(x), dtype=np.float64), axis, -1)
    srt = -np.sort(-z, axis=-1)
    k = np.arange(1, z.shape[-1] + 1)
    cum = np.cumsum(srt, -1)
    support = (1 + k * srt) > cum
    kz = support.sum(-1, keepdims=True)
    tau = (np.take_along_axis(cum, kz - 1, -1) - 1) / kz
    return Tensor(np.moveaxis(np.maximum(z - tau, 0), -1, axis).astype(np.float32))


# ----------------------------------------------------------------------------- encodings
def one_hot(x: Any, num_classes: int, axis: int = -1, dtype: Any = None, sparse: bool = False) -> Tensor:
    """Integer labels as one-hot rows (labels outside [0, num_classes) give zero rows, as Keras)."""
    labels = np.asarray(arr(x)).astype(np.int64)
    out = (labels[..., None] == np.arange(int(num_classes))).astype(dtype or "float32")
    return Tensor(np.moveaxis(out, -1, axis) if axis != -1 else out)


def multi_hot(inputs: Any, num_classes: int, axis: int = -1, dtype: Any = None, sparse: bool = False) -> Tensor:
    """1 for every class that occurs in each row of integer `inputs`."""
    labels = np.asarray(arr(inputs)).astype(np.int64)
    hot = np.asarray(one_hot(labels, num_classes).data)
    out = hot.max(axis=-2) if labels.ndim > 1 else hot.max(axis=0)
    return Tensor(out.astype(dtype or "float32"))


# ----------------------------------------------------------------------------- normalisation
def moments(x: Any, axes: Any, keepdims: bool = False, synchronized: bool = False) -> tuple[Tensor, Tensor]:
    """(mean, variance) over `axes`."""
    t = _f(x)
    return _m.mean(t, axis=axes, keepdims=keepdims), _m.var(t, axis=axes, keepdims=keepdims)


def normalize(x: Any, axis: int = -1, order: int = 2, epsilon: float | None = None) -> Tensor:
    """x divided by its `order`-norm along `axis` (L2 by default)."""
    t = _f(x)
    eps = _EPS if epsilon is None else epsilon
    norm = _m.sqrt(_m.sum(_m.square(t), axis=axis, keepdims=True)) if order == 2 else \
        _m.sum(_m.abs(t), axis=axis, keepdims=True) if order == 1 else None
    if norm is None:
        raise ValueError(f"normalize: order must be 1 or 2, got {order}")
    return _m.div(t, _m.maximum(norm, eps))


def batch_normalization(x: Any, mean: Any, variance: Any, axis: int, offset: Any = None, scale: Any = None,
                        epsilon: float = 1e-3) -> Tensor:
    """(x - mean) / sqrt(variance + epsilon) * scale + offset, the statistics laid along `axis`."""
    t = _f(x)
    shape = [1] * t.ndim
    shape[axis] = t.shape[axis]

    def along(v: Any) -> Tensor:
        return _s.reshape(as_tensor(v), shape)

    out = _m.div(_m.sub(t, along(mean)), _m.sqrt(_m.add(along(variance), epsilon)))
    if scale is not None:
        out = _m.mul(out, along(scale))
    return out if offset is None else _m.add(out, along(offset))


def layer_normalization(x: Any, gamma: Any = None, beta: Any = None, axis: int = -1, epsilon: float | None = None,
                        **kwargs: Any) -> Tensor:
    """Normalise over `axis` per sample, then scale by gamma and shift by beta."""
    t = _f(x)
    mean, var = moments(t, axis, keepdims=True)
    out = _m.div(_m.sub(t, mean), _m.sqrt(_m.add(var, 1e-3 if epsilon is None else epsilon)))
    if gamma is not None:
        out = _m.mul(out, gamma)
    return out if beta is None else _m.add(out, beta)


def rms_normalization(x: Any, scale: Any = 1, axis: int = -1, epsilon: float | None = None) -> Tensor:
    """x / sqrt(mean(x**2) + epsilon) * scale."""
    t = _f(x)
    eps = _EPS if epsilon is None else epsilon
    return _m.mul(_m.div(t, _m.sqrt(_m.add(_m.mean(_m.square(t), axis=axis, keepdims=True), eps))), scale)


# ----------------------------------------------------------------------------- losses (per sample, no reduction)
def binary_crossentropy(target: Any, output: Any, from_logits: bool = False) -> Tensor:
    """Elementwise binary cross-entropy (Keras clips probabilities to [1e-7, 1 - 1e-7])."""
    t, o = _f(target), _f(output)
    if from_logits:
        return _m.add(_m.sub(_a.relu(o), _m.mul(o, t)), _a.softplus(_m.neg(_m.abs(o))))
    o = _m.clip(o, _EPS, 1 - _EPS)
    return _m.neg(_m.add(_m.mul(t, _m.log(o)), _m.mul(_m.sub(1.0, t), _m.log(_m.sub(1.0, o)))))


def categorical_crossentropy(target: Any, output: Any, from_logits: bool = False, axis: int = -1) -> Tensor:
    """-sum(target * log(p)) along `axis`, one value per sample."""
    t, o = _f(target), _f(output)
    if from_logits:
        logp = _a.log_softmax(o, axis=axis)
    else:
        o = _m.div(o, _m.sum(o, axis=axis, keepdims=True))
        logp = _m.log(_m.clip(o, _EPS, 1 - _EPS))
    return _m.neg(_m.sum(_m.mul(t, logp), axis=axis))


def sparse_categorical_crossentropy(target: Any, output: Any, from_logits: bool = False, axis: int = -1) -> Tensor:
    """categorical_crossentropy with integer class labels."""
    o = _f(output)
    labels = np.asarray(arr(target)).astype(np.int64)
    if labels.ndim == o.ndim:
        labels = labels.squeeze(axis)
    return categorical_crossentropy(one_hot(labels, o.shape[axis], axis=axis, dtype=o.data.dtype), o, from_logits,
                                    axis)


# ----------------------------------------------------------------------------- convolution and pooling
def _rank(x: Tensor, name: str) -> int:
    rank = x.ndim - 2
    if rank not in (1, 2):
        raise ValueError(f"{name}: inputs of rank 3 (1-D) or 4 (2-D images) are supported, got shape {x.shape}")
    return rank


def _channels_last(data_format: str | None) -> str:
    return data_format or "channels_last"


def conv(inputs: Any, kernel: Any, strides: Any = 1, padding: str = "valid", data_format: str | None = None,
         dilation_rate: Any = 1) -> Tensor:
    """N-D convolution (1-D and 2-D), kernels (k..., in, out) as in Keras."""
    x = _f(inputs)
    fn = _c.conv1d if _rank(x, "conv") == 1 else _c.conv2d
    return fn(x, kernel, None, strides=strides, padding=padding, dilation=dilation_rate,
              data_format=_channels_last(data_format))


def depthwise_conv(inputs: Any, kernel: Any, strides: Any = 1, padding: str = "valid", data_format: str | None = None,
                   dilation_rate: Any = 1) -> Tensor:
    """Depthwise 2-D convolution, kernel (kh, kw, in, multiplier)."""
    x = _f(inputs)
    if _rank(x, "depthwise_conv") != 2:
        raise ValueError("depthwise_conv: only 2-D inputs are supported")
    return _c.depthwise_conv2d(x, kernel, None, strides=strides, padding=padding, dilation=dilation_rate,
                               data_format=_channels_last(data_format))


def separable_conv(inputs: Any, depthwise_kernel: Any, pointwise_kernel: Any, strides: Any = 1,
                   padding: str = "valid", data_format: str | None = None, dilation_rate: Any = 1) -> Tensor:
    """A depthwise convolution followed by a 1x1 convolution."""
    y = depthwise_conv(inputs, depthwise_kernel, strides, padding, data_format, dilation_rate)
    return conv(y, pointwise_kernel, 1, "valid", data_format)


def conv_transpose(inputs: Any, kernel: Any, strides: Any = 1, padding: str = "valid", output_padding: Any = None,
                   data_format: str | None = None, dilation_rate: Any = 1) -> Tensor:
    """Transposed convolution (1-D and 2-D), kernel (k..., out, in) as in Keras."""
    x = _f(inputs)
    fn = _c.conv1d_transpose if _rank(x, "conv_transpose") == 1 else _c.conv2d_transpose
    return fn(x, kernel, None, strides=strides, padding=padding, output_padding=output_padding,
              dilation=dilation_rate, data_format=_channels_last(data_format))


def max_pool(inputs: Any, pool_size: Any, strides: Any = None, padding: str = "valid",
             data_format: str | None = None) -> Tensor:
    x = _f(inputs)
    fn = _p.max_pool1d if _rank(x, "max_pool") == 1 else _p.max_pool2d
    return fn(x, pool_size, strides, padding, data_format=_channels_last(data_format))


def average_pool(inputs: Any, pool_size: Any, strides: Any = None, padding: str = "valid",
                 data_format: str | None = None) -> Tensor:
    x = _f(inputs)
    fn = _p.avg_pool1d if _rank(x, "average_pool") == 1 else _p.avg_pool2d
    return fn(x, pool_size, strides, padding, data_format=_channels_last(data_format))


def dot_product_attention(query: Any, key: Any, value: Any, bias: Any = None, mask: Any = None,
                          scale: float | None = None, is_causal: bool = False, **kwargs: Any) -> Tensor:
    """softmax(q k^T * scale + bias, masked) v for (batch, time, heads, depth) tensors, as keras.ops."""
    q, k, v = _f(query), _f(key), _f(value)
    scale = 1.0 / np.sqrt(q.shape[-1]) if scale is None else scale
    qh, kh, vh = (_s.transpose(t, (0, 2, 1, 3)) for t in (q, k, v))
    logits = _m.mul(_m.matmul(qh, _s.transpose(kh, (0, 1, 3, 2))), float(scale))
    if bias is not None:
        logits = _m.add(logits, bias)
    keep = np.ones(logits.shape, dtype=bool)
    if mask is not None:
        keep &= np.asarray(arr(mask), dtype=bool)
    if is_causal:
        keep &= np.tril(np.ones(logits.shape[-2:], dtype=bool))
    if mask is not None or is_causal:
        logits = _m.where(keep, logits, np.finfo(np.float32).min)
    out = _m.matmul(_a.softmax(logits, axis=-1), vh)
    return _s.transpose(out, (0, 2, 1, 3))


def psnr(x1: Any, x2: Any, max_val: float) -> Tensor:
    """Peak signal-to-noise ratio in dB: 20 log10(max_val) - 10 log10(mse)."""
    mse = _m.mean(_m.square(_m.sub(_f(x1), _f(x2))))
    return _m.sub(20 * np.log10(max_val), _m.mul(10.0 / np.log(10.0), _m.log(mse)))


__all__ = [n for n in dir() if not n.startswith("_") and n not in {
    "Any", "Tensor", "annotations", "arr", "as_tensor", "axis_tuple", "np"}]
