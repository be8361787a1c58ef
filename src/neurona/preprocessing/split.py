"""Splitting data into training and test (or validation) sets, optionally stratified by class."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..random import get_rng


def _rng(seed: int | np.random.Generator | None) -> np.random.Generator:
    if isinstance(seed, np.random.Generator):
        return seed
    # Without a seed, draw from neurona's generator so set_random_seed() still makes runs repeatable.
    return np.random.default_rng(get_rng().integers(2**63) if seed is None else seed)


def _n_test(test_size: float | int, n: int) -> int:
    if isinstance(test_size, (int, np.integer)) and not isinstance(test_size, bool):
        if not 0 < test_size < n:
            raise ValueError(f"test_size={test_size} must be between 1 and {n - 1} samples (n={n})")
        return int(test_size)
    if not 0.0 < float(test_size) < 1.0:
        raise ValueError(f"test_size={test_size} must be a fraction strictly between 0 and 1, or a count")
    n_test = math.ceil(float(test_size) * n)
    if n_test >= n:
        raise ValueError(f"test_size={test_size} leaves no training samples out of {n}")
    return n_test


def _stratified(labels: np.ndarray, n_test: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    classes, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True, axis=0)
    inverse = inverse.reshape(-1)
    if counts.min() < 2:
        raise ValueError(f"cannot stratify: class {classes[counts.argmin()]!r} has only one sample")
    # Largest-remainder allocation: every class keeps its share of the test set up to one sample.
    ideal = counts * n_test / len(labels)
    per_class = np.floor(ideal).astype(int)
    remainder = ideal - per_class + rng.random(len(counts)) * 1e-9  # tiny jitter breaks ties at random
    per_class[np.argsort(-remainder)[: n_test - per_class.sum()]] += 1
    if per_class.min() == 0 or (counts - per_class).min() == 0:
        raise ValueError(
            f"cannot stratify {len(labels)} samples of {len(classes)} classes into a test set of {n_test}: "
            f"every class needs at least one sample on each side"
        )
    order = np.argsort(inverse, kind="stable")
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    test, train = [], []
    for start, count, k in zip(starts, counts, per_class):  # one iteration per class, not per sample
        members = order[start : start + count][rng.permutation(count)]
        test.append(members[:k])
        train.append(members[k:])
    return rng.permutation(np.concatenate(train)), rng.permutation(np.concatenate(test))


def train_test_split(
    *arrays: Any,
    test_size: float | int = 0.25,
    shuffle: bool = True,
    stratify: Any = None,
    seed: int | np.random.Generator | None = None,
    random_state: int | None = None,
) -> list[np.ndarray]:
    """Split arrays into random train and test subsets: ``x_tr, x_te, y_tr, y_te = train_test_split(x, y)``.

    ``test_size`` is a fraction (the test set gets ``ceil(test_size * n)`` samples, as in scikit-learn) or a
    count. ``stratify=y`` keeps every class's proportion in both parts. ``seed`` (or scikit-learn's
    ``random_state``) makes the split repeatable; ``shuffle=False`` keeps the order (the test set is the tail).

    >>> a, b = train_test_split(np.arange(10), test_size=0.3, seed=0)
    >>> len(a), len(b)
    (7, 3)
    """
    if not arrays:
        raise ValueError("train_test_split needs at least one array")
    arrays_ = [np.asarray(a) for a in arrays]
    n = len(arrays_[0])
    for i, a in enumerate(arrays_):
        if a.ndim == 0 or len(a) != n:
            raise ValueError(
                f"all arrays must have the same length: array 0 has {n} samples, array {i} has shape {a.shape}"
            )
    if n < 2:
        raise ValueError(f"cannot split {n} sample(s)")
    n_test = _n_test(test_size, n)
    seed = random_state if seed is None else seed
    if stratify is not None:
        if not shuffle:
            raise ValueError("stratify needs shuffle=True")
        labels = np.asarray(stratify)
        if len(labels) != n:
            raise ValueError(f"stratify has {len(labels)} labels for {n} samples")
        train_idx, test_idx = _stratified(labels, n_test, _rng(seed))
    elif shuffle:
        perm = _rng(seed).permutation(n)
        train_idx, test_idx = perm[n_test:], perm[:n_test]
    else:
        train_idx, test_idx = np.arange(n - n_test), np.arange(n - n_test, n)
    out = []
    for a in arrays_:
        out += [a[train_idx], a[test_idx]]
    return out
