"""DenseNet121/169/201 (Huang et al., 2016): inside a dense block every layer receives the feature maps of
all the layers before it (`Concatenate`), so features are reused instead of relearned; transition blocks
between dense blocks halve the channels and the image size.

Layer for layer the structure of `keras.applications.DenseNet121`.

>>> DenseNet121(weights=None).count_params()
8062504
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .. import layers
from ..models import Model
from . import _common, _weights, imagenet_utils
from .imagenet_utils import decode_predictions  # noqa: F401  (keras.applications.densenet.decode_predictions)

HASHES = {
    (6, 12, 24, 16): ("densenet121", "9d60b8095a5708f2dcce2bca79d332c7", "30ee3e1110167f948a6b9946edeeb738"),
    (6, 12, 32, 32): ("densenet169", "d699b8f76981ab1b30698df4c175e90b", "b8c4d4c20dd625c148057b9ff1c1176b"),
    (6, 12, 48, 32): ("densenet201", "1ceb130c1ea1b78c3bf6114dbdfd8807", "c13680b51ded0fb44dff2d8f86ac8bb1"),
}


def weight_file(blocks: Sequence[int], include_top: bool) -> _weights.WeightFile | None:
    if tuple(blocks) not in HASHES:
        return None
    key, top_hash, notop_hash = HASHES[tuple(blocks)]
    fname = f"{key}_weights_tf_dim_ordering_tf_kernels{'' if include_top else '_notop'}.h5"
    file_hash = top_hash if include_top else notop_hash
    return _weights.WeightFile(fname, _weights.KERAS_APPS + "densenet/" + fname, file_hash)


def conv_block(x: Any, growth_rate: int, name: str) -> Any:
    """BN-ReLU-1x1 conv (4 * growth_rate) - BN-ReLU-3x3 conv (growth_rate), concatenated to the input."""
    x1 = layers.BatchNormalization(axis=3, epsilon=1.001e-5, name=f"{name}_0_bn")(x)
    x1 = layers.Activation("relu", name=f"{name}_0_relu")(x1)
    x1 = layers.Conv2D(4 * growth_rate, 1, use_bias=False, name=f"{name}_1_conv")(x1)
    x1 = layers.BatchNormalization(axis=3, epsilon=1.001e-5, name=f"{name}_1_bn")(x1)
    x1 = layers.Activation("relu", name=f"{name}_1_relu")(x1)
    x1 = layers.Conv2D(growth_rate, 3, padding="same", use_bias=False, name=f"{name}_2_conv")(x1)
    return layers.Concatenate(axis=3, name=f"{name}_concat")([x, x1])


def dense_block(x: Any, blocks: int, name: str) -> Any:
    """`blocks` conv blocks, each adding 32 channels."""
    for i in range(blocks):
        x = conv_block(x, 32, name=f"{name}_block{i + 1}")
    return x


def transition_block(x: Any, reduction: float, name: str) -> Any:
    """BN-ReLU-1x1 conv to `reduction` of the channels, then 2x2 average pooling."""
    x = layers.BatchNormalization(axis=3, epsilon=1.001e-5, name=f"{name}_bn")(x)
    x = layers.Activation("relu", name=f"{name}_relu")(x)
    x = layers.Conv2D(int(x.shape[3] * reduction), 1, use_bias=False, name=f"{name}_conv")(x)
    return layers.AveragePooling2D(2, strides=2, name=f"{name}_pool")(x)


@_weights.skips_initializers_when_loading
def DenseNet(blocks: Sequence[int], include_top: bool = True, weights: Any = "imagenet",  # noqa: N802
             input_tensor: Any = None, input_shape: Sequence[int | None] | None = None, pooling: str | None = None,
             classes: int = 1000, classifier_activation: Any = "softmax", name: str = "densenet") -> Model:
    """A DenseNet with `blocks` conv blocks in each of its four dense blocks."""
    _common.check_arguments(weights, include_top, classes, classifier_activation)
    input_shape = imagenet_utils.obtain_input_shape(input_shape, default_size=224, min_size=32,
                                                    require_flatten=include_top, weights=weights)
    weights_path = _weights.resolve(weights, weight_file(blocks, include_top), name)
    img_input = imagenet_utils.input_tensor_or_new(input_tensor, input_shape)
    x = layers.ZeroPadding2D(padding=((3, 3), (3, 3)))(img_input)
    x = layers.Conv2D(64, 7, strides=2, use_bias=False, name="conv1_conv")(x)
    x = layers.BatchNormalization(axis=3, epsilon=1.001e-5, name="conv1_bn")(x)
    x = layers.Activation("relu", name="conv1_relu")(x)
    x = layers.ZeroPadding2D(padding=((1, 1), (1, 1)))(x)
    x = layers.MaxPooling2D(3, strides=2, name="pool1")(x)
    for i, n in enumerate(blocks):
        x = dense_block(x, n, name=f"conv{i + 2}")
        if i < len(blocks) - 1:
            x = transition_block(x, 0.5, name=f"pool{i + 2}")
    x = layers.BatchNormalization(axis=3, epsilon=1.001e-5, name="bn")(x)
    x = layers.Activation("relu", name="relu")(x)
    x = _common.top(x, include_top, classes, classifier_activation, pooling, named=True)
    return _common.finish(input_tensor, img_input, x, name, weights_path)


def DenseNet121(include_top: bool = True, weights: Any = "imagenet", input_tensor: Any = None,  # noqa: N802
                input_shape: Sequence[int | None] | None = None, pooling: str | None = None, classes: int = 1000,
                classifier_activation: Any = "softmax", name: str = "densenet121") -> Model:
    """DenseNet121: dense blocks of 6, 12, 24 and 16 conv blocks (8,062,504 parameters)."""
    return DenseNet([6, 12, 24, 16], include_top, weights, input_tensor, input_shape, pooling, classes,
                    classifier_activation, name)


def DenseNet169(include_top: bool = True, weights: Any = "imagenet", input_tensor: Any = None,  # noqa: N802
                input_shape: Sequence[int | None] | None = None, pooling: str | None = None, classes: int = 1000,
                classifier_activation: Any = "softmax", name: str = "densenet169") -> Model:
    """DenseNet169: dense blocks of 6, 12, 32 and 32 conv blocks."""
    return DenseNet([6, 12, 32, 32], include_top, weights, input_tensor, input_shape, pooling, classes,
                    classifier_activation, name)


def DenseNet201(include_top: bool = True, weights: Any = "imagenet", input_tensor: Any = None,  # noqa: N802
                input_shape: Sequence[int | None] | None = None, pooling: str | None = None, classes: int = 1000,
                classifier_activation: Any = "softmax", name: str = "densenet201") -> Model:
    """DenseNet201: dense blocks of 6, 12, 48 and 32 conv blocks."""
    return DenseNet([6, 12, 48, 32], include_top, weights, input_tensor, input_shape, pooling, classes,
                    classifier_activation, name)


def preprocess_input(x: Any, data_format: str | None = None) -> Any:
    """RGB images 0..255 -> what DenseNet expects ('torch' mode: [0, 1], then ImageNet mean and std)."""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="torch")
