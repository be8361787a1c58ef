"""Preparing data: one-hot labels, scaling, train/test splits and image augmentation.

``from neurona.preprocessing.image import ImageDataGenerator`` is the slides' augmentation;
``Standardizer`` is the slides' ``(x - mean) / std`` fitted on the training data only.
"""

from . import image
from .categorical import to_categorical
from .scaling import Standardizer, normalize
from .split import train_test_split

__all__ = ["Standardizer", "image", "normalize", "to_categorical", "train_test_split"]
