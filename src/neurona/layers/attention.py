"""Attention layers with Keras's names and arguments: Attention (Luong), AdditiveAttention (Bahdanau) and,
from `multi_head_attention`, MultiHeadAttention.

Each call is one fused op (`neurona.ops.attention`): scores, masked softmax and the weighted sum of the
values, with a hand-written backward. Masks are boolean (True = real step), as Keras's:
`layer([query, value], mask=[query_mask, value_mask])`; a padded value step gets weight 0 and a padded
query step outputs zeros. `use_causal_mask=True` lets step i attend only to steps <= i.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..ops import attention as aops
from ..ops.shape import reshape
from ..tensor import Tensor
from .attention_common import as_mask, check_rate, keep_mask, reject_symbolic_kwargs
from .base import Layer
from .multi_head_attention import MultiHeadAttention
from .symbolic import _is_symbolic


class _BaseDenseAttention(Layer):
    """Shared by Attention and AdditiveAttention: inputs [query, value] or [query, value, key]."""

    def __init__(self, dropout: float = 0.0, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.supports_masking = True
        self.dropout = check_rate(self, dropout)
        self.seed = seed
        self._rng = None if seed is None else np.random.default_rng(seed)
        self._return_scores = False

    def __call__(self, inputs: Any, *args: Any, return_attention_scores: bool = False, **kwargs: Any) -> Any:
        self._return_scores = bool(return_attention_scores)
        if return_attention_scores:
            kwargs["return_attention_scores"] = True
        if _is_symbolic(inputs):
            reject_symbolic_kwargs(self, kwargs)
        return super().__call__(inputs, *args, **kwargs)

    def _split_shapes(self, shapes: Any) -> tuple[tuple, tuple, tuple]:
        who = f"{type(self).__name__} '{self.name}'"
        if not isinstance(shapes, list) or len(shapes) not in (2, 3):
            raise ValueError(f"{who} must be called on a list [query, value] or [query, value, key], got "
                             f"{'a list of ' + str(len(shapes)) if isinstance(shapes, list) else 'one'} input(s)")
        q, v = tuple(shapes[0]), tuple(shapes[1])
        k = tuple(shapes[2]) if len(shapes) == 3 else v
        if len(q) != 3 or len(v) != 3 or len(k) != 3:
            raise ValueError(f"{who} expects query, value and key of shape (batch, steps, dim), got query {q}, "
                             f"value {v}, key {k}")
        if not self._same(q[0], v[0]) or not self._same(v[0], k[0]) or not self._same(v[1], k[1]):
            raise ValueError(f"{who}: value and key must have the same batch and steps (and query the same batch), "
                             f"got query {q}, value {v}, key {k}")
        if not self._same(q[-1], k[-1]):
            raise ValueError(f"{who}: query and key must have the same last dimension, got query {q} and key {k}")
        return q, v, k

    @staticmethod
    def _same(a: int | None, b: int | None) -> bool:
        return a is None or b is None or a == b

    def build(self, input_shape):
        q, _, _ = self._split_shapes(input_shape)
        self._build_scores(q[-1])

    def _build_scores(self, dim: int | None) -> None:
        raise NotImplementedError

    def call(self, inputs, training=False, mask=None, return_attention_scores=False, use_causal_mask=False):
        q, v, k = (inputs[0], inputs[1], inputs[2] if len(inputs) > 2 else inputs[1])
        qs, vs, _ = self._split_shapes([q.shape, v.shape, k.shape])
        b, tq, tk = qs[0], qs[1], vs[1]
        if mask is not None and (not isinstance(mask, (list, tuple)) or len(mask) not in (2, 3)):
            raise ValueError(f"{type(self).__name__} '{self.name}': mask must be a list [query_mask, value_mask], "
                             f"got {type(mask).__name__}")
        q_mask = as_mask(mask[0], self, "query_mask", (b, tq)) if mask else None
        v_mask = as_mask(mask[1], self, "value_mask", (b, tk)) if mask else None
        scores_mask = None if v_mask is None else v_mask[:, None, :]
        if use_causal_mask:
            causal = aops.causal_mask(tq, tk)[None]
            scores_mask = causal if scores_mask is None else scores_mask & causal
        keep = (keep_mask((b, tq, tk), self.dropout, q.data.dtype, self._rng)
                if training and self.dropout > 0 else None)
        qm = None if q_mask is None else q_mask.astype(q.data.dtype)
        out, weights = self._attend(q, k, v, scores_mask, keep, qm, bool(return_attention_scores))
        if return_attention_scores:
            return [out, weights]
        return out

    def _attend(self, q, k, v, mask, keep, qm, with_weights):
        """(output, attention weights or None) of one fused attention op."""
        raise NotImplementedError

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        """The output carries the query's mask (Keras's rule)."""
        if mask is None or mask[0] is None:
            return None
        return mask[0]

    def compute_output_shape(self, input_shape):
        q, v, k = self._split_shapes(input_shape)
        out = (*q[:-1], v[-1])
        if self._return_scores:
            return [out, (*q[:-1], k[1])]
        return out

    def get_config(self):
        return {**super().get_config(), "dropout": self.dropout, "seed": self.seed}


class Attention(_BaseDenseAttention):
    """Dot-product (Luong) attention: softmax(query key^T) value, optionally scaled by a learned scalar.

    `score_mode="concat"` scores with sum(tanh(query + key)) times a learned scalar instead.

    >>> import numpy as np
    >>> q, v = np.ones((2, 3, 4), "float32"), np.ones((2, 5, 4), "float32")
    >>> Attention()([q, v]).shape
    (2, 3, 4)
    """

    def __init__(self, use_scale: bool = False, score_mode: str = "dot", dropout: float = 0.0,
                 seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(dropout=dropout, seed=seed, **kwargs)
        if score_mode not in ("dot", "concat"):
            raise ValueError(f"Attention '{self.name}': score_mode must be 'dot' or 'concat', got {score_mode!r}")
        self.use_scale = bool(use_scale)
        self.score_mode = score_mode

    def _build_scores(self, dim):
        self.scale = self.add_weight("scale", (), "ones") if self.use_scale else None
        self.concat_score_weight = (self.add_weight("concat_score_weight", (), "ones")
                                    if self.score_mode == "concat" else None)

    def _attend(self, q, k, v, mask, keep, qm, with_weights):
        if self.score_mode == "dot":
            result = aops.dot_product_attention(
                q, k, v, mask=None if mask is None else mask[:, None], keep=None if keep is None else keep[:, None],
                query_mask=qm, scale_weight=self.scale, return_weights=with_weights)
            if not with_weights:
                return result, None
            out, w = result
            return out, reshape(w, (w.shape[0],) + w.shape[2:])
        ones = Tensor(np.ones(q.shape[-1], q.data.dtype))
        return aops.additive_attention(q, k, v, ones, inner_scale=self.scale, outer_scale=self.concat_score_weight,
                                       mask=mask, keep=keep, query_mask=qm)

    def get_config(self):
        return {**super().get_config(), "use_scale": self.use_scale, "score_mode": self.score_mode}


class AdditiveAttention(_BaseDenseAttention):
    """Additive (Bahdanau) attention: scores sum_d scale_d tanh(query_d + key_d), then softmax and value.

    >>> import numpy as np
    >>> q, v = np.ones((2, 3, 4), "float32"), np.ones((2, 5, 4), "float32")
    >>> AdditiveAttention()([q, v]).shape
    (2, 3, 4)
    """

    def __init__(self, use_scale: bool = True, dropout: float = 0.0, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(dropout=dropout, seed=seed, **kwargs)
        self.use_scale = bool(use_scale)

    def _build_scores(self, dim):
        if dim is None:
            raise ValueError(f"AdditiveAttention '{self.name}' needs the last axis of its query to be known")
        self.scale = self.add_weight("scale", (dim,), "glorot_uniform") if self.use_scale else None

    def _attend(self, q, k, v, mask, keep, qm, with_weights):
        w = self.scale if self.scale is not None else Tensor(np.ones(q.shape[-1], q.data.dtype))
        return aops.additive_attention(q, k, v, w, mask=mask, keep=keep, query_mask=qm)

    def get_config(self):
        return {**super().get_config(), "use_scale": self.use_scale}



__all__ = ["AdditiveAttention", "Attention", "MultiHeadAttention"]
