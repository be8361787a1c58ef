"""Ratings data for the recommenders: CSV files, MovieLens' layouts, the slides' matrix, synthetic sets.

- `load(path)` reads ``user,item,rating[,timestamp]`` CSV (with or without a header) and MovieLens'
  ``u.data`` (tab-separated, ML-100k), ``ratings.csv`` (``userId,movieId,rating,timestamp``, ML-latest)
  and ``ratings.dat`` (``::``-separated, ML-1M), told apart by their content. Ids that are all integers
  become ints; others stay strings.
- `fetch(url, sha256, fname)`: a copy of a ratings file in the dataset cache, downloaded once and checked
  against its SHA-256 (neurona never downloads anything unasked).
- `slides()`: the 4 users x 5 items matrix of the course's recommender deck, embedded.
- `synthetic(...)`: a low-rank set with noise, popularity skew and, optionally, missing-not-at-random
  observations (users rate more what they like), with the true ratings kept.

Duplicate (user, item) pairs follow one rule, `duplicates=`: ``"last"`` (default: the last line wins, as
when a user changes their mind), ``"mean"`` (their mean) or ``"error"``. Every problem in a file is a
`RatingsFormatError` (a ValueError) naming the file, the line and the offending value.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ._files import fetch as _fetch

USER_NAMES = ("user", "userid", "user_id", "uid", "usuario")
ITEM_NAMES = ("item", "itemid", "item_id", "movieid", "movie_id", "iid", "movie", "producto")
RATING_NAMES = ("rating", "ratings", "score", "valoracion", "valoración")
TIME_NAMES = ("timestamp", "time", "ts")
DUPLICATE_RULES = ("last", "mean", "error")


class RatingsFormatError(ValueError):
    """A ratings file or array that cannot be used, with where and why."""


@dataclass
class RatingsData:
    """Ratings: `X` (n, 2) user and item ids, `y` (n,) float64, `timestamps` (n,) or None."""

    X: np.ndarray
    y: np.ndarray
    timestamps: np.ndarray | None = None
    source: str = ""
    duplicates_merged: int = 0
    true_ratings: np.ndarray | None = field(default=None, repr=False)

    def __len__(self) -> int:
        return int(self.y.size)

    @property
    def users(self) -> list:
        return list(dict.fromkeys(self.X[:, 0].tolist()))

    @property
    def items(self) -> list:
        return list(dict.fromkeys(self.X[:, 1].tolist()))

    def as_matrix(self) -> tuple[np.ndarray, list, list]:
        """Dense user x item matrix with NaN where there is no rating, and the user and item ids of its axes."""
        users, items = self.users, self.items
        ui, ii = {u: k for k, u in enumerate(users)}, {i: k for k, i in enumerate(items)}
        m = np.full((len(users), len(items)), np.nan)
        for (u, i), r in zip(self.X.tolist(), self.y):
            m[ui[u], ii[i]] = r
        return m, users, items


def _ids(values: list[str]) -> np.ndarray:
    """Integer ids when every id is an integer, else strings."""
    try:
        return np.array([int(v) for v in values], dtype=np.int64)
    except ValueError:
        return np.array([v.strip() for v in values], dtype=object)


def parse_id(value: Any, like: np.ndarray) -> Any:
    """`value` (say, from the command line) as the same kind of id as the array `like` holds."""
    if like.dtype.kind in "iu":
        try:
            return int(value)
        except (TypeError, ValueError):
            return value
    return str(value)


def _merge_duplicates(X: np.ndarray, y: np.ndarray, ts: np.ndarray | None, rule: str, where: str,
                      lines: list[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, int]:
    if rule not in DUPLICATE_RULES:
        raise ValueError(f"duplicates must be one of {DUPLICATE_RULES}, got {rule!r}")
    first: dict[tuple, int] = {}
    groups: list[list[int]] = []
    for row, pair in enumerate(zip(X[:, 0].tolist(), X[:, 1].tolist())):
        g = first.get(pair)
        if g is None:
            first[pair] = len(groups)
            groups.append([row])
        else:
            if rule == "error":
                raise RatingsFormatError(
                    f"{where}: line {lines[row]} rates user {pair[0]!r}, item {pair[1]!r} again (first on line "
                    f"{lines[groups[g][0]]}); pass duplicates='last' or 'mean' to keep one rating per pair")
            groups[g].append(row)
    merged = len(y) - len(groups)
    if not merged:
        return X, y, ts, 0
    keep = np.array([g[0] for g in groups])
    if rule == "last":
        value = np.array([y[g[-1]] for g in groups])
        tval = None if ts is None else np.array([ts[g[-1]] for g in groups])
    else:
        value = np.array([y[g].mean() for g in groups])
        tval = None if ts is None else np.array([ts[g].max() for g in groups])
    return X[keep], value, tval, merged


def _column(header: list[str], names: tuple[str, ...], chosen: str | None, what: str, where: str) -> int | None:
    low = [h.strip().lower() for h in header]
    if chosen is not None:
        if chosen.strip().lower() not in low:
            raise RatingsFormatError(f"{where}: there is no column {chosen!r} for the {what}; "
                                     f"the columns are {header}")
        return low.index(chosen.strip().lower())
    for n in names:
        if n in low:
            return low.index(n)
    return None


def _number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def _sniff(first: str) -> str:
    if "::" in first:
        return "::"
    if "\t" in first:
        return "\t"
    if ";" in first and "," not in first:
        return ";"
    return ","


def load(path: str | os.PathLike, *, user: str | None = None, item: str | None = None, rating: str | None = None,
         rating_scale: tuple[float, float] | None = None, duplicates: str = "last") -> RatingsData:
    """Read ``user,item,rating[,timestamp]`` CSV or MovieLens' ``u.data``, ``ratings.csv``, ``ratings.dat``.

    A header row is recognised by its names (user/userId, item/itemId/movieId, rating, timestamp; or pass
    `user=`, `item=`, `rating=`); without one the columns are taken in that order. Ratings outside
    `rating_scale` are an error, as are non-numeric ratings, an empty file and unknown columns.
    """
    where = str(path)
    p = Path(path)
    if not p.is_file():
        raise RatingsFormatError(f"{where}: no such file")
    with open(p, newline="", encoding="utf-8-sig") as f:
        text = f.read()
    raw_lines = [(n, line) for n, line in enumerate(text.splitlines(), 1) if line.strip()]
    if not raw_lines:
        raise RatingsFormatError(f"{where}: the file is empty (expected lines of user,item,rating[,timestamp])")
    sep = _sniff(raw_lines[0][1])
    if sep == "::":
        rows = [line.split("::") for _, line in raw_lines]
    else:
        rows = list(csv.reader([line for _, line in raw_lines], delimiter=sep))
    lines = [n for n, _ in raw_lines]
    header = rows[0]
    has_header = any(h.strip().lower() in USER_NAMES + ITEM_NAMES + RATING_NAMES for h in header) or \
        any(x is not None for x in (user, item, rating)) or (len(header) >= 3 and not _number(header[2]))
    if has_header:
        cu = _column(header, USER_NAMES, user, "users", where)
        ci = _column(header, ITEM_NAMES, item, "items", where)
        cr = _column(header, RATING_NAMES, rating, "ratings", where)
        ct = _column(header, TIME_NAMES, None, "timestamps", where)
        missing = [w for w, c in (("user", cu), ("item", ci), ("rating", cr)) if c is None]
        if missing:
            raise RatingsFormatError(
                f"{where}: unknown columns {header}: no column for the {', '.join(missing)} (expected names like "
                "user/userId, item/itemId/movieId, rating; or pass the column names)")
        rows, lines = rows[1:], lines[1:]
        if not rows:
            raise RatingsFormatError(f"{where}: the file has a header but no ratings")
    else:
        width = len(header)
        if width < 3:
            raise RatingsFormatError(f"{where}: line {lines[0]} has {width} field(s); expected "
                                     "user,item,rating[,timestamp]")
        cu, ci, cr, ct = 0, 1, 2, (3 if width >= 4 else None)
    need = max(c for c in (cu, ci, cr, ct) if c is not None)
    for n, row in zip(lines, rows):
        if len(row) <= need:
            raise RatingsFormatError(f"{where}: line {n} has {len(row)} field(s), expected at least {need + 1}: "
                                     f"{sep.join(row)!r}")
    y = np.empty(len(rows))
    for k, (n, row) in enumerate(zip(lines, rows)):
        try:
            y[k] = float(row[cr])
        except ValueError:
            raise RatingsFormatError(f"{where}: line {n}: the rating {row[cr]!r} is not a number") from None
        if not np.isfinite(y[k]):
            raise RatingsFormatError(f"{where}: line {n}: the rating {row[cr]!r} is not a finite number")
        if rating_scale is not None and not rating_scale[0] <= y[k] <= rating_scale[1]:
            raise RatingsFormatError(f"{where}: line {n}: the rating {row[cr]} is outside the declared scale "
                                     f"[{rating_scale[0]:g}, {rating_scale[1]:g}]")
    for what, c in (("user", cu), ("item", ci)):
        for n, row in zip(lines, rows):
            if not row[c].strip():
                raise RatingsFormatError(f"{where}: line {n}: the {what} id is empty")
    X = np.empty((len(rows), 2), dtype=object)
    us, its = _ids([r[cu] for r in rows]), _ids([r[ci] for r in rows])
    if us.dtype.kind == its.dtype.kind == "i":
        X = np.stack([us, its], axis=1)
    else:
        X[:, 0], X[:, 1] = us, its
    ts = None
    if ct is not None:
        try:
            ts = np.array([float(r[ct]) for r in rows])
        except ValueError:
            ts = None  # a free-text date column: kept out rather than guessed
    X, y, ts, merged = _merge_duplicates(X, y, ts, duplicates, where, lines)
    return RatingsData(X, y, ts, source=where, duplicates_merged=merged)


def fetch(url: str, sha256: str, fname: str | None = None, **load_kwargs: Any) -> RatingsData:
    """Download a ratings file once into the dataset cache (checked against `sha256`) and `load` it."""
    name = fname or url.rstrip("/").rsplit("/", 1)[-1]
    return load(_fetch(name, url, sha256, subdir="ratings"), **load_kwargs)


# The course deck's ratings matrix ("Sistemas de recomendación"): 4 users x 5 items, 0 = not rated.
SLIDES_MATRIX = np.array([
    [2, 5, 0, 4, 0],
    [0, 1, 5, 0, 3],
    [5, 3, 4, 3, 0],
    [0, 3, 5, 1, 1],
], dtype=np.float64)
SLIDES_USERS = ("u1", "u2", "u3", "u4")
SLIDES_ITEMS = ("i1", "i2", "i3", "i4", "i5")


def slides() -> RatingsData:
    """The slides' 4 x 5 ratings matrix as ratings (users u1..u4, items i1..i5, scale 1-5), row by row."""
    rows, cols = np.nonzero(SLIDES_MATRIX)
    X = np.empty((rows.size, 2), dtype=object)
    X[:, 0] = [SLIDES_USERS[r] for r in rows]
    X[:, 1] = [SLIDES_ITEMS[c] for c in cols]
    return RatingsData(X, SLIDES_MATRIX[rows, cols], source="slides")


def synthetic(n_users: int = 1000, n_items: int = 1700, n_ratings: int = 100_000, rank: int = 5,
              noise: float = 0.3, mnar: float = 0.0, rating_scale: tuple[float, float] = (1.0, 5.0),
              integer: bool = False, seed: int = 0) -> RatingsData:
    """A low-rank ratings set: r = mu + b_u + b_i + p_u . q_i (+ Gaussian `noise`), clipped to the scale.

    Users' activity is log-normal and items' popularity Zipf-like, as in real catalogues. `mnar` > 0 makes
    the data missing not at random: a drawn pair is kept with probability sigmoid(mnar * (r - mean r)), so
    users rate more what they like. `integer=True` rounds to whole stars. `true_ratings` holds r before noise.
    """
    if n_ratings > n_users * n_items // 2:
        raise ValueError(f"n_ratings={n_ratings} is too many for {n_users} x {n_items} (at most half the matrix)")
    rng = np.random.default_rng(seed)
    lo, hi = rating_scale
    mid, spread = (lo + hi) / 2, (hi - lo) / 4
    P = rng.normal(0, 1, (n_users, rank)) / np.sqrt(rank)
    Q = rng.normal(0, 1, (n_items, rank)) / np.sqrt(rank)
    bu, bi = rng.normal(0, 0.5, n_users), rng.normal(0, 0.5, n_items)
    activity = rng.lognormal(0, 0.8, n_users)
    popularity = 1.0 / np.arange(1, n_items + 1) ** 0.8
    popularity = popularity[rng.permutation(n_items)]
    seen: set[int] = set()
    users_out, items_out = [], []
    need = n_ratings
    while need > 0:
        m = 3 * need + 1000
        u = rng.choice(n_users, m, p=activity / activity.sum())
        i = rng.choice(n_items, m, p=popularity / popularity.sum())
        if mnar:
            truth = bu[u] + bi[i] + np.einsum("ij,ij->i", P[u], Q[i])
            keep = rng.random(m) < 1.0 / (1.0 + np.exp(-mnar * (truth - truth.mean())))
            u, i = u[keep], i[keep]
        for a, b in zip(u.tolist(), i.tolist()):
            key = a * n_items + b
            if key not in seen:
                seen.add(key)
                users_out.append(a)
                items_out.append(b)
                need -= 1
                if need == 0:
                    break
    u, i = np.array(users_out), np.array(items_out)
    truth = mid + spread * (bu[u] + bi[i] + np.einsum("ij,ij->i", P[u], Q[i]) * 1.5)
    y = truth + rng.normal(0, noise, u.size)
    if integer:
        y = np.rint(y)
    y = np.clip(y, lo, hi)
    return RatingsData(np.stack([u, i], axis=1), y, source="synthetic", true_ratings=np.clip(truth, lo, hi))
