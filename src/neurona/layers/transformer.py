"""Transformer blocks (KerasHub's names and arguments): TransformerEncoder and TransformerDecoder.

Encoder: x = LN(x + Dropout(SelfAttention(x))); x = LN(x + Dropout(FFN(x))), FFN = Dense(intermediate,
activation) -> Dense(d_model). Decoder: causal self-attention, then cross-attention over the encoder's
output (when given), then the feed-forward part, each with residual + LayerNormalization.
`normalize_first=True` moves each LayerNormalization before its sub-block (pre-norm, GPT style).
Padding masks are boolean (batch, steps), True = real token; a mask propagated from Embedding(mask_zero=True)
or TokenAndPositionEmbedding arrives as `mask`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import activations
from ..ops.norm import add_layer_norm
from .attention_common import check_rate, reject_symbolic_kwargs
from .base import Layer, serialize_object
from .core import Dense, Dropout, _activation_name
from .multi_head_attention import MultiHeadAttention
from .normalization import LayerNormalization
from .symbolic import _is_symbolic


def _as_bool(mask: Any) -> np.ndarray | None:
    if mask is None:
        return None
    m = np.asarray(getattr(mask, "data", mask))
    return m if m.dtype == bool else m > 0.5


class _TransformerBlock(Layer):
    """Shared arguments, sub-layers and config of the encoder and decoder blocks."""

    _attention_names: tuple[str, ...] = ("self_attention",)

    def __init__(self, intermediate_dim: int, num_heads: int, dropout: float = 0.0, activation: Any = "relu",
                 layer_norm_epsilon: float = 1e-5, kernel_initializer: Any = "glorot_uniform",
                 bias_initializer: Any = "zeros", normalize_first: bool = False, **kwargs: Any) -> None:
        from .. import initializers

        super().__init__(**kwargs)
        for what, v in (("intermediate_dim", intermediate_dim), ("num_heads", num_heads)):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v <= 0:
                raise ValueError(f"{type(self).__name__} '{self.name}': {what} must be a positive integer, got {v!r}")
        self.intermediate_dim, self.num_heads = int(intermediate_dim), int(num_heads)
        self.dropout = check_rate(self, dropout)
        self.activation = activations.get(activation)
        self.layer_norm_epsilon = float(layer_norm_epsilon)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.normalize_first = bool(normalize_first)
        self.supports_masking = True

    def _build_blocks(self, d_model: int | None, input_shape: tuple, context_shape: tuple | None = None) -> None:
        if d_model is None or d_model % self.num_heads:
            raise ValueError(f"{type(self).__name__} '{self.name}': the features axis ({d_model}) must be known and "
                             f"divisible by num_heads={self.num_heads}; got input shape {input_shape}")
        n, common = self.name, {"kernel_initializer": self.kernel_initializer,
                                "bias_initializer": self.bias_initializer}
        blocks = []
        for att in self._attention_names:
            mha = MultiHeadAttention(self.num_heads, d_model // self.num_heads, dropout=self.dropout,
                                     name=f"{n}_{att}", **common)
            mha._slots = ("query", "value")
            mha.build([input_shape, context_shape if att == "cross_attention" else input_shape])
            norm = LayerNormalization(epsilon=self.layer_norm_epsilon, name=f"{n}_{att}_layer_norm")
            norm.build(input_shape)
            blocks.append((mha, norm, Dropout(self.dropout, name=f"{n}_{att}_dropout")))
        self._attention_blocks = blocks
        self.feedforward_intermediate_dense = Dense(self.intermediate_dim, activation=self.activation,
                                                    name=f"{n}_feedforward_intermediate_dense", **common)
        self.feedforward_intermediate_dense.build(input_shape)
        self.feedforward_output_dense = Dense(d_model, name=f"{n}_feedforward_output_dense", **common)
        self.feedforward_output_dense.build((*input_shape[:-1], self.intermediate_dim))
        self.feedforward_layer_norm = LayerNormalization(epsilon=self.layer_norm_epsilon,
                                                         name=f"{n}_feedforward_layer_norm")
        self.feedforward_layer_norm.build(input_shape)
        self.feedforward_dropout = Dropout(self.dropout, name=f"{n}_feedforward_dropout")
        self._layers[:] = [layer for block in blocks for layer in block[:2]] + [
            self.feedforward_intermediate_dense, self.feedforward_output_dense, self.feedforward_layer_norm]

    def _residual(self, x: Any, norm: LayerNormalization, fn: Any) -> Any:
        """x + f(x) with the LayerNormalization before f (pre-norm) or after the sum (post-norm)."""
        if self.normalize_first:
            return x + fn(norm(x))
        # post-norm: the residual sum and its LayerNormalization as one op (ops/norm.py AddLayerNorm; the same
        # values as norm(x + fn(x)), without the sum's own array)
        return add_layer_norm(x, fn(x), norm.gamma, norm.beta, axis=norm._axes, epsilon=norm.epsilon)

    def _attend(self, i: int, x: Any, context: Any, mask: dict[str, Any], training: bool) -> Any:
        mha, norm, drop = self._attention_blocks[i]
        return self._residual(x, norm, lambda h: drop(mha(h, h if context is None else context, **mask),
                                                      training=training))

    def _feedforward(self, x: Any, training: bool) -> Any:
        def ffn(h: Any) -> Any:
            return self.feedforward_dropout(self.feedforward_output_dense(self.feedforward_intermediate_dense(h)),
                                            training=training)

        return self._residual(x, self.feedforward_layer_norm, ffn)

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        """The output carries the (decoder) sequence's mask."""
        if isinstance(mask, (list, tuple)):
            return mask[0] if mask else None
        return mask

    def get_config(self):
        from .. import initializers

        return {**super().get_config(), "intermediate_dim": self.intermediate_dim, "num_heads": self.num_heads,
                "dropout": self.dropout, "activation": _activation_name(self.activation),
                "layer_norm_epsilon": self.layer_norm_epsilon,
                "kernel_initializer": serialize_object(self.kernel_initializer, initializers),
                "bias_initializer": serialize_object(self.bias_initializer, initializers),
                "normalize_first": self.normalize_first}


class TransformerEncoder(_TransformerBlock):
    """One encoder block: self-attention and a feed-forward network, each with residual + LayerNormalization.

    >>> import numpy as np
    >>> TransformerEncoder(intermediate_dim=16, num_heads=2)(np.zeros((2, 5, 8), "float32")).shape
    (2, 5, 8)
    """

    def build(self, input_shape):
        self._build_blocks(input_shape[-1], tuple(input_shape))

    def call(self, inputs, training=False, padding_mask=None, attention_mask=None, mask=None):
        padding = _as_bool(padding_mask if padding_mask is not None else mask)
        att = {}
        if padding is not None:
            att["query_mask"] = att["value_mask"] = padding
        if attention_mask is not None:
            att["attention_mask"] = attention_mask
        x = self._attend(0, inputs, None, att, training)
        return self._feedforward(x, training)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)


class TransformerDecoder(_TransformerBlock):
    """One decoder block: causal self-attention, cross-attention over `encoder_sequence` (if given), feed-forward.

    Call as `decoder(decoder_sequence, encoder_sequence=None, decoder_padding_mask=None,
    encoder_padding_mask=None, use_causal_mask=True)`; without an encoder sequence it is a GPT-style block.

    >>> import numpy as np
    >>> TransformerDecoder(16, 2)(np.zeros((2, 5, 8), "float32"), np.zeros((2, 7, 8), "float32")).shape
    (2, 5, 8)
    """

    def __call__(self, decoder_sequence: Any, encoder_sequence: Any = None, *args: Any, **kwargs: Any) -> Any:
        # Two tensors travel as one list input, which the functional graph records (and replays) as it is.
        if isinstance(decoder_sequence, (list, tuple)) and encoder_sequence is None:
            inputs = list(decoder_sequence) if len(decoder_sequence) > 1 else decoder_sequence[0]
        else:
            inputs = decoder_sequence if encoder_sequence is None else [decoder_sequence, encoder_sequence]
        if _is_symbolic(inputs):
            reject_symbolic_kwargs(self, kwargs)
        return super().__call__(inputs, *args, **kwargs)

    @property
    def _attention_names(self) -> tuple[str, ...]:  # type: ignore[override]
        return ("self_attention", "cross_attention") if self._has_cross else ("self_attention",)

    def build(self, input_shape):
        self._has_cross = isinstance(input_shape, list)
        dec = tuple(input_shape[0] if self._has_cross else input_shape)
        self._build_blocks(dec[-1], dec, tuple(input_shape[1]) if self._has_cross else None)

    def call(self, inputs, training=False, decoder_padding_mask=None, encoder_padding_mask=None,
             use_causal_mask=True, mask=None):
        dec, enc = (inputs[0], inputs[1]) if isinstance(inputs, list) else (inputs, None)
        if (enc is not None) != self._has_cross:
            raise ValueError(f"TransformerDecoder '{self.name}' was built {'with' if self._has_cross else 'without'} "
                             f"an encoder sequence; call it the same way every time")
        masks = mask if isinstance(mask, (list, tuple)) else [mask, None]
        dec_mask = _as_bool(decoder_padding_mask if decoder_padding_mask is not None else masks[0])
        enc_mask = _as_bool(encoder_padding_mask if encoder_padding_mask is not None else masks[1])
        self_mask: dict[str, Any] = {"use_causal_mask": bool(use_causal_mask)}
        if dec_mask is not None:
            self_mask["query_mask"] = self_mask["value_mask"] = dec_mask
        x = self._attend(0, dec, None, self_mask, training)
        if enc is not None:
            cross = {} if enc_mask is None else {"value_mask": enc_mask}
            if dec_mask is not None:
                cross["query_mask"] = dec_mask
            x = self._attend(1, x, enc, cross, training)
        return self._feedforward(x, training)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[0]) if isinstance(input_shape, list) else tuple(input_shape)


__all__ = ["TransformerDecoder", "TransformerEncoder"]
