"""InceptionResNetV2 (Szegedy et al., 2016): Inception modules whose concatenated branches, brought back to
the input's width by a 1x1 convolution, are added to the input as a scaled residual (`x + scale * r`), which
lets a very deep Inception network train. 10 blocks at 35x35, 20 at 17x17 and 10 at 8x8.

Layer for layer the structure of `keras.applications.InceptionResNetV2` (299x299x3, 55,873,736 parameters).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .. import layers
from ..layers.merge import _Merge
from ..models import Model
from . import _common, _weights, imagenet_utils
from .imagenet_utils import decode_predictions  # noqa: F401  (keras.applications.inception_resnet_v2...)

_BASE = _weights.KERAS_APPS + "inception_resnet_v2/"
_NAME = "inception_resnet_v2_weights_tf_dim_ordering_tf_kernels"
WEIGHTS = {
    True: _weights.WeightFile(f"{_NAME}.h5", f"{_BASE}{_NAME}.h5", "e693bd0210a403b3192acc6073ad2e96"),
    False: _weights.WeightFile(f"{_NAME}_notop.h5", f"{_BASE}{_NAME}_notop.h5", "d19885ff4a710c122648d3b5c3b684e4"),
}


class CustomScaleLayer(_Merge):
    """`inputs[0] + inputs[1] * scale`: the scaled residual sum (Keras's layer of the same name)."""

    min_inputs = max_inputs = 2

    def __init__(self, scale: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.scale = float(scale)

    def _merge(self, inputs):
        return inputs[0] + inputs[1] * self.scale

    def get_config(self):
        return {**super().get_config(), "scale": self.scale}


def conv2d_bn(x: Any, filters: int, kernel_size: Any, strides: int = 1, padding: str = "same",
              activation: str | None = "relu", use_bias: bool = False, name: str | None = None) -> Any:
    """Conv2D, BatchNormalization without scale (only without bias), activation."""
    x = layers.Conv2D(filters, kernel_size, strides=strides, padding=padding, use_bias=use_bias, name=name)(x)
    if not use_bias:
        x = layers.BatchNormalization(axis=3, scale=False, name=None if name is None else f"{name}_bn")(x)
    if activation is not None:
        x = layers.Activation(activation, name=None if name is None else f"{name}_ac")(x)
    return x


_BRANCHES = {  # block type -> branches, each a list of (filters, kernel size)
    "block35": [[(32, 1)], [(32, 1), (32, 3)], [(32, 1), (48, 3), (64, 3)]],
    "block17": [[(192, 1)], [(128, 1), (160, (1, 7)), (192, (7, 1))]],
    "block8": [[(192, 1)], [(192, 1), (224, (1, 3)), (256, (3, 1))]],
}


def inception_resnet_block(x: Any, scale: float, block_type: str, block_idx: int,
                           activation: str | None = "relu") -> Any:
    """One Inception-ResNet block: `x + scale * conv1x1(concat(branches(x)))`, then the activation."""
    if block_type not in _BRANCHES:
        raise ValueError(f"block_type must be 'block35', 'block17' or 'block8', got {block_type!r}")
    branches = []
    for branch in _BRANCHES[block_type]:
        y = x
        for filters, kernel in branch:
            y = conv2d_bn(y, filters, kernel)
        branches.append(y)
    block_name = f"{block_type}_{block_idx}"
    mixed = layers.Concatenate(axis=3, name=f"{block_name}_mixed")(branches)
    up = conv2d_bn(mixed, x.shape[3], 1, activation=None, use_bias=True, name=f"{block_name}_conv")
    x = CustomScaleLayer(scale)([x, up])
    if activation is not None:
        x = layers.Activation(activation, name=f"{block_name}_ac")(x)
    return x


def _stem(img_input: Any) -> Any:
    x = conv2d_bn(img_input, 32, 3, strides=2, padding="valid")
    x = conv2d_bn(x, 32, 3, padding="valid")
    x = conv2d_bn(x, 64, 3)
    x = layers.MaxPooling2D(3, strides=2)(x)
    x = conv2d_bn(x, 80, 1, padding="valid")
    x = conv2d_bn(x, 192, 3, padding="valid")
    x = layers.MaxPooling2D(3, strides=2)(x)
    branch_0 = conv2d_bn(x, 96, 1)  # mixed 5b (Inception-A): 35 x 35 x 320
    branch_1 = conv2d_bn(conv2d_bn(x, 48, 1), 64, 5)
    branch_2 = conv2d_bn(conv2d_bn(conv2d_bn(x, 64, 1), 96, 3), 96, 3)
    branch_pool = conv2d_bn(layers.AveragePooling2D(3, strides=1, padding="same")(x), 64, 1)
    return layers.Concatenate(axis=3, name="mixed_5b")([branch_0, branch_1, branch_2, branch_pool])


@_weights.skips_initializers_when_loading
def InceptionResNetV2(include_top: bool = True, weights: Any = "imagenet",  # noqa: N802
                      input_tensor: Any = None, input_shape: Sequence[int | None] | None = None,
                      pooling: str | None = None, classes: int = 1000, classifier_activation: Any = "softmax",
                      name: str = "inception_resnet_v2") -> Model:
    """InceptionResNetV2: inputs 299x299x3 (at least 75x75 without the top); `preprocess_input`: [-1, 1]."""
    _common.check_arguments(weights, include_top, classes, classifier_activation)
    input_shape = imagenet_utils.obtain_input_shape(input_shape, default_size=299, min_size=75,
                                                    require_flatten=include_top, weights=weights)
    weights_path = _weights.resolve(weights, WEIGHTS[include_top], name)
    img_input = imagenet_utils.input_tensor_or_new(input_tensor, input_shape)
    x = _stem(img_input)
    for block_idx in range(1, 11):
        x = inception_resnet_block(x, scale=0.17, block_type="block35", block_idx=block_idx)
    branch_0 = conv2d_bn(x, 384, 3, strides=2, padding="valid")  # mixed 6a (Reduction-A): 17 x 17 x 1088
    branch_1 = conv2d_bn(conv2d_bn(conv2d_bn(x, 256, 1), 256, 3), 384, 3, strides=2, padding="valid")
    branch_pool = layers.MaxPooling2D(3, strides=2, padding="valid")(x)
    x = layers.Concatenate(axis=3, name="mixed_6a")([branch_0, branch_1, branch_pool])
    for block_idx in range(1, 21):
        x = inception_resnet_block(x, scale=0.1, block_type="block17", block_idx=block_idx)
    branch_0 = conv2d_bn(conv2d_bn(x, 256, 1), 384, 3, strides=2, padding="valid")  # mixed 7a: 8 x 8 x 2080
    branch_1 = conv2d_bn(conv2d_bn(x, 256, 1), 288, 3, strides=2, padding="valid")
    branch_2 = conv2d_bn(conv2d_bn(conv2d_bn(x, 256, 1), 288, 3), 320, 3, strides=2, padding="valid")
    branch_pool = layers.MaxPooling2D(3, strides=2, padding="valid")(x)
    x = layers.Concatenate(axis=3, name="mixed_7a")([branch_0, branch_1, branch_2, branch_pool])
    for block_idx in range(1, 10):
        x = inception_resnet_block(x, scale=0.2, block_type="block8", block_idx=block_idx)
    x = inception_resnet_block(x, scale=1.0, activation=None, block_type="block8", block_idx=10)
    x = conv2d_bn(x, 1536, 1, name="conv_7b")
    x = _common.top(x, include_top, classes, classifier_activation, pooling)
    return _common.finish(input_tensor, img_input, x, name, weights_path)


def preprocess_input(x: Any, data_format: str | None = None) -> Any:
    """RGB images 0..255 -> what InceptionResNetV2 expects ('tf' mode: values in [-1, 1])."""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="tf")
