"""Embedding: integer ids -> rows of a trainable (input_dim, output_dim) table (Keras's layer)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..ops.shape import GetItem
from ..tensor import Tensor
from .base import Layer, serialize_object


class Embedding(Layer):
    """Looks up `embeddings[ids]`: input (batch, ...) of integers in [0, input_dim), output (..., output_dim).

    The backward scatter-adds into the rows that were used (repeated ids accumulate). With `mask_zero=True`
    id 0 is padding: the output carries the mask `ids != 0`, which the layers after it (LSTM, pooling, the
    loss) use to skip the padded steps, as in Keras.

    >>> import numpy as np
    >>> Embedding(10, 3)(np.array([[1, 2, 2]])).shape
    (1, 3, 3)
    """

    cast_inputs = False  # ids stay integers

    def __init__(self, input_dim: int, output_dim: int, embeddings_initializer: Any = "uniform",
                 embeddings_regularizer: Any = None, mask_zero: bool = False, **kwargs: Any) -> None:
        from .. import initializers, regularizers

        kwargs.pop("input_length", None)  # Keras 2 argument, not needed
        super().__init__(**kwargs)
        for what, v in (("input_dim", input_dim), ("output_dim", output_dim)):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v <= 0:
                raise ValueError(f"Embedding '{self.name}': {what} must be a positive integer, got {v!r}")
        self.input_dim, self.output_dim = int(input_dim), int(output_dim)
        self.embeddings_initializer = initializers.get(embeddings_initializer)
        self.embeddings_regularizer = regularizers.get(embeddings_regularizer)
        self.mask_zero = bool(mask_zero)

    def build(self, input_shape):
        self.embeddings = self.add_weight("embeddings", (self.input_dim, self.output_dim),
                                          self.embeddings_initializer, self.embeddings_regularizer)

    def call(self, inputs):
        ids = inputs.data if isinstance(inputs, Tensor) else np.asarray(inputs)
        if ids.dtype.kind == "f":
            if not np.all(ids == np.round(ids)):
                raise ValueError(f"Embedding '{self.name}' expects integer ids, got non-integer values")
            ids = ids.astype(np.int64)
        elif ids.dtype.kind not in "iu":
            raise TypeError(f"Embedding '{self.name}' expects integer ids, got dtype {ids.dtype}")
        if ids.size and (ids.min() < 0 or ids.max() >= self.input_dim):
            bad = ids.min() if ids.min() < 0 else ids.max()
            where = tuple(int(i) for i in np.argwhere(ids == bad)[0])
            raise ValueError(f"Embedding '{self.name}': id {int(bad)} is outside [0, {self.input_dim}) "
                             f"(input_dim={self.input_dim}; at position {where} of the ids of shape {ids.shape})")
        return GetItem(ids)(self.embeddings)

    def compute_mask(self, inputs, mask=None):
        """`ids != 0` when `mask_zero`, else None."""
        if not self.mask_zero:
            return None
        ids = inputs.data if isinstance(inputs, Tensor) else np.asarray(inputs)
        return ids != 0

    def compute_output_shape(self, input_shape):
        return tuple(input_shape) + (self.output_dim,)

    def get_config(self):
        from .. import initializers, regularizers

        return {**super().get_config(), "input_dim": self.input_dim, "output_dim": self.output_dim,
                "embeddings_initializer": serialize_object(self.embeddings_initializer, initializers),
                "embeddings_regularizer": serialize_object(self.embeddings_regularizer, regularizers),
                "mask_zero": self.mask_zero}


__all__ = ["Embedding"]
