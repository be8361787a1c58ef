"""GoogLeNet (Szegedy et al., "Going deeper with convolutions", 2014), Inception v1 as in table 1 of the paper:
nine Inception modules, each running 1x1, 3x3 (after a 1x1 reduction), 5x5 (after a 1x1 reduction) and
3x3-max-pool (then a 1x1 projection) branches side by side and concatenating them. Two optional auxiliary
classifiers after modules 4a and 4d gave extra gradient to the middle of the network during training.

Keras has no GoogLeNet, so there are no published weights to load (`weights` is None or a file saved from this
model). Every convolution has a bias and ReLU. The paper's local response normalisation (after the first two
convolutions) has no parameters and is left out, as most reimplementations do. With 224x224x3 inputs and 1000
classes it has 6,998,552 parameters (7,000,000 in round figures, the paper's "12 times fewer than AlexNet");
the auxiliary heads add 3,188,840 (after 4a) and 3,190,888 (after 4d). docs/applications_more.md derives these counts.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .. import layers
from ..models import Model
from . import _common, _weights, imagenet_utils

# Table 1 of the paper: name -> (#1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool proj)
MODULES = {
    "3a": (64, 96, 128, 16, 32, 32), "3b": (128, 128, 192, 32, 96, 64),
    "4a": (192, 96, 208, 16, 48, 64), "4b": (160, 112, 224, 24, 64, 64), "4c": (128, 128, 256, 24, 64, 64),
    "4d": (112, 144, 288, 32, 64, 64), "4e": (256, 160, 320, 32, 128, 128),
    "5a": (256, 160, 320, 32, 128, 128), "5b": (384, 192, 384, 48, 128, 128),
}


def _conv(x: Any, filters: int, size: int, name: str, strides: int = 1) -> Any:
    return layers.Conv2D(filters, size, strides=strides, padding="same", activation="relu", name=name)(x)


def inception_module(x: Any, name: str) -> Any:
    """One Inception module of table 1: four branches concatenated along the channels."""
    c1, r3, c3, r5, c5, pp = MODULES[name]
    p = f"inception_{name}"
    b1 = _conv(x, c1, 1, f"{p}_1x1")
    b3 = _conv(_conv(x, r3, 1, f"{p}_3x3_reduce"), c3, 3, f"{p}_3x3")
    b5 = _conv(_conv(x, r5, 1, f"{p}_5x5_reduce"), c5, 5, f"{p}_5x5")
    bp = layers.MaxPooling2D(3, strides=1, padding="same", name=f"{p}_pool")(x)
    bp = _conv(bp, pp, 1, f"{p}_pool_proj")
    return layers.Concatenate(axis=-1, name=f"{p}_output")([b1, b3, b5, bp])


def auxiliary_head(x: Any, classes: int, activation: Any, name: str) -> Any:
    """The paper's auxiliary classifier: 5x5/3 average pooling, 1x1 conv (128), FC 1024, 70% dropout, FC."""
    x = layers.AveragePooling2D(5, strides=3, name=f"{name}_avg_pool")(x)
    x = _conv(x, 128, 1, f"{name}_conv")
    x = layers.Flatten(name=f"{name}_flatten")(x)
    x = layers.Dense(1024, activation="relu", name=f"{name}_fc")(x)
    x = layers.Dropout(0.7, name=f"{name}_dropout")(x)
    return layers.Dense(classes, activation=activation, name=f"{name}_predictions")(x)


@_weights.skips_initializers_when_loading
def GoogLeNet(include_top: bool = True, weights: Any = None, input_tensor: Any = None,  # noqa: N802
              input_shape: Sequence[int | None] | None = None, pooling: str | None = None, classes: int = 1000,
              classifier_activation: Any = "softmax", aux_logits: bool = False, name: str = "googlenet") -> Model:
    """GoogLeNet (Inception v1): inputs 224x224x3 (at least 32x32 without the top, 224x224 with the auxiliary
    heads). `aux_logits=True` (needs `include_top`) gives a model with three outputs: the main classifier and
    the auxiliary ones after 4a and 4d; compile it with `loss_weights=[1, 0.3, 0.3]` as the paper does."""
    if isinstance(weights, str) and weights == "imagenet":
        raise ValueError("there are no published ImageNet weights for GoogLeNet (Keras has no such model); "
                         "use weights=None or the path of a file saved from this model")
    _common.check_arguments(weights, include_top, classes, classifier_activation)
    if aux_logits and not include_top:
        raise ValueError("aux_logits=True needs include_top=True: the auxiliary heads are classifiers")
    input_shape = imagenet_utils.obtain_input_shape(input_shape, default_size=224, min_size=32,
                                                    require_flatten=include_top, weights=weights)
    if aux_logits and any(s is None or s < 224 for s in input_shape[:2]):
        raise ValueError(f"the auxiliary heads need inputs of at least 224x224, got input_shape={input_shape}")
    weights_path = _weights.resolve(weights, None, name)
    img_input = imagenet_utils.input_tensor_or_new(input_tensor, input_shape)
    x = _conv(img_input, 64, 7, "conv1_7x7", strides=2)
    x = layers.MaxPooling2D(3, strides=2, padding="same", name="pool1")(x)
    x = _conv(x, 64, 1, "conv2_3x3_reduce")
    x = _conv(x, 192, 3, "conv2_3x3")
    x = layers.MaxPooling2D(3, strides=2, padding="same", name="pool2")(x)
    x = inception_module(inception_module(x, "3a"), "3b")
    x = layers.MaxPooling2D(3, strides=2, padding="same", name="pool3")(x)
    x = inception_module(x, "4a")
    aux = [auxiliary_head(x, classes, classifier_activation, "aux1")] if aux_logits else []
    x = inception_module(inception_module(inception_module(x, "4b"), "4c"), "4d")
    if aux_logits:
        aux.append(auxiliary_head(x, classes, classifier_activation, "aux2"))
    x = inception_module(x, "4e")
    x = layers.MaxPooling2D(3, strides=2, padding="same", name="pool4")(x)
    x = inception_module(inception_module(x, "5a"), "5b")
    if include_top:
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
        x = layers.Dropout(0.4, name="dropout")(x)
        x = layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    else:
        x = _common.global_pooling(x, pooling)
    return _common.finish(input_tensor, img_input, [x, *aux] if aux else x, name, weights_path)


def preprocess_input(x: Any, data_format: str | None = None) -> Any:
    """RGB images 0..255 -> values in [-1, 1] (the 'tf' mode of the Inception family)."""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="tf")
