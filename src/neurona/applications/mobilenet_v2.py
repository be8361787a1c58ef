"""Keras's `keras.applications.mobilenet_v2` module: `MobileNetV2`, `preprocess_input`, `decode_predictions`."""

from .mobilenet import MobileNetV2, decode_predictions, preprocess_input

__all__ = ["MobileNetV2", "decode_predictions", "preprocess_input"]
