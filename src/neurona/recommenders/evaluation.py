"""How good a recommender is: rating error (RMSE, MAE), top-N quality (precision@k, recall@k, NDCG@k,
coverage), and the splits to measure them on (by ratings, leave-one-out per user, k-fold cross-validation).

Top-N metrics use binary relevance: a held-out item is relevant when its rating is >= `threshold`
(every held-out item when `threshold` is None). For each user with at least one relevant held-out item,
precision@k = hits / k, recall@k = hits / relevant, NDCG@k = DCG / ideal DCG with gain 1/log2(rank + 1);
the figures are averaged over those users. Coverage is the share of all items recommended to anyone.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np

from ._data import id_columns


def rmse(y_true: Any, y_pred: Any) -> float:
    """Root mean squared error."""
    t, p = np.asarray(y_true, dtype=np.float64).ravel(), np.asarray(y_pred, dtype=np.float64).ravel()
    if t.shape != p.shape or t.size == 0:
        raise ValueError(f"rmse: y_true and y_pred need the same, non-zero length, got {t.size} and {p.size}")
    return float(np.sqrt(np.mean((t - p) ** 2)))


def mae(y_true: Any, y_pred: Any) -> float:
    """Mean absolute error."""
    t, p = np.asarray(y_true, dtype=np.float64).ravel(), np.asarray(y_pred, dtype=np.float64).ravel()
    if t.shape != p.shape or t.size == 0:
        raise ValueError(f"mae: y_true and y_pred need the same, non-zero length, got {t.size} and {p.size}")
    return float(np.mean(np.abs(t - p)))


def _check_lists(recommended: Sequence[Sequence[Hashable]], relevant: Sequence[set], k: int) -> None:
    if len(recommended) != len(relevant):
        raise ValueError(f"{len(recommended)} recommendation lists for {len(relevant)} sets of relevant items")
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")


def precision_at_k(recommended: Sequence[Sequence[Hashable]], relevant: Sequence[set], k: int = 10) -> float:
    """Mean over users (with some relevant item) of |top-k ∩ relevant| / k."""
    _check_lists(recommended, relevant, k)
    vals = [len(set(list(rec)[:k]) & rel) / k for rec, rel in zip(recommended, relevant) if rel]
    return float(np.mean(vals)) if vals else 0.0


def recall_at_k(recommended: Sequence[Sequence[Hashable]], relevant: Sequence[set], k: int = 10) -> float:
    """Mean over users (with some relevant item) of |top-k ∩ relevant| / |relevant|."""
    _check_lists(recommended, relevant, k)
    vals = [len(set(list(rec)[:k]) & rel) / len(rel) for rec, rel in zip(recommended, relevant) if rel]
    return float(np.mean(vals)) if vals else 0.0


def ndcg_at_k(recommended: Sequence[Sequence[Hashable]], relevant: Sequence[set], k: int = 10) -> float:
    """Mean over users (with some relevant item) of DCG@k / ideal DCG@k, binary relevance."""
    _check_lists(recommended, relevant, k)
    vals = []
    for rec, rel in zip(recommended, relevant):
        if not rel:
            continue
        dcg = sum(1.0 / np.log2(rank + 2) for rank, item in enumerate(list(rec)[:k]) if item in rel)
        ideal = sum(1.0 / np.log2(rank + 2) for rank in range(min(len(rel), k)))
        vals.append(dcg / ideal)
    return float(np.mean(vals)) if vals else 0.0


def coverage(recommended: Sequence[Sequence[Hashable]], n_items: int) -> float:
    """Share of the catalogue's `n_items` items that appear in at least one recommendation list."""
    if n_items < 1:
        raise ValueError(f"n_items must be positive, got {n_items}")
    return len({item for rec in recommended for item in rec}) / n_items


def ranking_report(model: Any, X_test: Any, y_test: Any, k: int = 10, threshold: float | None = None,
                   max_users: int | None = None, random_state: int | None = 0) -> dict[str, float]:
    """precision@k, recall@k, NDCG@k and coverage of `model.recommend` against held-out ratings.

    Only users the model was fitted on are scored; `max_users` samples that many of them (faster).
    """
    users, items = id_columns(X_test, "X_test")
    users, items = list(np.asarray(users, dtype=object).tolist()), list(np.asarray(items, dtype=object).tolist())
    r = np.asarray(y_test, dtype=np.float64).ravel()
    relevant: dict[Hashable, set] = {}
    for u, i, v in zip(users, items, r):
        if threshold is None or v >= threshold:
            relevant.setdefault(u, set()).add(i)
    who = [u for u in relevant if u in model.user_index_]
    if max_users is not None and len(who) > max_users:
        pick = np.random.default_rng(random_state).choice(len(who), max_users, replace=False)
        who = [who[j] for j in sorted(pick)]
    recs = [model.recommend(u, k).items for u in who]
    rel = [relevant[u] for u in who]
    return {f"precision@{k}": precision_at_k(recs, rel, k), f"recall@{k}": recall_at_k(recs, rel, k),
            f"ndcg@{k}": ndcg_at_k(recs, rel, k), "coverage": coverage(recs, model.n_items_)}


def _as_array(X: Any) -> np.ndarray:
    users, items = id_columns(X)
    if isinstance(users, np.ndarray):
        return np.stack([users, items], axis=1)
    out = np.empty((len(users), 2), dtype=object)
    out[:, 0], out[:, 1] = users, items
    try:
        return out.astype(np.int64) if all(isinstance(v, (int, np.integer)) for v in users + items) else out
    except (TypeError, ValueError):  # pragma: no cover
        return out


def train_test_split(X: Any, y: Any, test_size: float = 0.2, random_state: int | None = None
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Split the ratings at random: X_train, X_test, y_train, y_test (`test_size` a fraction or a count)."""
    Xa, r = _as_array(X), np.asarray(y, dtype=np.float64).ravel()
    n = Xa.shape[0]
    n_test = int(round(test_size * n)) if isinstance(test_size, float) else int(test_size)
    if not 0 < n_test < n:
        raise ValueError(f"test_size={test_size!r} leaves no ratings for training or testing ({n} ratings)")
    perm = np.random.default_rng(random_state).permutation(n)
    te, tr = np.sort(perm[:n_test]), np.sort(perm[n_test:])
    return Xa[tr], Xa[te], r[tr], r[te]


def leave_one_out(X: Any, y: Any, timestamps: Any = None, random_state: int | None = None
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Hold out one rating per user with at least two: the latest when `timestamps` are given, else a random one."""
    Xa, r = _as_array(X), np.asarray(y, dtype=np.float64).ravel()
    rng = np.random.default_rng(random_state)
    key = rng.random(r.size) if timestamps is None else np.asarray(timestamps, dtype=np.float64).ravel()
    groups: dict[Hashable, list[int]] = {}
    for row, u in enumerate(Xa[:, 0]):
        groups.setdefault(u.item() if isinstance(u, np.generic) else u, []).append(row)
    test = [max(rows, key=lambda j: (key[j], j)) for rows in groups.values() if len(rows) >= 2]
    mask = np.zeros(r.size, dtype=bool)
    mask[test] = True
    return Xa[~mask], Xa[mask], r[~mask], r[mask]


def cross_validate(estimator: Any, X: Any, y: Any, cv: int = 5, random_state: int | None = None
                   ) -> dict[str, np.ndarray]:
    """k-fold cross-validation over the ratings: RMSE and MAE of each fold (a fresh copy of `estimator` each)."""
    Xa, r = _as_array(X), np.asarray(y, dtype=np.float64).ravel()
    if isinstance(cv, bool) or not isinstance(cv, (int, np.integer)) or not 2 <= cv <= r.size:
        raise ValueError(f"cv must be an integer between 2 and the number of ratings, got {cv!r}")
    folds = np.array_split(np.random.default_rng(random_state).permutation(r.size), cv)
    out: dict[str, list[float]] = {"rmse": [], "mae": []}
    for f in folds:
        mask = np.zeros(r.size, dtype=bool)
        mask[f] = True
        model = type(estimator)(**estimator.get_params()).fit(Xa[~mask], r[~mask])
        pred = model.predict(Xa[mask])
        out["rmse"].append(rmse(r[mask], pred))
        out["mae"].append(mae(r[mask], pred))
    return {k: np.array(v) for k, v in out.items()}
