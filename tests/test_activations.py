"""neurona.activations: values against hand formulas (and torch when installed), gradients, lookup by name."""

import math

import numpy as np
import pytest

import neurona as nr
from neurona import activations

rng = np.random.default_rng(0)
X = rng.uniform(0.1, 3, (4, 5)) * rng.choice([-1, 1], (4, 5))  # no value at a kink


def _sig(x):
    return 1 / (1 + np.exp(-x))


def _softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def _erf(x):
    return np.vectorize(math.erf)(x)


REFERENCE = {
    "linear": lambda x: x,
    "relu": lambda x: np.maximum(x, 0),
    "relu6": lambda x: np.clip(x, 0, 6),
    "leaky_relu": lambda x: np.where(x > 0, x, 0.2 * x),
    "sigmoid": _sig,
    "hard_sigmoid": lambda x: np.clip(x / 6 + 0.5, 0, 1),
    "tanh": np.tanh,
    "softmax": _softmax,
    "log_softmax": lambda x: np.log(_softmax(x)),
    "elu": lambda x: np.where(x > 0, x, np.exp(x) - 1),
    "selu": lambda x: 1.0507009873554805 * np.where(x > 0, x, 1.6732632423543772 * (np.exp(x) - 1)),
    "gelu": lambda x: 0.5 * x * (1 + _erf(x / np.sqrt(2))),
    "softplus": lambda x: np.log1p(np.exp(x)),
    "softsign": lambda x: x / (1 + np.abs(x)),
    "silu": lambda x: x * _sig(x),
    "exponential": np.exp,
    "heaviside": lambda x: (x >= 0).astype(x.dtype),
}


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_value_matches_formula(name):
    y = activations.get(name)(nr.Tensor(X))
    assert isinstance(y, nr.Tensor)
    np.testing.assert_allclose(y.data, REFERENCE[name](X), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", sorted(set(REFERENCE) - {"heaviside", "linear"}))
def test_gradient(name):
    assert nr.gradcheck(activations.get(name), X)


def test_float32_stays_float32():
    for name in REFERENCE:
        assert activations.get(name)(nr.Tensor(X.astype(np.float32))).dtype == np.float32, name


def test_aliases_and_serialization():
    assert activations.get("swish") is activations.silu
    assert activations.get("step") is activations.heaviside
    assert activations.get(None) is activations.linear
    assert activations.get(activations.tanh) is activations.tanh
    for name in REFERENCE:
        fn = activations.get(name)
        assert activations.serialize(fn) == name
        assert activations.deserialize(activations.serialize(fn)) is fn
    assert activations.serialize(None) == "linear"
    assert activations.serialize(activations.swish) == "silu"
    assert activations.deserialize({"class_name": "function", "config": "relu"}) is activations.relu


def test_custom_activation_round_trip_needs_custom_objects():
    def my_act(x):
        return x * 2.0

    assert activations.get(my_act) is my_act
    assert activations.serialize(my_act) == "my_act"
    assert activations.deserialize("my_act", custom_objects={"my_act": my_act}) is my_act
    with pytest.raises(ValueError, match="unknown activation 'my_act'"):
        activations.deserialize("my_act")


def test_unknown_name_lists_the_known_ones():
    with pytest.raises(ValueError, match="unknown activation 'rleu'.*relu"):
        activations.get("rleu")
    with pytest.raises(TypeError, match="could not interpret activation"):
        activations.get(3)


def test_relu_options_as_keras():
    x = np.linspace(-3, 9, 25)
    y = activations.relu(nr.Tensor(x), negative_slope=0.1, max_value=6.0, threshold=1.0).data
    expected = np.where(x > 1, np.minimum(x, 6.0), 0.1 * (x - 1))
    np.testing.assert_allclose(y, expected)
    np.testing.assert_allclose(activations.relu(nr.Tensor(x), max_value=2.0).data, np.clip(x, 0, 2))
    np.testing.assert_allclose(activations.relu(nr.Tensor(x), negative_slope=0.3).data, np.where(x > 0, x, 0.3 * x))
    assert nr.gradcheck(lambda t: activations.relu(t, negative_slope=0.1, max_value=2.5, threshold=0.5), X)


def test_heaviside_passes_no_gradient():
    x = nr.Tensor(X, requires_grad=True)
    (activations.heaviside(x) * 1.0 + x).sum().backward()
    np.testing.assert_array_equal(x.grad, np.ones_like(X))


def test_against_torch():
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    t = torch.tensor(X)
    ref = {"relu": F.relu, "sigmoid": torch.sigmoid, "tanh": torch.tanh, "softmax": lambda v: F.softmax(v, -1),
           "log_softmax": lambda v: F.log_softmax(v, -1), "elu": F.elu, "selu": F.selu, "gelu": F.gelu,
           "softplus": F.softplus, "softsign": F.softsign, "silu": F.silu, "hard_sigmoid": F.hardsigmoid,
           "leaky_relu": lambda v: F.leaky_relu(v, 0.2), "relu6": F.relu6}
    for name, fn in ref.items():
        np.testing.assert_allclose(activations.get(name)(nr.Tensor(X)).data, fn(t).numpy(), rtol=1e-10,
                                   atol=1e-12, err_msg=name)
