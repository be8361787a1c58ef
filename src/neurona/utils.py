"""Data helpers of the slides: one-hot labels (`to_categorical`), standardisation fitted on the
training data only, L2 normalisation, and a seed that makes a whole run repeatable."""

from __future__ import annotations

from typing import Any

import numpy as np


def to_categorical(y: Any, num_classes: int | None = None, dtype: Any = "float32") -> np.ndarray:
    """One-hot rows from integer class labels, as Keras's `to_categorical`.

    >>> to_categorical([0, 2, 1], num_classes=3).tolist()
    [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 1.0, 0.0]]
    """
    arr = np.asarray(y)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"to_categorical needs integer class labels, got dtype {arr.dtype}")
    if arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)) or not np.all(np.mod(arr, 1) == 0):
            raise ValueError("to_categorical needs integer class labels, got non-integer values")
    labels = arr.astype(np.int64)
    if labels.ndim > 1 and labels.shape[-1] == 1:
        labels = labels[..., 0]
    if labels.size and labels.min() < 0:
        raise ValueError(f"to_categorical: class labels must be >= 0, got {labels.min()}")
    top = int(labels.max()) + 1 if labels.size else 0
    if num_classes is None:
        num_classes = top
    elif top > num_classes:
        raise ValueError(f"to_categorical: label {top - 1} does not fit num_classes={num_classes} "
                         f"(labels must be 0..{num_classes - 1})")
    out = np.zeros(labels.shape + (int(num_classes),), dtype=dtype)
    np.put_along_axis(out, labels[..., None], 1, axis=-1)
    return out


def normalize(x: Any, axis: int = -1, order: int = 2) -> np.ndarray:
    """Scale each vector along `axis` to unit L`order` norm (zero vectors stay zero)."""
    arr = np.asarray(x, dtype=np.result_type(np.asarray(x).dtype, np.float32))
    norm = np.linalg.norm(arr, ord=order, axis=axis, keepdims=True)
    return arr / np.where(norm == 0, 1, norm)


class Standardizer:
    """(x - mean) / std with the mean and std of the data given to `fit` (the training set only).

    >>> s = Standardizer().fit(np.array([[1.0], [3.0]]))
    >>> s.transform(np.array([[2.0], [5.0]])).ravel().tolist()
    [0.0, 3.0]
    """

    def __init__(self, axis: int | tuple[int, ...] = 0, epsilon: float = 1e-7) -> None:
        self.axis = axis
        self.epsilon = epsilon
        self.mean_: np.ndarray | None = None
        self.std_: np.ndarray | None = None

    def fit(self, x: Any) -> Standardizer:
        arr = np.asarray(x, dtype=np.float64)
        if arr.size == 0:
            raise ValueError("Standardizer.fit got no data")
        if not np.all(np.isfinite(arr)):
            raise ValueError("Standardizer.fit: the data contains NaN or infinite values")
        self.mean_ = arr.mean(axis=self.axis, keepdims=True)
        std = arr.std(axis=self.axis, keepdims=True)
        # A constant feature carries no information; dividing by 1 keeps it at 0 instead of NaN.
        self.std_ = np.where(std < self.epsilon, 1.0, std)
        return self

    def _check(self, x: Any) -> np.ndarray:
        if self.mean_ is None:
            raise RuntimeError("Standardizer is not fitted: call fit(x_train) first")
        arr = np.asarray(x)
        out_dtype = arr.dtype if arr.dtype.kind == "f" else np.dtype(np.float32)
        if arr.ndim != self.mean_.ndim or any(
                m != 1 and a != m for a, m in zip(arr.shape, self.mean_.shape)):
            raise ValueError(f"Standardizer was fitted on samples of shape {self.mean_.shape[1:]}, got data of "
                             f"shape {arr.shape}")
        return arr.astype(out_dtype, copy=False)

    def transform(self, x: Any) -> np.ndarray:
        arr = self._check(x)
        return ((arr - self.mean_) / self.std_).astype(arr.dtype)

    def inverse_transform(self, x: Any) -> np.ndarray:
        arr = self._check(x)
        return (arr * self.std_ + self.mean_).astype(arr.dtype)

    def fit_transform(self, x: Any) -> np.ndarray:
        return self.fit(x).transform(x)


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
