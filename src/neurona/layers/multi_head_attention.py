"""MultiHeadAttention with Keras 3's arguments and weight layout.

Weights, in Keras's order so `set_weights(keras_layer.get_weights())` loads them: query kernel
(query_dim, heads, key_dim) and bias (heads, key_dim); key kernel and bias; value kernel (value_dim_in,
heads, value_dim) and bias; output kernel (heads, value_dim, output_dim) and bias (output_dim,).
The projections are fused dense ops on the kernels viewed as matrices; the attention itself is one fused op.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import ops
from ..ops import attention as aops
from ..ops.attention_projection import packed_projection
from ..ops.shape import reshape
from .attention_common import as_mask, check_rate, keep_mask, reject_symbolic_kwargs
from .base import Layer, serialize_object
from .symbolic import _is_symbolic

_SLOTS = ("query", "value", "key", "query_mask", "value_mask", "key_mask", "attention_mask")


class MultiHeadAttention(Layer):
    """Attention with `num_heads` heads, each of size `key_dim`, as in "Attention Is All You Need".

    Call as Keras: `mha(query, value, key=None, query_mask=None, value_mask=None, key_mask=None,
    attention_mask=None, return_attention_scores=False, training=None, use_causal_mask=False)`.
    Masks are boolean (True = may attend); `attention_mask` has shape (batch, Tq, Tv).

    >>> import numpy as np
    >>> x = np.ones((2, 5, 8), "float32")
    >>> MultiHeadAttention(num_heads=2, key_dim=4)(x, x).shape
    (2, 5, 8)
    """

    def __init__(self, num_heads: int, key_dim: int, value_dim: int | None = None, dropout: float = 0.0,
                 use_bias: bool = True, output_shape: Any = None, attention_axes: Any = None,
                 kernel_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, bias_regularizer: Any = None, seed: int | None = None,
                 **kwargs: Any) -> None:
        from .. import initializers, regularizers

        super().__init__(**kwargs)
        for what, v in (("num_heads", num_heads), ("key_dim", key_dim), ("value_dim", value_dim)):
            if v is None and what == "value_dim":
                continue
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v <= 0:
                raise ValueError(f"MultiHeadAttention '{self.name}': {what} must be a positive integer, got {v!r}")
        self.num_heads, self.key_dim = int(num_heads), int(key_dim)
        self.value_dim = int(value_dim) if value_dim else self.key_dim
        self.dropout = check_rate(self, dropout)
        self.use_bias = bool(use_bias)
        if isinstance(output_shape, (int, np.integer)):
            output_shape = (int(output_shape),)
        if output_shape is not None and len(tuple(output_shape)) != 1:
            raise ValueError(f"MultiHeadAttention '{self.name}': output_shape must be one size, got {output_shape!r}")
        self.output_shape_arg = None if output_shape is None else tuple(int(s) for s in output_shape)
        if isinstance(attention_axes, int):
            attention_axes = (attention_axes,)
        if attention_axes is not None and tuple(attention_axes) not in ((1,), (-2,)):
            raise ValueError(f"MultiHeadAttention '{self.name}': only attention over the steps axis of "
                             f"(batch, steps, features) inputs is supported, got attention_axes={attention_axes}")
        self.attention_axes = None if attention_axes is None else tuple(attention_axes)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.seed = seed
        self._rng = None if seed is None else np.random.default_rng(seed)
        self.supports_masking = True
        self._slots: tuple[str, ...] = ("query", "value")
        self._return_scores = False

    # ----------------------------------------------------------------- calling convention
    def __call__(self, query: Any, value: Any = None, key: Any = None, query_mask: Any = None,
                 value_mask: Any = None, key_mask: Any = None, attention_mask: Any = None,
                 return_attention_scores: bool = False, training: bool | None = None,
                 use_causal_mask: bool = False, slots: Any = None, **kwargs: Any) -> Any:
        # The functional graph records one list of inputs per call, so the tensors (and any masks) travel
        # packed in a list with `slots` naming each entry; a replayed call arrives already packed.
        if slots is not None:
            packed = list(query)
        else:
            if value is None:
                raise TypeError(f"MultiHeadAttention '{self.name}' needs a query and a value: mha(query, value)")
            given = {"query": query, "value": value, "key": key, "query_mask": query_mask,
                     "value_mask": value_mask, "key_mask": key_mask, "attention_mask": attention_mask}
            slots = [s for s in _SLOTS if given[s] is not None]
            packed = [given[s] for s in slots]
        self._slots = tuple(slots)
        self._return_scores = bool(return_attention_scores)
        kw: dict[str, Any] = {"slots": list(slots)}
        if return_attention_scores:
            kw["return_attention_scores"] = True
        if use_causal_mask:
            kw["use_causal_mask"] = True
        if _is_symbolic(packed):
            reject_symbolic_kwargs(self, kwargs)
        return super().__call__(packed, training=training, **kw, **kwargs)

    def _shapes_of(self, shapes: list, slots: tuple[str, ...]) -> dict[str, tuple]:
        named = {s: tuple(shape) for s, shape in zip(slots, shapes)}
        named.setdefault("key", named["value"])
        q, v, k = named["query"], named["value"], named["key"]
        who = f"MultiHeadAttention '{self.name}'"
        if len(q) != 3 or len(v) != 3 or len(k) != 3:
            raise ValueError(f"{who} expects query, value and key of shape (batch, steps, features), got query {q}, "
                             f"value {v}, key {k}")
        same = [a is None or b is None or a == b for a, b in ((q[0], v[0]), (v[0], k[0]), (v[1], k[1]))]
        if not all(same):
            raise ValueError(f"{who}: key and value must have the same batch and steps (and query the same batch), "
                             f"got query {q}, value {v}, key {k}")
        return named

    # ----------------------------------------------------------------- weights
    def build(self, input_shape):
        named = self._shapes_of(input_shape, self._slots)
        dims = {s: named[s][-1] for s in ("query", "value", "key")}
        for s, d in dims.items():
            if d is None:
                raise ValueError(f"MultiHeadAttention '{self.name}' needs the features axis of its {s} to be known, "
                                 f"got shape {named[s]}")
        h = self.num_heads
        out_dim = self.output_shape_arg[0] if self.output_shape_arg else dims["query"]

        def dense(name: str, kernel_shape: tuple[int, ...], bias_shape: tuple[int, ...]) -> None:
            setattr(self, f"{name}_kernel", self.add_weight(f"{name}/kernel", kernel_shape, self.kernel_initializer,
                                                            self.kernel_regularizer))
            setattr(self, f"{name}_bias", self.add_weight(f"{name}/bias", bias_shape, self.bias_initializer,
                                                          self.bias_regularizer) if self.use_bias else None)

        dense("query", (dims["query"], h, self.key_dim), (h, self.key_dim))
        dense("key", (dims["key"], h, self.key_dim), (h, self.key_dim))
        dense("value", (dims["value"], h, self.value_dim), (h, self.value_dim))
        dense("attention_output", (h, self.value_dim, out_dim), (out_dim,))
        self._dims = dims

    def _project(self, x: Any, name: str) -> Any:
        kernel, bias = getattr(self, f"{name}_kernel"), getattr(self, f"{name}_bias")
        k2 = reshape(kernel, (-1, kernel.shape[-1] if name == "attention_output" else
                              kernel.shape[1] * kernel.shape[2]))
        b2 = None if bias is None else reshape(bias, (-1,))
        return ops.dense(x, k2, b2)

    def _packed_projection(self, x: Any) -> Any:
        """x [Wq | Wk | Wv] + [bq | bk | bv] as one op on the three kernels side by side (one op, not nine:
        ops/attention_projection.py)."""
        names = ("query", "key", "value")
        return packed_projection(x, [getattr(self, f"{n}_kernel") for n in names],
                                 [getattr(self, f"{n}_bias") for n in names] if self.use_bias else None)

    # ----------------------------------------------------------------- forward
    def call(self, inputs, training=False, slots=("query", "value"), return_attention_scores=False,
             use_causal_mask=False, mask=None):
        slots = tuple(slots)
        named = dict(zip(slots, inputs))
        shapes = self._shapes_of([t.shape for t in inputs], slots)
        q, v = named["query"], named["value"]
        k = named.get("key", v)
        for s, t in (("query", q), ("value", v), ("key", k)):
            if t.shape[-1] != self._dims[s]:
                raise ValueError(f"MultiHeadAttention '{self.name}' was built for a {s} with {self._dims[s]} features, "
                                 f"got {s} of shape {t.shape}")
        b, tq, tk = q.shape[0], q.shape[1], v.shape[1]
        attn = self._attention_mask(named, mask, slots, shapes, use_causal_mask, (b, tq, tk))
        keep = (keep_mask((b, self.num_heads, tq, tk), self.dropout, q.data.dtype, self._rng)
                if training and self.dropout > 0 else None)
        options = {"num_heads": self.num_heads, "scale": 1.0 / math.sqrt(self.key_dim), "keep": keep,
                   "mask": None if attn is None else attn[:, None], "return_weights": return_attention_scores}
        if q is v and k is v:  # self-attention: one packed projection (see PackedSelfAttention)
            result = aops.packed_self_attention(self._packed_projection(q), self.num_heads * self.key_dim,
                                                **options)
        else:
            result = aops.dot_product_attention(self._project(q, "query"), self._project(k, "key"),
                                                self._project(v, "value"), **options)
        if return_attention_scores:
            return [self._project(result[0], "attention_output"), result[1]]
        return self._project(result, "attention_output")

    def _attention_mask(self, named: dict, mask: Any, slots: tuple, shapes: dict, causal: bool,
                        bqk: tuple[int, int, int]) -> np.ndarray | None:
        """Keras's merge: query mask (B,T,1) & value mask (B,1,S) & key mask & causal (1,T,S) & attention_mask."""
        b, tq, tk = bqk
        masks = {}
        for s in ("query", "value", "key"):
            given = named.get(f"{s}_mask")
            if given is None and isinstance(mask, (list, tuple)) and s in slots and slots.index(s) < len(mask):
                given = mask[slots.index(s)]  # a mask propagated from the layer before (Keras's _keras_mask)
            masks[s] = as_mask(given, self, f"{s}_mask", (b, tq if s == "query" else tk))
        if "key" not in named:
            masks["key"] = None  # Keras ignores the key mask when the key is the value
        out = as_mask(named.get("attention_mask"), self, "attention_mask", (b, tq, tk))
        parts = [None if masks["query"] is None else masks["query"][:, :, None],
                 None if masks["value"] is None else masks["value"][:, None, :],
                 None if masks["key"] is None else masks["key"][:, None, :],
                 aops.causal_mask(tq, tk)[None] if causal else None]
        for m in parts:
            if m is not None:
                out = m if out is None else out & m
        return out

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        """The output carries the query's mask (Keras's rule)."""
        if isinstance(mask, (list, tuple)):
            return mask[0] if mask else None
        return mask

    def compute_output_shape(self, input_shape):
        named = self._shapes_of(input_shape, self._slots)
        q, v = named["query"], named["value"]
        out_dim = self.output_shape_arg[0] if self.output_shape_arg else q[-1]
        out = (*q[:-1], out_dim)
        if self._return_scores:
            return [out, (q[0], self.num_heads, q[1], v[1])]
        return out

    def get_config(self):
        from .. import initializers, regularizers

        return {**super().get_config(), "num_heads": self.num_heads, "key_dim": self.key_dim,
                "value_dim": self.value_dim, "dropout": self.dropout, "use_bias": self.use_bias,
                "output_shape": None if self.output_shape_arg is None else list(self.output_shape_arg),
                "attention_axes": None if self.attention_axes is None else list(self.attention_axes),
                "kernel_initializer": serialize_object(self.kernel_initializer, initializers),
                "bias_initializer": serialize_object(self.bias_initializer, initializers),
                "kernel_regularizer": serialize_object(self.kernel_regularizer, regularizers),
                "bias_regularizer": serialize_object(self.bias_regularizer, regularizers),
                "seed": self.seed}


__all__ = ["MultiHeadAttention"]
