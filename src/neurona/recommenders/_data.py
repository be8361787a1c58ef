"""Ratings as the estimators see them: (user, item) ids mapped to dense indices, checked, as sparse matrices.

Every estimator takes `X` as an (n, 2) array of user and item ids (or a pandas frame whose first two columns
are the ids; any hashable ids) and `y` the ratings. Ids are mapped to inner indices 0..n-1 in order of first
appearance (as Surprise does). Duplicate (user, item) pairs follow one stated rule: `duplicates="last"`
(default: the last rating wins, as when a user changes their mind) or `"mean"`, or `"error"`.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

DUPLICATE_RULES = ("last", "mean", "error")


class UnknownIdError(KeyError, ValueError):
    """A user or item id the model never saw in `fit` (a KeyError that is also a ValueError)."""

    def __str__(self) -> str:  # KeyError would print the message quoted
        return str(self.args[0]) if self.args else ""


def require_scipy_sparse() -> Any:
    """`scipy.sparse`, or an ImportError naming the extra that brings it."""
    try:
        import scipy.sparse as sp
    except ImportError as e:  # pragma: no cover - scipy is installed with the test extras
        raise ImportError("neurona.recommenders needs scipy for its sparse rating matrices: "
                          "pip install 'neurona[recommenders]'") from e
    return sp


class IdIndex:
    """A two-way map between raw ids (any hashable) and inner indices 0..n-1, in order of first appearance."""

    def __init__(self, ids: Iterable[Hashable] = ()) -> None:
        self.ids: list[Hashable] = []
        self._index: dict[Hashable, int] = {}
        for raw in ids:
            self.add(raw)

    def add(self, raw: Hashable) -> int:
        key = _key(raw)
        if key not in self._index:
            self._index[key] = len(self.ids)
            self.ids.append(key)
        return self._index[key]

    def __len__(self) -> int:
        return len(self.ids)

    def __contains__(self, raw: Hashable) -> bool:
        return _key(raw) in self._index

    def inner(self, raw: Hashable) -> int:
        """The inner index of `raw`, -1 when unknown."""
        return self._index.get(_key(raw), -1)

    def encode(self, raws: Iterable[Hashable]) -> np.ndarray:
        """Inner indices of many ids (-1 for unknown ones)."""
        if isinstance(raws, np.ndarray) and raws.dtype.kind in "iu":  # vectorised: binary search in sorted ids
            known = self._sorted_ints()
            if known is not None:
                keys, inner = known
                pos = np.clip(np.searchsorted(keys, raws), 0, max(keys.size - 1, 0))
                hit = keys[pos] == raws if keys.size else np.zeros(raws.shape, bool)
                return np.where(hit, inner[pos], -1).astype(np.int64)
        get = self._index.get
        return np.fromiter((get(_key(r), -1) for r in raws), dtype=np.int64)

    def _sorted_ints(self) -> tuple[np.ndarray, np.ndarray] | None:
        """The ids sorted with their inner indices, when every id is an int (cached)."""
        cache = getattr(self, "_ints", None)
        if cache is None or cache[0] != len(self.ids):
            if not all(isinstance(v, int) and not isinstance(v, bool) for v in self.ids):
                return None
            ids = np.array(self.ids, dtype=np.int64)
            order = np.argsort(ids, kind="stable")
            cache = (len(self.ids), ids[order], order.astype(np.int64))
            self._ints = cache
        return cache[1], cache[2]

    @classmethod
    def from_ints(cls, column: np.ndarray) -> tuple[IdIndex, np.ndarray]:
        """The index of an integer column (ids in order of first appearance) and the column's inner indices."""
        uniq, first, inverse = np.unique(column, return_index=True, return_inverse=True)
        order = np.argsort(first, kind="stable")  # order[k]: which unique id is the k-th to appear
        rank = np.empty_like(order)
        rank[order] = np.arange(order.size)
        index = cls()
        index.ids = [int(v) for v in uniq[order]]
        index._index = {v: k for k, v in enumerate(index.ids)}
        return index, rank[inverse.ravel()].astype(np.int64)

    def raw(self, inner: int) -> Hashable:
        return self.ids[int(inner)]


def _key(raw: Any) -> Hashable:
    """NumPy scalars become Python ones, so 3, np.int64(3) and 3.0-from-a-float-column are the same id."""
    if isinstance(raw, np.generic):
        raw = raw.item()
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    return raw


def id_columns(X: Any, where: str = "X") -> tuple[Any, Any]:
    """The user and item ids of `X`: an (n, 2) array-like or a frame whose first two columns are the ids.

    Integer arrays come back as integer NumPy columns (the fast path); anything else as lists.
    """
    if hasattr(X, "iloc") and hasattr(X, "columns"):  # pandas DataFrame
        if X.shape[1] < 2:
            raise ValueError(f"{where}: expected a frame with a user column and an item column, "
                             f"got columns {list(X.columns)}")
        return list(X.iloc[:, 0]), list(X.iloc[:, 1])
    if isinstance(X, np.ndarray):
        arr = X
    else:
        try:
            arr = np.asarray(X)
        except ValueError:  # ragged rows: reported below with their shape
            arr = np.asarray(X, dtype=object)
        if arr.dtype.kind not in "iu":  # keep each id's own type (NumPy would turn [["a", 1]] into strings)
            arr = np.asarray(X, dtype=object)
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise ValueError(f"{where}: expected an (n, 2) array of (user, item) ids, got shape {arr.shape}")
    if arr.dtype.kind in "iu":
        return arr[:, 0].astype(np.int64), arr[:, 1].astype(np.int64)
    return list(arr[:, 0]), list(arr[:, 1])


def check_ratings_values(y: Any, n: int, rating_scale: tuple[float, float] | None, where: str = "y") -> np.ndarray:
    """Ratings as float64: numeric, finite, one per row, inside `rating_scale` when one is declared."""
    try:
        r = np.asarray(y, dtype=np.float64).ravel()
    except (TypeError, ValueError):
        bad = next((v for v in np.ravel(np.asarray(y, dtype=object)) if not _is_number(v)), None)
        raise ValueError(f"{where}: ratings must be numbers, got {bad!r}") from None
    if r.shape[0] != n:
        raise ValueError(f"{where}: {r.shape[0]} ratings for {n} (user, item) pairs")
    if not np.all(np.isfinite(r)):
        i = int(np.flatnonzero(~np.isfinite(r))[0])
        raise ValueError(f"{where}: rating number {i} is {r[i]}; ratings must be finite numbers")
    if rating_scale is not None:
        lo, hi = rating_scale
        out = np.flatnonzero((r < lo) | (r > hi))
        if out.size:
            raise ValueError(f"{where}: rating {r[out[0]]:g} (row {int(out[0])}) is outside the declared scale "
                             f"[{lo:g}, {hi:g}] ({out.size} ratings outside it)")
    return r


def _is_number(v: Any) -> bool:
    try:
        float(v)
        return True
    except (TypeError, ValueError):
        return False


@dataclass
class Ratings:
    """Checked training ratings: inner user and item indices, the ratings, and the id maps."""

    users: np.ndarray
    items: np.ndarray
    ratings: np.ndarray
    user_index: IdIndex
    item_index: IdIndex

    @property
    def n_users(self) -> int:
        return len(self.user_index)

    @property
    def n_items(self) -> int:
        return len(self.item_index)

    def matrix(self) -> Any:
        """The user x item ratings as a scipy CSR matrix (rows sorted by item index)."""
        sp = require_scipy_sparse()
        m = sp.csr_matrix((self.ratings, (self.users, self.items)), shape=(self.n_users, self.n_items))
        m.sort_indices()
        return m


def dedupe(users: np.ndarray, items: np.ndarray, r: np.ndarray, n_items: int, rule: str,
           where: str = "X") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Apply the duplicate rule; the order of first appearance of each pair is kept."""
    if rule not in DUPLICATE_RULES:
        raise ValueError(f"duplicates must be one of {DUPLICATE_RULES}, got {rule!r}")
    key = users * max(n_items, 1) + items
    uniq, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    if uniq.size == key.size:
        return users, items, r
    if rule == "error":
        seen = np.bincount(inverse)
        dup = int(np.flatnonzero(seen[inverse] > 1)[0])
        raise ValueError(f"{where}: the (user, item) pair in row {dup} appears {int(seen[inverse[dup]])} times; "
                         "pass duplicates='last' or 'mean' to keep one rating per pair")
    if rule == "last":
        last = np.zeros(uniq.size, dtype=np.int64)
        last[inverse] = np.arange(key.size)  # later rows overwrite earlier ones
        value = r[last]
    else:
        value = np.bincount(inverse, weights=r) / np.bincount(inverse)
    order = np.argsort(first, kind="stable")
    rows = first[order]
    return users[rows], items[rows], value[order]


def check_fit_data(X: Any, y: Any, rating_scale: tuple[float, float] | None = None,
                   duplicates: str = "last") -> Ratings:
    """Validate `fit`'s X and y and map the ids: the estimators' single entry point for training data."""
    raw_users, raw_items = id_columns(X)
    if len(raw_users) == 0:
        raise ValueError("X: no ratings to fit (0 rows)")
    r = check_ratings_values(y, len(raw_users), rating_scale)
    if isinstance(raw_users, np.ndarray):  # integer ids: mapped without a Python loop
        uidx, users = IdIndex.from_ints(raw_users)
        iidx, items = IdIndex.from_ints(raw_items)
        users, items, r = dedupe(users, items, r, len(iidx), duplicates)
        return Ratings(users, items, r, uidx, iidx)
    uidx, iidx = IdIndex(), IdIndex()
    for what, col in (("user", raw_users), ("item", raw_items)):
        bad = next((v for v in col if v is None or (isinstance(v, float) and np.isnan(v))), "ok")
        if bad != "ok":
            raise ValueError(f"X: a {what} id is missing ({bad!r})")
    users = np.fromiter((uidx.add(u) for u in raw_users), dtype=np.int64, count=len(raw_users))
    items = np.fromiter((iidx.add(i) for i in raw_items), dtype=np.int64, count=len(raw_items))
    users, items, r = dedupe(users, items, r, len(iidx), duplicates)
    return Ratings(users, items, r, uidx, iidx)
