"""Positional information for attention, which by itself ignores order (KerasHub's names):
SinePositionEncoding (fixed sinusoids), PositionEmbedding (a learned row per position) and
TokenAndPositionEmbedding (token embedding + learned position embedding, the usual transformer input).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import ops
from ..tensor import Tensor
from .base import InputSpec, Layer, serialize_object
from .embedding import Embedding


def sinusoids(length: int, dim: int, max_wavelength: float = 10000.0, dtype: Any = "float32") -> np.ndarray:
    """(length, dim) table: even features sin(p / w^(2i/dim)), odd features cos (Vaswani et al., KerasHub)."""
    pos = np.arange(length, dtype=np.float64)[:, None]
    i = np.arange(dim)
    timescales = (1.0 / max_wavelength) ** ((2 * (i // 2)) / dim)
    angles = pos * timescales[None]
    return np.where(i % 2 == 0, np.sin(angles), np.cos(angles)).astype(dtype)


class SinePositionEncoding(Layer):
    """Returns the sinusoidal encoding for inputs (batch, steps, dim): add it to the inputs yourself.

    >>> import numpy as np
    >>> [round(float(v), 3) for v in SinePositionEncoding()(np.zeros((1, 3, 4), "float32")).data[0, 1]]
    [0.841, 0.54, 0.01, 1.0]
    """

    def __init__(self, max_wavelength: float = 10000.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if max_wavelength <= 0:
            raise ValueError(f"SinePositionEncoding '{self.name}': max_wavelength must be > 0, got {max_wavelength}")
        self.max_wavelength = float(max_wavelength)
        self.input_spec = InputSpec(min_ndim=3, hint="(batch, steps, features)")

    def call(self, inputs):
        shape = inputs.shape
        table = sinusoids(shape[-2], shape[-1], self.max_wavelength, inputs.dtype)
        return Tensor(np.broadcast_to(table, shape).copy())  # a constant: no gradient flows back

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "max_wavelength": self.max_wavelength}


class PositionEmbedding(Layer):
    """A learned (sequence_length, dim) table; returns its first `steps` rows broadcast to the input's shape.

    >>> import numpy as np
    >>> PositionEmbedding(10)(np.zeros((2, 3, 4), "float32")).shape
    (2, 3, 4)
    """

    def __init__(self, sequence_length: int, initializer: Any = "glorot_uniform", **kwargs: Any) -> None:
        from .. import initializers

        super().__init__(**kwargs)
        if isinstance(sequence_length, bool) or not isinstance(sequence_length, (int, np.integer)) \
                or sequence_length <= 0:
            raise ValueError(f"PositionEmbedding '{self.name}': sequence_length must be a positive integer, "
                             f"got {sequence_length!r}")
        self.sequence_length = int(sequence_length)
        self.initializer = initializers.get(initializer)
        self.input_spec = InputSpec(ndim=3, hint="(batch, steps, features)")

    def build(self, input_shape):
        self.position_embeddings = self.add_weight("embeddings", (self.sequence_length, input_shape[-1]),
                                                   self.initializer)

    def call(self, inputs):
        steps = inputs.shape[1]
        if steps > self.sequence_length:
            raise ValueError(f"PositionEmbedding '{self.name}' holds {self.sequence_length} positions, got inputs "
                             f"of shape {inputs.shape} with {steps} steps")
        rows = self.position_embeddings[:steps] if steps < self.sequence_length else self.position_embeddings
        return ops.broadcast_to(rows, inputs.shape)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        from .. import initializers

        return {**super().get_config(), "sequence_length": self.sequence_length,
                "initializer": serialize_object(self.initializer, initializers)}


class TokenAndPositionEmbedding(Layer):
    """ids (batch, steps) -> token embedding + learned position embedding, (batch, steps, embedding_dim).

    With `mask_zero=True` id 0 is padding and the output carries the mask ids != 0.

    >>> import numpy as np
    >>> TokenAndPositionEmbedding(20, 8, 4)(np.array([[3, 5, 0]])).shape
    (1, 3, 4)
    """

    cast_inputs = False  # ids stay integers

    def __init__(self, vocabulary_size: int, sequence_length: int, embedding_dim: int, mask_zero: bool = False,
                 embeddings_initializer: Any = "uniform", **kwargs: Any) -> None:
        from .. import initializers

        super().__init__(**kwargs)
        self.vocabulary_size, self.sequence_length = int(vocabulary_size), int(sequence_length)
        self.embedding_dim, self.mask_zero = int(embedding_dim), bool(mask_zero)
        self.embeddings_initializer = initializers.get(embeddings_initializer)
        self.supports_masking = self.mask_zero
        self.token_embedding = Embedding(self.vocabulary_size, self.embedding_dim, self.embeddings_initializer,
                                         name=f"{self.name}_token_embedding")
        self.position_embedding = PositionEmbedding(self.sequence_length, self.embeddings_initializer,
                                                    name=f"{self.name}_position_embedding")
        self.input_spec = InputSpec(ndim=2, hint="(batch, steps)")

    def build(self, input_shape):
        self.token_embedding.build(tuple(input_shape))
        self.position_embedding.build((*input_shape, self.embedding_dim))

    def call(self, inputs):
        tokens = self.token_embedding(inputs)
        return tokens + self.position_embedding(tokens)

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        if not self.mask_zero:
            return None
        ids = inputs.data if isinstance(inputs, Tensor) else np.asarray(inputs)
        return ids != 0

    def compute_output_shape(self, input_shape):
        return (*input_shape, self.embedding_dim)

    def get_config(self):
        from .. import initializers

        return {**super().get_config(), "vocabulary_size": self.vocabulary_size,
                "sequence_length": self.sequence_length, "embedding_dim": self.embedding_dim,
                "mask_zero": self.mask_zero,
                "embeddings_initializer": serialize_object(self.embeddings_initializer, initializers)}


__all__ = ["PositionEmbedding", "SinePositionEncoding", "TokenAndPositionEmbedding", "sinusoids"]
