"""Differentiable image resampling for the augmentation layers: affine warps and flips.

The warps themselves are plain NumPy in `neurona.preprocessing.transforms` (shared with
ImageDataGenerator); these ops add their backward so augmentation layers can sit inside a model.
"""

from __future__ import annotations

import numpy as np

from ..tensor import Function


class AffineResample(Function):
    """Resample images through per-image inverse matrices; backward scatters the gradient back."""

    def __init__(self, matrices: np.ndarray, fill_mode: str, cval: float, order: int) -> None:
        self.matrices, self.fill_mode, self.cval, self.order = matrices, fill_mode, cval, order

    def forward(self, x):
        from ..preprocessing.transforms import apply_affine

        return apply_affine(x, self.matrices, self.fill_mode, self.cval, self.order).astype(x.dtype, copy=False)

    def backward(self, gy):
        from ..preprocessing.transforms import apply_affine_backward

        return apply_affine_backward(gy, self.matrices, self.fill_mode, self.order)


class Flip(Function):
    """Mirror the chosen images left-right and/or upside down; a flip is its own gradient."""

    def __init__(self, horizontal: np.ndarray, vertical: np.ndarray) -> None:
        self.horizontal, self.vertical = horizontal, vertical

    def _apply(self, x: np.ndarray) -> np.ndarray:
        out = x.copy()
        out[self.horizontal] = out[self.horizontal, :, ::-1]
        out[self.vertical] = out[self.vertical, ::-1]
        return out

    def forward(self, x):
        return self._apply(x)

    def backward(self, gy):
        return self._apply(gy)


__all__ = ["AffineResample", "Flip"]
