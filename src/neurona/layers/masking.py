"""Masking: mark the time steps whose features all equal `mask_value` as padding (Keras's layer).

The mask travels with the tensor (`tensor._keras_mask`, see `layers.base.masked_call`) to the layers that
take a `mask=` argument: recurrent layers skip masked steps, 1-D global pooling ignores them, losses
average over the unmasked entries only.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..tensor import Tensor
from .base import Layer


class Masking(Layer):
    """Masks every step whose features all equal `mask_value`, and zeroes those steps in the output.

    >>> import numpy as np
    >>> x = np.array([[[1.0], [0.0], [2.0]]], dtype="float32")
    >>> Masking(0.0).compute_mask(x).tolist()
    [[True, False, True]]
    """

    supports_masking = True

    def __init__(self, mask_value: float = 0.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.mask_value = float(mask_value)

    def _keep(self, inputs: Any) -> np.ndarray:
        x = inputs.data if isinstance(inputs, Tensor) else np.asarray(inputs)
        if x.ndim < 2:
            raise ValueError(f"Masking '{self.name}' expects (batch, timesteps, ...) inputs, got shape {x.shape}")
        return np.any(x != self.mask_value, axis=-1)

    def call(self, inputs, training=False):
        keep = self._keep(inputs)
        return inputs * keep[..., None].astype(inputs.dtype)

    def compute_mask(self, inputs, mask=None):
        return self._keep(inputs)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "mask_value": self.mask_value}


def check_mask(layer: Layer, mask: Any, shape: tuple[int, ...]) -> np.ndarray | None:
    """`mask` as a bool (batch, timesteps) array, or a clear error naming the layer and both shapes."""
    if mask is None:
        return None
    m = np.asarray(mask.data if isinstance(mask, Tensor) else mask)
    if m.shape != tuple(shape[:2]):
        raise ValueError(f"{type(layer).__name__} '{layer.name}': the mask must have shape (batch, timesteps) = "
                         f"{tuple(shape[:2])} for inputs of shape {tuple(shape)}, got a mask of shape {m.shape}")
    return m.astype(bool)


__all__ = ["Masking", "check_mask"]
