"""Feature scaling: L-p normalisation and a standardiser fitted on training data only."""

from __future__ import annotations

from typing import Any

import numpy as np


def _float(x: Any) -> np.ndarray:
    x = np.asarray(x)
    # Integers (e.g. uint8 pixels) become float32, the framework's precision; floats keep theirs.
    return x if x.dtype.kind == "f" else x.astype(np.float32)


def normalize(x: Any, axis: int = -1, order: int = 2) -> np.ndarray:
    """Scale each vector along `axis` to unit L-`order` norm (zero vectors stay zero), as Keras's ``normalize``.

    >>> normalize(np.array([[3.0, 4.0]]))
    array([[0.6, 0.8]])
    """
    x = _float(x)
    norm = np.atleast_1d(np.linalg.norm(x, order, axis))
    norm[norm == 0] = 1
    return x / np.expand_dims(norm, axis).astype(x.dtype)


class Standardizer:
    """Subtract the mean and divide by the standard deviation learned by ``fit`` (scikit-learn's StandardScaler).

    Fit it on the training set only and apply the same transform to validation and test data, so no
    information from them leaks into training. Features with zero variance are only centred (their scale
    is 1), so constant columns give zeros instead of NaN. ``axis`` are the axes statistics are taken over
    (0: one mean per feature; ``(0, 1, 2)`` on NHWC images: one per channel).

    >>> s = Standardizer().fit(np.array([[0.0, 5.0], [2.0, 5.0]]))
    >>> s.transform(np.array([[1.0, 5.0], [3.0, 5.0]]))
    array([[0., 0.],
           [2., 0.]])
    """

    def __init__(self, with_mean: bool = True, with_std: bool = True, axis: int | tuple[int, ...] = 0) -> None:
        self.with_mean = with_mean
        self.with_std = with_std
        self.axis = axis

    def fit(self, x: Any) -> Standardizer:
        """Learn ``mean_`` and ``scale_`` from the training data `x`."""
        x = _float(x)
        if x.size == 0:
            raise ValueError(f"Standardizer.fit needs data, got an empty array of shape {x.shape}")
        if not np.isfinite(x).all():
            raise ValueError("Standardizer.fit: the data contains NaN or infinity")
        mean = x.mean(axis=self.axis, keepdims=True)
        std = x.std(axis=self.axis, keepdims=True)
        # A constant feature has std 0 (or ~1e-8 from rounding): leave its scale at 1 instead of dividing by ~0.
        std = np.where(std < 10 * np.finfo(x.dtype).eps * np.maximum(np.abs(mean), 1), 1, std).astype(x.dtype)
        self.mean_ = mean if self.with_mean else np.zeros_like(mean)
        self.scale_ = std if self.with_std else np.ones_like(std)
        self.n_features_in_ = x.shape[-1] if x.ndim > 1 else 1
        return self

    def _check(self, x: Any, method: str) -> np.ndarray:
        if not hasattr(self, "mean_"):
            raise RuntimeError(f"Standardizer.{method} called before fit(); fit it on the training data first")
        x = _float(x)
        try:
            np.broadcast_shapes(x.shape, self.mean_.shape)
        except ValueError:
            raise ValueError(
                f"Standardizer.{method}: data of shape {x.shape} does not match the shape it was fitted on "
                f"(statistics of shape {self.mean_.shape})"
            ) from None
        if x.ndim != self.mean_.ndim:
            raise ValueError(
                f"Standardizer.{method}: data of rank {x.ndim} (shape {x.shape}), fitted on rank {self.mean_.ndim}"
            )
        return x

    def transform(self, x: Any) -> np.ndarray:
        """``(x - mean_) / scale_`` with the statistics learned by ``fit``."""
        x = self._check(x, "transform")
        return ((x - self.mean_) / self.scale_).astype(x.dtype, copy=False)

    def fit_transform(self, x: Any) -> np.ndarray:
        return self.fit(x).transform(x)

    def inverse_transform(self, x: Any) -> np.ndarray:
        """Undo ``transform``: ``x * scale_ + mean_`` (e.g. to read predictions in the original units)."""
        x = self._check(x, "inverse_transform")
        return (x * self.scale_ + self.mean_).astype(x.dtype, copy=False)

    def get_config(self) -> dict:
        return {"with_mean": self.with_mean, "with_std": self.with_std, "axis": self.axis}
