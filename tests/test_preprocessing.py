"""neurona.preprocessing: to_categorical, normalize, Standardizer, train_test_split."""

from __future__ import annotations

import numpy as np
import pytest

from neurona.preprocessing import Standardizer, normalize, to_categorical, train_test_split


# ----------------------------------------------------------------------------- to_categorical
def test_to_categorical_by_hand():
    np.testing.assert_array_equal(to_categorical([0, 2, 1], 3), [[1, 0, 0], [0, 0, 1], [0, 1, 0]])
    out = to_categorical(np.array([[1], [3]], dtype=np.uint8))  # CIFAR-style (n, 1) labels
    assert out.shape == (2, 4) and out.dtype == np.float32
    np.testing.assert_array_equal(out.argmax(1), [1, 3])
    assert to_categorical(np.array([[0, 1], [2, 0]]), 3).shape == (2, 2, 3)
    assert to_categorical(np.array([1.0, 0.0]), 2).tolist() == [[0, 1], [1, 0]]


def test_to_categorical_errors():
    with pytest.raises(ValueError, match="label 5.*num_classes=3"):
        to_categorical([0, 5], 3)
    with pytest.raises(ValueError, match=">= 0"):
        to_categorical([-1, 0])
    with pytest.raises(ValueError, match="integer"):
        to_categorical([0.5, 1.0])
    with pytest.raises(TypeError, match="integer"):
        to_categorical(["a"])


# ----------------------------------------------------------------------------- normalize
def test_normalize_against_sklearn():
    x = np.random.default_rng(0).normal(size=(5, 4))
    x[2] = 0
    out = normalize(x)
    np.testing.assert_allclose(np.linalg.norm(out[[0, 1, 3, 4]], axis=1), 1.0)
    assert np.all(out[2] == 0)
    sk = pytest.importorskip("sklearn.preprocessing")
    np.testing.assert_allclose(out, sk.normalize(x))
    np.testing.assert_allclose(normalize(x, axis=0, order=1), sk.normalize(x, norm="l1", axis=0))


# ----------------------------------------------------------------------------- Standardizer
def test_standardizer_fits_on_train_only():
    rng = np.random.default_rng(1)
    train, test = rng.normal(5, 3, size=(50, 3)), rng.normal(5, 3, size=(10, 3))
    s = Standardizer().fit(train)
    np.testing.assert_allclose(s.mean_[0], train.mean(0))
    np.testing.assert_allclose(s.scale_[0], train.std(0))
    np.testing.assert_allclose(s.transform(test), (test - train.mean(0)) / train.std(0))
    np.testing.assert_allclose(s.inverse_transform(s.transform(test)), test)
    z = s.fit_transform(train)
    np.testing.assert_allclose(z.mean(0), 0, atol=1e-12)
    np.testing.assert_allclose(z.std(0), 1)
    sk = pytest.importorskip("sklearn.preprocessing")
    reference = sk.StandardScaler().fit(train).transform(test)
    np.testing.assert_allclose(Standardizer().fit(train).transform(test), reference)


def test_standardizer_zero_variance_and_dtypes():
    x = np.array([[1.0, 7.0], [3.0, 7.0], [5.0, 7.0]], dtype=np.float32)
    z = Standardizer().fit_transform(x)
    assert z.dtype == np.float32 and np.isfinite(z).all()
    np.testing.assert_array_equal(z[:, 1], 0)
    ints = Standardizer().fit_transform(np.array([[0], [255]], dtype=np.uint8))
    assert ints.dtype == np.float32 and ints[:, 0].tolist() == [-1, 1]


def test_standardizer_per_channel_and_errors():
    images = np.random.default_rng(2).uniform(0, 255, size=(4, 5, 5, 3))
    s = Standardizer(axis=(0, 1, 2)).fit(images)
    assert s.mean_.shape == (1, 1, 1, 3)
    np.testing.assert_allclose(s.transform(images).mean(axis=(0, 1, 2)), 0, atol=1e-10)
    with pytest.raises(RuntimeError, match="before fit"):
        Standardizer().transform(images)
    s2 = Standardizer().fit(np.zeros((4, 13)) + np.arange(13))
    with pytest.raises(ValueError, match="does not match"):
        s2.transform(np.zeros((2, 12)))
    with pytest.raises(ValueError, match="NaN"):
        Standardizer().fit(np.array([[np.nan]]))
    with pytest.raises(ValueError, match="empty"):
        Standardizer().fit(np.zeros((0, 3)))


# ----------------------------------------------------------------------------- train_test_split
def test_split_sizes_and_alignment():
    x = np.arange(20).reshape(10, 2)
    y = np.arange(10)
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=0.25, seed=0)
    assert len(x_te) == 3 and len(x_tr) == 7  # ceil(0.25 * 10), as scikit-learn
    np.testing.assert_array_equal(x_tr[:, 0] // 2, y_tr)
    assert sorted(np.concatenate([y_tr, y_te]).tolist()) == list(range(10))
    a = train_test_split(x, y, test_size=3, seed=5)
    b = train_test_split(x, y, test_size=3, random_state=5)
    for p, q in zip(a, b):
        np.testing.assert_array_equal(p, q)
    _, tail = train_test_split(y, test_size=0.2, shuffle=False)
    assert tail.tolist() == [8, 9]


def test_split_stratified_matches_sklearn_counts():
    y = np.repeat([0, 1, 2], [50, 30, 20])
    _, y_te = train_test_split(y, test_size=0.2, stratify=y, seed=0)
    assert np.bincount(y_te).tolist() == [10, 6, 4]
    sk = pytest.importorskip("sklearn.model_selection")
    for test_size in (0.1, 0.33, 0.5):
        ours = np.bincount(train_test_split(y, test_size=test_size, stratify=y, seed=1)[1], minlength=3)
        theirs = np.bincount(sk.train_test_split(y, test_size=test_size, stratify=y, random_state=1)[1], minlength=3)
        assert ours.sum() == theirs.sum()
        assert np.abs(ours - theirs).max() <= 1


def test_split_errors():
    with pytest.raises(ValueError, match="same length"):
        train_test_split(np.zeros(4), np.zeros(5))
    with pytest.raises(ValueError, match="fraction"):
        train_test_split(np.zeros(4), test_size=1.5)
    with pytest.raises(ValueError, match="only one sample"):
        train_test_split(np.zeros(5), test_size=0.4, stratify=[0, 0, 0, 0, 1])
    with pytest.raises(ValueError, match="needs at least one array"):
        train_test_split()
