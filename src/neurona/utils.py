"""Keras's `neurona.utils`: one-hot labels, standardisation fitted on the training data only, L2
normalisation (all three live in `neurona.preprocessing`), and a seed that makes a whole run repeatable."""

from __future__ import annotations

from typing import Any

import numpy as np

from .preprocessing.categorical import to_categorical
from .preprocessing.scaling import Standardizer, normalize


def standardize(x_train: Any, *others: Any, axis: int | tuple[int, ...] = 0) -> Any:
    """Standardise with the training data's mean and std: `x_train, x_test = standardize(x_train, x_test)`.

    The statistics come from `x_train` only, so nothing about the test data leaks into training.
    """
    s = Standardizer(axis=axis).fit(x_train)
    out = [s.transform(x_train)] + [s.transform(x) for x in others]
    return out[0] if not others else tuple(out)


def set_random_seed(seed: int) -> None:
    """Seed every random choice (initial weights, dropout, shuffling, augmentation) for a repeatable run."""
    from . import random

    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"set_random_seed needs an integer seed, got {seed!r}")
    random.set_seed(int(seed))


def clear_session() -> None:
    """Forget automatic layer names, so the next model's layers are 'dense', 'dense_1', ... again."""
    from .layers.base import clear_session as _clear

    _clear()


__all__ = ["Standardizer", "clear_session", "normalize", "set_random_seed", "standardize", "to_categorical"]


# Keras 3's keras.utils data helpers (defined in neurona.preprocessing and neurona.data).
from .data.from_directory import image_dataset_from_directory, text_dataset_from_directory  # noqa: E402
from .data.timeseries import timeseries_dataset_from_array  # noqa: E402
from .preprocessing.directory import array_to_img, img_to_array, load_img  # noqa: E402
from .preprocessing.sequence import pad_sequences  # noqa: E402

__all__ += ["array_to_img", "image_dataset_from_directory", "img_to_array", "load_img", "pad_sequences",
            "text_dataset_from_directory", "timeseries_dataset_from_array"]
