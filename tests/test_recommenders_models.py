"""MatrixFactorization, NeuralMF and the evaluation tools (metrics checked against counts done by hand)."""

import math

import numpy as np
import pytest

from neurona.callbacks import Callback
from neurona.datasets import ratings
from neurona.recommenders import (
    ItemKNN,
    MatrixFactorization,
    NeuralMF,
    coverage,
    cross_validate,
    leave_one_out,
    mae,
    ndcg_at_k,
    precision_at_k,
    ranking_report,
    recall_at_k,
    rmse,
    train_test_split,
)


@pytest.fixture(scope="module")
def split():
    d = ratings.synthetic(n_users=150, n_items=200, n_ratings=6000, noise=0.2, seed=0)
    return train_test_split(d.X, d.y, test_size=0.2, random_state=0)


@pytest.mark.parametrize("model", [
    MatrixFactorization(n_factors=10, n_epochs=30, lr=0.01, random_state=0),
    MatrixFactorization(n_factors=5, n_epochs=10, solver="als", reg=0.05, random_state=0),
    NeuralMF(epochs=8, embedding_dim=8, hidden=(16,), random_state=0),
])
def test_models_beat_the_global_mean(split, model):
    Xtr, Xte, ytr, yte = split
    base = rmse(yte, np.full(yte.size, ytr.mean()))
    got = rmse(yte, model.fit(Xtr, ytr).predict(Xte))
    assert got < 0.9 * base, (got, base)
    recs = model.recommend(int(Xtr[0, 0]), n=5)
    assert len(recs) == 5 and all(r.because for r in recs)
    rated = {i for u, i in Xtr.tolist() if u == Xtr[0, 0]}
    assert not rated & set(recs.items)


def test_mf_estimate_is_its_formula():
    d = ratings.slides()
    m = MatrixFactorization(n_factors=3, n_epochs=5, random_state=0).fit(d.X, d.y)
    u, i = m.user_index_.inner("u2"), m.item_index_.inner("i1")
    expected = m.global_mean_ + m.user_bias_[u] + m.item_bias_[i] + m.user_factors_[u] @ m.item_factors_[i]
    assert m.predict(np.array([["u2", "i1"]], dtype=object))[0] == pytest.approx(np.clip(expected, 1, 5))


def test_als_solves_the_ridge_problem_exactly():
    # one ALS half-step, checked against the normal equations written out here
    d = ratings.slides()
    m = MatrixFactorization(n_factors=2, n_epochs=1, solver="als", reg=0.1, random_state=0).fit(d.X, d.y)
    R = m.matrix_.toarray()
    u = 0
    cols = np.flatnonzero(R[u])
    Z = np.hstack([m.item_factors_[cols], np.ones((cols.size, 1))])
    t = R[u, cols] - m.global_mean_ - m.item_bias_[cols]
    # the users were solved with the items' values *before* the item half-step, so solve the items again:
    items_before = m.item_factors_.copy()
    m._als_half(m.matrix_, m.user_factors_, m.user_bias_, m.item_factors_, m.item_bias_)
    sol = np.linalg.solve(Z.T @ Z + 0.1 * cols.size * np.eye(3), Z.T @ t)
    np.testing.assert_allclose(np.append(m.user_factors_[u], m.user_bias_[u]), sol, rtol=1e-10)
    np.testing.assert_array_equal(items_before, m.item_factors_)


def test_neural_mf_uses_fit_callbacks_and_implicit_feedback(split):
    Xtr, _, ytr, _ = split
    seen = []

    class Epochs(Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append(logs["loss"])

    liked = Xtr[ytr >= 3.5]
    m = NeuralMF(implicit=True, epochs=4, negatives=2, learning_rate=0.01, embedding_dim=8, hidden=(8,),
                 callbacks=[Epochs()], random_state=0).fit(liked)
    assert len(seen) == 4 and seen[-1] < seen[0]
    assert m.rating_scale_ == (0.0, 1.0)
    p = m.predict(liked[:50])
    assert np.all((p >= 0) & (p <= 1))
    # the observed pairs score higher than random unobserved ones
    rng = np.random.default_rng(0)
    items = np.array(m.item_index_.ids)
    others = np.stack([liked[rng.integers(0, len(liked), 200), 0], items[rng.integers(0, items.size, 200)]], axis=1)
    observed = {tuple(r) for r in liked.tolist()}
    others = np.array([o for o in others.tolist() if tuple(o) not in observed])
    assert m.predict(liked[:200]).mean() > m.predict(others).mean() + 0.1
    assert m.predict([[-1, -1]])[0] == pytest.approx(1 / 3)  # unknown pair: the base rate of positives
    with pytest.raises(ValueError, match="y .the ratings. is required"):
        NeuralMF().fit(liked)


def test_bad_model_parameters():
    d = ratings.slides()
    with pytest.raises(ValueError, match="solver must be one of"):
        MatrixFactorization(solver="adam").fit(d.X, d.y)
    with pytest.raises(ValueError, match="n_factors must be a positive integer"):
        MatrixFactorization(n_factors=0).fit(d.X, d.y)
    with pytest.raises(ValueError, match="negatives must be a non-negative integer"):
        NeuralMF(negatives=-1).fit(d.X, d.y)


def test_metrics_by_hand():
    assert rmse([1, 2, 3], [1, 2, 5]) == pytest.approx(math.sqrt(4 / 3))
    assert mae([1, 2, 3], [2, 2, 5]) == pytest.approx(1.0)
    recs = [["a", "b", "c"], ["d", "e", "f"], ["a"]]
    rel = [{"b", "z"}, {"x"}, set()]  # the third user has nothing relevant: left out of the means
    assert precision_at_k(recs, rel, 3) == pytest.approx((1 / 3 + 0) / 2)
    assert recall_at_k(recs, rel, 3) == pytest.approx((1 / 2 + 0) / 2)
    # user 1: hit at rank 2 -> 1/log2(3); ideal: two relevant at ranks 1, 2 -> 1 + 1/log2(3)
    assert ndcg_at_k(recs, rel, 3) == pytest.approx((1 / math.log2(3)) / (1 + 1 / math.log2(3)) / 2)
    assert coverage(recs, 10) == pytest.approx(6 / 10)
    with pytest.raises(ValueError, match="k must be a positive integer"):
        precision_at_k(recs, rel, 0)
    with pytest.raises(ValueError, match="same, non-zero length"):
        rmse([1, 2], [1])


def test_splits_and_cross_validation(split):
    d = ratings.synthetic(n_users=50, n_items=60, n_ratings=800, seed=1)
    Xtr, Xte, ytr, yte = train_test_split(d.X, d.y, test_size=0.25, random_state=0)
    assert len(Xte) == 200 and len(Xtr) == 600
    assert sorted(map(tuple, np.vstack([Xtr, Xte]).tolist())) == sorted(map(tuple, d.X.tolist()))
    ts = np.arange(len(d.y), dtype=float)
    Ltr, Lte, _, _ = leave_one_out(d.X, d.y, timestamps=ts)
    users = d.X[:, 0]
    many = {u for u in set(users.tolist()) if (users == u).sum() >= 2}
    assert sorted(Lte[:, 0].tolist()) == sorted(many)
    for u, i in Lte.tolist():  # the held-out rating is the user's latest one
        rows = np.flatnonzero(users == u)
        assert d.X[rows[-1]].tolist() == [u, i]
    cv = cross_validate(ItemKNN(k=10), d.X, d.y, cv=3, random_state=0)
    assert cv["rmse"].shape == (3,) and np.all(cv["rmse"] >= cv["mae"])
    Xtr, Xte, ytr, yte = split
    rep = ranking_report(ItemKNN(k=20).fit(Xtr, ytr), Xte, yte, k=5, threshold=4.0, max_users=30)
    assert set(rep) == {"precision@5", "recall@5", "ndcg@5", "coverage"}
    assert all(0 <= v <= 1 for v in rep.values())


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_scatter_add_equals_np_add_at(monkeypatch, dtype):
    from neurona.recommenders import mf

    rng = np.random.default_rng(0)
    rows, values = rng.integers(0, 7, 50), rng.normal(size=(50, 3)).astype(dtype)
    expected = np.zeros((7, 3), dtype)
    np.add.at(expected, rows, values)
    got = np.zeros((7, 3), dtype)
    mf._scatter_add(got, rows, values)
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    import sys

    import scipy.sparse

    monkeypatch.delattr(scipy.sparse, "_sparsetools")  # no compiled kernel: the public fallback
    monkeypatch.setitem(sys.modules, "scipy.sparse._sparsetools", None)
    with pytest.raises(ImportError):
        from scipy.sparse import _sparsetools  # noqa: F401
    again = np.zeros((7, 3), dtype)
    mf._scatter_add(again, rows, values)
    np.testing.assert_allclose(again, expected, rtol=1e-6)
