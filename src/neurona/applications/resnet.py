"""ResNet50/101/152 (He et al., 2015): residual blocks, where each block learns a correction that is *added*
to its input (`Add([shortcut, x])`), so gradients reach the first layers of very deep networks.

Layer for layer the structure of `keras.applications.ResNet50` (v1, bottleneck blocks 1x1-3x3-1x1).

>>> model = ResNet50(weights=None)
>>> model.count_params()
25636712
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from .. import layers
from ..models import Model
from . import _common, _weights, imagenet_utils
from .imagenet_utils import decode_predictions  # noqa: F401  (keras.applications.resnet50.decode_predictions)

HASHES = {
    "resnet50": ("2cb95161c43110f7111970584f804107", "4d473c1dd8becc155b73f8504c6f6626"),
    "resnet101": ("f1aeb4b969a6efcfb50fad2f0c20cfc5", "88cf7a10940856eca736dc7b7e228a21"),
    "resnet152": ("100835be76be38e30d865e96f2aaae62", "ee4c566cf9a93f14d82f913c2dc6dd0c"),
}


def weight_file(key: str, include_top: bool) -> _weights.WeightFile:
    fname = f"{key}_weights_tf_dim_ordering_tf_kernels{'' if include_top else '_notop'}.h5"
    return _weights.WeightFile(fname, _weights.KERAS_APPS + "resnet/" + fname, HASHES[key][0 if include_top else 1])


def residual_block(x: Any, filters: int, kernel_size: int = 3, stride: int = 1, conv_shortcut: bool = True,
                   name: str = "block") -> Any:
    """Bottleneck block: 1x1 (filters) -> 3x3 (filters) -> 1x1 (4 * filters), added to the shortcut."""
    if conv_shortcut:  # the shortcut must change shape too: a strided 1x1 convolution
        shortcut = layers.Conv2D(4 * filters, 1, strides=stride, name=f"{name}_0_conv")(x)
        shortcut = layers.BatchNormalization(axis=3, epsilon=1.001e-5, name=f"{name}_0_bn")(shortcut)
    else:
        shortcut = x
    x = layers.Conv2D(filters, 1, strides=stride, name=f"{name}_1_conv")(x)
    x = layers.BatchNormalization(axis=3, epsilon=1.001e-5, name=f"{name}_1_bn")(x)
    x = layers.Activation("relu", name=f"{name}_1_relu")(x)
    x = layers.Conv2D(filters, kernel_size, padding="same", name=f"{name}_2_conv")(x)
    x = layers.BatchNormalization(axis=3, epsilon=1.001e-5, name=f"{name}_2_bn")(x)
    x = layers.Activation("relu", name=f"{name}_2_relu")(x)
    x = layers.Conv2D(4 * filters, 1, name=f"{name}_3_conv")(x)
    x = layers.BatchNormalization(axis=3, epsilon=1.001e-5, name=f"{name}_3_bn")(x)
    x = layers.Add(name=f"{name}_add")([shortcut, x])
    return layers.Activation("relu", name=f"{name}_out")(x)


def residual_stack(x: Any, filters: int, blocks: int, stride1: int = 2, name: str = "conv") -> Any:
    """`blocks` residual blocks; the first one changes the shape (and strides by `stride1`)."""
    x = residual_block(x, filters, stride=stride1, name=f"{name}_block1")
    for i in range(2, blocks + 1):
        x = residual_block(x, filters, conv_shortcut=False, name=f"{name}_block{i}")
    return x


@_weights.skips_initializers_when_loading
def ResNet(stack_fn: Callable[[Any], Any], weights_key: str | None, include_top: bool = True,  # noqa: N802
           weights: Any = "imagenet", input_tensor: Any = None, input_shape: Sequence[int | None] | None = None,
           pooling: str | None = None, classes: int = 1000, classifier_activation: Any = "softmax",
           name: str = "resnet") -> Model:
    """The ResNet v1 skeleton: 7x7 stem, max pooling, `stack_fn`'s residual stages, the classifier."""
    _common.check_arguments(weights, include_top, classes, classifier_activation)
    input_shape = imagenet_utils.obtain_input_shape(input_shape, default_size=224, min_size=32,
                                                    require_flatten=include_top, weights=weights)
    weights_path = _weights.resolve(weights, weight_file(weights_key, include_top) if weights_key else None, name)
    img_input = imagenet_utils.input_tensor_or_new(input_tensor, input_shape)
    x = layers.ZeroPadding2D(padding=((3, 3), (3, 3)), name="conv1_pad")(img_input)
    x = layers.Conv2D(64, 7, strides=2, name="conv1_conv")(x)
    x = layers.BatchNormalization(axis=3, epsilon=1.001e-5, name="conv1_bn")(x)
    x = layers.Activation("relu", name="conv1_relu")(x)
    x = layers.ZeroPadding2D(padding=((1, 1), (1, 1)), name="pool1_pad")(x)
    x = layers.MaxPooling2D(3, strides=2, name="pool1_pool")(x)
    x = stack_fn(x)
    x = _common.top(x, include_top, classes, classifier_activation, pooling, named=True)
    return _common.finish(input_tensor, img_input, x, name, weights_path)


def _stages(counts: Sequence[int]) -> Callable[[Any], Any]:
    def stack_fn(x: Any) -> Any:
        x = residual_stack(x, 64, counts[0], stride1=1, name="conv2")
        x = residual_stack(x, 128, counts[1], name="conv3")
        x = residual_stack(x, 256, counts[2], name="conv4")
        return residual_stack(x, 512, counts[3], name="conv5")

    return stack_fn


def ResNet50(include_top: bool = True, weights: Any = "imagenet", input_tensor: Any = None,  # noqa: N802
             input_shape: Sequence[int | None] | None = None, pooling: str | None = None, classes: int = 1000,
             classifier_activation: Any = "softmax", name: str = "resnet50") -> Model:
    """ResNet50: stages of 3, 4, 6 and 3 bottleneck blocks (25,636,712 parameters); inputs 224x224x3."""
    return ResNet(_stages((3, 4, 6, 3)), "resnet50", include_top, weights, input_tensor, input_shape, pooling,
                  classes, classifier_activation, name)


def ResNet101(include_top: bool = True, weights: Any = "imagenet", input_tensor: Any = None,  # noqa: N802
              input_shape: Sequence[int | None] | None = None, pooling: str | None = None, classes: int = 1000,
              classifier_activation: Any = "softmax", name: str = "resnet101") -> Model:
    """ResNet101: stages of 3, 4, 23 and 3 bottleneck blocks."""
    return ResNet(_stages((3, 4, 23, 3)), "resnet101", include_top, weights, input_tensor, input_shape, pooling,
                  classes, classifier_activation, name)


def ResNet152(include_top: bool = True, weights: Any = "imagenet", input_tensor: Any = None,  # noqa: N802
              input_shape: Sequence[int | None] | None = None, pooling: str | None = None, classes: int = 1000,
              classifier_activation: Any = "softmax", name: str = "resnet152") -> Model:
    """ResNet152: stages of 3, 8, 36 and 3 bottleneck blocks."""
    return ResNet(_stages((3, 8, 36, 3)), "resnet152", include_top, weights, input_tensor, input_shape, pooling,
                  classes, classifier_activation, name)


def preprocess_input(x: Any, data_format: str | None = None) -> Any:
    """RGB images 0..255 -> what ResNet expects ('caffe' mode: BGR, minus the ImageNet mean)."""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="caffe")
