"""Batch and layer normalisation, each one op with its whole backward written out.

Both work on a (rows, features) view of the input: batch normalisation averages each feature over
the rows (every sample and pixel), layer normalisation each row over its features. The backward of
x̂ = (x - mean) / sqrt(var + eps) is fused, so no intermediate graph is kept.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import numerics
from ..tensor import Function, Tensor, as_tensor, is_grad_enabled
from .workspace import op_buffer, scratch


def _axes(axis: int | Sequence[int], ndim: int, name: str) -> tuple[int, ...]:
    items = [axis] if isinstance(axis, (int, np.integer)) else list(axis)
    out = []
    for a in items:
        if not -ndim <= a < ndim:
            raise ValueError(f"{name}: axis {axis} is out of range for a {ndim}-D input")
        out.append(int(a) % ndim)
    if len(set(out)) != len(out) or not out:
        raise ValueError(f"{name}: axis must name distinct axes, got {axis!r}")
    return tuple(sorted(out))


def _rows(x: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    """x as (rows, features), the feature `axes` last (a view for channels_last inputs)."""
    d = math.prod([x.shape[a] for a in axes])  # math.prod: np.prod on a short list costs microseconds per call
    if axes != tuple(range(x.ndim - len(axes), x.ndim)):
        x = np.moveaxis(x, axes, range(-len(axes), 0))
    return x.reshape(-1, d)


def _unrows(y2: np.ndarray, shape: tuple[int, ...], axes: tuple[int, ...]) -> np.ndarray:
    """Undo `_rows`: back to `shape` with the feature axes where they were."""
    k = len(axes)
    if axes == tuple(range(len(shape) - k, len(shape))):
        return y2.reshape(shape)
    moved = tuple(s for i, s in enumerate(shape) if i not in axes) + tuple(shape[a] for a in axes)
    return np.moveaxis(y2.reshape(moved), range(-k, 0), axes)


class BatchNorm(Function):
    """gamma * (x - mean) / sqrt(var + eps) + beta per feature.

    Training uses the batch's mean and (biased) variance, kept on `batch_mean`/`batch_var` for the
    caller's moving averages; inference uses the moving statistics given.
    """

    def __init__(self, axes, epsilon: float, training: bool, moving=None, has_gamma=True, has_beta=True,
                 sync: Any = None) -> None:
        self.axes, self.eps, self.training, self.moving = axes, epsilon, training, moving
        self.has_gamma, self.has_beta = has_gamma, has_beta
        self.sync = sync if training else None  # statistics over all ranks' batches (neurona.distributed)

    def forward(self, x, *params):
        gamma = params[0].reshape(-1) if self.has_gamma else None
        beta = params[-1].reshape(-1) if self.has_beta else None
        x2 = _rows(x, self.axes)
        m = x2.shape[0]
        ones = np.ones(m, x2.dtype)
        if self.sync is not None:
            mean, xhat, var = self.sync.statistics(x2, ones)
            self.batch_mean, self.batch_var = mean, var
        elif self.training:
            mean = ones @ x2 / m  # column sums as a small matmul (docs/performance.md)
            xhat = x2 - mean
            var = ones @ (xhat * xhat) / m
            self.batch_mean, self.batch_var = mean, var
        else:
            mean, var = (np.asarray(s, x2.dtype).reshape(-1) for s in self.moving)
            xhat = x2 - mean
        invstd = (1.0 / np.sqrt(var + self.eps)).astype(x2.dtype, copy=False)
        xhat *= invstd
        y = xhat * gamma if gamma is not None else xhat.copy()
        if beta is not None:
            y += beta
        self.xhat, self.invstd, self.gamma, self.shape, self.ones = xhat, invstd, gamma, x.shape, ones
        return _unrows(y, x.shape, self.axes)

    def backward(self, gy):
        g = _rows(gy, self.axes)
        xhat, ones = self.xhat, self.ones
        gbeta = ones @ g
        ggamma = ones @ (g * xhat)
        scale = self.invstd if self.gamma is None else self.gamma * self.invstd
        if self.sync is not None:
            total_beta, total_gamma = self.sync.gradient_sums(gbeta, ggamma)
            gx = (g - (total_beta + xhat * total_gamma) / g.shape[0]) * scale
        elif self.training:
            # d/dx of x̂ through the batch mean and variance, all in one line
            gx = (g - (gbeta + xhat * ggamma) / g.shape[0]) * scale
        else:
            gx = g * scale
        grads = [_unrows(gx, self.shape, self.axes)]
        if self.has_gamma:
            grads.append(ggamma.reshape(self.inputs[1].shape))
        if self.has_beta:
            grads.append(gbeta.reshape(self.inputs[-1].shape))
        return tuple(grads)


class LayerNorm(Function):
    """gamma * (x - mean) / sqrt(var + eps) + beta with statistics over each sample's `axes`.

    In a replayed step x-hat (what backward needs) lives in a buffer of the op's own and the backward's
    temporaries in the thread's scratch (ops/workspace.py); inference keeps nothing."""

    _data_inputs = 1  # inputs before gamma and beta

    def __init__(self, axes, epsilon: float, has_gamma=True, has_beta=True) -> None:
        self.axes, self.eps, self.has_gamma, self.has_beta = axes, epsilon, has_gamma, has_beta

    def forward(self, x, *params):
        x2 = _rows(x, self.axes)
        xhat = self._xhat_buffer(x2.shape, x2.dtype)
        np.subtract(x2, self._row_means(x2), out=xhat)
        return self._normalize(xhat, x.shape, params)

    def _xhat_buffer(self, shape: tuple[int, ...], dtype: Any) -> np.ndarray:
        if is_grad_enabled():
            return op_buffer(self, "xhat", shape, dtype)
        self.xhat = None  # inference: nothing kept for backward
        # the backward's scratch (the same shape): one buffer for both, never live at once
        return scratch("layer_norm_gxhat", shape, dtype)

    @staticmethod
    def _row_means(x2: np.ndarray) -> np.ndarray:
        # Row sums as matrix-vector products against a ones vector (BLAS, instead of NumPy's slow reductions
        # over short rows) and as few passes over x as possible (docs/performance.md, #18/#13).
        return ((x2 @ numerics.ones(x2.shape[1], x2.dtype)) * x2.dtype.type(1 / x2.shape[1]))[:, None]

    def _normalize(self, xhat: np.ndarray, shape: tuple[int, ...], params: tuple) -> np.ndarray:
        """x-hat from x minus its row means (in place), then gamma * x-hat + beta as a new array of `shape`."""
        gamma = params[0].reshape(-1) if self.has_gamma else None
        beta = params[-1].reshape(-1) if self.has_beta else None
        n = xhat.shape[1]
        ones = numerics.ones(n, xhat.dtype)
        y = np.multiply(xhat, xhat)
        var = (y @ ones) * xhat.dtype.type(1 / n)
        var += xhat.dtype.type(self.eps)
        invstd = (1.0 / np.sqrt(var))[:, None]
        xhat *= invstd
        if gamma is not None:
            np.multiply(xhat, gamma, out=y)
        else:
            np.copyto(y, xhat)
        if beta is not None:
            y += beta
        if is_grad_enabled():
            self.xhat, self.invstd, self.gamma, self.shape = xhat, invstd, gamma, shape
        return _unrows(y, shape, self.axes)

    def backward(self, gy):
        g = _rows(gy, self.axes)
        xhat, gamma = self.xhat, self.gamma
        n = g.shape[1]
        inv_n = g.dtype.type(1 / n)
        # One scratch buffer serves two temporaries in turn (#18: the transformer's training peak): g * x-hat,
        # then x-hat * b
        work = scratch("layer_norm_gxhat", g.shape, g.dtype)
        gx_hat = np.multiply(g, xhat, out=work)
        # mean(g gamma) and mean(g gamma xhat) per row: products with gamma (or ones), no g * gamma array first
        vec = gamma if gamma is not None else numerics.ones(n, g.dtype)
        a = (g @ vec) * inv_n
        b = (gx_hat @ vec) * inv_n
        ones = numerics.ones(g.shape[0], g.dtype)
        ggamma = ones @ gx_hat if self.has_gamma else None  # before the buffer is reused
        gx = g * gamma if gamma is not None else g.copy()
        gx -= a[:, None]
        gx -= np.multiply(xhat, b[:, None], out=work)
        gx *= self.invstd
        grads = [_unrows(gx, self.shape, self.axes)]
        if ggamma is not None:
            grads.append(ggamma.reshape(self.inputs[self._data_inputs].shape))
        if self.has_beta:
            grads.append((ones @ g).reshape(self.inputs[-1].shape))
        return self._input_grads(grads)

    def _input_grads(self, grads: list[np.ndarray]) -> tuple[np.ndarray, ...]:
        return tuple(grads)


class AddLayerNorm(LayerNorm):
    """LayerNorm(x + y): a residual sum and its normalisation as one op (post-norm transformer blocks).

    The sum is formed in the buffer that becomes x-hat, so neither the sum nor a separate x-hat array is
    allocated, and one pass over the rows is saved; the values are those of `add` then `layer_norm`, bit for
    bit. Both inputs get the same gradient (returned once, for both: ops never write into a gradient)."""

    _data_inputs = 2

    def forward(self, x, y, *params):
        x2, y2 = _rows(x, self.axes), _rows(y, self.axes)
        r = self._xhat_buffer(x2.shape, np.result_type(x2, y2))
        np.add(x2, y2, out=r)
        r -= self._row_means(r)
        return self._normalize(r, x.shape, params)

    def _input_grads(self, grads: list[np.ndarray]) -> tuple[np.ndarray, ...]:
        return (grads[0], *grads)

    def minimum_saved_nbytes(self) -> int:
        """Bytes kept besides the output (the bench's algorithmic minimum): x-hat, the size of the residual sum
        that a separate `add` op would have output (so fusing the two leaves the minimum as it was)."""
        xhat = self.__dict__.get("xhat")
        return 0 if xhat is None else xhat.nbytes


def _check_params(name: str, x: Tensor, axes, gamma, beta) -> tuple[int, ...]:
    feature = tuple(x.shape[a] for a in axes)
    for label, p in (("gamma", gamma), ("beta", beta)):
        if p is not None:
            shape = tuple(getattr(p, "shape", np.shape(p)))
            if int(np.prod(shape)) != int(np.prod(feature)):
                raise ValueError(f"{name}: {label} shape {shape} does not match the feature shape {feature} "
                                 f"of input {x.shape} on axis {axes}")
    return feature


def batch_norm(
    x: Any,
    gamma: Any = None,
    beta: Any = None,
    moving_mean: Any = None,
    moving_var: Any = None,
    training: bool = False,
    momentum: float = 0.99,
    epsilon: float = 1e-3,
    axis: int | Sequence[int] = -1,
    sync: Any = None,
) -> Tensor:
    """Batch normalisation over every axis but `axis` (the features), as Keras's BatchNormalization.

    Training normalises by the batch statistics and, when moving statistics are given (arrays or
    Tensors), updates them in place: moving = moving * momentum + batch * (1 - momentum), with the
    biased batch variance, as Keras does. Inference normalises by the moving statistics. `sync` (set by
    neurona.distributed for synchronised batch norm) computes the training statistics over all ranks.
    """
    x = as_tensor(x)
    axes = _axes(axis, x.ndim, "batch_norm")
    feature = _check_params("batch_norm", x, axes, gamma, beta)
    moving = [m.data if isinstance(m, Tensor) else m for m in (moving_mean, moving_var)]
    if (moving[0] is None) != (moving[1] is None):
        raise ValueError("batch_norm: give both moving_mean and moving_var, or neither")
    for m in moving:
        if m is not None and np.size(m) != int(np.prod(feature)):
            raise ValueError(f"batch_norm: moving statistics of shape {np.shape(m)} do not match features {feature}")
    if not training and moving[0] is None:
        raise ValueError("batch_norm: inference (training=False) needs moving_mean and moving_var")
    fn = BatchNorm(axes, epsilon, training, moving if not training else None, gamma is not None, beta is not None,
                   sync)
    y = fn(x, *(p for p in (gamma, beta) if p is not None))
    if training and moving[0] is not None:
        for stat, batch in zip(moving, (fn.batch_mean, fn.batch_var)):
            stat[...] = stat * momentum + batch.reshape(stat.shape) * (1 - momentum)
    return y


def layer_norm(
    x: Any, gamma: Any = None, beta: Any = None, axis: int | Sequence[int] = -1, epsilon: float = 1e-3
) -> Tensor:
    """Normalise each sample over `axis` (the last by default), then scale by gamma and shift by beta."""
    x = as_tensor(x)
    axes = _axes(axis, x.ndim, "layer_norm")
    _check_params("layer_norm", x, axes, gamma, beta)
    fn = LayerNorm(axes, epsilon, gamma is not None, beta is not None)
    return fn(x, *(p for p in (gamma, beta) if p is not None))


def add_layer_norm(x: Any, y: Any, gamma: Any = None, beta: Any = None, axis: int | Sequence[int] = -1,
                   epsilon: float = 1e-3) -> Tensor:
    """layer_norm(x + y, ...) as one op (see `AddLayerNorm`); x and y must have the same shape."""
    x, y = as_tensor(x), as_tensor(y)
    if x.shape != y.shape:
        raise ValueError(f"add_layer_norm: the two inputs must have the same shape, got {x.shape} and {y.shape}")
    axes = _axes(axis, x.ndim, "add_layer_norm")
    _check_params("add_layer_norm", x, axes, gamma, beta)
    fn = AddLayerNorm(axes, epsilon, gamma is not None, beta is not None)
    return fn(x, y, *(p for p in (gamma, beta) if p is not None))
