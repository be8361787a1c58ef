"""Matrix factorisation: r(u, i) = mu + b_u + b_i + p_u . q_i, learned by SGD (Surprise's SVD) or by ALS.

``solver="sgd"`` minimises Surprise's SVD objective (`surprise/prediction_algorithms/matrix_factorization.pyx`,
after Funk 2006 and Koren 2009) with its update rules, defaults and initialisation (factors ~ N(init_mean,
init_std_dev)); for each rating, with e = r - r_hat:

    b_u += lr (e - reg b_u)      b_i += lr (e - reg b_i)
    p_u += lr (e q_i - reg p_u)  q_i += lr (e p_u - reg q_i)

Surprise applies them one rating at a time in a compiled loop; here a shuffled mini-batch of `batch_size`
ratings is applied at once (each rating's update computed from the same parameters and summed per user and
item), which NumPy runs fast and which converges to the same error (tested: RMSE within 1 % of Surprise's).

``solver="als"`` alternates exact ridge solutions: the users' [p_u, b_u] with the items fixed, then the
items' [q_i, b_i] with the users fixed, the penalty `reg` times the entity's rating count (ALS-WR, Zhou
et al. 2008). No learning rate, few iterations.
"""

from __future__ import annotations

import numpy as np

from ._base import Recommender
from ._data import Ratings, require_scipy_sparse

SOLVERS = ("sgd", "als")


def _scatter_add(target: np.ndarray, rows: np.ndarray, values: np.ndarray) -> None:
    """target[rows] += values, repeated rows accumulating (np.add.at), through a one-entry-per-column sparse
    product: scipy's compiled CSC kernel adds into `target` in place, many times faster than np.add.at."""
    m = rows.size
    indptr = np.arange(m + 1, dtype=np.int64)
    try:
        from scipy.sparse import _sparsetools

        _sparsetools.csc_matvecs(target.shape[0], m, target.shape[1], indptr, rows.astype(np.int64, copy=False),
                                 np.ones(m, target.dtype), np.ascontiguousarray(values, target.dtype).ravel(),
                                 target.reshape(-1))
    except (ImportError, AttributeError, TypeError, ValueError):  # a scipy without that kernel: the public way
        sp = require_scipy_sparse()
        target += sp.csc_matrix((np.ones(m, target.dtype), rows, indptr), shape=(target.shape[0], m)) @ values


class MatrixFactorization(Recommender):
    """Biased matrix factorisation ("SVD" in Surprise and the Netflix prize), by SGD or ALS."""

    @property
    def method(self) -> str:  # type: ignore[override]
        return f"matrix factorisation ({self.solver}, {self.n_factors} factors)"

    def __init__(self, n_factors: int = 100, n_epochs: int = 20, solver: str = "sgd", lr: float = 0.005,
                 reg: float = 0.02, init_mean: float = 0.0, init_std_dev: float = 0.1, batch_size: int = 1024,
                 random_state: int | None = None, rating_scale: tuple[float, float] | None = None,
                 duplicates: str = "last") -> None:
        self.n_factors = n_factors
        self.n_epochs = n_epochs
        self.solver = solver
        self.lr = lr
        self.reg = reg
        self.init_mean = init_mean
        self.init_std_dev = init_std_dev
        self.batch_size = batch_size
        self.random_state = random_state
        self.rating_scale = rating_scale
        self.duplicates = duplicates

    def _check_params(self) -> None:
        name = type(self).__name__
        if self.solver not in SOLVERS:
            raise ValueError(f"{name}: solver must be one of {SOLVERS}, got {self.solver!r}")
        for what in ("n_factors", "n_epochs", "batch_size"):
            v = getattr(self, what)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise ValueError(f"{name}: {what} must be a positive integer, got {v!r}")
        for what in ("lr", "reg", "init_std_dev"):
            v = getattr(self, what)
            if not np.isfinite(v) or v < 0:
                raise ValueError(f"{name}: {what} must be a non-negative number, got {v!r}")

    def _fit(self, data: Ratings) -> None:
        rng = np.random.default_rng(self.random_state)
        F = self.n_factors
        self.user_factors_ = rng.normal(self.init_mean, self.init_std_dev, (data.n_users, F))
        self.item_factors_ = rng.normal(self.init_mean, self.init_std_dev, (data.n_items, F))
        self.user_bias_ = np.zeros(data.n_users)
        self.item_bias_ = np.zeros(data.n_items)
        if self.solver == "sgd":
            self._sgd(data, rng)
        else:
            self._als(data)

    def _sgd(self, data: Ratings, rng: np.random.Generator) -> None:
        # the factors are updated in float32 (half the memory traffic; the test RMSE moves by < 1e-8), the biases
        # and the error in float64
        P, Q = self.user_factors_.astype(np.float32), self.item_factors_.astype(np.float32)
        bu, bi = self.user_bias_, self.item_bias_
        mu, lr, lr_reg = self.global_mean_, self.lr, self.lr * self.reg
        f_reg = np.float32(lr_reg)
        n_users, n_items = P.shape[0], Q.shape[0]
        n = data.ratings.size
        for _ in range(self.n_epochs):
            perm = rng.permutation(n)
            users, items, values = data.users[perm], data.items[perm], data.ratings[perm]
            for start in range(0, n, self.batch_size):
                stop = start + self.batch_size
                u, i, r = users[start:stop], items[start:stop], values[start:stop]
                pu, qi = P[u], Q[i]
                err = r - (mu + bu[u] + bi[i] + np.einsum("ij,ij->i", pu, qi))
                bu += np.bincount(u, lr * err - lr_reg * bu[u], minlength=n_users)
                bi += np.bincount(i, lr * err - lr_reg * bi[i], minlength=n_items)
                step = (lr * err).astype(np.float32)[:, None]
                gu = step * qi
                gu -= f_reg * pu
                qi *= -f_reg
                qi += step * pu
                _scatter_add(P, u, gu)
                _scatter_add(Q, i, qi)
        self.user_factors_, self.item_factors_ = P.astype(np.float64), Q.astype(np.float64)

    def _als(self, data: Ratings) -> None:
        R = self.matrix_
        Rt = R.T.tocsr()
        for _ in range(self.n_epochs):
            self._als_half(R, self.user_factors_, self.user_bias_, self.item_factors_, self.item_bias_)
            self._als_half(Rt, self.item_factors_, self.item_bias_, self.user_factors_, self.user_bias_)

    def _als_half(self, R, X: np.ndarray, bx: np.ndarray, Y: np.ndarray, by: np.ndarray) -> None:
        """Solve every row x of R for [X[x], bx[x]] with Y and by fixed (ridge, penalty reg * count)."""
        F = X.shape[1]
        Z = np.hstack([Y, np.ones((Y.shape[0], 1))])
        eye = np.eye(F + 1)
        eye[F, F] = 0.0 if self.reg == 0 else 1.0
        for x in range(R.shape[0]):
            lo, hi = R.indptr[x], R.indptr[x + 1]
            if hi == lo:
                continue
            cols = R.indices[lo:hi]
            Zc = Z[cols]
            t = R.data[lo:hi] - self.global_mean_ - by[cols]
            A = Zc.T @ Zc + self.reg * (hi - lo) * eye
            sol = np.linalg.lstsq(A, Zc.T @ t, rcond=None)[0] if self.reg == 0 else np.linalg.solve(A, Zc.T @ t)
            X[x], bx[x] = sol[:F], sol[F]

    def _estimate(self, u: np.ndarray, i: np.ndarray) -> np.ndarray:
        dot = np.einsum("ij,ij->i", self.user_factors_[u], self.item_factors_[i])
        return self.global_mean_ + self.user_bias_[u] + self.item_bias_[i] + dot

    def _scores_for_user(self, u: int, items: np.ndarray) -> np.ndarray:
        return (self.global_mean_ + self.user_bias_[u] + self.item_bias_[items]
                + self.item_factors_[items] @ self.user_factors_[u])

    def _explain(self, u: int, i: int) -> str:
        dot = float(self.user_factors_[u] @ self.item_factors_[i])
        return (f"global mean {self.global_mean_:.2f}, item bias {self.item_bias_[i]:+.2f}, "
                f"user bias {self.user_bias_[u]:+.2f}, taste match {dot:+.2f}")
