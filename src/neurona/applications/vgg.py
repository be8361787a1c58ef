"""VGG16 and VGG19 (Simonyan and Zisserman, 2014): stacks of 3x3 convolutions, five max-pooling stages, and
three dense layers on top. VGG16 has 138,357,544 parameters, 124 million of them in the dense layers.

Layer for layer the structure of `keras.applications.VGG16`/`VGG19`, so Keras's published weight files load.

>>> model = VGG16(include_top=False, weights=None, input_shape=(32, 32, 3))
>>> model.output_shape, model.count_params()
((None, 1, 1, 512), 14714688)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .. import layers
from ..models import Model
from . import _common, _weights, imagenet_utils
from .imagenet_utils import decode_predictions  # noqa: F401  (keras.applications.vgg16.decode_predictions)

_BASE = _weights.KERAS_APPS
WEIGHTS = {
    ("vgg16", True): _weights.WeightFile("vgg16_weights_tf_dim_ordering_tf_kernels.h5",
                                         _BASE + "vgg16/vgg16_weights_tf_dim_ordering_tf_kernels.h5",
                                         "64373286793e3c8b2b4e3219cbf3544b"),
    ("vgg16", False): _weights.WeightFile("vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5",
                                          _BASE + "vgg16/vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5",
                                          "6d6bbae143d832006294945121d1f1fc"),
    ("vgg19", True): _weights.WeightFile("vgg19_weights_tf_dim_ordering_tf_kernels.h5",
                                         _BASE + "vgg19/vgg19_weights_tf_dim_ordering_tf_kernels.h5",
                                         "cbe5617147190e668d6c5d5026f83318"),
    ("vgg19", False): _weights.WeightFile("vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5",
                                          _BASE + "vgg19/vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5",
                                          "253f8cb515780f3b799900260a226db6"),
}


@_weights.skips_initializers_when_loading
def _vgg(convs_per_block: Sequence[int], weights_key: str, include_top: bool, weights: Any, input_tensor: Any,
         input_shape: Any, pooling: str | None, classes: int, classifier_activation: Any, name: str) -> Model:
    _common.check_arguments(weights, include_top, classes, classifier_activation)
    input_shape = imagenet_utils.obtain_input_shape(input_shape, default_size=224, min_size=32,
                                                    require_flatten=include_top, weights=weights)
    weights_path = _weights.resolve(weights, WEIGHTS[(weights_key, include_top)], name)
    img_input = imagenet_utils.input_tensor_or_new(input_tensor, input_shape)
    x = img_input
    for block, (filters, n) in enumerate(zip((64, 128, 256, 512, 512), convs_per_block), start=1):
        for i in range(1, n + 1):
            x = layers.Conv2D(filters, (3, 3), activation="relu", padding="same", name=f"block{block}_conv{i}")(x)
        x = layers.MaxPooling2D((2, 2), strides=(2, 2), name=f"block{block}_pool")(x)
    if include_top:
        x = layers.Flatten(name="flatten")(x)
        x = layers.Dense(4096, activation="relu", name="fc1")(x)
        x = layers.Dense(4096, activation="relu", name="fc2")(x)
        x = layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    else:
        x = _common.global_pooling(x, pooling)
    return _common.finish(input_tensor, img_input, x, name, weights_path)


def VGG16(include_top: bool = True, weights: Any = "imagenet", input_tensor: Any = None,  # noqa: N802
          input_shape: Sequence[int | None] | None = None, pooling: str | None = None, classes: int = 1000,
          classifier_activation: Any = "softmax", name: str = "vgg16") -> Model:
    """VGG16: 13 convolutions in 5 blocks (2, 2, 3, 3, 3) and 3 dense layers; inputs 224x224x3 by default.

    `weights`: None (random), 'imagenet' (Keras's published file, downloaded once) or a weights file.
    `pooling` ('avg'/'max') applies only without the top. Inputs go through `preprocess_input` first.
    """
    return _vgg((2, 2, 3, 3, 3), "vgg16", include_top, weights, input_tensor, input_shape, pooling, classes,
                classifier_activation, name)


def VGG19(include_top: bool = True, weights: Any = "imagenet", input_tensor: Any = None,  # noqa: N802
          input_shape: Sequence[int | None] | None = None, pooling: str | None = None, classes: int = 1000,
          classifier_activation: Any = "softmax", name: str = "vgg19") -> Model:
    """VGG19: 16 convolutions in 5 blocks (2, 2, 4, 4, 4) and 3 dense layers (143,667,240 parameters)."""
    return _vgg((2, 2, 4, 4, 4), "vgg19", include_top, weights, input_tensor, input_shape, pooling, classes,
                classifier_activation, name)


def preprocess_input(x: Any, data_format: str | None = None) -> Any:
    """RGB images 0..255 -> what VGG expects ('caffe' mode: BGR, minus the ImageNet mean)."""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="caffe")
