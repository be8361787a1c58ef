"""Masks as metric weights, as Keras does: a prediction that carries a mask (padded steps, from
`Embedding(mask_zero=True)` or `Masking` through recurrent layers) updates the compiled metrics with the mask as
(part of) the sample weight, so padded steps change nothing in, e.g., the accuracy of a return_sequences model.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def mask_as_sample_weight(sample_weight: Any, mask: Any) -> Any:
    """The weight a compiled metric gets: `sample_weight` when there is no mask, else the mask (0/1 per entry,
    Keras's `apply_mask` with reduction "sum") times the sample weight, brought to the same rank."""
    if mask is None:
        return sample_weight
    m = np.asarray(getattr(mask, "data", mask)).astype(np.float64)
    if sample_weight is None:
        return m
    sw = np.asarray(getattr(sample_weight, "data", sample_weight), dtype=np.float64)
    while sw.ndim > m.ndim and sw.shape[-1] == 1:  # Keras's squeeze_or_expand_to_same_rank
        sw = sw[..., 0]
    while sw.ndim < m.ndim:
        sw = sw[..., None]
    return sw * m
