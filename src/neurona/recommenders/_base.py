"""What every recommender shares: scikit-learn's estimator contract over (user, item) -> rating data.

`fit(X, y)` maps the ids and checks the ratings (`_data.check_fit_data`), `predict(X)` estimates ratings
(a pair with a user or item unseen in `fit` gets the global mean, as Surprise does, and the estimate is
clipped to the rating scale), and `recommend(user, n)` ranks the items the user has not rated, each with
its score and an explanation of what drove it. A user unseen in `fit` (cold start) gets the most popular
items instead, and the result says so; `unknown="raise"` makes that an error.
"""

from __future__ import annotations

import inspect
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._data import Ratings, UnknownIdError, check_fit_data, id_columns


@dataclass(frozen=True)
class Recommendation:
    """One recommended item: its raw id, its predicted score, and why it was recommended."""

    item: Hashable
    score: float
    because: str


class Recommendations(list):
    """The top-N list of `recommend`: `Recommendation`s best first, plus who it is for and how it was made.

    `cold_start` is True when the user had no ratings in `fit`, and `note` then says which fallback was used.
    """

    def __init__(self, items: list[Recommendation], user: Hashable, method: str, cold_start: bool = False,
                 note: str = "") -> None:
        super().__init__(items)
        self.user, self.method, self.cold_start, self.note = user, method, cold_start, note

    @property
    def items(self) -> list[Hashable]:
        return [r.item for r in self]

    @property
    def scores(self) -> np.ndarray:
        return np.array([r.score for r in self], dtype=np.float64)

    def __str__(self) -> str:
        lines = [f"Top {len(self)} for user {self.user!r} ({self.method})"]
        if self.note:
            lines.append(self.note)
        for rank, r in enumerate(self, 1):
            lines.append(f"{rank:>3}. item {r.item!s:<12} score {r.score:.3f}  {r.because}")
        return "\n".join(lines)


class Recommender:
    """Base class: subclasses implement `_fit(data)`, `_estimate(u, i)` and `_explain(u, i)`."""

    method = "recommender"

    # -- scikit-learn's parameter protocol (so sklearn.base.clone and GridSearchCV work without sklearn here)
    @classmethod
    def _param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        return [p for p in sig.parameters if p != "self"]

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params: Any) -> Recommender:
        valid = self._param_names()
        for name, value in params.items():
            if name not in valid:
                raise ValueError(f"{type(self).__name__}: unknown parameter {name!r}; valid ones: {valid}")
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        defaults = {p: v.default for p, v in inspect.signature(type(self).__init__).parameters.items()}
        shown = [f"{k}={v!r}" for k, v in self.get_params().items() if defaults.get(k) != v]
        return f"{type(self).__name__}({', '.join(shown)})"

    # -- fit / predict / recommend
    def fit(self, X: Any, y: Any) -> Recommender:
        """Learn from ratings `y` of the (user, item) pairs `X`; returns self."""
        self._check_params()
        scale = getattr(self, "rating_scale", None)
        data = check_fit_data(X, y, rating_scale=scale, duplicates=getattr(self, "duplicates", "last"))
        self._store(data)
        self._fit(data)
        return self

    def _check_params(self) -> None:
        """Subclasses validate their constructor arguments here (scikit-learn validates in fit, not __init__)."""

    def _store(self, data: Ratings) -> None:
        self.user_index_, self.item_index_ = data.user_index, data.item_index
        self.n_users_, self.n_items_ = data.n_users, data.n_items
        self.global_mean_ = float(data.ratings.mean())
        lo, hi = float(data.ratings.min()), float(data.ratings.max())
        self.rating_scale_ = tuple(self.rating_scale) if getattr(self, "rating_scale", None) else (lo, hi)
        self.matrix_ = data.matrix()  # users x items, CSR
        counts = np.bincount(data.items, minlength=data.n_items)
        sums = np.bincount(data.items, weights=data.ratings, minlength=data.n_items)
        self.item_counts_ = counts
        self.item_means_ = sums / np.maximum(counts, 1)
        ucounts = np.bincount(data.users, minlength=data.n_users)
        self.user_means_ = np.bincount(data.users, weights=data.ratings, minlength=data.n_users) / ucounts

    def _check_fitted(self) -> None:
        if not hasattr(self, "matrix_"):
            raise RuntimeError(f"this {type(self).__name__} is not fitted yet: call fit(X, y) first")

    def _encode(self, X: Any) -> tuple[np.ndarray, np.ndarray]:
        raw_u, raw_i = id_columns(X)
        return self.user_index_.encode(raw_u), self.item_index_.encode(raw_i)

    def predict(self, X: Any) -> np.ndarray:
        """Estimated ratings of the (user, item) pairs `X`; unknown users or items get the global mean."""
        self._check_fitted()
        u, i = self._encode(X)
        est = np.full(u.shape[0], self.global_mean_, dtype=np.float64)
        known = (u >= 0) & (i >= 0)
        if known.any():
            est[known] = self._estimate(u[known], i[known])
        return np.clip(est, *self.rating_scale_)

    def score(self, X: Any, y: Any) -> float:
        """Negative RMSE (greater is better, scikit-learn's convention for scores)."""
        from .evaluation import rmse

        return -rmse(np.asarray(y, dtype=np.float64), self.predict(X))

    def _scores_for_user(self, u: int, items: np.ndarray) -> np.ndarray:
        """Scores of `items` for inner user `u` (subclasses may vectorise this better)."""
        return self._estimate(np.full(items.shape, u, dtype=np.int64), items)

    def recommend(self, user: Hashable, n: int = 10, *, exclude_rated: bool = True,
                  unknown: str = "popular") -> Recommendations:
        """The `n` best items `user` has not rated, best first, each with its score and explanation.

        A user unseen in `fit` gets the `n` most rated items (ties: higher mean rating first) with a note
        saying so; `unknown="raise"` raises UnknownIdError instead.
        """
        self._check_fitted()
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"n must be a positive integer, got {n!r}")
        if unknown not in ("popular", "raise"):
            raise ValueError(f"unknown must be 'popular' or 'raise', got {unknown!r}")
        u = self.user_index_.inner(user)
        if u < 0:
            if unknown == "raise":
                known = ", ".join(repr(x) for x in self.user_index_.ids[:5])
                raise UnknownIdError(f"user {user!r} has no ratings in the data the model was fitted on "
                                     f"({self.n_users_} users, e.g. {known})")
            return self._popular(user, n)
        items = np.arange(self.n_items_)
        if exclude_rated:
            rated = self.matrix_.indices[self.matrix_.indptr[u]:self.matrix_.indptr[u + 1]]
            items = np.setdiff1d(items, rated)
        if items.size == 0:
            return Recommendations([], user, self.method, note=f"user {user!r} has rated every item")
        scores = np.clip(self._scores_for_user(u, items), *self.rating_scale_)
        order = np.argsort(-scores, kind="stable")[:n]  # ties: the item seen first in fit comes first
        out = [Recommendation(self.item_index_.raw(items[j]), float(scores[j]), self._explain(u, int(items[j])))
               for j in order]
        return Recommendations(out, user, self.method)

    def _popular(self, user: Hashable, n: int) -> Recommendations:
        order = np.lexsort((-self.item_means_, -self.item_counts_))[:n]
        out = [Recommendation(self.item_index_.raw(j), float(self.item_means_[j]),
                              f"popular: {int(self.item_counts_[j])} ratings, mean {self.item_means_[j]:.2f}")
               for j in order]
        note = f"cold start: user {user!r} has no ratings, so these are the most rated items (score: their mean)"
        return Recommendations(out, user, self.method, cold_start=True, note=note)

    # -- what subclasses provide
    def _fit(self, data: Ratings) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _estimate(self, u: np.ndarray, i: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def _explain(self, u: int, i: int) -> str:
        return ""
