"""Handwritten digits (UCI "optdigits" test set): 1,797 images of 8x8 pixels with values 0..16, labels 0-9.

Embedded in neurona (a copy of the file scikit-learn ships), so the slides' MNIST code runs offline:
``digits.load_data(size=28)`` gives MNIST-like 28x28 uint8 images with values 0..255. Source: Alpaydin
and Kaynak, UCI Machine Learning Repository (CC BY 4.0).
"""

from __future__ import annotations

from importlib import resources

import numpy as np

from ..preprocessing.split import train_test_split
from ..preprocessing.transforms import resize_matrix

Split = tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


def upscale(images: np.ndarray, size: int = 28) -> np.ndarray:
    """Bilinear resize of (n, 8, 8) images with values 0..16 to (n, size, size) uint8 with values 0..255.

    Separable: one small matrix per axis, ``W @ image @ W.T``, so the whole set resizes in two matmuls.
    """
    w = resize_matrix(images.shape[-1], size, "bilinear")
    big = w @ images.astype(np.float64) @ w.T * (255.0 / 16.0)
    return np.clip(np.rint(big), 0, 255).astype(np.uint8)


def load(size: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """All 1,797 images in the file's order, ``x`` uint8 (1797, size, size) and ``y`` uint8 (1797,).

    ``size=8`` gives the original values 0..16; any other size gives bilinearly resized images scaled
    to 0..255, like MNIST.
    """
    if not isinstance(size, (int, np.integer)) or size < 1:
        raise ValueError(f"size must be a positive integer number of pixels, got {size!r}")
    with resources.files(__package__).joinpath("data/digits.npz").open("rb") as f, np.load(f, allow_pickle=False) as a:
        images, target = a["images"], a["target"]
    return (images if size == 8 else upscale(images, size)), target


def load_data(test_size: float = 0.2, seed: int = 0, size: int = 8) -> Split:
    """``(x_train, y_train), (x_test, y_test)`` like ``mnist.load_data()``, from the embedded digits.

    A stratified split: the test set gets ``ceil(test_size * 1797)`` images (360 by default), each digit
    in its overall proportion; both parts are shuffled, the same way for the same `seed`.
    ``size=28`` gives MNIST-shaped uint8 images (n, 28, 28) with values 0..255 (bilinear upscale).
    """
    x, y = load(size)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=test_size, stratify=y, seed=seed)
    return (x_train, y_train), (x_test, y_test)
