"""numerics.within and the shift-free softmax it allows: same decision with or without SciPy's BLAS, the same
softmax (to rounding) as the row-max-shifted one, and the shifted path wherever exp could overflow."""

import numpy as np
import pytest

from neurona import numerics
from neurona.numerics import rowmax, stable_softmax, within

CASES = [
    ([1.0, -2.0, 29.9], True),
    ([-29.9, 0.0], True),
    ([30.0, 0.0], False),
    ([0.0, -30.0], False),
    ([1.0, np.nan, 5.0], False),  # SciPy's isamax skips this NaN; the dot product catches it
    ([1.0, np.nan, 1e6], False),
    ([np.inf, 1.0], False),
    ([-np.inf, 1.0], False),
    ([1e20, -1e20], False),  # z.z overflows to inf: still decided by the magnitude
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("values, expected", CASES)
def test_within_same_answer_with_and_without_blas(monkeypatch, values, expected, dtype):
    z = np.array(values, dtype)
    assert within(z, 30.0) is expected
    assert within(z.reshape(1, -1)[:, ::-1], 30.0) is expected  # not contiguous: NumPy's reductions
    assert within(np.concatenate([np.zeros(9000, dtype), z]), 30.0) is expected  # large: NumPy's reductions
    monkeypatch.setattr(numerics, "_AMAX", {})  # no SciPy
    assert within(z, 30.0) is expected


def test_within_refuses_float16_and_empty():
    assert within(np.ones(3, np.float16), 30.0) is False  # exp(30) overflows float16
    assert within(np.zeros(0, np.float32), 30.0) is False


def shifted(z):
    m = z - rowmax(z)
    p = np.exp(m)
    s = p.sum(axis=-1, keepdims=True)
    return p / s, m, s


@pytest.mark.parametrize("dtype, rtol", [(np.float32, 8e-6), (np.float64, 1e-13)])
def test_unshifted_softmax_equals_shifted(dtype, rtol):
    # exp of an argument rounded differently (z against z - max, up to |58|): relative error up to ~58 ulp(1)
    rng = np.random.default_rng(0)
    z = (rng.standard_normal((100, 10)) * 8).clip(-29, 29).astype(dtype)
    p, m, s = stable_softmax(z)
    assert m is z  # no shift, no copy
    q, mq, sq = shifted(z)
    np.testing.assert_allclose(p, q, rtol=rtol, atol=1e-30)
    np.testing.assert_allclose(m - np.log(s), mq - np.log(sq), rtol=rtol, atol=rtol)  # log softmax


def test_large_logits_take_the_shifted_path():
    z = np.array([[1000.0, 0.0, -1000.0], [0.5, 0.25, 0.0]], np.float32)
    p, m, s = stable_softmax(z)
    assert m is not z and np.all(m <= 0)
    assert np.isfinite(p).all()
    np.testing.assert_allclose(p[0], [1.0, 0.0, 0.0])
    np.testing.assert_allclose(p.sum(axis=-1), 1.0, rtol=1e-6)


def test_nan_logits_give_nan_rows_either_way():
    z = np.array([[np.nan, 0.0, 1.0], [0.0, 1.0, 2.0]], np.float32)
    p, _, _ = stable_softmax(z)
    assert np.isnan(p[0]).all() and np.isfinite(p[1]).all()


@pytest.mark.parametrize("shape, scale", [((7, 5), 1.0), ((3, 4, 6), 0.5)])
@pytest.mark.parametrize("spread", [3.0, 400.0])  # small logits (no shift) and large ones (shifted)
def test_fused_loss_and_gradient_equal_the_softmax_formulas(shape, scale, spread):
    from neurona.ops.crossentropy import softmax_cross_entropy_backward, softmax_cross_entropy_mean

    rng = np.random.default_rng(1)
    z = rng.standard_normal(shape) * spread
    t = rng.random(shape) * 0.7  # soft targets whose rows do not sum to 1
    loss, e, f, n = softmax_cross_entropy_mean(z, t)
    g = softmax_cross_entropy_backward(e, f, t, scale)
    logp = z - z.max(axis=-1, keepdims=True)
    logp -= np.log(np.exp(logp).sum(axis=-1, keepdims=True))
    p = np.exp(logp)
    assert n == z.size // shape[-1]
    np.testing.assert_allclose(float(loss), -(t * logp).sum() / n, rtol=1e-12)
    np.testing.assert_allclose(g, (p * t.sum(axis=-1, keepdims=True) - t) * scale, rtol=1e-10, atol=1e-14)


def test_masked_softmax_float16_scores_above_exp_range_stay_finite():
    from neurona.numerics import masked_softmax

    s = np.array([[12.0, 0.0, -3.0], [20.0, 19.0, 0.0]], np.float16)  # exp(12) overflows float16 (max 65504)
    p = masked_softmax(s, None)
    assert np.isfinite(p).all()
    np.testing.assert_allclose(p.astype(np.float64).sum(axis=-1), 1.0, rtol=2e-3)
