"""tf.nn: activations, the cross-entropies with logits, conv2d, max_pool and dropout, as graph nodes."""

from __future__ import annotations

from typing import Any

import numpy as np

from ... import ops
from ...random import get_rng
from ...tensor import Tensor as EngineTensor
from .graph import Tensor, convert_to_tensor, shape_text
from .math_ops import _rng, _unary, add, node

relu, sigmoid, tanh = _unary("Relu", ops.relu), _unary("Sigmoid", ops.sigmoid), _unary("Tanh", ops.tanh)


def softmax(logits: Any, axis: int = -1, name: str | None = None) -> Tensor:
    x = convert_to_tensor(logits)
    return node("Softmax", [x], lambda t: ops.softmax(t, axis), x.shape, name=name)


def log_softmax(logits: Any, axis: int = -1, name: str | None = None) -> Tensor:
    x = convert_to_tensor(logits)
    return node("LogSoftmax", [x], lambda t: ops.log_softmax(t, axis), x.shape, name=name)


def bias_add(value: Any, bias: Any, name: str | None = None) -> Tensor:
    return add(value, bias, name=name or "BiasAdd")


def l2_loss(t: Any, name: str | None = None) -> Tensor:
    """sum(t ** 2) / 2."""
    x = convert_to_tensor(t)
    return node("L2Loss", [x], lambda v: ops.sum(ops.square(v)) * 0.5, (), name=name)


def _check_same(labels: Tensor, logits: Tensor, kind: str) -> None:
    if labels.shape is not None and logits.shape is not None and (
            len(labels.shape) != len(logits.shape) or any(a is not None and b is not None and a != b
                                                          for a, b in zip(labels.shape, logits.shape))):
        raise ValueError(f"{kind}: labels {shape_text(labels.shape)} and logits {shape_text(logits.shape)} "
                         f"must have the same shape")


def softmax_cross_entropy_with_logits_v2(labels: Any = None, logits: Any = None, axis: int = -1,
                                         name: str | None = None, dim: int | None = None) -> Tensor:
    """Per-example -sum(labels * log_softmax(logits)): one value per row, to be averaged by reduce_mean."""
    if labels is None or logits is None:
        raise ValueError("Only call softmax_cross_entropy_with_logits with named arguments (labels=..., logits=...)")
    y, z = convert_to_tensor(labels), convert_to_tensor(logits)
    _check_same(y, z, "softmax_cross_entropy_with_logits")
    ax = axis if dim is None else dim

    def fn(t: EngineTensor, lg: EngineTensor) -> EngineTensor:
        return ops.neg(ops.sum(ops.mul(t, ops.log_softmax(lg, ax)), ax))

    shape = None if z.shape is None else tuple(d for i, d in enumerate(z.shape) if i != ax % len(z.shape))
    return node("SoftmaxCrossEntropyWithLogits", [y, z], fn, shape, z.dtype, name)


def softmax_cross_entropy_with_logits(labels: Any = None, logits: Any = None, axis: int = -1,
                                      name: str | None = None, dim: int | None = None) -> Tensor:
    """TF1's version: as `_v2` but no gradient reaches the labels."""
    y = convert_to_tensor(labels) if labels is not None else None
    if y is not None:
        y = node("StopGradient", [y], lambda t: EngineTensor(t.data), y.shape)
    return softmax_cross_entropy_with_logits_v2(y, logits, axis, name, dim)


def sparse_softmax_cross_entropy_with_logits(labels: Any = None, logits: Any = None,
                                             name: str | None = None) -> Tensor:
    """Per-example cross-entropy against integer class labels (shape: logits without the last axis)."""
    if labels is None or logits is None:
        raise ValueError("Only call sparse_softmax_cross_entropy_with_logits with named arguments")
    y, z = convert_to_tensor(labels), convert_to_tensor(logits)
    if y.dtype.kind not in "iu":
        raise TypeError(f"sparse_softmax_cross_entropy_with_logits: labels must be int32 or int64, got {y.dtype}")

    def fn(t: EngineTensor, lg: EngineTensor) -> EngineTensor:
        k = lg.shape[-1]
        if t.data.size and (t.data.min() < 0 or t.data.max() >= k):
            raise ValueError(f"Received a label value of {int(t.data.max())} which is outside the valid range "
                             f"of [0, {k}).")
        onehot = np.eye(k, dtype=lg.dtype)[t.data]
        return ops.neg(ops.sum(ops.mul(onehot, ops.log_softmax(lg, -1)), -1))

    return node("SparseSoftmaxCrossEntropyWithLogits", [y, z], fn, y.shape, z.dtype, name)


def _hw(v: Any, what: str) -> tuple[int, int]:
    v = [v] * 4 if isinstance(v, int) else list(v)
    if len(v) == 2:
        return int(v[0]), int(v[1])
    if len(v) != 4 or v[0] != 1 or v[3] != 1:
        raise ValueError(f"{what} must be [1, h, w, 1] (NHWC) or [h, w], got {v}")
    return int(v[1]), int(v[2])


def _out_len(n: int | None, k: int, s: int, padding: str) -> int | None:
    if n is None:
        return None
    return -(-n // s) if padding == "same" else (n - k) // s + 1


def _padding(padding: str) -> str:
    p = str(padding).lower()
    if p not in ("same", "valid"):
        raise ValueError(f"padding must be 'SAME' or 'VALID', got {padding!r}")
    return p


def conv2d(input: Any, filter: Any = None, strides: Any = None, padding: str = "VALID",  # noqa: A002
           data_format: str = "NHWC", name: str | None = None, filters: Any = None, **_: Any) -> Tensor:
    """2-D convolution of NHWC images with an HWIO filter (the layout TensorFlow and Keras use)."""
    x, w = convert_to_tensor(input), convert_to_tensor(filter if filters is None else filters)
    if data_format != "NHWC":
        raise ValueError(f"only data_format='NHWC' is supported, got {data_format!r}")
    s, p = _hw(strides or 1, "strides"), _padding(padding)
    shape = None
    if x.shape is not None and w.shape is not None:
        if x.shape[3] is not None and x.shape[3] != w.shape[2]:
            raise ValueError(f"Depth of input ({x.shape[3]}) is not equal to the input depth of filter "
                             f"({w.shape[2]}) for 'Conv2D'")
        shape = (x.shape[0], _out_len(x.shape[1], w.shape[0], s[0], p), _out_len(x.shape[2], w.shape[1], s[1], p),
                 w.shape[3])
    return node("Conv2D", [x, w], lambda a, k: ops.conv2d(a, k, strides=s, padding=p), shape, name=name)


def max_pool(value: Any, ksize: Any, strides: Any, padding: str, data_format: str = "NHWC",
             name: str | None = None) -> Tensor:
    """Largest value of each ksize window of NHWC images."""
    x = convert_to_tensor(value)
    k, s, p = _hw(ksize, "ksize"), _hw(strides, "strides"), _padding(padding)
    shape = None if x.shape is None else (x.shape[0], _out_len(x.shape[1], k[0], s[0], p),
                                          _out_len(x.shape[2], k[1], s[1], p), x.shape[3])
    return node("MaxPool", [x], lambda a: ops.max_pool2d(a, pool_size=k, strides=s, padding=p), shape, name=name)


def dropout(x: Any, keep_prob: Any = None, noise_shape: Any = None, seed: int | None = None,
            name: str | None = None, rate: Any = None) -> Tensor:
    """Keep each value with probability keep_prob (a number or a fed placeholder), scaled by 1/keep_prob."""
    if (keep_prob is None) == (rate is None):
        raise ValueError("dropout needs exactly one of keep_prob= (TF1) or rate=")
    t = convert_to_tensor(x)
    keep = convert_to_tensor(keep_prob if rate is None else 1 - rate if not isinstance(rate, Tensor) else rate)
    if keep.dtype != t.dtype:
        keep = convert_to_tensor(np.asarray(keep_prob, t.dtype)) if not isinstance(keep_prob, Tensor) else keep
    rng, complement = _rng(seed) if seed is not None else None, rate is not None and isinstance(rate, Tensor)

    def fn(a: EngineTensor, k: EngineTensor) -> EngineTensor:
        p = float(1 - k.data) if complement else float(k.data)
        if not 0 < p <= 1:
            raise ValueError(f"keep_prob must be in (0, 1], got {p}")
        if p == 1:
            return a
        mask = (rng or get_rng()).random(a.shape) < p
        return ops.mul(a, (mask / p).astype(a.dtype))

    return node("Dropout", [t, keep], fn, t.shape, name=name)


__all__ = ["bias_add", "conv2d", "dropout", "l2_loss", "log_softmax", "max_pool", "relu", "sigmoid", "softmax",
           "softmax_cross_entropy_with_logits", "softmax_cross_entropy_with_logits_v2",
           "sparse_softmax_cross_entropy_with_logits", "tanh"]
