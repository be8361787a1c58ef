"""Neighbourhood collaborative filtering: UserKNN (similar users' ratings) and ItemKNN (similar items).

To estimate how user u rates item i, UserKNN takes the `k` users most similar to u among those who rated i;
ItemKNN takes the `k` items most similar to i among those u rated. Write x for the entity compared (user or
item), y for the other one, N_k(x; y) for the k most similar x' that rated y (or were rated by y), and use
only the neighbours with positive similarity (Surprise's rule). The three `prediction` rules are Surprise's
(`surprise/prediction_algorithms/knns.py`):

- ``"plain"`` (KNNBasic): r(x, y) = sum sim(x, x') r(x', y) / sum sim(x, x');
- ``"mean_centered"`` (KNNWithMeans): r(x, y) = mu_x + sum sim(x, x') (r(x', y) - mu_x') / sum sim(x, x');
- ``"zscore"`` (KNNWithZScore): r(x, y) = mu_x + sigma_x sum sim(x, x') (r(x', y) - mu_x') / sigma_x' / sum sim.

With fewer than `min_k` usable neighbours, "plain" falls back to the global mean and the others to mu_x
(again as Surprise). The similarities are in `neurona.recommenders.similarity`. Ties between equal
similarities are broken by the neighbour seen first in `fit` (Surprise breaks them by rating order).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._base import Recommender
from ._data import Ratings
from .similarity import SIMILARITIES, similarity_matrix

PREDICTIONS = ("plain", "mean_centered", "zscore")


class _KNN(Recommender):
    user_based = True

    def __init__(self, k: int = 40, similarity: str = "cosine", prediction: str = "plain", min_support: int = 1,
                 shrinkage: float = 0.0, min_k: int = 1, rating_scale: tuple[float, float] | None = None,
                 duplicates: str = "last") -> None:
        self.k = k
        self.similarity = similarity
        self.prediction = prediction
        self.min_support = min_support
        self.shrinkage = shrinkage
        self.min_k = min_k
        self.rating_scale = rating_scale
        self.duplicates = duplicates

    def _check_params(self) -> None:
        name = type(self).__name__
        if self.similarity not in SIMILARITIES:
            raise ValueError(f"{name}: similarity must be one of {SIMILARITIES}, got {self.similarity!r}")
        if self.prediction not in PREDICTIONS:
            raise ValueError(f"{name}: prediction must be one of {PREDICTIONS}, got {self.prediction!r}")
        for what in ("k", "min_k", "min_support"):
            v = getattr(self, what)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < (0 if what != "k" else 1):
                raise ValueError(f"{name}: {what} must be a {'positive' if what == 'k' else 'non-negative'} "
                                 f"integer, got {v!r}")
        if not np.isfinite(self.shrinkage) or self.shrinkage < 0:
            raise ValueError(f"{name}: shrinkage must be >= 0, got {self.shrinkage!r}")

    @property
    def method(self) -> str:  # type: ignore[override]
        return f"{'user' if self.user_based else 'item'}-knn ({self.similarity}, {self.prediction}, k={self.k})"

    def _fit(self, data: Ratings) -> None:
        R = self.matrix_ if self.user_based else self.matrix_.T.tocsr()  # x by y
        R.sort_indices()
        self._xy = R
        self._yx = R.T.tocsr()  # for each y, the x's that rated it (sorted by x)
        self._yx.sort_indices()
        self.similarities_ = similarity_matrix(R, self.similarity, self.min_support, self.shrinkage)
        counts = np.diff(R.indptr)
        self.means_ = np.asarray(R.sum(axis=1)).ravel() / np.maximum(counts, 1)
        # sigma from the deviations, as Surprise computes it (no cancellation from E[r^2] - mu^2)
        dev = R.copy()
        dev.data = (dev.data - np.repeat(self.means_, counts)) ** 2
        sigma = np.sqrt(np.asarray(dev.sum(axis=1)).ravel() / np.maximum(counts, 1))
        self.sigmas_ = np.where(sigma == 0.0, 1.0, sigma)

    def _switch(self, u: np.ndarray, i: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return (u, i) if self.user_based else (i, u)

    def _neighbours(self, xs: np.ndarray, y: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """For the x's `xs` and one y: the k most similar x' that rated y, their similarities and ratings."""
        lo, hi = self._yx.indptr[y], self._yx.indptr[y + 1]
        cand, r = self._yx.indices[lo:hi], self._yx.data[lo:hi]
        s = self.similarities_[np.ix_(xs, cand)]
        if cand.size > self.k:
            top = np.argsort(-s, axis=1, kind="stable")[:, :self.k]
            s = np.take_along_axis(s, top, axis=1)
            return cand[top], s, r[top]
        return np.broadcast_to(cand, s.shape), s, np.broadcast_to(r, s.shape)

    def _estimate(self, u: np.ndarray, i: np.ndarray) -> np.ndarray:
        x, y = self._switch(u, i)
        est = np.empty(x.shape[0], dtype=np.float64)
        order = np.argsort(y, kind="stable")
        ys, starts = np.unique(y[order], return_index=True)
        bounds = np.append(starts, order.size)
        for j, yy in enumerate(ys):
            rows = order[bounds[j]:bounds[j + 1]]
            est[rows] = self._estimate_group(x[rows], int(yy))
        return est

    def _estimate_group(self, xs: np.ndarray, y: int) -> np.ndarray:
        nb, s, r = self._neighbours(xs, y)
        w = np.where(s > 0, s, 0.0)
        used = (s > 0).sum(axis=1)
        sw = w.sum(axis=1)
        enough = used >= max(self.min_k, 1)
        safe = np.where(sw > 0, sw, 1.0)
        if self.prediction == "plain":
            est = (w * r).sum(axis=1) / safe
            return np.where(enough, est, self.global_mean_)
        dev = r - self.means_[nb]
        if self.prediction == "zscore":
            dev = dev / self.sigmas_[nb]
        shift = (w * dev).sum(axis=1) / safe
        if self.prediction == "zscore":
            shift = shift * self.sigmas_[xs]
        return self.means_[xs] + np.where(enough, shift, 0.0)

    def _scores_for_user(self, u: int, items: np.ndarray) -> np.ndarray:
        return self._estimate(np.full(items.shape, u, dtype=np.int64), items)

    def neighbours(self, user: Any, item: Any) -> list[tuple[Any, float, float]]:
        """The neighbours that drive the estimate of (user, item): (raw id, similarity, rating), best first."""
        self._check_fitted()
        u, i = self.user_index_.inner(user), self.item_index_.inner(item)
        if u < 0 or i < 0:
            return []
        return self._used(u, i)

    def _used(self, u: int, i: int) -> list[tuple[Any, float, float]]:
        x, y = self._switch(np.array([u]), np.array([i]))
        nb, s, r = self._neighbours(x, int(y[0]))
        index = self.user_index_ if self.user_based else self.item_index_
        best = np.argsort(-s[0], kind="stable")
        return [(index.raw(nb[0][j]), float(s[0][j]), float(r[0][j])) for j in best if s[0][j] > 0]

    def _explain(self, u: int, i: int) -> str:
        used = self._used(u, i)
        if not used:
            return "no similar neighbour: mean fallback"
        shown = ", ".join(f"{who!s} (sim {s:.2f}, rating {r:g})" for who, s, r in used[:3])
        more = f" and {len(used) - 3} more" if len(used) > 3 else ""
        if self.user_based:
            return f"similar users rated it: {shown}{more}"
        return f"like items the user rated: {shown}{more}"


class UserKNN(_KNN):
    """User-based collaborative filtering: similar users' ratings of the item (see the module docstring).

    >>> import numpy as np
    >>> X = np.array([[0, 0], [0, 1], [1, 0], [1, 1], [1, 2]])
    >>> m = UserKNN(k=2, prediction="plain").fit(X, [5, 3, 4, 3, 2])
    >>> float(m.predict([[0, 2]])[0])
    2.0
    """

    user_based = True


class ItemKNN(_KNN):
    """Item-based collaborative filtering: the user's ratings of similar items (see the module docstring)."""

    user_based = False
