"""UCI Wine: 178 wines from three cultivators of the same Italian region, 13 chemical measurements each.

Embedded in neurona (a copy of the file scikit-learn ships), so it needs no network. The slides' lab
"clasificar vino según su cultivador" uses it; its labels 1, 2, 3 are 0, 1, 2 here. Class sizes are
59, 71 and 48. Source: Forina et al., UCI Machine Learning Repository (CC BY 4.0).
"""

from __future__ import annotations

from importlib import resources

import numpy as np

from ..preprocessing.split import train_test_split

FEATURE_NAMES = (
    "alcohol", "malic_acid", "ash", "alcalinity_of_ash", "magnesium", "total_phenols", "flavanoids",
    "nonflavanoid_phenols", "proanthocyanins", "color_intensity", "hue", "od280/od315_of_diluted_wines", "proline",
)
CLASS_NAMES = ("cultivator_1", "cultivator_2", "cultivator_3")

Split = tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


def load(dtype: str = "float32") -> tuple[np.ndarray, np.ndarray]:
    """All 178 samples in the file's order: ``x`` (178, 13) of `dtype`, ``y`` uint8 (178,) in 0..2.

    ``dtype="float64"`` gives the measurements exactly as published.
    """
    with resources.files(__package__).joinpath("data/wine.npz").open("rb") as f, np.load(f, allow_pickle=False) as a:
        return a["x"].astype(dtype), a["y"]


def load_data(test_size: float = 0.2, seed: int = 0, dtype: str = "float32") -> Split:
    """``(x_train, y_train), (x_test, y_test)``: a stratified split, the same for the same `seed`.

    The test set gets ``ceil(test_size * 178)`` wines (36 by default) with each cultivator in the same
    proportion as in the whole set; both parts are shuffled. Standardise with a ``Standardizer`` fitted
    on ``x_train`` only.
    """
    x, y = load(dtype)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=test_size, stratify=y, seed=seed)
    return (x_train, y_train), (x_test, y_test)
