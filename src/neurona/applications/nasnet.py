"""NASNet (Zoph et al., 2018): a network whose cell was found by neural architecture search. Two cells are
stacked: the Normal cell keeps the size, the Reduction cell halves it; each combines the current input `h`
and the previous cell's output `p` through separable convolutions and poolings, added in pairs and
concatenated. `_adjust_block` brings `p` to the size and width of `h` when they differ.

Layer for layer the structure of `keras.applications.NASNetMobile` (224x224x3, 5,326,716 parameters).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .. import layers
from ..models import Model
from . import _common, _weights, imagenet_utils
from .imagenet_utils import decode_predictions  # noqa: F401  (keras.applications.nasnet.decode_predictions)

_BASE = _weights.KERAS_APPS + "nasnet/"
WEIGHTS = {
    True: _weights.WeightFile("nasnet_mobile.h5", _BASE + "NASNet-mobile.h5", "020fb642bf7360b370c678b08e0adf61"),
    False: _weights.WeightFile("nasnet_mobile_no_top.h5", _BASE + "NASNet-mobile-no-top.h5",
                               "1ed92395b5b598bdda52abe5c0dbfd63"),
}


def _bn(name: str | None) -> Any:
    return layers.BatchNormalization(axis=-1, momentum=0.9997, epsilon=1e-3, name=name)


def _conv1x1(filters: int, name: str, strides: tuple[int, int] = (1, 1)) -> Any:
    return layers.Conv2D(filters, (1, 1), strides=strides, padding="same", use_bias=False, name=name,
                         kernel_initializer="he_normal")


def _separable_conv_block(ip: Any, filters: int, kernel_size: tuple[int, int] = (3, 3),
                          strides: tuple[int, int] = (1, 1), block_id: str = "") -> Any:
    """Two [ReLU, SeparableConv2D, BatchNormalization]; the first one strided (with TF-style padding)."""
    x = layers.Activation("relu")(ip)
    conv_pad = "same"
    if strides == (2, 2):
        x = layers.ZeroPadding2D(padding=imagenet_utils.correct_pad(x.shape, kernel_size),
                                 name=f"separable_conv_1_pad_{block_id}")(x)
        conv_pad = "valid"
    x = layers.SeparableConv2D(filters, kernel_size, strides=strides, name=f"separable_conv_1_{block_id}",
                               padding=conv_pad, use_bias=False)(x)
    x = _bn(f"separable_conv_1_bn_{block_id}")(x)
    x = layers.Activation("relu")(x)
    x = layers.SeparableConv2D(filters, kernel_size, name=f"separable_conv_2_{block_id}", padding="same",
                               use_bias=False)(x)
    return _bn(f"separable_conv_2_bn_{block_id}")(x)


def _adjust_block(p: Any, ip: Any, filters: int, block_id: str) -> Any:
    """The previous output `p` brought to the size and width of the input `ip` (halved, or projected)."""
    if p is None:
        return ip
    if p.shape[-2] != ip.shape[-2]:  # halve: two offset 1x1 strided paths, concatenated (factorized reduction)
        p = layers.Activation("relu", name=f"adjust_relu_1_{block_id}")(p)
        p1 = layers.AveragePooling2D((1, 1), strides=(2, 2), padding="valid", name=f"adjust_avg_pool_1_{block_id}")(p)
        p1 = _conv1x1(filters // 2, f"adjust_conv_1_{block_id}")(p1)
        p2 = layers.ZeroPadding2D(padding=((0, 1), (0, 1)))(p)
        p2 = layers.Cropping2D(cropping=((1, 0), (1, 0)))(p2)
        p2 = layers.AveragePooling2D((1, 1), strides=(2, 2), padding="valid",
                                     name=f"adjust_avg_pool_2_{block_id}")(p2)
        p2 = _conv1x1(filters // 2, f"adjust_conv_2_{block_id}")(p2)
        p = layers.concatenate([p1, p2], axis=-1)
        return _bn(f"adjust_bn_{block_id}")(p)
    if p.shape[-1] != filters:  # project to `filters` channels
        p = layers.Activation("relu")(p)
        p = _conv1x1(filters, f"adjust_conv_projection_{block_id}")(p)
        return _bn(f"adjust_bn_{block_id}")(p)
    return p


def _squeeze(ip: Any, filters: int, kind: str, block_id: str) -> Any:
    h = layers.Activation("relu")(ip)
    h = _conv1x1(filters, f"{kind}_conv_1_{block_id}")(h)
    return _bn(f"{kind}_bn_1_{block_id}")(h)


def _normal_a_cell(ip: Any, p: Any, filters: int, block_id: str) -> tuple[Any, Any]:
    """The Normal cell of NASNet-A (figure 4 of the paper): same size, 6 x `filters` channels out."""
    p = _adjust_block(p, ip, filters, block_id)
    h = _squeeze(ip, filters, "normal", block_id)
    sep = _separable_conv_block
    x1 = layers.add([sep(h, filters, (5, 5), block_id=f"normal_left1_{block_id}"),
                     sep(p, filters, block_id=f"normal_right1_{block_id}")], name=f"normal_add_1_{block_id}")
    x2 = layers.add([sep(p, filters, (5, 5), block_id=f"normal_left2_{block_id}"),
                     sep(p, filters, (3, 3), block_id=f"normal_right2_{block_id}")], name=f"normal_add_2_{block_id}")
    pool = {"pool_size": (3, 3), "strides": (1, 1), "padding": "same"}
    x3 = layers.AveragePooling2D(**pool, name=f"normal_left3_{block_id}")(h)
    x3 = layers.add([x3, p], name=f"normal_add_3_{block_id}")
    x4_1 = layers.AveragePooling2D(**pool, name=f"normal_left4_{block_id}")(p)
    x4_2 = layers.AveragePooling2D(**pool, name=f"normal_right4_{block_id}")(p)
    x4 = layers.add([x4_1, x4_2], name=f"normal_add_4_{block_id}")
    x5 = sep(h, filters, block_id=f"normal_left5_{block_id}")
    x5 = layers.add([x5, h], name=f"normal_add_5_{block_id}")
    x = layers.concatenate([p, x1, x2, x3, x4, x5], axis=-1, name=f"normal_concat_{block_id}")
    return x, ip


def _reduction_a_cell(ip: Any, p: Any, filters: int, block_id: str) -> tuple[Any, Any]:
    """The Reduction cell of NASNet-A: half the size, 4 x `filters` channels out."""
    p = _adjust_block(p, ip, filters, block_id)
    h = _squeeze(ip, filters, "reduction", block_id)
    h3 = layers.ZeroPadding2D(padding=imagenet_utils.correct_pad(h.shape, 3), name=f"reduction_pad_1_{block_id}")(h)
    sep = _separable_conv_block
    x1_1 = sep(h, filters, (5, 5), strides=(2, 2), block_id=f"reduction_left1_{block_id}")
    x1_2 = sep(p, filters, (7, 7), strides=(2, 2), block_id=f"reduction_right1_{block_id}")
    x1 = layers.add([x1_1, x1_2], name=f"reduction_add_1_{block_id}")
    x2_1 = layers.MaxPooling2D((3, 3), strides=(2, 2), padding="valid", name=f"reduction_left2_{block_id}")(h3)
    x2_2 = sep(p, filters, (7, 7), strides=(2, 2), block_id=f"reduction_right2_{block_id}")
    x2 = layers.add([x2_1, x2_2], name=f"reduction_add_2_{block_id}")
    x3_1 = layers.AveragePooling2D((3, 3), strides=(2, 2), padding="valid", name=f"reduction_left3_{block_id}")(h3)
    x3_2 = sep(p, filters, (5, 5), strides=(2, 2), block_id=f"reduction_right3_{block_id}")
    x3 = layers.add([x3_1, x3_2], name=f"reduction_add3_{block_id}")
    x4 = layers.AveragePooling2D((3, 3), strides=(1, 1), padding="same", name=f"reduction_left4_{block_id}")(x1)
    x4 = layers.add([x2, x4])
    x5_1 = sep(x1, filters, (3, 3), block_id=f"reduction_left4_{block_id}")
    x5_2 = layers.MaxPooling2D((3, 3), strides=(2, 2), padding="valid", name=f"reduction_right5_{block_id}")(h3)
    x5 = layers.add([x5_1, x5_2], name=f"reduction_add4_{block_id}")
    x = layers.concatenate([x2, x3, x4, x5], axis=-1, name=f"reduction_concat_{block_id}")
    return x, ip


def _nasnet_body(img_input: Any, penultimate_filters: int, num_blocks: int, stem_block_filters: int,
                 filter_multiplier: int) -> Any:
    filters = penultimate_filters // 24
    x = layers.Conv2D(stem_block_filters, (3, 3), strides=(2, 2), padding="valid", use_bias=False,
                      name="stem_conv1", kernel_initializer="he_normal")(img_input)
    x = _bn("stem_bn1")(x)
    x, p = _reduction_a_cell(x, None, filters // (filter_multiplier ** 2), block_id="stem_1")
    x, p = _reduction_a_cell(x, p, filters // filter_multiplier, block_id="stem_2")
    for stage in range(3):
        if stage:
            x, p = _reduction_a_cell(x, p, filters * filter_multiplier ** stage,
                                     block_id=f"reduce_{stage * num_blocks}")
        for i in range(num_blocks):
            block = f"{stage * num_blocks + i + 1}" if stage else f"{i}"
            x, p = _normal_a_cell(x, p, filters * filter_multiplier ** stage, block_id=block)
    return layers.Activation("relu")(x)


@_weights.skips_initializers_when_loading
def NASNetMobile(input_shape: Sequence[int | None] | None = None, include_top: bool = True,  # noqa: N802
                 weights: Any = "imagenet", input_tensor: Any = None, pooling: str | None = None,
                 classes: int = 1000, classifier_activation: Any = "softmax", name: str = "nasnet_mobile") -> Model:
    """NASNet-A Mobile (4 @ 1056): inputs 224x224x3 (at least 32x32); `preprocess_input` scales to [-1, 1]."""
    _common.check_arguments(weights, include_top, classes, classifier_activation)
    if not include_top and input_shape is None:
        input_shape = (224, 224, 3)
    input_shape = imagenet_utils.obtain_input_shape(input_shape, default_size=224, min_size=32,
                                                    require_flatten=include_top, weights=weights)
    weights_path = _weights.resolve(weights, WEIGHTS[include_top], name)
    img_input = imagenet_utils.input_tensor_or_new(input_tensor, input_shape)
    x = _nasnet_body(img_input, penultimate_filters=1056, num_blocks=4, stem_block_filters=32, filter_multiplier=2)
    x = _common.top(x, include_top, classes, classifier_activation, pooling, pool_name=None)
    return _common.finish(input_tensor, img_input, x, name, weights_path)


def preprocess_input(x: Any, data_format: str | None = None) -> Any:
    """RGB images 0..255 -> what NASNet expects ('tf' mode: values in [-1, 1])."""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="tf")
