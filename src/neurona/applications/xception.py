"""Xception (Chollet, 2017): Inception taken to the extreme, every convolution after the stem is a depthwise
separable one (one 3x3 filter per channel, then a 1x1 mix), arranged in residual blocks: entry flow (three
down-sampling blocks), middle flow (eight blocks of 728 channels) and exit flow.

Layer for layer the structure of `keras.applications.Xception` (299x299x3 inputs, 22,910,480 parameters).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .. import layers
from ..models import Model
from . import _common, _weights, imagenet_utils
from .imagenet_utils import decode_predictions  # noqa: F401  (keras.applications.xception.decode_predictions)

_BASE = _weights.KERAS_APPS + "xception/"
WEIGHTS = {
    True: _weights.WeightFile("xception_weights_tf_dim_ordering_tf_kernels.h5",
                              _BASE + "xception_weights_tf_dim_ordering_tf_kernels.h5",
                              "0a58e3b7378bc2990ea3b43d5981f1f6"),
    False: _weights.WeightFile("xception_weights_tf_dim_ordering_tf_kernels_notop.h5",
                               _BASE + "xception_weights_tf_dim_ordering_tf_kernels_notop.h5",
                               "b0042744bf5b25fce3cb969f33bebb97"),
}


def _sep_bn(x: Any, filters: int, name: str) -> Any:
    """SeparableConv2D 3x3 without bias, then BatchNormalization."""
    x = layers.SeparableConv2D(filters, (3, 3), padding="same", use_bias=False, name=name)(x)
    return layers.BatchNormalization(axis=-1, name=f"{name}_bn")(x)


def _down_block(x: Any, filters: tuple[int, int], block: int, first_relu: bool = True) -> Any:
    """Two separable convolutions and a strided max pooling, added to a strided 1x1 shortcut."""
    residual = layers.Conv2D(filters[1], (1, 1), strides=(2, 2), padding="same", use_bias=False)(x)
    residual = layers.BatchNormalization(axis=-1)(residual)
    if first_relu:
        x = layers.Activation("relu", name=f"block{block}_sepconv1_act")(x)
    x = _sep_bn(x, filters[0], f"block{block}_sepconv1")
    x = layers.Activation("relu", name=f"block{block}_sepconv2_act")(x)
    x = _sep_bn(x, filters[1], f"block{block}_sepconv2")
    x = layers.MaxPooling2D((3, 3), strides=(2, 2), padding="same", name=f"block{block}_pool")(x)
    return layers.add([x, residual])


@_weights.skips_initializers_when_loading
def Xception(include_top: bool = True, weights: Any = "imagenet", input_tensor: Any = None,  # noqa: N802
             input_shape: Sequence[int | None] | None = None, pooling: str | None = None, classes: int = 1000,
             classifier_activation: Any = "softmax", name: str = "xception") -> Model:
    """Xception: inputs 299x299x3 (at least 71x71 without the top); `preprocess_input` scales to [-1, 1]."""
    _common.check_arguments(weights, include_top, classes, classifier_activation)
    input_shape = imagenet_utils.obtain_input_shape(input_shape, default_size=299, min_size=71,
                                                    require_flatten=include_top, weights=weights)
    weights_path = _weights.resolve(weights, WEIGHTS[include_top], name)
    img_input = imagenet_utils.input_tensor_or_new(input_tensor, input_shape)
    x = layers.Conv2D(32, (3, 3), strides=(2, 2), use_bias=False, name="block1_conv1")(img_input)
    x = layers.BatchNormalization(axis=-1, name="block1_conv1_bn")(x)
    x = layers.Activation("relu", name="block1_conv1_act")(x)
    x = layers.Conv2D(64, (3, 3), use_bias=False, name="block1_conv2")(x)
    x = layers.BatchNormalization(axis=-1, name="block1_conv2_bn")(x)
    x = layers.Activation("relu", name="block1_conv2_act")(x)

    x = _down_block(x, (128, 128), 2, first_relu=False)  # entry flow
    x = _down_block(x, (256, 256), 3)
    x = _down_block(x, (728, 728), 4)
    for i in range(8):  # middle flow
        residual = x
        prefix = f"block{i + 5}"
        for j in (1, 2, 3):
            x = layers.Activation("relu", name=f"{prefix}_sepconv{j}_act")(x)
            x = _sep_bn(x, 728, f"{prefix}_sepconv{j}")
        x = layers.add([x, residual])
    x = _down_block(x, (728, 1024), 13)  # exit flow

    x = _sep_bn(x, 1536, "block14_sepconv1")
    x = layers.Activation("relu", name="block14_sepconv1_act")(x)
    x = _sep_bn(x, 2048, "block14_sepconv2")
    x = layers.Activation("relu", name="block14_sepconv2_act")(x)
    x = _common.top(x, include_top, classes, classifier_activation, pooling)
    return _common.finish(input_tensor, img_input, x, name, weights_path)


def preprocess_input(x: Any, data_format: str | None = None) -> Any:
    """RGB images 0..255 -> what Xception expects ('tf' mode: values in [-1, 1])."""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="tf")
