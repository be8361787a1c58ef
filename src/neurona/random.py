"""The framework's random generator, so one seed makes a whole run repeatable."""

from __future__ import annotations

import random as _pyrandom

import numpy as np

_rng = np.random.default_rng()


def set_seed(seed: int | None) -> None:
    """Seed neurona's generator (weights, dropout, shuffling, augmentation), NumPy's and Python's."""
    global _rng
    _rng = np.random.default_rng(seed)
    if seed is not None:
        np.random.seed(seed % 2**32)
        _pyrandom.seed(seed)


def get_rng() -> np.random.Generator:
    """The generator every random choice in neurona draws from."""
    return _rng
