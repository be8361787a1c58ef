"""Similarities between the rows of a sparse ratings matrix, computed over the ratings the two rows share.

The formulas are Surprise's (`surprise/similarities.pyx`, Hug 2020), written as sparse matrix products
instead of a loop over ratings, so the answers are the same to rounding:

- ``cosine``: sum(r_x r_z) / sqrt(sum r_x^2 * sum r_z^2), every sum over the common columns only;
- ``msd``: 1 / (mean squared difference + 1) over the common columns;
- ``pearson``: Pearson's correlation over the common columns (each row centred by its mean over them);
- ``adjusted_cosine``: cosine after subtracting, from every rating, the mean of its column (for items
  compared over users: each user's mean rating, Sarwar et al. 2001), so a generous user does not make
  two items look alike.

A pair sharing fewer than `min_support` columns gets similarity 0; a row's similarity with itself is 1.
``shrinkage`` > 0 multiplies each similarity by (n - 1) / (n - 1 + shrinkage), n the common count
(Koren 2010's shrunk correlation, the factor of Surprise's pearson_baseline): pairs with few common
ratings are trusted less.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._data import require_scipy_sparse

SIMILARITIES = ("cosine", "adjusted_cosine", "pearson", "msd")


def _dense(m: Any) -> np.ndarray:
    return np.asarray(m.toarray() if hasattr(m, "toarray") else m, dtype=np.float64)


def similarity_matrix(R: Any, name: str = "cosine", min_support: int = 1, shrinkage: float = 0.0) -> np.ndarray:
    """Dense (n_rows, n_rows) similarities between the rows of the CSR ratings matrix `R` (stored = rated)."""
    sp = require_scipy_sparse()
    if name not in SIMILARITIES:
        raise ValueError(f"similarity must be one of {SIMILARITIES}, got {name!r}")
    R = sp.csr_matrix(R, dtype=np.float64)
    B = R.copy()
    B.data = np.ones_like(B.data)
    if name == "adjusted_cosine":
        col_sum = np.asarray(R.sum(axis=0)).ravel()
        col_n = np.asarray(B.sum(axis=0)).ravel()
        col_mean = np.divide(col_sum, col_n, out=np.zeros_like(col_sum), where=col_n > 0)
        R = R.copy()
        R.data = R.data - col_mean[R.indices]  # stays stored even when it becomes 0: B keeps the pattern
    Bt = B.T.tocsr()
    freq = _dense(B @ Bt)
    prods = _dense(R @ R.T.tocsr())
    sq = R.multiply(R).tocsr()
    sqi = _dense(sq @ Bt)  # sqi[x, z] = sum over common columns of r_x^2
    sqj = sqi.T
    with np.errstate(divide="ignore", invalid="ignore"):
        if name in ("cosine", "adjusted_cosine"):
            den = np.sqrt(sqi * sqj)
            sim = np.where(den > 0, prods / den, 0.0)
        elif name == "msd":
            sq_diff = np.maximum(sqi + sqj - 2.0 * prods, 0.0)
            sim = np.where(freq > 0, 1.0 / (sq_diff / np.where(freq > 0, freq, 1.0) + 1.0), 0.0)
        else:  # pearson
            si = _dense(R @ Bt)
            sj = si.T
            num = freq * prods - si * sj
            den = np.sqrt(np.maximum((freq * sqi - si ** 2) * (freq * sqj - sj ** 2), 0.0))
            sim = np.where(den > 0, num / den, 0.0)
    sim[freq < max(min_support, 1)] = 0.0
    if shrinkage > 0:
        sim *= np.maximum(freq - 1.0, 0.0) / (np.maximum(freq - 1.0, 0.0) + shrinkage)
    np.fill_diagonal(sim, 1.0)
    return sim


def support_matrix(R: Any) -> np.ndarray:
    """How many columns each pair of rows shares (the `n` of `min_support`)."""
    sp = require_scipy_sparse()
    B = sp.csr_matrix(R, dtype=np.float64)
    B.data = np.ones_like(B.data)
    return _dense(B @ B.T.tocsr())
