"""The table of layer cases every layer class must have an entry in (tests/test_layer_harness.py runs the
shared checks on each; tests/test_saving_models.py saves and loads each).

One entry per layer class, keyed by the class name (extra variants: "ClassName_what"):

    "Dense": Case(lambda **kw: layers.Dense(5, activation="tanh", **kw), (6,), reference=_dense),

- `make(**kw)` builds the layer; the harness passes `dtype="float64"` for the gradient check, so forward
  `**kw` to the constructor (or set `float64=False` for a wrapper whose inner layer fixes the dtype);
- `shape`: one sample's input shape (no batch axis); `kind`: "float" or "int" (token ids);
- `reference`: the independent value the output is compared with, at inference (training=False):
  a function `ref(layer, x) -> ndarray` written in plain NumPy from the layer's weights, or the
  "tests/file.py::test_name" of an existing test that compares the layer with an independent
  reference (torch / Keras given the same weights, or a hand-written loop) — the harness checks it exists;
- `float64`: True, or the "tests/file.py::test_name" of the float64 gradient check of a layer whose
  sub-layers do not take `dtype` from it.

A layer class without an entry fails tests/test_layer_harness.py::test_every_layer_class_has_a_case.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from neurona import layers


class Case(NamedTuple):
    make: Callable[..., Any]
    shape: tuple[int, ...]
    kind: str = "float"
    reference: Callable[[Any, np.ndarray], np.ndarray] | str | None = None
    # True: make(dtype="float64") builds a float64 layer, checked here; else the "tests/file.py::test_name" of the
    # test that gradchecks the layer in float64 (wrappers and composites whose sub-layers keep their own dtype).
    float64: bool | str = True


def _w(layer: Any, name: str) -> np.ndarray:
    return getattr(layer, name).data


def _identity(layer: Any, x: np.ndarray) -> np.ndarray:
    return x  # dropout, noise and random augmentation layers are the identity at inference


def _dense(layer, x):
    return np.tanh(x @ _w(layer, "kernel") + _w(layer, "bias"))


def _softmax(z, axis=-1):
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _pool(x, size, fn):
    n, h, w, c = x.shape
    h2, w2 = h // size, w // size
    return fn(x[:, :h2 * size, :w2 * size].reshape(n, h2, size, w2, size, c), axis=(2, 4))


def _pool1d(x, size, fn):
    n, t, c = x.shape
    return fn(x[:, :t // size * size].reshape(n, t // size, size, c), axis=2)


def _layer_norm(layer, x):
    mu, var = x.mean(-1, keepdims=True), x.var(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + layer.epsilon) * _w(layer, "gamma") + _w(layer, "beta")


def _batch_norm(layer, x):
    mean, var = _w(layer, "moving_mean"), _w(layer, "moving_variance")
    return (x - mean) / np.sqrt(var + layer.epsilon) * _w(layer, "gamma") + _w(layer, "beta")


def _prelu(layer, x):
    return np.where(x > 0, x, x * _w(layer, "alpha"))


CASES: dict[str, Case] = {
    # core
    "Dense": Case(lambda **kw: layers.Dense(5, activation="tanh", **kw), (6,), reference=_dense),
    "Dropout": Case(lambda **kw: layers.Dropout(0.5, **kw), (6,), reference=_identity),
    "Flatten": Case(lambda **kw: layers.Flatten(**kw), (3, 4), reference=lambda la, x: x.reshape(len(x), -1)),
    "Reshape": Case(lambda **kw: layers.Reshape((4, 3), **kw), (12,), reference=lambda la, x: x.reshape(-1, 4, 3)),
    "Permute": Case(lambda **kw: layers.Permute((2, 1), **kw), (3, 4),
                    reference=lambda la, x: x.transpose(0, 2, 1)),
    "RepeatVector": Case(lambda **kw: layers.RepeatVector(3, **kw), (4,),
                         reference=lambda la, x: np.repeat(x[:, None], 3, axis=1)),
    "Activation": Case(lambda **kw: layers.Activation("softmax", **kw), (6,), reference=lambda la, x: _softmax(x)),
    # augmentation and preprocessing
    "Rescaling": Case(lambda **kw: layers.Rescaling(1 / 255, offset=0.5, **kw), (4, 4, 2),
                      reference=lambda la, x: x / 255 + 0.5),
    "Resizing": Case(lambda **kw: layers.Resizing(3, 5, **kw), (6, 6, 2),
                     reference="tests/test_augmentation_layers.py::test_resizing_against_torch"),
    "RandomFlip": Case(lambda **kw: layers.RandomFlip(**kw), (6, 6, 2), reference=_identity),
    "RandomRotation": Case(lambda **kw: layers.RandomRotation(0.2, **kw), (6, 6, 2), reference=_identity),
    "RandomTranslation": Case(lambda **kw: layers.RandomTranslation(0.1, 0.1, **kw), (6, 6, 2), reference=_identity),
    "RandomZoom": Case(lambda **kw: layers.RandomZoom(0.1, **kw), (6, 6, 2), reference=_identity),
    "RandomContrast": Case(lambda **kw: layers.RandomContrast(0.2, **kw), (6, 6, 2), reference=_identity),
    "RandomBrightness": Case(lambda **kw: layers.RandomBrightness(0.2, **kw), (6, 6, 2), reference=_identity),
    # convolution
    "Conv1D": Case(lambda **kw: layers.Conv1D(3, 3, activation="relu", **kw), (9, 2),
                   reference="tests/test_conv_layers.py::test_layer_matches_keras_with_the_same_weights"),
    "Conv2D": Case(lambda **kw: layers.Conv2D(3, 3, padding="same", activation="relu", **kw), (7, 7, 2),
                   reference="tests/test_conv_layers.py::test_conv2d_layer_channels_first_matches_torch"),
    "Conv2DTranspose": Case(lambda **kw: layers.Conv2DTranspose(3, 3, strides=2, **kw), (4, 4, 2),
                            reference="tests/test_conv_layers.py::test_layer_matches_keras_with_the_same_weights"),
    "Conv1DTranspose": Case(lambda **kw: layers.Conv1DTranspose(3, 3, strides=2, **kw), (5, 2),
                            reference="tests/test_conv_layers.py::test_layer_matches_keras_with_the_same_weights"),
    "SeparableConv2D": Case(lambda **kw: layers.SeparableConv2D(3, 3, **kw), (7, 7, 2),
                            reference="tests/test_conv_layers.py::test_layer_matches_keras_with_the_same_weights"),
    "DepthwiseConv2D": Case(lambda **kw: layers.DepthwiseConv2D(3, **kw), (7, 7, 2),
                            reference="tests/test_conv_layers.py::test_layer_matches_keras_with_the_same_weights"),
    "SpatialDropout1D": Case(lambda **kw: layers.SpatialDropout1D(0.3, **kw), (5, 3), reference=_identity),
    "SpatialDropout2D": Case(lambda **kw: layers.SpatialDropout2D(0.3, **kw), (6, 6, 2), reference=_identity),
    # pooling
    "MaxPooling1D": Case(lambda **kw: layers.MaxPooling1D(2, **kw), (8, 3),
                         reference=lambda la, x: _pool1d(x, 2, np.max)),
    "AveragePooling1D": Case(lambda **kw: layers.AveragePooling1D(2, **kw), (8, 3),
                             reference=lambda la, x: _pool1d(x, 2, np.mean)),
    "MaxPooling2D": Case(lambda **kw: layers.MaxPooling2D(**kw), (6, 6, 2),
                         reference=lambda la, x: _pool(x, 2, np.max)),
    "AveragePooling2D": Case(lambda **kw: layers.AveragePooling2D(**kw), (6, 6, 2),
                             reference=lambda la, x: _pool(x, 2, np.mean)),
    "SumPooling2D": Case(lambda **kw: layers.SumPooling2D(**kw), (6, 6, 2),
                         reference=lambda la, x: _pool(x, 2, np.sum)),
    "GlobalMaxPooling1D": Case(lambda **kw: layers.GlobalMaxPooling1D(**kw), (8, 3),
                               reference=lambda la, x: x.max(axis=1)),
    "GlobalAveragePooling1D": Case(lambda **kw: layers.GlobalAveragePooling1D(**kw), (8, 3),
                                   reference=lambda la, x: x.mean(axis=1)),
    "GlobalMaxPooling2D": Case(lambda **kw: layers.GlobalMaxPooling2D(**kw), (6, 6, 2),
                               reference=lambda la, x: x.max(axis=(1, 2))),
    "GlobalAveragePooling2D": Case(lambda **kw: layers.GlobalAveragePooling2D(**kw), (6, 6, 2),
                                   reference=lambda la, x: x.mean(axis=(1, 2))),
    # reshaping
    "UpSampling1D": Case(lambda **kw: layers.UpSampling1D(2, **kw), (4, 3),
                         reference=lambda la, x: np.repeat(x, 2, axis=1)),
    "UpSampling2D": Case(lambda **kw: layers.UpSampling2D(**kw), (3, 3, 2),
                         reference=lambda la, x: np.repeat(np.repeat(x, 2, axis=1), 2, axis=2)),
    "ZeroPadding1D": Case(lambda **kw: layers.ZeroPadding1D(1, **kw), (4, 3),
                          reference=lambda la, x: np.pad(x, ((0, 0), (1, 1), (0, 0)))),
    "ZeroPadding2D": Case(lambda **kw: layers.ZeroPadding2D(1, **kw), (3, 3, 2),
                          reference=lambda la, x: np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))),
    "Cropping1D": Case(lambda **kw: layers.Cropping1D(1, **kw), (5, 3), reference=lambda la, x: x[:, 1:-1]),
    "Cropping2D": Case(lambda **kw: layers.Cropping2D(1, **kw), (5, 5, 2), reference=lambda la, x: x[:, 1:-1, 1:-1]),
    # normalization, noise
    "BatchNormalization": Case(lambda **kw: layers.BatchNormalization(**kw), (6, 6, 2), reference=_batch_norm),
    "LayerNormalization": Case(lambda **kw: layers.LayerNormalization(**kw), (6,), reference=_layer_norm),
    "GaussianNoise": Case(lambda **kw: layers.GaussianNoise(0.1, **kw), (6,), reference=_identity),
    "GaussianDropout": Case(lambda **kw: layers.GaussianDropout(0.1, **kw), (6,), reference=_identity),
    "AlphaDropout": Case(lambda **kw: layers.AlphaDropout(0.1, noise_shape=(None, 1), **kw), (6,),
                         reference=_identity),
    # recurrent, embedding, wrappers
    "Embedding": Case(lambda **kw: layers.Embedding(10, 3, **kw), (5,), kind="int",
                      reference=lambda la, x: _w(la, "embeddings")[x]),
    "SimpleRNN": Case(lambda **kw: layers.SimpleRNN(4, **kw), (5, 3),
                      reference="tests/test_recurrent.py::test_simple_rnn_matches_a_hand_written_loop"),
    "LSTM": Case(lambda **kw: layers.LSTM(4, return_sequences=True, **kw), (5, 3),
                 reference="tests/test_recurrent.py::test_outputs_equal_keras"),
    "GRU": Case(lambda **kw: layers.GRU(4, **kw), (5, 3),
                reference="tests/test_recurrent.py::test_outputs_equal_keras"),
    "Bidirectional": Case(lambda **kw: layers.Bidirectional(layers.LSTM(3, **kw), **kw), (5, 3),
                          reference="tests/test_recurrent.py::test_bidirectional_equals_keras"),
    "TimeDistributed": Case(lambda **kw: layers.TimeDistributed(layers.Dense(2, **kw), **kw), (5, 3),
                            reference="tests/test_recurrent.py::test_time_distributed_dense_equals_per_step_dense"),
    "Masking": Case(lambda **kw: layers.Masking(0.0, **kw), (5, 3),
                    reference=lambda la, x: x * np.any(x != 0.0, axis=-1, keepdims=True)),
    "ConvLSTM2D": Case(lambda **kw: layers.ConvLSTM2D(2, 3, **kw), (3, 5, 5, 1),
                       reference="tests/test_recurrent_masking.py::test_conv_lstm2d_equals_keras"),
    # audio preprocessing layers
    "Spectrogram": Case(lambda **kw: layers.Spectrogram(16, 8, **kw), (64,),
                        reference="tests/test_audio.py::test_layers_equal_the_functions_and_shapes"),
    "MelSpectrogram": Case(lambda **kw: layers.MelSpectrogram(16, 8, sampling_rate=800, num_mel_bins=4, **kw), (64,),
                           reference="tests/test_audio.py::test_layers_equal_the_functions_and_shapes"),
    "RBM": Case(lambda **kw: layers.RBM(4, **kw), (6,),
                reference=lambda la, x: 1 / (1 + np.exp(-(x @ _w(la, "kernel") + _w(la, "hidden_bias"))))),
    # activation layers
    "LeakyReLU": Case(lambda **kw: layers.LeakyReLU(0.2, **kw), (6,),
                      reference=lambda la, x: np.where(x > 0, x, 0.2 * x)),
    "ReLU": Case(lambda **kw: layers.ReLU(**kw), (6,), reference=lambda la, x: np.maximum(x, 0)),
    "Softmax": Case(lambda **kw: layers.Softmax(**kw), (6,), reference=lambda la, x: _softmax(x)),
    "ELU": Case(lambda **kw: layers.ELU(**kw), (6,), reference=lambda la, x: np.where(x > 0, x, np.expm1(x))),
    "PReLU": Case(lambda **kw: layers.PReLU(**kw), (6,), reference=_prelu),
    "ReLU_capped_leaky": Case(lambda **kw: layers.ReLU(6.0, negative_slope=0.1, threshold=0.5, **kw), (6,),
                              reference=lambda la, x: np.where(x >= 6, 6.0, np.where(x >= 0.5, x, 0.1 * (x - 0.5)))),
    "Softmax_axes": Case(lambda **kw: layers.Softmax(axis=[1, 2], **kw), (3, 4),
                         reference=lambda la, x: _softmax(x, axis=(1, 2))),
    "PReLU_shared": Case(lambda **kw: layers.PReLU("ones", "l2", shared_axes=[1, 2], **kw), (4, 4, 3),
                         reference=_prelu),
    # positional and transformer layers
    "SinePositionEncoding": Case(lambda **kw: layers.SinePositionEncoding(**kw), (5, 4),
                                 reference="tests/test_transformer.py::test_sine_position_encoding_is_the_papers_formula"),
    "PositionEmbedding": Case(lambda **kw: layers.PositionEmbedding(8, **kw), (5, 4),
                              reference="tests/test_transformer.py::test_position_embeddings_add_learned_rows"),
    "TokenAndPositionEmbedding": Case(lambda **kw: layers.TokenAndPositionEmbedding(10, 5, 4, mask_zero=True, **kw),
                                      (5,), kind="int",
                                      reference="tests/test_transformer.py::test_position_embeddings_add_learned_rows",
                                      float64="tests/test_transformer.py::test_position_embeddings_add_learned_rows"),
    "TransformerEncoder": Case(lambda **kw: layers.TransformerEncoder(8, 2, dropout=0.1, **kw), (5, 4),
                               reference="tests/test_transformer.py::test_encoder_equals_torch",
                               float64="tests/test_transformer.py::test_encoder_gradcheck_with_padding_mask"),
    "TransformerDecoder": Case(lambda **kw: layers.TransformerDecoder(8, 2, normalize_first=True, **kw), (5, 4),
                               reference="tests/test_transformer.py::test_decoder_equals_torch",
                               float64="tests/test_transformer.py::test_decoder_gradcheck_causal_and_cross"),
}

MERGES = ("Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate", "Dot")
# Layer classes with no standalone case here, and the test that covers them instead.
COVERED_ELSEWHERE = {
    "Layer": "the base class",
    "InputLayer": "tests/test_layers_core.py::test_input_and_symbolic_call_record_nodes",
    "Lambda": "tests/test_layers_core.py::test_lambda_layer_and_its_config",
    **{m: "tests/test_layers_core.py::test_merge_layers_match_numpy_and_gradcheck" for m in MERGES[:-1]},
    "Dot": "tests/test_layers_core.py::test_dot_matches_numpy_and_gradcheck",
    # several inputs (query, value, key):
    "Attention": "tests/test_attention.py::test_attention_equals_keras",
    "AdditiveAttention": "tests/test_attention.py::test_additive_attention_equals_keras",
    "MultiHeadAttention": "tests/test_attention.py::test_multi_head_attention_equals_torch",
    # string inputs:
    "TextVectorization": "tests/test_text_vectorization.py::test_equals_keras",
}
