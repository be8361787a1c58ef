"""Layers by family, with Keras's names: `from neurona.layers import Dense, Conv2D, Dropout`.

Families written in their own modules (conv, pooling, normalization, recurrent, ...) are imported on
first use of one of their names, so `import neurona.layers` stays quick; `_EXPORTS` lists every name
they export, so `dir()`, `from neurona.layers import *` and IDEs see them all. A new layer class goes
in its family module AND in `_EXPORTS` (tests/test_layer_harness.py fails for a layer missing there).
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import TYPE_CHECKING, Any

from .base import InputSpec, KerasTensor, Layer, Node, SymbolicTensor, clear_session, get
from .core import Activation, Dense, Dropout, Flatten, Input, InputLayer, Lambda, Permute, RepeatVector, Reshape
from .merge import (
    Add,
    Average,
    Concatenate,
    Dot,
    Maximum,
    Minimum,
    Multiply,
    Subtract,
    add,
    average,
    concatenate,
    dot,
    maximum,
    minimum,
    multiply,
    subtract,
)

# Modules of this package that hold other layer families (written by their own issues).
_FAMILIES = ("conv", "pooling", "normalization", "reshaping", "regularization", "recurrent", "attention",
             "embedding", "augmentation", "preprocessing", "activation", "noise",
             "positional", "transformer", "text", "masking", "conv_lstm", "spectrogram", "rbm")


def _family_modules() -> list[Any]:
    mods = []
    for fam in _FAMILIES:
        if importlib.util.find_spec(f"{__name__}.{fam}") is not None:
            mods.append(importlib.import_module(f"{__name__}.{fam}"))
    return mods


def _import_families() -> None:
    """Import every layer family, so each class is registered for `get()` and configs."""
    _family_modules()


_EXPORTS: dict[str, tuple[str, ...]] = {  # family module -> the names it exports (loaded on first use)
    "conv": (
        "Conv1D", "Conv1DTranspose", "Conv2D", "Conv2DTranspose", "Convolution1D", "Convolution2D",
        "Convolution2DTranspose", "DepthwiseConv2D", "SeparableConv2D", "SpatialDropout1D", "SpatialDropout2D",
    ),
    "pooling": (
        "AveragePool2D", "AveragePooling1D", "AveragePooling2D", "AvgPool1D", "AvgPool2D", "GlobalAveragePooling1D",
        "GlobalAveragePooling2D", "GlobalAvgPool1D", "GlobalAvgPool2D", "GlobalMaxPool1D", "GlobalMaxPool2D",
        "GlobalMaxPooling1D", "GlobalMaxPooling2D", "MaxPool1D", "MaxPool2D", "MaxPooling1D", "MaxPooling2D",
        "SumPooling2D",
    ),
    "normalization": (
        "BatchNormalization", "LayerNormalization",
    ),
    "reshaping": (
        "Cropping1D", "Cropping2D", "UpSampling1D", "UpSampling2D", "ZeroPadding1D", "ZeroPadding2D",
    ),
    "recurrent": (
        "Bidirectional", "GRU", "LSTM", "SimpleRNN", "TimeDistributed",
    ),
    "embedding": (
        "Embedding",
    ),
    "augmentation": (
        "RandomBrightness", "RandomContrast", "RandomFlip", "RandomRotation", "RandomTranslation", "RandomZoom",
        "Rescaling", "Resizing",
    ),
    "activation": (
        "ELU", "LeakyReLU", "PReLU", "ReLU", "Softmax",
    ),
    "noise": (
        "AlphaDropout", "GaussianDropout", "GaussianNoise",
    ),
    "attention": ("AdditiveAttention", "Attention", "MultiHeadAttention"),
    "positional": ("PositionEmbedding", "SinePositionEncoding", "TokenAndPositionEmbedding"),
    "transformer": ("TransformerDecoder", "TransformerEncoder"),
    "text": ("TextVectorization",),
    "masking": ("Masking",),
    "conv_lstm": ("ConvLSTM2D",),
    "spectrogram": ("MelSpectrogram", "Spectrogram"),
    "rbm": ("RBM",),
}
_LAZY = {name: fam for fam, names in _EXPORTS.items() for name in names}

if TYPE_CHECKING:  # the same names, imported eagerly for type checkers and IDE completion
    from .activation import ELU as ELU
    from .activation import LeakyReLU as LeakyReLU
    from .activation import PReLU as PReLU
    from .activation import ReLU as ReLU
    from .activation import Softmax as Softmax
    from .attention import AdditiveAttention as AdditiveAttention
    from .attention import Attention as Attention
    from .attention import MultiHeadAttention as MultiHeadAttention
    from .augmentation import RandomBrightness as RandomBrightness
    from .augmentation import RandomContrast as RandomContrast
    from .augmentation import RandomFlip as RandomFlip
    from .augmentation import RandomRotation as RandomRotation
    from .augmentation import RandomTranslation as RandomTranslation
    from .augmentation import RandomZoom as RandomZoom
    from .augmentation import Rescaling as Rescaling
    from .augmentation import Resizing as Resizing
    from .conv import Conv1D as Conv1D
    from .conv import Conv1DTranspose as Conv1DTranspose
    from .conv import Conv2D as Conv2D
    from .conv import Conv2DTranspose as Conv2DTranspose
    from .conv import Convolution1D as Convolution1D
    from .conv import Convolution2D as Convolution2D
    from .conv import Convolution2DTranspose as Convolution2DTranspose
    from .conv import DepthwiseConv2D as DepthwiseConv2D
    from .conv import SeparableConv2D as SeparableConv2D
    from .conv import SpatialDropout1D as SpatialDropout1D
    from .conv import SpatialDropout2D as SpatialDropout2D
    from .conv_lstm import ConvLSTM2D as ConvLSTM2D
    from .embedding import Embedding as Embedding
    from .masking import Masking as Masking
    from .noise import AlphaDropout as AlphaDropout
    from .noise import GaussianDropout as GaussianDropout
    from .noise import GaussianNoise as GaussianNoise
    from .normalization import BatchNormalization as BatchNormalization
    from .normalization import LayerNormalization as LayerNormalization
    from .pooling import AveragePool2D as AveragePool2D
    from .pooling import AveragePooling1D as AveragePooling1D
    from .pooling import AveragePooling2D as AveragePooling2D
    from .pooling import AvgPool1D as AvgPool1D
    from .pooling import AvgPool2D as AvgPool2D
    from .pooling import GlobalAveragePooling1D as GlobalAveragePooling1D
    from .pooling import GlobalAveragePooling2D as GlobalAveragePooling2D
    from .pooling import GlobalAvgPool1D as GlobalAvgPool1D
    from .pooling import GlobalAvgPool2D as GlobalAvgPool2D
    from .pooling import GlobalMaxPool1D as GlobalMaxPool1D
    from .pooling import GlobalMaxPool2D as GlobalMaxPool2D
    from .pooling import GlobalMaxPooling1D as GlobalMaxPooling1D
    from .pooling import GlobalMaxPooling2D as GlobalMaxPooling2D
    from .pooling import MaxPool1D as MaxPool1D
    from .pooling import MaxPool2D as MaxPool2D
    from .pooling import MaxPooling1D as MaxPooling1D
    from .pooling import MaxPooling2D as MaxPooling2D
    from .pooling import SumPooling2D as SumPooling2D
    from .positional import PositionEmbedding as PositionEmbedding
    from .positional import SinePositionEncoding as SinePositionEncoding
    from .positional import TokenAndPositionEmbedding as TokenAndPositionEmbedding
    from .rbm import RBM as RBM
    from .recurrent import GRU as GRU
    from .recurrent import LSTM as LSTM
    from .recurrent import Bidirectional as Bidirectional
    from .recurrent import SimpleRNN as SimpleRNN
    from .recurrent import TimeDistributed as TimeDistributed
    from .reshaping import Cropping1D as Cropping1D
    from .reshaping import Cropping2D as Cropping2D
    from .reshaping import UpSampling1D as UpSampling1D
    from .reshaping import UpSampling2D as UpSampling2D
    from .reshaping import ZeroPadding1D as ZeroPadding1D
    from .reshaping import ZeroPadding2D as ZeroPadding2D
    from .spectrogram import MelSpectrogram as MelSpectrogram
    from .spectrogram import Spectrogram as Spectrogram
    from .text import TextVectorization as TextVectorization
    from .transformer import TransformerDecoder as TransformerDecoder
    from .transformer import TransformerEncoder as TransformerEncoder


def __getattr__(name: str) -> Any:
    if name.startswith("_"):
        raise AttributeError(name)
    if name in _LAZY:
        value = getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
        globals()[name] = value
        return value
    for mod in _family_modules():  # a layer added to a family module but not yet listed in _EXPORTS
        if hasattr(mod, name):
            value = getattr(mod, name)
            globals()[name] = value
            return value
    raise AttributeError(f"module 'neurona.layers' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "Activation", "Add", "Average", "Concatenate", "Dense", "Dot", "Dropout", "Flatten", "Input", "InputLayer",
    "InputSpec", "KerasTensor", "Lambda", "Layer", "Maximum", "Minimum", "Multiply", "Node", "Permute",
    "RepeatVector", "Reshape", "Subtract", "SymbolicTensor", "add", "average", "clear_session", "concatenate",
    "dot", "get", "maximum", "minimum", "multiply", "subtract",
    *_LAZY,
]
