"""MobileNet (Howard et al., 2017) and MobileNetV2 (Sandler et al., 2018): small, fast networks built from
depthwise separable convolutions, a 3x3 DepthwiseConv2D (one filter per channel) followed by a 1x1 Conv2D
that mixes the channels, about 8 times cheaper than a full 3x3 convolution.

Layer for layer the structure of `keras.applications.MobileNet`/`MobileNetV2`, down to the capped ReLUs,
which are `ReLU(6.0)` layers with Keras's names.

>>> MobileNet(weights=None).count_params()
4253864
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

from .. import layers
from ..models import Model
from . import _common, _weights, imagenet_utils
from .imagenet_utils import decode_predictions  # noqa: F401  (keras.applications.mobilenet.decode_predictions)


def _imagenet_rows(rows: Any, cols: Any, sizes: Sequence[int], what: str) -> int:
    if rows != cols or rows not in sizes:
        warnings.warn(f"{what}: the input is not square or its size is not one of {list(sizes)}, so the weights for "
                      f"224x224 inputs are loaded", stacklevel=3)
        return 224
    return int(rows)


def _default_size(input_shape: Any, sizes: Sequence[int]) -> int:
    if input_shape is None:
        return 224
    rows, cols = input_shape[0], input_shape[1]
    return rows if rows == cols and rows in sizes else 224


# ----------------------------------------------------------------------------------------------- MobileNet v1
def _conv_block(x: Any, filters: int, alpha: float, kernel: tuple[int, int] = (3, 3),
                strides: tuple[int, int] = (1, 1)) -> Any:
    x = layers.Conv2D(int(filters * alpha), kernel, padding="same", use_bias=False, strides=strides, name="conv1")(x)
    x = layers.BatchNormalization(axis=-1, name="conv1_bn")(x)
    return layers.ReLU(6.0, name="conv1_relu")(x)


def _depthwise_conv_block(x: Any, pointwise_filters: int, alpha: float, depth_multiplier: int = 1,
                          strides: tuple[int, int] = (1, 1), block_id: int = 1) -> Any:
    """3x3 depthwise convolution + BN + ReLU6, then 1x1 pointwise convolution + BN + ReLU6."""
    if strides != (1, 1):  # TensorFlow's 'same' with stride 2 pads only after: pad explicitly, then 'valid'
        x = layers.ZeroPadding2D(((0, 1), (0, 1)), name=f"conv_pad_{block_id}")(x)
    x = layers.DepthwiseConv2D((3, 3), padding="same" if strides == (1, 1) else "valid",
                               depth_multiplier=depth_multiplier, strides=strides, use_bias=False,
                               name=f"conv_dw_{block_id}")(x)
    x = layers.BatchNormalization(axis=-1, name=f"conv_dw_{block_id}_bn")(x)
    x = layers.ReLU(6.0, name=f"conv_dw_{block_id}_relu")(x)
    x = layers.Conv2D(int(pointwise_filters * alpha), (1, 1), padding="same", use_bias=False, strides=(1, 1),
                      name=f"conv_pw_{block_id}")(x)
    x = layers.BatchNormalization(axis=-1, name=f"conv_pw_{block_id}_bn")(x)
    return layers.ReLU(6.0, name=f"conv_pw_{block_id}_relu")(x)


@_weights.skips_initializers_when_loading
def MobileNet(input_shape: Sequence[int | None] | None = None, alpha: float = 1.0,  # noqa: N802
              depth_multiplier: int = 1, dropout: float = 1e-3, include_top: bool = True, weights: Any = "imagenet",
              input_tensor: Any = None, pooling: str | None = None, classes: int = 1000,
              classifier_activation: Any = "softmax", name: str | None = None) -> Model:
    """MobileNet v1: a 3x3 convolution and 13 depthwise separable blocks (4,253,864 parameters at alpha=1).

    `alpha` scales the number of filters of every layer (0.25, 0.5, 0.75 and 1.0 have ImageNet weights);
    `depth_multiplier` the depthwise layers' outputs. Inputs go through `preprocess_input` ([-1, 1]).
    """
    _common.check_arguments(weights, include_top, classes, classifier_activation)
    input_shape = imagenet_utils.obtain_input_shape(input_shape, _default_size(input_shape, (128, 160, 192, 224)),
                                                    min_size=32, require_flatten=include_top, weights=weights)
    rows, cols = input_shape[0], input_shape[1]
    if weights == "imagenet":
        if depth_multiplier != 1:
            raise ValueError(f"ImageNet weights exist only for depth_multiplier=1, got {depth_multiplier}")
        if alpha not in (0.25, 0.50, 0.75, 1.0):
            raise ValueError(f"ImageNet weights exist only for alpha in 0.25, 0.5, 0.75, 1.0; got alpha={alpha}")
        rows = _imagenet_rows(rows, cols, (128, 160, 192, 224), "MobileNet")
    name = name if name is not None else f"mobilenet_{alpha:0.2f}_{rows}"
    wf = None
    if weights == "imagenet":
        alpha_text = {1.0: "1_0", 0.75: "7_5", 0.5: "5_0", 0.25: "2_5"}[alpha]
        fname = f"mobilenet_{alpha_text}_{rows}_tf{'' if include_top else '_no_top'}.h5"
        wf = _weights.WeightFile(fname, _weights.KERAS_APPS + "mobilenet/" + fname)  # Keras publishes no hash
    weights_path = _weights.resolve(weights, wf, name)
    img_input = imagenet_utils.input_tensor_or_new(input_tensor, input_shape)
    x = _conv_block(img_input, 32, alpha, strides=(2, 2))
    plan = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2)] + [(512, 1)] * 5 + [(1024, 2), (1024, 1)]
    for block_id, (filters, stride) in enumerate(plan, start=1):
        x = _depthwise_conv_block(x, filters, alpha, depth_multiplier, strides=(stride, stride), block_id=block_id)
    if include_top:
        x = layers.GlobalAveragePooling2D(keepdims=True)(x)
        x = layers.Dropout(dropout, name="dropout")(x)
        x = layers.Conv2D(classes, (1, 1), padding="same", name="conv_preds")(x)
        x = layers.Reshape((classes,), name="reshape_2")(x)
        x = layers.Activation(classifier_activation, name="predictions")(x)
    else:
        x = _common.global_pooling(x, pooling)
    return _common.finish(input_tensor, img_input, x, name, weights_path)


# ----------------------------------------------------------------------------------------------- MobileNetV2
def _make_divisible(v: float, divisor: int, min_value: int | None = None) -> int:
    """Round a channel count to a multiple of `divisor`, never more than 10 % below `v`."""
    min_value = divisor if min_value is None else min_value
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    return new_v + divisor if new_v < 0.9 * v else new_v


def _inverted_res_block(inputs: Any, expansion: int, stride: int, alpha: float, filters: int, block_id: int) -> Any:
    """Expand (1x1), filter (3x3 depthwise), project (1x1, linear); add the input when the shapes agree."""
    in_channels = inputs.shape[-1]
    pointwise_filters = _make_divisible(int(filters * alpha), 8)
    x = inputs
    prefix = f"block_{block_id}_"
    if block_id:
        x = layers.Conv2D(expansion * in_channels, kernel_size=1, padding="same", use_bias=False, activation=None,
                          name=f"{prefix}expand")(x)
        x = layers.BatchNormalization(axis=-1, epsilon=1e-3, momentum=0.999, name=f"{prefix}expand_BN")(x)
        x = layers.ReLU(6.0, name=f"{prefix}expand_relu")(x)
    else:
        prefix = "expanded_conv_"
    if stride == 2:
        x = layers.ZeroPadding2D(padding=imagenet_utils.correct_pad(x.shape, 3), name=f"{prefix}pad")(x)
    x = layers.DepthwiseConv2D(kernel_size=3, strides=stride, activation=None, use_bias=False,
                               padding="same" if stride == 1 else "valid", name=f"{prefix}depthwise")(x)
    x = layers.BatchNormalization(axis=-1, epsilon=1e-3, momentum=0.999, name=f"{prefix}depthwise_BN")(x)
    x = layers.ReLU(6.0, name=f"{prefix}depthwise_relu")(x)
    x = layers.Conv2D(pointwise_filters, kernel_size=1, padding="same", use_bias=False, activation=None,
                      name=f"{prefix}project")(x)
    x = layers.BatchNormalization(axis=-1, epsilon=1e-3, momentum=0.999, name=f"{prefix}project_BN")(x)
    if in_channels == pointwise_filters and stride == 1:
        return layers.Add(name=f"{prefix}add")([inputs, x])
    return x


# (filters, stride, expansion) of the 17 inverted residual blocks
_V2_BLOCKS = ([(16, 1, 1)] + [(24, 2, 6), (24, 1, 6)] + [(32, 2, 6)] + [(32, 1, 6)] * 2 + [(64, 2, 6)]
              + [(64, 1, 6)] * 3 + [(96, 1, 6)] * 3 + [(160, 2, 6)] + [(160, 1, 6)] * 2 + [(320, 1, 6)])


@_weights.skips_initializers_when_loading
def MobileNetV2(input_shape: Sequence[int | None] | None = None, alpha: float = 1.0,  # noqa: N802
                include_top: bool = True, weights: Any = "imagenet", input_tensor: Any = None,
                pooling: str | None = None, classes: int = 1000, classifier_activation: Any = "softmax",
                name: str | None = None) -> Model:
    """MobileNetV2: inverted residual blocks with linear bottlenecks (3,538,984 parameters at alpha=1).

    ImageNet weights exist for alpha 0.35, 0.5, 0.75, 1.0, 1.3, 1.4 and sizes 96-224.
    """
    _common.check_arguments(weights, include_top, classes, classifier_activation)
    sizes = (96, 128, 160, 192, 224)
    input_shape = imagenet_utils.obtain_input_shape(input_shape, _default_size(input_shape, sizes), min_size=32,
                                                    require_flatten=include_top, weights=weights)
    rows, cols = input_shape[0], input_shape[1]
    if weights == "imagenet":
        if alpha not in (0.35, 0.50, 0.75, 1.0, 1.3, 1.4):
            raise ValueError(f"ImageNet weights exist only for alpha in 0.35, 0.5, 0.75, 1.0, 1.3, 1.4; "
                             f"got alpha={alpha}")
        rows = _imagenet_rows(rows, cols, sizes, "MobileNetV2")
    name = name if name is not None else f"mobilenetv2_{alpha:0.2f}_{rows}"
    wf = None
    if weights == "imagenet":
        fname = (f"mobilenet_v2_weights_tf_dim_ordering_tf_kernels_{float(alpha)}_{rows}"
                 f"{'' if include_top else '_no_top'}.h5")
        wf = _weights.WeightFile(fname, _weights.KERAS_APPS + "mobilenet_v2/" + fname)  # Keras publishes no hash
    weights_path = _weights.resolve(weights, wf, name)
    img_input = imagenet_utils.input_tensor_or_new(input_tensor, input_shape)
    x = layers.Conv2D(_make_divisible(32 * alpha, 8), kernel_size=3, strides=(2, 2), padding="same", use_bias=False,
                      name="Conv1")(img_input)
    x = layers.BatchNormalization(axis=-1, epsilon=1e-3, momentum=0.999, name="bn_Conv1")(x)
    x = layers.ReLU(6.0, name="Conv1_relu")(x)
    for block_id, (filters, stride, expansion) in enumerate(_V2_BLOCKS):
        x = _inverted_res_block(x, filters=filters, alpha=alpha, stride=stride, expansion=expansion,
                                block_id=block_id)
    last = _make_divisible(1280 * alpha, 8) if alpha > 1.0 else 1280
    x = layers.Conv2D(last, kernel_size=1, use_bias=False, name="Conv_1")(x)
    x = layers.BatchNormalization(axis=-1, epsilon=1e-3, momentum=0.999, name="Conv_1_bn")(x)
    x = layers.ReLU(6.0, name="out_relu")(x)
    x = _common.top(x, include_top, classes, classifier_activation, pooling, pool_name=None)
    return _common.finish(input_tensor, img_input, x, name, weights_path)


def preprocess_input(x: Any, data_format: str | None = None) -> Any:
    """RGB images 0..255 -> what MobileNet expects ('tf' mode: values in [-1, 1])."""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="tf")
