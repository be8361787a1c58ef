"""Batch and layer normalisation, each one op with its whole backward written out.

Both work on a (rows, features) view of the input: batch normalisation averages each feature over
the rows (every sample and pixel), layer normalisation each row over its features. The backward of
x̂ = (x - mean) / sqrt(var + eps) is fused, so no intermediate graph is kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import numerics
from ..tensor import Function, Tensor, as_tensor


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
    d = int(np.prod([x.shape[a] for a in axes]))
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
    """gamma * (x - mean) / sqrt(var + eps) + beta with statistics over each sample's `axes`."""

    def __init__(self, axes, epsilon: float, has_gamma=True, has_beta=True) -> None:
        self.axes, self.eps, self.has_gamma, self.has_beta = axes, epsilon, has_gamma, has_beta

    def forward(self, x, *params):
        # Row sums as matrix-vector products against a ones vector (BLAS, instead of NumPy's slow reductions
        # over short rows) and as few passes over x as possible (docs/performance.md, #18/#13).
        gamma = params[0].reshape(-1) if self.has_gamma else None
        beta = params[-1].reshape(-1) if self.has_beta else None
        x2 = _rows(x, self.axes)
        n = x2.shape[1]
        ones = numerics.ones(n, x2.dtype)
        inv_n = x2.dtype.type(1 / n)
        xhat = x2 - ((x2 @ ones) * inv_n)[:, None]
        y = np.multiply(xhat, xhat)
        var = (y @ ones) * inv_n
        var += x2.dtype.type(self.eps)
        invstd = (1.0 / np.sqrt(var))[:, None]
        xhat *= invstd
        if gamma is not None:
            np.multiply(xhat, gamma, out=y)
        else:
            np.copyto(y, xhat)
        if beta is not None:
            y += beta
        self.xhat, self.invstd, self.gamma, self.shape = xhat, invstd, gamma, x.shape
        return _unrows(y, x.shape, self.axes)

    def backward(self, gy):
        g = _rows(gy, self.axes)
        xhat, gamma = self.xhat, self.gamma
        n = g.shape[1]
        inv_n = g.dtype.type(1 / n)
        gx_hat = g * xhat
        # mean(g gamma) and mean(g gamma xhat) per row: products with gamma (or ones), no g * gamma array first
        vec = gamma if gamma is not None else numerics.ones(n, g.dtype)
        a = (g @ vec) * inv_n
        b = (gx_hat @ vec) * inv_n
        gx = g * gamma if gamma is not None else g.copy()
        gx -= a[:, None]
        gx -= xhat * b[:, None]
        gx *= self.invstd
        grads = [_unrows(gx, self.shape, self.axes)]
        ones = numerics.ones(g.shape[0], g.dtype)
        if self.has_gamma:
            grads.append((ones @ gx_hat).reshape(self.inputs[1].shape))
        if self.has_beta:
            grads.append((ones @ g).reshape(self.inputs[-1].shape))
        return tuple(grads)


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
