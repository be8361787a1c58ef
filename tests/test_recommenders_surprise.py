"""Parity with scikit-surprise on the same data and parameters (skipped without it): KNNBasic, KNNWithMeans
and KNNWithZScore predictions equal to rounding; SVD's test RMSE within 1 %."""

import numpy as np
import pytest

from neurona.datasets import ratings
from neurona.recommenders import ItemKNN, MatrixFactorization, UserKNN, rmse

surprise = pytest.importorskip("surprise")


def _surprise_trainset(tmp_path, X, y):
    path = tmp_path / "train.csv"
    path.write_text("".join(f"{u},{i},{float(r)!r}\n" for (u, i), r in zip(X.tolist(), y)))
    reader = surprise.Reader(line_format="user item rating", sep=",", rating_scale=(1, 5))
    return surprise.Dataset.load_from_file(str(path), reader).build_full_trainset()


@pytest.fixture(scope="module")
def data():
    # continuous ratings, so no two neighbours tie on similarity (ties are broken differently)
    rng = np.random.default_rng(0)
    u, i = rng.integers(0, 120, 6000), rng.integers(0, 150, 6000)
    key = u * 1000 + i
    _, first = np.unique(key, return_index=True)
    first = np.sort(first)
    X = np.stack([u[first], i[first]], axis=1).astype(str)
    y = rng.uniform(1, 5, first.size)
    return X[:4000], y[:4000], X[4000:]


@pytest.mark.parametrize("user_based", [True, False])
@pytest.mark.parametrize("name", ["cosine", "msd", "pearson"])
def test_knn_predictions_equal_surprise(tmp_path, data, user_based, name):
    X, y, X_test = data
    trainset = _surprise_trainset(tmp_path, X, y)
    cls = UserKNN if user_based else ItemKNN
    for pred, algo in (("plain", surprise.KNNBasic), ("mean_centered", surprise.KNNWithMeans),
                       ("zscore", surprise.KNNWithZScore)):
        ref = algo(k=15, min_k=2, sim_options={"name": name, "user_based": user_based, "min_support": 2},
                   verbose=False).fit(trainset)
        expected = [ref.predict(u, i).est for u, i in X_test.tolist()]
        ours = cls(k=15, min_k=2, similarity=name, prediction=pred, min_support=2, rating_scale=(1, 5))
        np.testing.assert_allclose(ours.fit(X, y).predict(X_test), expected, rtol=0, atol=1e-10)


def test_svd_rmse_within_one_percent(tmp_path):
    d = ratings.synthetic(n_users=300, n_items=400, n_ratings=20_000, noise=0.4, integer=True, seed=1)
    X = d.X.astype(str)
    cut = 16_000
    trainset = _surprise_trainset(tmp_path, X[:cut], d.y[:cut])
    ref = surprise.SVD(random_state=0).fit(trainset)
    theirs = rmse(d.y[cut:], [ref.predict(u, i).est for u, i in X[cut:].tolist()])
    ours = rmse(d.y[cut:], MatrixFactorization(random_state=0, rating_scale=(1, 5)).fit(X[:cut], d.y[:cut])
                .predict(X[cut:]))
    assert abs(ours - theirs) / theirs < 0.01, (ours, theirs)
