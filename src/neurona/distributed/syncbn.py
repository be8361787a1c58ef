"""Synchronised batch normalisation: the batch mean and variance of every BatchNormalization taken over
the whole global batch (all ranks' shards), so 2 ranks train like one process on the same global batch.

`DataParallel(sync_batchnorm=True)` attaches a `BatchNormSync` to each BatchNormalization layer for the
length of a fit; the batch_norm op then asks it for the statistics (forward) and for the sums its
backward needs. Per layer and step this costs three small Allreduces (features + 1, features and
2 x features numbers): the column sums and row count, the squared deviations, and the gradient sums.

The backward, with G = dL/dy for the global mean loss L = sum_r share_r L_r (L_r the rank's mean loss,
share_r its fraction of the global batch) and the averager later weighting each rank's gradient by
share_r: rank r's input gradient is scale * (g - (sum_r share_r gbeta_r + xhat * sum_r share_r ggamma_r) / m_r),
with g, gbeta, ggamma, m_r the rank's own; gamma's and beta's gradients stay the rank's own sums.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import comm


class BatchNormSync:
    """The collectives one BatchNormalization layer needs during a synchronised fit."""

    def __init__(self, shards: Any) -> None:
        self.shards = shards  # .share: this rank's fraction of the current global batch

    def statistics(self, x2: np.ndarray, ones: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(mean, x2 - mean, biased variance) of the (rows, features) input over all ranks' rows."""
        sums = np.empty(x2.shape[1] + 1, x2.dtype)
        sums[:-1] = ones @ x2
        sums[-1] = x2.shape[0]
        comm.allreduce_sum(sums)
        rows = sums[-1]
        mean = sums[:-1] / rows
        xhat = x2 - mean
        squares = np.ascontiguousarray(ones @ (xhat * xhat))
        comm.allreduce_sum(squares)
        return mean, xhat, squares / rows

    def gradient_sums(self, gbeta: np.ndarray, ggamma: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """sum over ranks of share_r * gbeta_r and of share_r * ggamma_r."""
        d = gbeta.size
        buf = np.empty(2 * d, gbeta.dtype)
        np.multiply(gbeta, self.shards.share, out=buf[:d], casting="same_kind")
        np.multiply(ggamma, self.shards.share, out=buf[d:], casting="same_kind")
        comm.allreduce_sum(buf)
        return buf[:d], buf[d:]


def batchnorm_layers(model: Any) -> list[Any]:
    """Every BatchNormalization layer of the model, nested ones included."""
    from ..layers.normalization import BatchNormalization
    from ..models.custom import _all_layers

    return [layer for layer in _all_layers(model) if isinstance(layer, BatchNormalization)]


def attach(model: Any, shards: Any) -> list[Any]:
    """Give each BatchNormalization of the model a BatchNormSync; returns the layers (for `detach`)."""
    layers = batchnorm_layers(model)
    for layer in layers:
        layer._sync = BatchNormSync(shards)
    return layers


def detach(layers: list[Any]) -> None:
    for layer in layers:
        layer.__dict__.pop("_sync", None)
