"""What the ImageNet models share with Keras: input preprocessing, decoding predictions into class names,
and the checks of the constructor arguments (`obtain_input_shape`, `validate_activation`).

Each pretrained network expects its inputs prepared the way it was trained:

- ``"caffe"`` (VGG16/19, ResNet50): RGB -> BGR, then subtract the ImageNet mean of each channel, no scaling;
- ``"tf"`` (MobileNet, MobileNetV2, InceptionV3): scale pixels to [-1, 1];
- ``"torch"`` (DenseNet): scale to [0, 1], then normalise each channel by ImageNet's mean and std.

>>> import numpy as np
>>> preprocess_input(np.array([[[[0.0, 127.5, 255.0]]]]), mode="tf").tolist()
[[[[-1.0, 0.0, 1.0]]]]
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from . import _weights

CLASS_INDEX_FILE = _weights.WeightFile(
    "imagenet_class_index.json",
    "https://storage.googleapis.com/download.tensorflow.org/data/imagenet_class_index.json",
    "c2c37ea517e94d9795004a39431a14cb",
)
_CLASS_INDEX: dict[str, list[str]] | None = None

_CAFFE_MEAN = (103.939, 116.779, 123.68)  # BGR order
_TORCH_MEAN, _TORCH_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


def preprocess_input(x: Any, data_format: str | None = None, mode: str = "caffe") -> np.ndarray:
    """A batch of RGB images with values 0..255 prepared for an ImageNet model (see the module docstring).

    Use the returned array: 'tf' and 'torch' modes scale float arrays in place, as Keras does ('caffe' returns
    a new array); integer images are converted to float32 first.
    """
    if mode not in ("caffe", "tf", "torch"):
        raise ValueError(f"preprocess_input: mode must be 'caffe', 'tf' or 'torch', got {mode!r}")
    data_format = data_format or "channels_last"
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"preprocess_input: data_format must be 'channels_last' or 'channels_first', "
                         f"got {data_format!r}")
    x = np.asarray(x)
    if x.dtype.kind != "f":
        x = x.astype(np.float32)
    if mode == "tf":
        x /= 127.5
        x -= 1.0
        return x
    channel_axis = -1 if data_format == "channels_last" else (0 if x.ndim == 3 else 1)
    if x.ndim < 3 or x.shape[channel_axis] != 3:
        raise ValueError(f"preprocess_input(mode={mode!r}) needs RGB images with 3 channels on axis {channel_axis}, "
                         f"got shape {x.shape}")
    shape = [1] * x.ndim
    shape[channel_axis] = 3
    if mode == "torch":
        x /= 255.0
        x -= np.reshape(np.asarray(_TORCH_MEAN, x.dtype), shape)
        x /= np.reshape(np.asarray(_TORCH_STD, x.dtype), shape)
        return x
    x = np.flip(x, axis=channel_axis).copy()  # RGB -> BGR, the order Caffe's models were trained in
    x -= np.reshape(np.asarray(_CAFFE_MEAN, x.dtype), shape)
    return x


def _class_index() -> dict[str, list[str]]:
    global _CLASS_INDEX
    if _CLASS_INDEX is None:
        path = _weights.get_file(CLASS_INDEX_FILE)
        with open(path, encoding="utf-8") as f:
            index = json.load(f)
        if not isinstance(index, dict) or len(index) != 1000:
            raise ValueError(f"{path} is not ImageNet's class index (a JSON object with 1000 entries)")
        _CLASS_INDEX = index
    return _CLASS_INDEX


def decode_predictions(preds: Any, top: int = 5) -> list[list[tuple[str, str, float]]]:
    """The `top` (class_id, class_name, score) triples of each row of ImageNet predictions (batch, 1000).

    Needs ImageNet's class index file (downloaded once into the cache, like the weights).
    """
    preds = np.asarray(preds)
    if preds.ndim != 2 or preds.shape[1] != 1000:
        raise ValueError(f"decode_predictions expects a batch of ImageNet predictions, shape (samples, 1000); "
                         f"got shape {preds.shape}")
    index = _class_index()
    results = []
    for row in preds:
        best = np.argsort(row)[::-1][:top]
        results.append([(index[str(i)][0], index[str(i)][1], float(row[i])) for i in best])
    return results


def validate_activation(classifier_activation: Any, weights: Any) -> None:
    """Pretrained classifiers were trained with softmax: only softmax or None (logits) fit them."""
    if weights is None:
        return
    from .. import activations

    name = activations.serialize(activations.get(classifier_activation))
    if name not in ("softmax", "linear"):
        raise ValueError(f"only classifier_activation='softmax' or None fit pretrained weights with "
                         f"include_top=True; got classifier_activation={classifier_activation!r}")


def validate_weights(weights: Any, include_top: bool, classes: int) -> None:
    """`weights` is None, 'imagenet' or a file; ImageNet's classifier has 1000 classes."""
    if not (weights is None or weights == "imagenet" or isinstance(weights, (str, bytes)) or
            hasattr(weights, "__fspath__")):
        raise ValueError(f"weights must be None (random initialization), 'imagenet' (pre-trained on ImageNet) or "
                         f"the path to a weights file; got weights={weights!r}")
    if weights == "imagenet" and include_top and classes != 1000:
        raise ValueError(f"with weights='imagenet' and include_top=True, classes must be 1000 (ImageNet's), "
                         f"got classes={classes}; use include_top=False to put your own classifier on top")
    if not (isinstance(classes, (int, np.integer)) and classes > 0):
        raise ValueError(f"classes must be a positive integer, got {classes!r}")


def obtain_input_shape(input_shape: Sequence[int | None] | None, default_size: int, min_size: int,
                       require_flatten: bool, weights: Any = None) -> tuple[int | None, ...]:
    """The per-image input shape (height, width, channels) of an application, checked as Keras does.

    With the classifier on top (`require_flatten`) the size must be known; with ImageNet weights and the
    classifier, only the default size fits; without the top any size from `min_size` up works.
    """
    if input_shape is not None:
        input_shape = tuple(None if s is None else int(s) for s in input_shape)
    if weights != "imagenet" and input_shape and len(input_shape) == 3:
        if input_shape[-1] not in (1, 3):
            warnings.warn(f"this model usually expects 1 or 3 input channels, got input_shape={input_shape} "
                          f"with {input_shape[-1]} channels", stacklevel=3)
        default_shape = (default_size, default_size, input_shape[-1])
    else:
        default_shape = (default_size, default_size, 3)
    if weights == "imagenet" and require_flatten:
        if input_shape is not None and input_shape != default_shape:
            raise ValueError(f"with include_top=True and weights='imagenet', input_shape must be {default_shape}, "
                             f"got input_shape={input_shape}")
        return default_shape
    if input_shape:
        if len(input_shape) != 3:
            raise ValueError(f"input_shape must be (height, width, channels), three integers; got {input_shape}")
        if input_shape[-1] != 3 and weights == "imagenet":
            raise ValueError(f"ImageNet weights need 3 input channels (RGB), got input_shape={input_shape}")
        if any(s is not None and s < min_size for s in input_shape[:2]):
            raise ValueError(f"the input must be at least {min_size}x{min_size} pixels, got input_shape={input_shape}")
    else:
        input_shape = default_shape if require_flatten else (None, None, 3)
    if require_flatten and None in input_shape:
        raise ValueError(f"with include_top=True the input size must be known: give a static input_shape, "
                         f"got {input_shape}")
    return input_shape


def correct_pad(shape: Sequence[int | None], kernel_size: int | tuple[int, int]) -> tuple[tuple[int, int], ...]:
    """The ZeroPadding2D amounts before a strided 'valid' conv that imitate TensorFlow's 'same' padding.

    `shape` is the (batch, height, width, channels) shape of the tensor about to be padded.
    """
    kernel = (kernel_size, kernel_size) if isinstance(kernel_size, int) else tuple(kernel_size)
    size = tuple(shape[1:3])
    adjust = (1, 1) if size[0] is None else (1 - size[0] % 2, 1 - size[1] % 2)
    correct = (kernel[0] // 2, kernel[1] // 2)
    return ((correct[0] - adjust[0], correct[0]), (correct[1] - adjust[1], correct[1]))


def input_tensor_or_new(input_tensor: Any, input_shape: tuple[int | None, ...]) -> Any:
    """The model's input: the given symbolic `input_tensor` (from `Input`) or a new `Input(input_shape)`."""
    from ..layers import Input
    from ..layers.base import SymbolicTensor

    if input_tensor is None:
        return Input(shape=input_shape)
    if not isinstance(input_tensor, SymbolicTensor):
        raise TypeError(f"input_tensor must be a symbolic tensor from neurona.layers.Input(...), "
                        f"got {type(input_tensor).__name__}")
    return input_tensor


def model_inputs(input_tensor: Any, img_input: Any) -> Any:
    """The inputs of the application's Model: the Input the given `input_tensor` was computed from."""
    if input_tensor is None:
        return img_input
    node = input_tensor.node
    if node is not None and not node.is_input:
        sources = []
        stack = [input_tensor]
        while stack:
            t = stack.pop()
            if t.node is None or t.node.is_input:
                if not any(t is s for s in sources):
                    sources.append(t)
            else:
                stack.extend(t.node.input_tensors)
        return sources[0] if len(sources) == 1 else sources
    return input_tensor
