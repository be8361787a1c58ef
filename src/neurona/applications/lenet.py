"""LeNet-5 (LeCun et al., 1998), the network the slides used for characters: two convolution + subsampling
stages and three dense layers, tanh activations and average pooling as in the paper (61,706 parameters).

On 32x32 images (the paper's size) the first convolution is 'valid'; on smaller images such as MNIST's
28x28 it pads ('same'), which is what LeCun did by framing the 28x28 digits in 32x32, so the feature maps
keep the paper's sizes (28x28x6, 14x14x6, 10x10x16, 5x5x16) and the parameter count stays the same.

>>> model = LeNet5(input_shape=(28, 28, 1))
>>> model.output_shape, model.count_params()
((None, 10), 61706)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .. import layers
from ..models import Model
from . import _common, _weights, imagenet_utils


@_weights.skips_initializers_when_loading
def LeNet5(include_top: bool = True, weights: Any = None, input_tensor: Any = None,  # noqa: N802
           input_shape: Sequence[int | None] | None = None, pooling: str | None = None, classes: int = 10,
           classifier_activation: Any = "softmax", activation: Any = "tanh", name: str = "lenet5") -> Model:
    """LeNet-5 with Keras's application arguments; inputs (32, 32, 1) by default.

    `weights`: None (random) or a weights file; `neurona.pretrained.load_lenet_digits()` gives one trained on
    the digits data. `activation` is the hidden layers' activation ('tanh' as in the paper, 'relu' trains faster).
    """
    if weights == "imagenet":
        raise ValueError("LeNet5 has no ImageNet weights: use weights=None, a weights file, or "
                         "neurona.pretrained.load_lenet_digits() for the model trained on digits")
    imagenet_utils.validate_weights(weights, include_top, classes)
    input_shape = (32, 32, 1) if input_shape is None else tuple(input_shape)
    if len(input_shape) != 3:
        raise ValueError(f"LeNet5: input_shape must be (height, width, channels), got {input_shape}")
    if include_top and None in input_shape:
        raise ValueError(f"LeNet5: with include_top=True the input size must be known, got {input_shape}")
    rows = input_shape[0]
    padding = "same" if rows is not None and rows < 32 else "valid"
    weights_path = _weights.resolve(weights, None, name)
    img_input = imagenet_utils.input_tensor_or_new(input_tensor, input_shape)
    x = layers.Conv2D(6, 5, padding=padding, activation=activation, name="c1")(img_input)
    x = layers.AveragePooling2D(2, name="s2")(x)
    x = layers.Conv2D(16, 5, activation=activation, name="c3")(x)
    x = layers.AveragePooling2D(2, name="s4")(x)
    if include_top:
        x = layers.Flatten(name="flatten")(x)
        x = layers.Dense(120, activation=activation, name="c5")(x)
        x = layers.Dense(84, activation=activation, name="f6")(x)
        x = layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    else:
        x = _common.global_pooling(x, pooling)
    return _common.finish(input_tensor, img_input, x, name, weights_path)
