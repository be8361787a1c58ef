"""Masks from Embedding(mask_zero=True) reach MultiHeadAttention and the pooling after it (seqa's propagation
feeding seqb's attention): padded steps change nothing, real steps do."""

import numpy as np
import pytest

import neurona as nr
from neurona import layers


def _model(pool: type) -> nr.models.Model:
    nr.utils.set_random_seed(0)
    ids = layers.Input((None,), dtype="int32")
    x = layers.Embedding(20, 8, mask_zero=True)(ids)
    x = layers.MultiHeadAttention(num_heads=2, key_dim=4)(x, x)
    return nr.models.Model(ids, pool()(x))


@pytest.mark.parametrize("pool", [layers.GlobalAveragePooling1D, layers.GlobalMaxPooling1D])
def test_padding_after_embedding_does_not_change_attention_output(pool):
    model = _model(pool)
    short = model.predict(np.array([[3, 5, 7, 0, 0]]), verbose=0)
    long = model.predict(np.array([[3, 5, 7, 0, 0, 0, 0]]), verbose=0)
    other = model.predict(np.array([[3, 5, 7, 9, 9]]), verbose=0)
    np.testing.assert_array_equal(short, long)
    assert np.abs(short - other).max() > 1e-4  # the mask hides padding only, not real tokens
