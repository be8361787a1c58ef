"""Keras's `keras.applications.inception_v3` module: `InceptionV3`, `preprocess_input`, `decode_predictions`."""

from .inception import InceptionV3, decode_predictions, preprocess_input

__all__ = ["InceptionV3", "decode_predictions", "preprocess_input"]
