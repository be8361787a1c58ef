"""What every application constructor does the same way, around the network that makes each one different:
checking the Keras arguments before building, and, after the last block, either the classifier (written in
each network's module) or the optional global pooling, then the Model with its weights loaded.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .. import layers
from ..models import Model
from . import _weights, imagenet_utils


def check_arguments(weights: Any, include_top: bool, classes: int, classifier_activation: Any) -> None:
    """Keras's checks of `weights`/`classes`, and of the classifier's activation when there is one."""
    imagenet_utils.validate_weights(weights, include_top, classes)
    if include_top:
        imagenet_utils.validate_activation(classifier_activation, weights)


def global_pooling(x: Any, pooling: str | None, named: bool = False) -> Any:
    """Without the classifier: the feature maps as they are (`pooling=None`), or pooled to one vector per image
    ('avg' or 'max'). `named` gives the layers Keras's names 'avg_pool'/'max_pool' (DenseNet, ResNet)."""
    if pooling == "avg":
        return layers.GlobalAveragePooling2D(name="avg_pool" if named else None)(x)
    if pooling == "max":
        return layers.GlobalMaxPooling2D(name="max_pool" if named else None)(x)
    return x


def top(x: Any, include_top: bool, classes: int, classifier_activation: Any, pooling: str | None,
        named: bool = False, pool_name: str | None = "avg_pool") -> Any:
    """Keras's head: global average pooling and the `predictions` Dense with the top, `global_pooling` without.
    `pool_name=None` leaves the pooling layer its automatic name (MobileNetV2, NASNet in Keras)."""
    if include_top:
        x = layers.GlobalAveragePooling2D(name=pool_name)(x)
        return layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    return global_pooling(x, pooling, named)


def finish(input_tensor: Any, img_input: Any, outputs: Any, name: str, weights_path: Path | None) -> Model:
    """The Model from the application's input to `outputs`, filled from `weights_path` (None: random weights)."""
    model = Model(imagenet_utils.model_inputs(input_tensor, img_input), outputs, name=name)
    _weights.load(model, weights_path)
    return model
