"""InceptionV3 (Szegedy et al., 2015): "Inception" modules run several branches side by side (1x1, 3x3,
factorised 7x7 = 1x7 then 7x1, pooling) and concatenate their feature maps, so each module looks at the
image at several scales at once. Every convolution is followed by BatchNormalization (without scale) and ReLU.

Layer for layer the structure of `keras.applications.InceptionV3` (299x299x3 inputs, 23,851,784 parameters).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .. import layers
from ..models import Model
from . import _common, _weights, imagenet_utils
from .imagenet_utils import decode_predictions  # noqa: F401  (keras.applications.inception_v3.decode_predictions)

_BASE = _weights.KERAS_APPS + "inception_v3/"
WEIGHTS = {
    True: _weights.WeightFile("inception_v3_weights_tf_dim_ordering_tf_kernels.h5",
                              _BASE + "inception_v3_weights_tf_dim_ordering_tf_kernels.h5",
                              "9a0d58056eeedaa3f26cb7ebd46da564"),
    False: _weights.WeightFile("inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5",
                               _BASE + "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5",
                               "bcbd6486424b2319ff4ef7d526e38f63"),
}


def conv2d_bn(x: Any, filters: int, num_row: int, num_col: int, padding: str = "same",
              strides: tuple[int, int] = (1, 1), name: str | None = None) -> Any:
    """Conv2D without bias, BatchNormalization without scale, ReLU."""
    x = layers.Conv2D(filters, (num_row, num_col), strides=strides, padding=padding, use_bias=False,
                      name=None if name is None else f"{name}_conv")(x)
    x = layers.BatchNormalization(axis=3, scale=False, name=None if name is None else f"{name}_bn")(x)
    return layers.Activation("relu", name=name)(x)


def _avg_pool_branch(x: Any, filters: int) -> Any:
    x = layers.AveragePooling2D((3, 3), strides=(1, 1), padding="same")(x)
    return conv2d_bn(x, filters, 1, 1)


def _module_a(x: Any, pool_filters: int, name: str) -> Any:
    """35x35 module: 1x1, 5x5, double 3x3 and pooling branches."""
    branch1x1 = conv2d_bn(x, 64, 1, 1)
    branch5x5 = conv2d_bn(x, 48, 1, 1)
    branch5x5 = conv2d_bn(branch5x5, 64, 5, 5)
    branch3x3dbl = conv2d_bn(x, 64, 1, 1)
    branch3x3dbl = conv2d_bn(branch3x3dbl, 96, 3, 3)
    branch3x3dbl = conv2d_bn(branch3x3dbl, 96, 3, 3)
    branch_pool = _avg_pool_branch(x, pool_filters)
    return layers.concatenate([branch1x1, branch5x5, branch3x3dbl, branch_pool], axis=3, name=name)


def _module_c(x: Any, mid: int, name: str) -> Any:
    """17x17 module: the 7x7 convolutions factorised into 1x7 and 7x1 (`mid` channels inside)."""
    branch1x1 = conv2d_bn(x, 192, 1, 1)
    branch7x7 = conv2d_bn(x, mid, 1, 1)
    branch7x7 = conv2d_bn(branch7x7, mid, 1, 7)
    branch7x7 = conv2d_bn(branch7x7, 192, 7, 1)
    branch7x7dbl = conv2d_bn(x, mid, 1, 1)
    branch7x7dbl = conv2d_bn(branch7x7dbl, mid, 7, 1)
    branch7x7dbl = conv2d_bn(branch7x7dbl, mid, 1, 7)
    branch7x7dbl = conv2d_bn(branch7x7dbl, mid, 7, 1)
    branch7x7dbl = conv2d_bn(branch7x7dbl, 192, 1, 7)
    branch_pool = _avg_pool_branch(x, 192)
    return layers.concatenate([branch1x1, branch7x7, branch7x7dbl, branch_pool], axis=3, name=name)


def _module_e(x: Any, i: int) -> Any:
    """8x8 module: 1x3 and 3x1 convolutions side by side ("expanded filter bank")."""
    branch1x1 = conv2d_bn(x, 320, 1, 1)
    branch3x3 = conv2d_bn(x, 384, 1, 1)
    branch3x3_1 = conv2d_bn(branch3x3, 384, 1, 3)
    branch3x3_2 = conv2d_bn(branch3x3, 384, 3, 1)
    branch3x3 = layers.concatenate([branch3x3_1, branch3x3_2], axis=3, name=f"mixed9_{i}")
    branch3x3dbl = conv2d_bn(x, 448, 1, 1)
    branch3x3dbl = conv2d_bn(branch3x3dbl, 384, 3, 3)
    branch3x3dbl_1 = conv2d_bn(branch3x3dbl, 384, 1, 3)
    branch3x3dbl_2 = conv2d_bn(branch3x3dbl, 384, 3, 1)
    branch3x3dbl = layers.concatenate([branch3x3dbl_1, branch3x3dbl_2], axis=3)
    branch_pool = _avg_pool_branch(x, 192)
    return layers.concatenate([branch1x1, branch3x3, branch3x3dbl, branch_pool], axis=3, name=f"mixed{9 + i}")


@_weights.skips_initializers_when_loading
def InceptionV3(include_top: bool = True, weights: Any = "imagenet", input_tensor: Any = None,  # noqa: N802
                input_shape: Sequence[int | None] | None = None, pooling: str | None = None, classes: int = 1000,
                classifier_activation: Any = "softmax", name: str = "inception_v3") -> Model:
    """InceptionV3: inputs 299x299x3 (at least 75x75 without the top); `preprocess_input` scales to [-1, 1]."""
    _common.check_arguments(weights, include_top, classes, classifier_activation)
    input_shape = imagenet_utils.obtain_input_shape(input_shape, default_size=299, min_size=75,
                                                    require_flatten=include_top, weights=weights)
    weights_path = _weights.resolve(weights, WEIGHTS[include_top], name)
    img_input = imagenet_utils.input_tensor_or_new(input_tensor, input_shape)
    x = conv2d_bn(img_input, 32, 3, 3, strides=(2, 2), padding="valid")
    x = conv2d_bn(x, 32, 3, 3, padding="valid")
    x = conv2d_bn(x, 64, 3, 3)
    x = layers.MaxPooling2D((3, 3), strides=(2, 2))(x)
    x = conv2d_bn(x, 80, 1, 1, padding="valid")
    x = conv2d_bn(x, 192, 3, 3, padding="valid")
    x = layers.MaxPooling2D((3, 3), strides=(2, 2))(x)

    x = _module_a(x, 32, "mixed0")
    x = _module_a(x, 64, "mixed1")
    x = _module_a(x, 64, "mixed2")

    branch3x3 = conv2d_bn(x, 384, 3, 3, strides=(2, 2), padding="valid")  # mixed3: 35x35 -> 17x17
    branch3x3dbl = conv2d_bn(x, 64, 1, 1)
    branch3x3dbl = conv2d_bn(branch3x3dbl, 96, 3, 3)
    branch3x3dbl = conv2d_bn(branch3x3dbl, 96, 3, 3, strides=(2, 2), padding="valid")
    branch_pool = layers.MaxPooling2D((3, 3), strides=(2, 2))(x)
    x = layers.concatenate([branch3x3, branch3x3dbl, branch_pool], axis=3, name="mixed3")

    x = _module_c(x, 128, "mixed4")
    x = _module_c(x, 160, "mixed5")
    x = _module_c(x, 160, "mixed6")
    x = _module_c(x, 192, "mixed7")

    branch3x3 = conv2d_bn(x, 192, 1, 1)  # mixed8: 17x17 -> 8x8
    branch3x3 = conv2d_bn(branch3x3, 320, 3, 3, strides=(2, 2), padding="valid")
    branch7x7x3 = conv2d_bn(x, 192, 1, 1)
    branch7x7x3 = conv2d_bn(branch7x7x3, 192, 1, 7)
    branch7x7x3 = conv2d_bn(branch7x7x3, 192, 7, 1)
    branch7x7x3 = conv2d_bn(branch7x7x3, 192, 3, 3, strides=(2, 2), padding="valid")
    branch_pool = layers.MaxPooling2D((3, 3), strides=(2, 2))(x)
    x = layers.concatenate([branch3x3, branch7x7x3, branch_pool], axis=3, name="mixed8")

    x = _module_e(x, 0)
    x = _module_e(x, 1)
    x = _common.top(x, include_top, classes, classifier_activation, pooling)
    return _common.finish(input_tensor, img_input, x, name, weights_path)


def preprocess_input(x: Any, data_format: str | None = None) -> Any:
    """RGB images 0..255 -> what InceptionV3 expects ('tf' mode: values in [-1, 1])."""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="tf")
