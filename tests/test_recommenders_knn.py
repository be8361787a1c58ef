"""UserKNN and ItemKNN on the slides' 4 x 5 ratings matrix against a reference computed here by hand, loop by
loop over Python dicts (no sparse matrices, no code shared with neurona.recommenders)."""

import math

import numpy as np
import pytest

from neurona.datasets import ratings
from neurona.recommenders import ItemKNN, UnknownIdError, UserKNN

SIMS = ("cosine", "adjusted_cosine", "pearson", "msd")
PREDS = ("plain", "mean_centered", "zscore")


def _table(user_based):
    """x -> {y: rating} for the slides' matrix (x = users for user-based CF, items for item-based)."""
    d = ratings.slides()
    t = {}
    for (u, i), r in zip(d.X.tolist(), d.y):
        x, y = (u, i) if user_based else (i, u)
        t.setdefault(x, {})[y] = float(r)
    return t


def _ref_sim(t, a, b, name):
    common = sorted(set(t[a]) & set(t[b]))
    if a == b:
        return 1.0
    if not common:
        return 0.0
    ra, rb = [t[a][c] for c in common], [t[b][c] for c in common]
    if name == "adjusted_cosine":  # subtract the mean of the other dimension (over all its ratings)
        col = {}
        for x in t:
            for y, r in t[x].items():
                col.setdefault(y, []).append(r)
        ra = [t[a][c] - sum(col[c]) / len(col[c]) for c in common]
        rb = [t[b][c] - sum(col[c]) / len(col[c]) for c in common]
    if name in ("cosine", "adjusted_cosine"):
        den = math.sqrt(sum(v * v for v in ra) * sum(v * v for v in rb))
        return sum(p * q for p, q in zip(ra, rb)) / den if den else 0.0
    if name == "msd":
        return 1.0 / (sum((p - q) ** 2 for p, q in zip(ra, rb)) / len(common) + 1.0)
    ma, mb = sum(ra) / len(ra), sum(rb) / len(rb)
    num = sum((p - ma) * (q - mb) for p, q in zip(ra, rb))
    den = math.sqrt(sum((p - ma) ** 2 for p in ra) * sum((q - mb) ** 2 for q in rb))
    return num / den if den else 0.0


def _ref_predict(t, x, y, name, pred, k):
    mean = {z: sum(v.values()) / len(v) for z, v in t.items()}
    sd = {z: math.sqrt(sum((r - mean[z]) ** 2 for r in v.values()) / len(v)) or 1.0 for z, v in t.items()}
    cands = [(z, _ref_sim(t, x, z, name), t[z][y]) for z in t if y in t[z]]
    cands = sorted(cands, key=lambda c: -c[1])[:k]
    used = [c for c in cands if c[1] > 0]
    glob = np.mean([r for v in t.values() for r in v.values()])
    if not used:
        return glob if pred == "plain" else mean[x]
    s = sum(c[1] for c in used)
    if pred == "plain":
        return sum(c[1] * c[2] for c in used) / s
    if pred == "mean_centered":
        return mean[x] + sum(c[1] * (c[2] - mean[c[0]]) for c in used) / s
    return mean[x] + sd[x] * sum(c[1] * (c[2] - mean[c[0]]) / sd[c[0]] for c in used) / s


def test_slides_cosine_by_hand():
    # u1 = (2, 5, -, 4, -), u3 = (5, 3, 4, 3, -): common items i1, i2, i4
    m = UserKNN(similarity="cosine").fit(ratings.slides().X, ratings.slides().y)
    s = m.similarities_[0, 2]
    assert s == pytest.approx((2 * 5 + 5 * 3 + 4 * 3) / math.sqrt((4 + 25 + 16) * (25 + 9 + 9)))
    # plain prediction of u1 on i3: neighbours u2 (rated 5), u3 (4), u4 (5); u1 and u2 share only i2 (5 * 1)
    sims = {"u2": 5 / math.sqrt(25 * 1), "u3": s, "u4": (5 * 3 + 4 * 1) / math.sqrt((25 + 16) * (9 + 1))}
    expected = (sims["u2"] * 5 + sims["u3"] * 4 + sims["u4"] * 5) / sum(sims.values())
    assert m.predict(np.array([["u1", "i3"]], dtype=object))[0] == pytest.approx(expected)


@pytest.mark.parametrize("user_based", [True, False])
@pytest.mark.parametrize("name", SIMS)
@pytest.mark.parametrize("pred", PREDS)
def test_slides_matrix_matches_hand_reference(user_based, name, pred):
    d = ratings.slides()
    cls = UserKNN if user_based else ItemKNN
    k = 2
    m = cls(k=k, similarity=name, prediction=pred, rating_scale=(1, 5)).fit(d.X, d.y)
    t = _table(user_based)
    xs = sorted(t)
    got = m.similarities_
    index = m.user_index_ if user_based else m.item_index_
    for a in xs:
        for b in xs:
            assert got[index.inner(a), index.inner(b)] == pytest.approx(_ref_sim(t, a, b, name), abs=1e-12)
    ut = _table(True)
    missing = [(u, i) for u in ratings.SLIDES_USERS for i in ratings.SLIDES_ITEMS if i not in ut[u]]
    X = np.array(missing, dtype=object)
    expected = [min(5.0, max(1.0, _ref_predict(t, *((u, i) if user_based else (i, u)), name, pred, k)))
                for u, i in missing]
    np.testing.assert_allclose(m.predict(X), expected, rtol=1e-12)
    # top-N: the unrated items sorted by the reference score (ties keep the items' order)
    for u in ratings.SLIDES_USERS:
        cand = [(i, e) for (uu, i), e in zip(missing, expected) if uu == u]
        ref = [i for i, _ in sorted(cand, key=lambda c: -c[1])]
        recs = m.recommend(u, n=5)
        assert recs.items == ref
        np.testing.assert_allclose(recs.scores, sorted((e for _, e in cand), reverse=True), rtol=1e-12)
        assert all(r.because for r in recs)


def test_explanations_name_the_neighbours():
    d = ratings.slides()
    m = UserKNN(k=3).fit(d.X, d.y)
    used = m.neighbours("u1", "i3")
    # cosine with u1: u2 shares only i2 (1.0), u4 shares i2, i4 (19 / sqrt(41 * 10)), u3 (37 / sqrt(45 * 43))
    assert [who for who, _, _ in used] == ["u2", "u4", "u3"]
    assert [s for _, s, _ in used] == pytest.approx([1.0, 19 / math.sqrt(410), 37 / math.sqrt(45 * 43)])
    assert [r for _, _, r in used] == [5.0, 5.0, 4.0]
    assert "similar users" in m.recommend("u1", 1)[0].because
    item = ItemKNN(k=3).fit(d.X, d.y).recommend("u1", 1)[0]
    assert "items the user rated" in item.because


def test_cold_start_and_unknown_user():
    d = ratings.slides()
    m = ItemKNN().fit(d.X, d.y)
    recs = m.recommend("nobody", n=2)
    assert recs.cold_start and "cold start" in recs.note and "nobody" in recs.note
    # i2 is rated by all four users; i3 and i4 by three, i3 with the higher mean (14/3 against 8/3)
    assert recs.items == ["i2", "i3"]
    assert recs.scores == pytest.approx([(5 + 1 + 3 + 3) / 4, (5 + 4 + 5) / 3])
    with pytest.raises(UnknownIdError, match="'nobody' has no ratings"):
        m.recommend("nobody", unknown="raise")
    # an unknown user or item in predict gets the global mean, as in Surprise
    assert m.predict(np.array([["nobody", "i1"], ["u1", "nothing"]], dtype=object)) == pytest.approx(
        [d.y.mean()] * 2)


def test_bad_input_messages():
    d = ratings.slides()
    with pytest.raises(ValueError, match="similarity must be one of"):
        UserKNN(similarity="jaccard").fit(d.X, d.y)
    with pytest.raises(ValueError, match="prediction must be one of"):
        UserKNN(prediction="median").fit(d.X, d.y)
    with pytest.raises(ValueError, match="k must be a positive integer"):
        UserKNN(k=0).fit(d.X, d.y)
    with pytest.raises(ValueError, match=r"rating 7 \(row 1\) is outside the declared scale \[1, 5\]"):
        UserKNN(rating_scale=(1, 5)).fit([[1, 1], [1, 2]], [3, 7])
    with pytest.raises(ValueError, match="ratings must be numbers, got 'good'"):
        UserKNN().fit([[1, 1], [1, 2]], [3, "good"])
    with pytest.raises(ValueError, match=r"expected an \(n, 2\) array"):
        UserKNN().fit([[1, 1, 1]], [3])
    with pytest.raises(ValueError, match="no ratings"):
        UserKNN().fit(np.empty((0, 2)), [])
    with pytest.raises(RuntimeError, match="not fitted"):
        UserKNN().predict([[1, 1]])
    with pytest.raises(ValueError, match="appears 2 times"):
        UserKNN(duplicates="error").fit([[1, 1], [1, 1]], [3, 4])


def test_duplicate_rules():
    X = [[1, 1], [2, 1], [1, 1], [2, 2]]
    last = UserKNN(duplicates="last").fit(X, [1.0, 4.0, 3.0, 5.0])
    mean = UserKNN(duplicates="mean").fit(X, [1.0, 4.0, 3.0, 5.0])
    assert last.matrix_[0, 0] == 3.0 and mean.matrix_[0, 0] == 2.0
    assert last.matrix_.nnz == 3


def test_min_support_and_shrinkage():
    d = ratings.slides()
    base = UserKNN(similarity="cosine").fit(d.X, d.y).similarities_
    strict = UserKNN(similarity="cosine", min_support=3).fit(d.X, d.y)
    n = strict.matrix_.copy()
    n.data[:] = 1
    common = (n @ n.T).toarray()
    off = ~np.eye(4, dtype=bool)
    np.testing.assert_array_equal(strict.similarities_[off & (common < 3)], 0.0)
    np.testing.assert_allclose(strict.similarities_[off & (common >= 3)], base[off & (common >= 3)])
    shrunk = UserKNN(similarity="cosine", shrinkage=10).fit(d.X, d.y).similarities_
    factor = np.maximum(common - 1, 0) / (np.maximum(common - 1, 0) + 10)
    np.testing.assert_allclose(shrunk[off], (base * factor)[off])


def test_scikit_learn_parameter_protocol():
    m = ItemKNN(k=5, similarity="pearson")
    assert m.get_params()["k"] == 5 and m.set_params(k=7).k == 7
    with pytest.raises(ValueError, match="unknown parameter 'kk'"):
        m.set_params(kk=1)
    sklearn_base = pytest.importorskip("sklearn.base")
    c = sklearn_base.clone(m)
    assert c.get_params() == m.get_params() and c is not m
    assert "ItemKNN(k=7, similarity='pearson')" == repr(m)


def test_pandas_frame_of_hashable_ids():
    pd = pytest.importorskip("pandas")
    d = ratings.slides()
    frame = pd.DataFrame({"who": d.X[:, 0], "what": d.X[:, 1]})
    a = UserKNN().fit(frame, d.y).predict(frame)
    b = UserKNN().fit(d.X, d.y).predict(d.X)
    np.testing.assert_allclose(a, b)


def test_list_input_keeps_each_ids_type():
    m = UserKNN().fit([["a", 1], ["a", 2], ["b", 1]], [3, 4, 5])
    assert m.item_index_.ids == [1, 2] and m.user_index_.ids == ["a", "b"]
    assert m.recommend("b", 1).items == [2]
    ints = UserKNN().fit([[1, 1], [1, 2], [2, 1]], [3, 4, 5])
    assert ints.predict([[2, 2]]) == pytest.approx([4.0])  # u2's only neighbour u1 rated item 2 with 4
