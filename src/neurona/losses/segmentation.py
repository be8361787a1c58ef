"""The Dice loss (keras.losses.Dice): 1 - 2 sum(y_true y_pred) / (sum(y_true) + sum(y_pred) + eps).

Where cross-entropy weighs every pixel alike, Dice measures the overlap of the predicted and true masks, so a
small object on a large background (a thin road, a lesion) is not drowned by the easy background pixels.
With `axis=None` (Keras's default) the sums run over the whole batch and the loss is one number; with
`axis=(1, 2, 3)` there is one loss per image, then reduced as any loss.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import ops
from ..tensor import Tensor, as_tensor
from .base import EPSILON, LossFunctionWrapper


def dice(y_true: Any, y_pred: Any, axis: Any = None) -> Tensor:
    """1 - Dice coefficient of `y_true` and `y_pred` (probabilities), summed over `axis` (None: everything)."""
    y_pred = as_tensor(y_pred)
    t = y_true.data if isinstance(y_true, Tensor) else np.asarray(y_true)
    t = t.astype(y_pred.dtype)
    if t.shape != y_pred.shape:
        raise ValueError(f"dice: y_true of shape {t.shape} does not match y_pred of shape {y_pred.shape}")
    axis = tuple(axis) if isinstance(axis, (list, tuple)) else axis
    intersection = ops.sum(y_pred * t, axis=axis)
    denominator = ops.sum(y_pred, axis=axis) + np.asarray(t.sum(axis=axis) + EPSILON, y_pred.dtype)
    return 1.0 - 2.0 * intersection / denominator


class Dice(LossFunctionWrapper):
    """The Dice loss, with Keras's name and arguments (`axis`: the axes summed over, None for all)."""

    def __init__(self, reduction: str | None = "sum_over_batch_size", name: str = "dice", axis: Any = None,
                 dtype: Any = None) -> None:
        super().__init__(dice, reduction=reduction, name=name, dtype=dtype, axis=axis)
