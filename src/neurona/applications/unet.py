"""U-Net (Ronneberger, Fischer and Brox, 2015): a fully convolutional encoder-decoder for segmentation. The
encoder halves the size and doubles the filters `depth` times (two 3x3 convolutions, then 2x2 max pooling);
the decoder goes back up (2x2 transposed convolution, or UpSampling2D then a 2x2 convolution), concatenates
the encoder's feature maps of the same size (the skip connections that keep the fine detail) and convolves
twice; a 1x1 convolution gives one score per class and pixel.

Differences from the paper, chosen for small images: 'same' padding (the output has the input's size, no
cropping of the skips), optional BatchNormalization and dropout. With the paper's settings (depth 4, 64
filters, 2 classes, transposed convolutions) and 1 input channel it has 31,030,658 parameters.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .. import layers
from ..models import Model
from . import _weights


def _double_conv(x: Any, filters: int, name: str, batch_norm: bool, dropout: float) -> Any:
    for i in (1, 2):
        x = layers.Conv2D(filters, 3, padding="same", use_bias=not batch_norm, name=f"{name}_conv{i}")(x)
        if batch_norm:
            x = layers.BatchNormalization(name=f"{name}_bn{i}")(x)
        x = layers.Activation("relu", name=f"{name}_relu{i}")(x)
    if dropout:
        x = layers.Dropout(dropout, name=f"{name}_dropout")(x)
    return x


def _check(input_shape: Sequence[int | None], depth: int, filters: int, classes: int, upsampling: str) -> None:
    if len(tuple(input_shape)) != 3:
        raise ValueError(f"UNet: input_shape must be (height, width, channels), got {tuple(input_shape)}")
    if depth < 1 or filters < 1 or classes < 1:
        raise ValueError(f"UNet: depth, filters and classes must be positive, got depth={depth}, "
                         f"filters={filters}, classes={classes}")
    if upsampling not in ("transpose", "upsampling"):
        raise ValueError(f"UNet: upsampling must be 'transpose' (Conv2DTranspose) or 'upsampling' "
                         f"(UpSampling2D), got {upsampling!r}")
    step = 2 ** depth
    for size in tuple(input_shape)[:2]:
        if size is not None and size % step:
            raise ValueError(f"UNet: with depth={depth} the height and width must be multiples of {step} "
                             f"(they are halved {depth} times and doubled back), got input_shape={tuple(input_shape)}")


@_weights.skips_initializers_when_loading
def UNet(input_shape: Sequence[int | None] = (None, None, 3), classes: int = 1, depth: int = 4,  # noqa: N802
         filters: int = 64, upsampling: str = "transpose", batch_norm: bool = False, dropout: float = 0.0,
         output_activation: Any = "auto", weights: Any = None, name: str = "unet") -> Model:
    """A U-Net: `depth` down/up steps, `filters` at the top level (doubled at each step down).

    `classes=1` gives one sigmoid mask (binary segmentation, e.g. road / not road); more classes give a
    softmax over classes for every pixel. `output_activation='auto'` picks sigmoid or softmax that way (None:
    scores). `upsampling`: 'transpose' (Conv2DTranspose 2x2, stride 2, as the paper's "up-convolution") or
    'upsampling' (UpSampling2D then a 2x2 convolution). `weights`: None or a file saved from this model.
    """
    _check(input_shape, depth, filters, classes, upsampling)
    weights_path = _weights.resolve(weights, None, name)
    inputs = layers.Input(shape=tuple(input_shape), name="image")
    x, skips = inputs, []
    for level in range(depth):
        x = _double_conv(x, filters * 2 ** level, f"down{level + 1}", batch_norm, dropout if level else 0.0)
        skips.append(x)
        x = layers.MaxPooling2D(2, name=f"down{level + 1}_pool")(x)
    x = _double_conv(x, filters * 2 ** depth, "bottom", batch_norm, dropout)
    for level in reversed(range(depth)):
        width, tag = filters * 2 ** level, f"up{level + 1}"
        if upsampling == "transpose":
            x = layers.Conv2DTranspose(width, 2, strides=2, name=f"{tag}_transpose")(x)
        else:
            x = layers.UpSampling2D(2, name=f"{tag}_upsampling")(x)
            x = layers.Conv2D(width, 2, padding="same", name=f"{tag}_upconv")(x)
        x = layers.Concatenate(axis=-1, name=f"{tag}_concat")([skips[level], x])
        x = _double_conv(x, width, tag, batch_norm, 0.0)
    activation = ("sigmoid" if classes == 1 else "softmax") if output_activation == "auto" else output_activation
    outputs = layers.Conv2D(classes, 1, activation=activation, name="mask")(x)
    model = Model(inputs, outputs, name=name)
    _weights.load(model, weights_path)
    return model
