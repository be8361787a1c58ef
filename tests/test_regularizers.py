"""neurona.regularizers: penalty values by hand, their gradients, defaults, lookup and configs."""

import numpy as np
import pytest

import neurona as nr
from neurona import regularizers as R

rng = np.random.default_rng(0)
W = rng.uniform(0.1, 2, (4, 3)) * rng.choice([-1, 1], (4, 3))  # no zero: |w| is smooth there


def test_values_by_hand():
    w = nr.Tensor(W)
    np.testing.assert_allclose(R.L1(0.3)(w).item(), 0.3 * np.abs(W).sum(), rtol=1e-12)
    np.testing.assert_allclose(R.L2(0.2)(w).item(), 0.2 * (W**2).sum(), rtol=1e-12)
    np.testing.assert_allclose(R.L1L2(l1=0.1, l2=0.05)(w).item(), 0.1 * np.abs(W).sum() + 0.05 * (W**2).sum(),
                               rtol=1e-12)
    assert R.L1L2()(w).item() == 0.0
    out = R.L2()(nr.Tensor(W.astype(np.float32)))
    assert out.shape == () and out.dtype == np.float32


def test_keras_defaults():
    assert R.L1().l1 == 0.01 and R.L2().l2 == 0.01
    assert (R.L1L2().l1, R.L1L2().l2) == (0.0, 0.0)
    assert R.l2 is R.L2 and R.l1 is R.L1 and R.l1_l2 is R.L1L2


@pytest.mark.parametrize("reg", [R.L1(0.3), R.L2(0.2), R.L1L2(0.1, 0.05), R.L1L2(0.0, 0.0)])
def test_gradient(reg):
    assert nr.gradcheck(reg, W)
    assert nr.gradcheck(lambda w: reg(w) * 3.0 + (w * w).sum(), W)  # as part of a bigger graph


def test_gradient_flows_into_the_weight():
    w = nr.Tensor(W, requires_grad=True)
    R.L1L2(0.1, 0.05)(w).backward()
    np.testing.assert_allclose(w.grad, 0.1 * np.sign(W) + 0.1 * W, rtol=1e-12)


def test_invalid_factors():
    with pytest.raises(ValueError, match="non-negative"):
        R.L2(-1.0)
    with pytest.raises(ValueError, match="non-negative"):
        R.L1(float("nan"))
    with pytest.raises(TypeError, match="must be a number"):
        R.L2("0.1")


def test_get():
    assert R.get(None) is None
    assert isinstance(R.get("l2"), R.L2) and R.get("l2").l2 == 0.01
    assert isinstance(R.get("L1"), R.L1)
    assert isinstance(R.get("l1_l2"), R.L1L2)
    reg = R.L2(0.5)
    assert R.get(reg) is reg
    assert isinstance(R.get(R.L1), R.L1)
    with pytest.raises(ValueError, match="unknown regularizer 'l3'"):
        R.get("l3")
    with pytest.raises(TypeError):
        R.get(0.01)


@pytest.mark.parametrize("reg", [R.L1(0.3), R.L2(0.2), R.L1L2(0.1, 0.05)])
def test_config_round_trip(reg):
    again = R.deserialize(R.serialize(reg))
    assert type(again) is type(reg) and again.get_config() == reg.get_config()
    with pytest.raises(ValueError, match="unknown regularizer"):
        R.deserialize({"class_name": "Evil", "config": {}})


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_against_keras():
    import os

    os.environ.setdefault("KERAS_BACKEND", "torch")
    keras = pytest.importorskip("keras")
    K = keras.regularizers
    for ours, theirs in [(R.L1(0.3), K.L1(0.3)), (R.L2(0.2), K.L2(0.2)), (R.L1L2(0.1, 0.05), K.L1L2(0.1, 0.05))]:
        expected = float(keras.ops.convert_to_numpy(theirs(keras.ops.convert_to_tensor(W))))
        np.testing.assert_allclose(ours(nr.Tensor(W)).item(), expected, rtol=1e-6)
        assert R.deserialize(K.serialize(theirs)).get_config() == theirs.get_config()
