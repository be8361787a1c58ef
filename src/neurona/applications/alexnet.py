"""AlexNet (Krizhevsky, Sutskever and Hinton, 2012), the network that won ImageNet 2012 and started the
deep-learning boom: five convolutions (11x11 stride 4, 5x5, three 3x3), three max poolings, and two dense
layers of 4096 units with dropout. 62,378,344 parameters on 227x227x3 inputs.

The single-tower form (the paper split the filters over two GPUs) without local response normalisation,
which later work found unnecessary. Keras has no AlexNet, so there are no published weights.

>>> AlexNet(include_top=False, input_shape=(227, 227, 3)).output_shape
(None, 6, 6, 256)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .. import layers
from ..models import Model
from . import _common, _weights, imagenet_utils


@_weights.skips_initializers_when_loading
def AlexNet(include_top: bool = True, weights: Any = None, input_tensor: Any = None,  # noqa: N802
            input_shape: Sequence[int | None] | None = None, pooling: str | None = None, classes: int = 1000,
            classifier_activation: Any = "softmax", dropout: float = 0.5, name: str = "alexnet") -> Model:
    """AlexNet with Keras's application arguments; inputs 227x227x3 by default; `weights` None or a file."""
    if weights == "imagenet":
        raise ValueError("there are no published ImageNet weights for AlexNet in Keras's format: use weights=None "
                         "or the path to a weights file")
    imagenet_utils.validate_weights(weights, include_top, classes)
    input_shape = imagenet_utils.obtain_input_shape(input_shape, default_size=227, min_size=67,
                                                    require_flatten=include_top, weights=weights)
    weights_path = _weights.resolve(weights, None, name)
    img_input = imagenet_utils.input_tensor_or_new(input_tensor, input_shape)
    x = layers.Conv2D(96, 11, strides=4, activation="relu", name="conv1")(img_input)
    x = layers.MaxPooling2D(3, strides=2, name="pool1")(x)
    x = layers.Conv2D(256, 5, padding="same", activation="relu", name="conv2")(x)
    x = layers.MaxPooling2D(3, strides=2, name="pool2")(x)
    x = layers.Conv2D(384, 3, padding="same", activation="relu", name="conv3")(x)
    x = layers.Conv2D(384, 3, padding="same", activation="relu", name="conv4")(x)
    x = layers.Conv2D(256, 3, padding="same", activation="relu", name="conv5")(x)
    x = layers.MaxPooling2D(3, strides=2, name="pool5")(x)
    if include_top:
        x = layers.Flatten(name="flatten")(x)
        x = layers.Dense(4096, activation="relu", name="fc6")(x)
        x = layers.Dropout(dropout, name="drop6")(x)
        x = layers.Dense(4096, activation="relu", name="fc7")(x)
        x = layers.Dropout(dropout, name="drop7")(x)
        x = layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    else:
        x = _common.global_pooling(x, pooling)
    return _common.finish(input_tensor, img_input, x, name, weights_path)
