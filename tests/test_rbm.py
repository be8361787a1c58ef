"""The Bernoulli RBM: CD-1 against the published rule in plain NumPy, scikit-learn's BernoulliRBM as peer."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from neurona import utils
from neurona.datasets import digits
from neurona.layers import RBM


def _rbm(v: int = 6, h: int = 4, seed: int = 0) -> RBM:
    rbm = RBM(h, dtype="float64", name="rbm_test")
    rbm.build((None, v))
    rng = np.random.default_rng(seed)
    rbm.set_weights([rng.normal(0, 0.5, (v, h)), rng.normal(0, 0.5, h), rng.normal(0, 0.5, v)])
    return rbm


def _sig(z):
    return 1.0 / (1.0 + np.exp(-z))


def test_cd1_update_equals_the_published_rule_in_numpy():
    rbm = _rbm()
    w, bh, bv = (a.copy() for a in rbm.get_weights())
    v0 = (np.random.default_rng(1).random((5, 6)) < 0.5).astype(np.float64)
    lr = 0.3
    rbm.contrastive_divergence(v0, learning_rate=lr, k=1, rng=np.random.default_rng(7))

    # Hinton (2002) / "A practical guide to training RBMs" (2010): data statistics with p(h|v0), the
    # reconstruction from sampled hiddens, model statistics with p(h|v1)
    rng = np.random.default_rng(7)
    ph0 = _sig(v0 @ w + bh)
    h0 = (rng.random(ph0.shape) < ph0).astype(float)
    pv1 = _sig(h0 @ w.T + bv)
    v1 = (rng.random(pv1.shape) < pv1).astype(float)
    ph1 = _sig(v1 @ w + bh)
    n = len(v0)
    expected = [w + lr * (v0.T @ ph0 - v1.T @ ph1) / n, bh + lr * (ph0 - ph1).sum(0) / n,
                bv + lr * (v0 - v1).sum(0) / n]
    for got, want in zip(rbm.get_weights(), expected):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_persistent_cd_keeps_its_chain_between_updates():
    rbm = _rbm()
    v0 = (np.random.default_rng(2).random((4, 6)) < 0.5).astype(np.float64)
    rbm.contrastive_divergence(v0, 0.1, persistent=True, rng=np.random.default_rng(0))
    chain = rbm._chain.copy()
    w, bh, bv = (a.copy() for a in rbm.get_weights())
    rbm.contrastive_divergence(v0, 0.1, persistent=True, rng=np.random.default_rng(3))
    rng = np.random.default_rng(3)  # the negative phase starts from the chain, not from the data
    pv = _sig(chain @ w.T + bv)
    vk = (rng.random(pv.shape) < pv).astype(float)
    phk = _sig(vk @ w + bh)
    ph0 = _sig(v0 @ w + bh)
    np.testing.assert_allclose(rbm.get_weights()[0], w + 0.1 * (v0.T @ ph0 - vk.T @ phk) / 4, rtol=1e-12)


def test_free_energy_is_minus_log_sum_over_hidden_states():
    rbm = _rbm(v=3, h=3)
    w, bh, bv = rbm.get_weights()
    v = np.array([[0, 1, 1], [1, 0, 0.5]], np.float64)
    hs = np.array(list(itertools.product([0, 1], repeat=3)), np.float64)
    energy = -(v @ bv)[:, None] - (hs @ bh)[None, :] - np.einsum("ni,ij,hj->nh", v, w, hs)
    np.testing.assert_allclose(rbm.free_energy(v), -np.log(np.exp(-energy).sum(axis=1)), rtol=1e-12)


def test_call_gives_the_hidden_probabilities():
    rbm = _rbm()
    x = np.random.default_rng(3).random((3, 6))
    w, bh, _ = rbm.get_weights()
    np.testing.assert_allclose(rbm(x).data, _sig(x @ w + bh), rtol=1e-12)
    np.testing.assert_allclose(rbm.transform(x), _sig(x @ w + bh), rtol=1e-12)
    assert rbm.compute_output_shape((None, 6)) == (None, 4)


def _binary_digits() -> np.ndarray:
    x, _ = digits.load()
    return (x.reshape(len(x), -1) / 16.0 > 0.5).astype(np.float64)


def test_score_samples_and_free_energy_equal_scikit_learn():
    sklearn = pytest.importorskip("sklearn.neural_network")
    x = _binary_digits()[:200]
    sk = sklearn.BernoulliRBM(n_components=16, n_iter=2, random_state=3).fit(x)
    rbm = RBM(16, dtype="float64")
    rbm.build((None, 64))
    rbm.set_weights([sk.components_.T, sk.intercept_hidden_, sk.intercept_visible_])
    np.testing.assert_allclose(rbm.free_energy(x), sk._free_energy(x), rtol=1e-12)
    np.testing.assert_allclose(rbm.score_samples(x, np.random.RandomState(3)), sk.score_samples(x), rtol=1e-12)


def test_pseudo_likelihood_after_20_epochs_is_within_5_percent_of_scikit_learn():
    sklearn = pytest.importorskip("sklearn.neural_network")
    x = _binary_digits()
    settings = {"n_components": 64, "learning_rate": 0.05, "batch_size": 10}
    sk = sklearn.BernoulliRBM(n_iter=20, random_state=0, **settings).fit(x)
    peer = RBM(64, dtype="float64")
    peer.build((None, 64))
    peer.set_weights([sk.components_.T, sk.intercept_hidden_, sk.intercept_visible_])
    utils.set_random_seed(0)
    rbm = RBM(settings["n_components"], dtype="float64")
    history = rbm.fit(x, epochs=20, batch_size=settings["batch_size"], learning_rate=settings["learning_rate"],
                      persistent=True)  # scikit-learn's schedule: persistent CD-1, batches in order
    ours, theirs = rbm.pseudo_likelihood(x), peer.pseudo_likelihood(x)
    assert abs(ours - theirs) <= 0.05 * abs(theirs), (ours, theirs)
    assert history["pseudo_likelihood"][-1] > history["pseudo_likelihood"][0]
    # the noisy one-flip estimate averages to the exact expectation
    assert np.mean([rbm.score_samples(x).mean() for _ in range(30)]) == pytest.approx(ours, rel=0.05)


def test_cd_k_lowers_the_reconstruction_error():
    utils.set_random_seed(1)
    x = _binary_digits()[:500]
    rbm = RBM(32)
    rbm.build((None, 64))
    before = np.mean((x - rbm.propdown(rbm.propup(x))) ** 2)
    history = rbm.fit(x, epochs=5, batch_size=20, learning_rate=0.1, k=3, shuffle=True)
    assert history["reconstruction_error"][-1] < 0.6 * before


def test_values_outside_0_1_are_refused():
    rbm = RBM(4, name="rbm_bad")
    with pytest.raises(ValueError, match=r"rbm_bad.*\[0, 1\].*x\[1, 2\] = 16"):
        rbm.fit(np.array([[0, 1, 0], [1, 0, 16]]), epochs=1)
    with pytest.raises(ValueError, match="3 visible units, got x with 2 columns"):
        rbm.transform(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="2-D array"):
        rbm.transform(np.zeros((2, 3, 1)))
    with pytest.raises(ValueError, match=r"\[0, 1\].*nan"):
        rbm.transform(np.array([[0.0, np.nan, 1.0]]))
