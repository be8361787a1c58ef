"""Activation layers (ReLU, LeakyReLU, ELU, Softmax, PReLU) and noise layers (GaussianNoise, GaussianDropout,
AlphaDropout): outputs against NumPy formulas and against Keras on the same inputs, gradients against central
differences, configs round trip, bad arguments named."""

from __future__ import annotations

import math

import numpy as np
import pytest

from neurona import gradcheck, layers
from neurona import random as nrandom
from neurona.layers import Dense, Input
from neurona.models import Model, Sequential
from neurona.ops.activation import prelu
from neurona.tensor import Tensor

RNG = np.random.default_rng(0)
SELU_ALPHA, SELU_SCALE = 1.6732632423543772, 1.0507009873554805


def _x(*shape: int, scale: float = 3.0) -> np.ndarray:
    # values kept away from the kinks at 0 and at the thresholds, where central differences are meaningless
    x = RNG.uniform(0.2, 1.0, shape) * RNG.choice([-1, 1], shape) * scale
    return x.astype(np.float32)


def _run(layer, x, **kwargs) -> np.ndarray:
    return np.asarray(layer(x, **kwargs).data)


# ------------------------------------------------------------------------------------------ against NumPy
def relu_reference(x, max_value=None, negative_slope=0.0, threshold=0.0):
    y = np.where(x > threshold, x, negative_slope * (x - threshold))
    return y if max_value is None else np.where(x > threshold, np.minimum(y, max_value), y)


RELU_CASES = [dict(), dict(max_value=6.0), dict(negative_slope=0.1), dict(threshold=1.5),
              dict(max_value=4.0, negative_slope=0.2, threshold=0.5), dict(max_value=0.0)]


@pytest.mark.parametrize("kwargs", RELU_CASES, ids=str)
def test_relu_matches_formula(kwargs):
    x = _x(4, 5, scale=8.0)
    np.testing.assert_allclose(_run(layers.ReLU(**kwargs), x), relu_reference(x, **kwargs), rtol=1e-6)


def test_relu_keras_docstring_example_and_relu6():
    x = np.array([-10, -5, 0.0, 5, 10], np.float32)
    assert _run(layers.ReLU(max_value=10, negative_slope=0.5), x).tolist() == [-5.0, -2.5, 0.0, 5.0, 10.0]
    assert _run(layers.ReLU(6.0), x).tolist() == [0.0, 0.0, 0.0, 5.0, 6.0]


def test_leaky_relu_and_elu_match_formulas():
    x = _x(3, 7)
    np.testing.assert_allclose(_run(layers.LeakyReLU(), x), np.where(x > 0, x, 0.3 * x), rtol=1e-6)
    np.testing.assert_allclose(_run(layers.LeakyReLU(negative_slope=0.05), x), np.where(x > 0, x, 0.05 * x))
    np.testing.assert_allclose(_run(layers.ELU(), x), np.where(x > 0, x, np.expm1(x)), rtol=1e-6)
    np.testing.assert_allclose(_run(layers.ELU(alpha=0.5), x), np.where(x > 0, x, 0.5 * np.expm1(x)), rtol=1e-6)


def softmax_reference(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


@pytest.mark.parametrize("axis", [-1, 1, [1, 2], (2, 3)], ids=str)
def test_softmax_over_axes(axis):
    x = _x(2, 3, 4, 5)
    expected = softmax_reference(x.astype(np.float64), tuple(axis) if isinstance(axis, (list, tuple)) else axis)
    np.testing.assert_allclose(_run(layers.Softmax(axis=axis), x), expected, rtol=1e-5, atol=1e-7)


def test_softmax_mask_gives_masked_positions_zero():
    x = _x(2, 4)
    mask = np.array([[1, 1, 0, 1], [0, 0, 0, 0]], dtype=bool)
    y = _run(layers.Softmax(), x, mask=mask)
    kept = np.where(mask[0], np.exp(x[0] - x[0].max()), 0.0)
    np.testing.assert_allclose(y[0], kept / kept.sum(), rtol=1e-5)
    assert np.array_equal(y[1], np.zeros(4))  # a fully masked row gives zeros, as in Keras
    y = _run(layers.Softmax(), x, mask=np.array([1.0, 0.0, 1.0, 1.0], np.float32))  # broadcast, > 0.5 keeps
    assert np.all(y[:, 1] == 0) and np.allclose(y.sum(axis=1), 1)


@pytest.mark.parametrize("shared_axes, alpha_shape", [(None, (3, 4, 2)), ([1, 2], (1, 1, 2)), (3, (3, 4, 1))])
def test_prelu_matches_formula_and_shares_axes(shared_axes, alpha_shape):
    x = _x(5, 3, 4, 2)
    layer = layers.PReLU(shared_axes=shared_axes)
    assert np.array_equal(_run(layer, x), np.maximum(x, 0))  # alpha starts at zeros, as in Keras
    assert layer.alpha.shape == alpha_shape and layer.count_params() == math.prod(alpha_shape)
    alpha = RNG.uniform(0.1, 0.5, alpha_shape).astype(np.float32)
    layer.set_weights([alpha])
    np.testing.assert_allclose(_run(layer, x), np.where(x > 0, x, alpha * x), rtol=1e-6)


def test_prelu_learns_its_slopes_in_fit():
    nrandom.set_seed(0)
    x = _x(64, 4)
    y = np.where(x > 0, x, 0.25 * x).sum(axis=1, keepdims=True)
    act = layers.PReLU()
    model = Sequential([Input((4,)), act, Dense(1, kernel_initializer="ones", use_bias=False, trainable=False)])
    model.compile(optimizer="adam", loss="mse")
    model.fit(x, y, epochs=80, batch_size=16, verbose=0)
    np.testing.assert_allclose(act.get_weights()[0], 0.25, atol=0.05)


# ------------------------------------------------------------------------------------------ gradients
def test_prelu_op_gradcheck():
    x = _x(4, 3, 2).astype(np.float64)
    gradcheck(prelu, x, RNG.uniform(0.1, 0.9, (3, 2)))
    gradcheck(prelu, x, RNG.uniform(0.1, 0.9, (1, 2)))  # one slope per channel: summed over the rest


@pytest.mark.parametrize("layer", [
    lambda: layers.ReLU(), lambda: layers.ReLU(4.0, negative_slope=0.2, threshold=0.5), lambda: layers.ReLU(6.0),
    lambda: layers.LeakyReLU(0.2), lambda: layers.ELU(0.7), lambda: layers.Softmax(), lambda: layers.Softmax([1, 2]),
], ids=["relu", "relu_all_options", "relu6", "leaky", "elu", "softmax", "softmax_axes"])
def test_activation_layer_gradients(layer):
    x = _x(3, 4, 5, scale=8.0).astype(np.float64)
    x[np.abs(np.abs(x) - 0.5) < 0.05] += 0.2  # stay off the kinks at +-0.5 (threshold) and at 4 (cap)
    x[np.abs(np.abs(x) - 4.0) < 0.05] += 0.2
    gradcheck(layer(), x)


def test_prelu_layer_gradient_reaches_alpha():
    layer = layers.PReLU(alpha_initializer="ones", dtype="float64", shared_axes=[1])
    x = Tensor(_x(4, 3, 2).astype(np.float64))
    layer(x)
    layer.alpha.data[...] = [[0.2, 0.6]]
    gradcheck(lambda t, a: prelu(t, a), x, layer.alpha.data)
    (layer(x) * 1.0).sum().backward()
    np.testing.assert_allclose(layer.alpha.grad, np.minimum(x.data, 0).sum(axis=(0, 1), keepdims=True)[0])


# ------------------------------------------------------------------------------------------ noise layers
NOISE = {
    "GaussianNoise": lambda **kw: layers.GaussianNoise(0.5, **kw),
    "GaussianDropout": lambda **kw: layers.GaussianDropout(0.3, **kw),
    "AlphaDropout": lambda **kw: layers.AlphaDropout(0.3, **kw),
}


@pytest.mark.parametrize("name", sorted(NOISE))
def test_noise_is_identity_outside_training_and_seeded_when_training(name):
    x = _x(8, 5)
    layer = NOISE[name]()
    assert np.array_equal(_run(layer, x), x)
    assert not np.array_equal(_run(layer, x, training=True), x)
    a = _run(NOISE[name](seed=3), x, training=True)
    b = _run(NOISE[name](seed=3), x, training=True)
    np.testing.assert_array_equal(a, b)
    nrandom.set_seed(11)
    c = _run(NOISE[name](), x, training=True)
    nrandom.set_seed(11)
    np.testing.assert_array_equal(_run(NOISE[name](), x, training=True), c)  # drawn from neurona.random
    assert c.dtype == np.float32


def test_noise_layers_draw_the_documented_noise():
    x = _x(4, 6)
    y = _run(layers.GaussianNoise(0.5, seed=7), x, training=True)
    expected = x + 0.5 * np.random.default_rng(7).standard_normal(x.shape, dtype=np.float32)
    np.testing.assert_allclose(y, expected, rtol=1e-6)
    y = _run(layers.GaussianDropout(0.3, seed=7), x, training=True)
    noise = 1 + math.sqrt(0.3 / 0.7) * np.random.default_rng(7).standard_normal(x.shape, dtype=np.float32)
    np.testing.assert_allclose(y, x * noise, rtol=1e-5)
    y = _run(layers.AlphaDropout(0.3, seed=7), x, training=True)
    keep = np.random.default_rng(7).random(x.shape, dtype=np.float32) >= 0.3
    alpha_p = -SELU_ALPHA * SELU_SCALE
    a = ((1 - 0.3) * (1 + 0.3 * alpha_p**2)) ** -0.5
    np.testing.assert_allclose(y, a * np.where(keep, x, alpha_p) - a * alpha_p * 0.3, rtol=1e-5, atol=1e-6)


def test_noise_statistics():
    nrandom.set_seed(0)
    zeros = np.zeros((200, 500), np.float32)
    assert abs(_run(layers.GaussianNoise(0.2), zeros, training=True).std() - 0.2) < 0.005
    ones = np.ones((200, 500), np.float32)
    y = _run(layers.GaussianDropout(0.5), ones, training=True)
    assert abs(y.mean() - 1) < 0.01 and abs(y.var() - 1.0) < 0.02  # variance rate / (1 - rate)
    z = np.random.default_rng(1).standard_normal((200, 500)).astype(np.float32)
    y = _run(layers.AlphaDropout(0.2), z, training=True)  # keeps zero mean, unit variance
    assert abs(y.mean()) < 0.02 and abs(y.var() - 1) < 0.03
    y = _run(layers.AlphaDropout(0.5, noise_shape=(None, 1)), z, training=True)
    alpha_p = -SELU_ALPHA * SELU_SCALE
    a = ((1 - 0.5) * (1 + 0.5 * alpha_p**2)) ** -0.5
    b = -a * alpha_p * 0.5
    kept = np.all(np.isclose(y, a * z + b, rtol=1e-5, atol=1e-6), axis=1)
    dropped = np.all(np.isclose(y, a * alpha_p + b, rtol=1e-5), axis=1)
    assert np.all(kept ^ dropped) and 60 < kept.sum() < 140  # whole rows kept or dropped, about half each


@pytest.mark.parametrize("name", sorted(NOISE))
def test_noise_layer_gradients(name):
    x = _x(3, 4).astype(np.float64)
    gradcheck(lambda t: NOISE[name](seed=5, dtype="float64")(t, training=True), x)


def test_noise_layers_train_inside_fit():
    nrandom.set_seed(0)
    x, y = _x(32, 4), _x(32, 1)
    model = Sequential([Input((4,)), layers.GaussianNoise(0.1), Dense(8, activation="selu"),
                        layers.AlphaDropout(0.1), layers.GaussianDropout(0.1), Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    history = model.fit(x, y, epochs=3, verbose=0)
    assert all(np.isfinite(history.history["loss"]))
    np.testing.assert_array_equal(model.predict(x, verbose=0), model.predict(x, verbose=0))


# ------------------------------------------------------------------------------------------ configs and errors
CONFIG_CASES = [
    lambda: layers.ReLU(6.0, negative_slope=0.1, threshold=0.5), lambda: layers.LeakyReLU(0.2),
    lambda: layers.ELU(0.5), lambda: layers.Softmax(axis=[1, 2]),
    lambda: layers.PReLU(alpha_initializer="ones", alpha_regularizer="l2", shared_axes=[1, 2]),
    lambda: layers.GaussianNoise(0.3, seed=1), lambda: layers.GaussianDropout(0.2),
    lambda: layers.AlphaDropout(0.1, noise_shape=(None, 1, 1), seed=2),
]


@pytest.mark.parametrize("make", CONFIG_CASES, ids=lambda f: f().__class__.__name__)
def test_config_round_trip(make):
    layer = make()
    config = layer.get_config()
    again = type(layer).from_config(config)
    assert again.get_config() == config
    assert layers.get(type(layer).__name__) is type(layer)


def test_keras_defaults():
    assert {"max_value": None, "negative_slope": 0.0, "threshold": 0.0}.items() <= layers.ReLU().get_config().items()
    assert layers.LeakyReLU().negative_slope == 0.3
    assert layers.ELU().alpha == 1.0 and layers.Softmax().axis == -1
    assert layers.PReLU().get_config()["alpha_initializer"]["class_name"] == "Zeros"
    with pytest.warns(DeprecationWarning, match="negative_slope"):
        assert layers.LeakyReLU(alpha=0.1).negative_slope == 0.1  # Keras 2's argument name


@pytest.mark.parametrize("make, message", [
    (lambda: layers.ReLU(max_value=-1), "max_value must be a number >= 0"),
    (lambda: layers.ReLU(negative_slope=None), "negative_slope"),
    (lambda: layers.ReLU(threshold=-0.5), "threshold"),
    (lambda: layers.LeakyReLU(-0.1), "negative_slope"),
    (lambda: layers.Softmax(axis="last"), "axis must be"),
    (lambda: layers.PReLU(shared_axes=[0]), "count from 1"),
    (lambda: layers.PReLU(alpha_constraint="non_neg"), "constraints are not supported"),
    (lambda: layers.GaussianNoise(-1), "stddev"),
    (lambda: layers.GaussianDropout(1.0), r"rate must be in \[0, 1\)"),
    (lambda: layers.AlphaDropout(1.5), "rate"),
])
def test_bad_arguments_are_named(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_bad_inputs_are_named():
    with pytest.raises(ValueError, match=r"Softmax 'sm'.*axis 3 is out of range"):
        layers.Softmax(axis=3, name="sm")(np.ones((2, 3), np.float32))
    with pytest.raises(ValueError, match="needs the size of axes"):
        layers.PReLU()(Input((None, 3)))
    with pytest.raises(ValueError, match="shared_axes"):
        layers.PReLU(shared_axes=[3])(np.ones((2, 3), np.float32))
    layer = layers.PReLU(name="pr")
    layer(np.ones((2, 3), np.float32))
    with pytest.raises(ValueError, match=r"PReLU 'pr' expects inputs with axis 1 3, got shape \(2, 4\)"):
        layer(np.ones((2, 4), np.float32))
    with pytest.raises(ValueError, match="mask must broadcast"):
        layers.Softmax()(np.ones((2, 3), np.float32), mask=np.ones((2, 4), bool))


def test_layers_in_a_functional_model():
    inp = Input((6, 6, 2))
    x = layers.PReLU(shared_axes=[1, 2])(layers.ReLU(6.0)(inp))
    x = layers.Softmax(axis=[1, 2])(layers.GaussianNoise(0.1)(x))
    model = Model(inp, x)
    assert model.output_shape == (None, 6, 6, 2) and model.count_params() == 2
    out = model.predict(_x(2, 6, 6, 2), verbose=0)
    np.testing.assert_allclose(out.sum(axis=(1, 2)), 1, rtol=1e-5)


# ------------------------------------------------------------------------------------------ against Keras
KERAS_CASES = [
    ("ReLU", {}), ("ReLU", {"max_value": 6.0}), ("ReLU", {"negative_slope": 0.1, "threshold": 0.5}),
    ("ReLU", {"max_value": 4.0, "negative_slope": 0.2, "threshold": 1.0}), ("LeakyReLU", {}),
    ("LeakyReLU", {"negative_slope": 0.05}), ("ELU", {}), ("ELU", {"alpha": 0.4}), ("Softmax", {}),
    ("Softmax", {"axis": 1}), ("Softmax", {"axis": [1, 2]}), ("PReLU", {}), ("PReLU", {"shared_axes": [1, 2]}),
    ("GaussianNoise", {"stddev": 0.3}), ("GaussianDropout", {"rate": 0.3}), ("AlphaDropout", {"rate": 0.2}),
]


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # Keras-torch's own NumPy 2 warnings
@pytest.mark.parametrize("name, kwargs", KERAS_CASES, ids=lambda v: str(v))
def test_against_keras(keras, name, kwargs):
    x = _x(2, 3, 4, 5, scale=8.0)
    theirs = getattr(keras.layers, name)(**kwargs)
    ours = getattr(layers, name)(**kwargs)
    expected = keras.ops.convert_to_numpy(theirs(x))
    if name == "PReLU":
        alpha = RNG.uniform(0.1, 0.5, theirs.get_weights()[0].shape).astype(np.float32)
        theirs.set_weights([alpha])
        ours(x)
        ours.set_weights([alpha])
        expected = keras.ops.convert_to_numpy(theirs(x))
    np.testing.assert_allclose(_run(ours, x), expected, rtol=1e-5, atol=1e-6)
    their_config = theirs.get_config()
    keys = their_config.keys() - {"name", "dtype", "trainable"}
    ours_config = ours.get_config()
    again = type(ours).from_config({k: their_config[k] for k in keys})  # a Keras config builds the same layer
    for key in keys:
        mine, other = ours_config[key], again.get_config()[key]
        if key.endswith("initializer"):
            assert mine["class_name"] == other["class_name"] == their_config[key]["class_name"]
        else:
            assert mine == other == their_config[key], key
