"""The Keras 3 top-level surface: Variable, Layer, backend, confusion-count metrics, clone_model, the input-rank
leniency, Tensor-by-Tensor indexing and the metric/layer subclassing contracts, checked against Keras."""

from __future__ import annotations

import os

import numpy as np
import pytest

import neurona
from neurona import layers as L
from neurona import ops


@pytest.fixture(scope="module")
def keras():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    return pytest.importorskip("keras")


def test_top_level_names_are_the_keras_ones():
    for name in ("Variable", "Layer", "Model", "Sequential", "Input", "ops", "random", "utils", "saving", "backend",
                 "layers", "losses", "metrics", "optimizers", "callbacks", "Loss", "Metric", "Optimizer"):
        assert getattr(neurona, name) is not None
    assert neurona.Layer is L.Layer
    assert neurona.backend.floatx() == "float32" and neurona.backend.epsilon() == 1e-7
    assert neurona.backend.image_data_format() == "channels_last"
    assert neurona.config.floatx() == "float32"
    L.Dense(2)
    neurona.backend.clear_session()
    assert L.Dense(2).name == "dense"


def test_variable_assign_and_gradients():
    v = neurona.Variable(np.array([1.0, 2.0]), name="v")
    assert v.dtype == np.float32 and v.requires_grad and v.name == "v"
    v.assign_add([1, 1])
    v.assign_sub(np.array([0.5, 0.5]))
    np.testing.assert_array_equal(v.numpy(), [1.5, 2.5])
    ops.sum(v * v).backward()
    np.testing.assert_allclose(v.grad, [3.0, 5.0])
    w = neurona.Variable("ones", shape=(2, 3), trainable=False)
    assert w.shape == (2, 3) and not w.requires_grad and float(ops.sum(w)) == 6.0
    with pytest.raises(ValueError, match=r"shape \(2, 3\)"):
        w.assign(np.zeros((4,)))
    with pytest.raises(ValueError, match="needs a shape"):
        neurona.Variable("zeros")


def test_variable_matches_keras_semantics(keras):
    theirs, ours = keras.Variable(np.ones((2,)), dtype="float32"), neurona.Variable(np.ones((2,)), dtype="float32")
    theirs.assign_add([2.0, 3.0])
    ours.assign_add([2.0, 3.0])
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(theirs), ours.numpy())


@pytest.mark.parametrize("name", ["TruePositives", "FalsePositives", "TrueNegatives", "FalseNegatives"])
def test_confusion_counts_match_keras(keras, name):
    rng = np.random.default_rng(0)
    y_true = rng.integers(0, 2, (20, 1)).astype("float32")
    y_pred = rng.random((20, 1)).astype("float32")
    weights = rng.random(20).astype("float32")
    for kwargs, sw in (({}, None), ({"thresholds": [0.3, 0.5, 0.8]}, None), ({}, weights)):
        ours, theirs = getattr(neurona.metrics, name)(**kwargs), getattr(keras.metrics, name)(**kwargs)
        for half in (slice(0, 10), slice(10, 20)):
            ours.update_state(y_true[half], y_pred[half], None if sw is None else sw[half])
            theirs.update_state(y_true[half], y_pred[half], None if sw is None else sw[half])
        np.testing.assert_allclose(ours.result(), keras.ops.convert_to_numpy(theirs.result()), rtol=1e-6)
        ours.reset_state()
        assert np.all(ours.result() == 0)


def test_confusion_counts_by_hand_and_in_fit():
    m = neurona.metrics.TruePositives()
    m.update_state([1, 0, 1, 1], [0.9, 0.8, 0.2, 0.6])
    assert m.result() == 2.0
    model = neurona.Sequential([L.Input((3,)), L.Dense(1, activation="sigmoid")])
    model.compile("sgd", "binary_crossentropy", metrics=[neurona.metrics.FalseNegatives(name="fn")])
    history = model.fit(np.ones((8, 3)), np.ones((8, 1)), epochs=1, verbose=0)
    assert "fn" in history.history


class _BinaryTruePositives(neurona.metrics.Metric):
    """keras.io's custom metric example, written against the Keras 3 contract."""

    def __init__(self, name="binary_true_positives", **kwargs):
        super().__init__(name=name, **kwargs)
        self.true_positives = self.add_variable(shape=(), initializer="zeros", name="true_positives")

    def update_state(self, y_true, y_pred, sample_weight=None):
        values = ops.logical_and(ops.cast(y_true, "bool"), ops.cast(ops.greater(y_pred, 0.5), "bool"))
        values = ops.cast(values, "float32")
        if sample_weight is not None:
            values = ops.multiply(values, ops.cast(sample_weight, "float32"))
        self.true_positives.assign_add(ops.sum(values))

    def result(self):
        return self.true_positives


def test_metric_subclass_contract():
    m = _BinaryTruePositives()
    m.update_state(np.array([1, 0, 1]), np.array([0.9, 0.9, 0.1]))
    m.update_state(np.array([1]), np.array([0.7]), sample_weight=np.array([0.5]))
    assert float(m.result()) == 1.5 and m.variables[0].name == "binary_true_positives/true_positives"
    m.reset_state()
    assert float(m.result()) == 0.0
    model = neurona.Sequential([L.Input((2,)), L.Dense(1, activation="sigmoid")])
    model.compile("sgd", "binary_crossentropy", metrics=[_BinaryTruePositives()])
    logs = model.evaluate(np.ones((4, 2)), np.ones((4, 1)), verbose=0, return_dict=True)
    expected = float(np.sum(model.predict(np.ones((4, 2)), verbose=0) > 0.5))
    assert logs["binary_true_positives"] == expected


class _Linear(neurona.Layer):
    """keras.io's 'making new layers' example (Keras 3 keyword add_weight, no weight names)."""

    def __init__(self, units=32, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1], self.units), initializer="random_normal", trainable=True)
        self.b = self.add_weight(shape=(self.units,), initializer="zeros", trainable=True)

    def call(self, inputs):
        return ops.matmul(inputs, self.w) + self.b

    def compute_output_shape(self, input_shape):
        return input_shape[:-1] + (self.units,)

    def get_config(self):
        return {**super().get_config(), "units": self.units}


def test_layer_subclass_contract_against_numpy():
    layer = _Linear(4)
    x = np.random.default_rng(1).random((3, 5)).astype("float32")
    y = layer(x)
    np.testing.assert_allclose(y.numpy(), x @ layer.w.numpy() + layer.b.numpy(), rtol=1e-6)
    assert isinstance(layer.w, neurona.Variable) and len(layer.trainable_weights) == 2
    clone = _Linear.from_config(layer.get_config())
    assert clone.units == 4 and clone.name == layer.name
    inputs = neurona.Input((5,))
    assert _Linear(7)(inputs).shape == (None, 7)


def test_clone_model_same_architecture_new_weights(keras):
    model = neurona.Sequential([L.Input((4,)), L.Dense(3, activation="relu"), L.Dense(2)])
    clone = neurona.models.clone_model(model)
    assert clone.get_config()["layers"] == model.get_config()["layers"] and clone is not model
    assert not np.allclose(clone.weights[0].numpy(), model.weights[0].numpy())
    clone.set_weights(model.get_weights())
    x = np.ones((2, 4), "float32")
    np.testing.assert_allclose(clone.predict(x, verbose=0), model.predict(x, verbose=0))
    theirs = keras.models.clone_model(keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)]))
    assert [type(la).__name__ for la in theirs.layers] == ["Dense"]
    a = neurona.Input((3,))
    functional = neurona.Model(a, L.Dense(2)(a))
    assert neurona.models.clone_model(functional).count_params() == functional.count_params()


def test_input_rank_leniency_as_keras(keras):
    x = np.random.default_rng(2).random((3, 6, 6)).astype("float32")
    inputs = neurona.Input((6, 6, 1))
    ours = neurona.Model(inputs, L.Dense(2)(L.Flatten()(L.Conv2D(2, 3)(inputs))))
    k_in = keras.Input((6, 6, 1))
    theirs = keras.Model(k_in, keras.layers.Dense(2)(keras.layers.Flatten()(keras.layers.Conv2D(2, 3)(k_in))))
    theirs.set_weights(ours.get_weights())
    expected = keras.ops.convert_to_numpy(theirs.predict(x, verbose=0))
    np.testing.assert_allclose(ours.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ours(x).numpy(), expected, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="expects input of shape"):
        ours.predict(np.ones((2, 6, 5)), verbose=0)


def test_tensor_indexed_by_tensor():
    x = neurona.Tensor(np.arange(12.0).reshape(3, 4), requires_grad=True)
    np.testing.assert_array_equal(x[neurona.Tensor(2.0)].numpy(), [8, 9, 10, 11])
    np.testing.assert_array_equal(x[:, neurona.Tensor(np.array([0.0, 3.0]))].numpy(), [[0, 3], [4, 7], [8, 11]])
    np.testing.assert_array_equal(x[neurona.Tensor(np.array([2, 0]))].numpy()[:, 0], [8, 0])
    ops.sum(x[neurona.Tensor(np.array([1.0, 1.0]))]).backward()
    np.testing.assert_array_equal(x.grad[1], [2, 2, 2, 2])
    with pytest.raises(IndexError, match="must hold integers"):
        x[neurona.Tensor(0.5)]


def test_keras_random_draws():
    from neurona import random

    a = random.normal((2000,), mean=1.0, stddev=2.0, seed=3)
    assert a.dtype == np.float32 and abs(float(a.numpy().mean()) - 1) < 0.2 and abs(a.numpy().std() - 2) < 0.2
    np.testing.assert_array_equal(a.numpy(), random.normal((2000,), mean=1.0, stddev=2.0, seed=3).numpy())
    gen = random.SeedGenerator(7)
    first, second = random.uniform((5,), seed=gen), random.uniform((5,), seed=gen)
    assert not np.array_equal(first.numpy(), second.numpy())
    again = random.SeedGenerator(7)
    np.testing.assert_array_equal(random.uniform((5,), seed=again).numpy(), first.numpy())
    t = random.truncated_normal((1000,), stddev=1.0, seed=1).numpy()
    assert np.abs(t).max() <= 2
    r = random.randint((100,), 2, 5, seed=0).numpy()
    assert r.dtype == np.int32 and r.min() >= 2 and r.max() <= 4
    s = random.shuffle(np.arange(10), seed=0).numpy()
    assert sorted(s.tolist()) == list(range(10))
    c = random.categorical(np.log(np.array([[0.0001, 0.9999]])), 50, seed=0).numpy()
    assert c.shape == (1, 50) and c.mean() > 0.9
    x = neurona.Tensor(np.ones((1000,)), requires_grad=True)
    y = random.dropout(x, 0.5, seed=0)
    kept = y.numpy() != 0
    assert 0.4 < kept.mean() < 0.6 and np.all(y.numpy()[kept] == 2)
    ops.sum(y).backward()
    np.testing.assert_array_equal(x.grad, y.numpy())
    with pytest.raises(TypeError, match="seed must be"):
        random.normal((2,), seed="abc")


class _TwoInputs(neurona.Model):
    """DLwP ch. 7's subclassed model: inputs arrive as a dict by name."""

    def __init__(self):
        super().__init__()
        self.concat = L.Concatenate()
        self.dense = L.Dense(1)

    def call(self, inputs):
        return self.dense(self.concat([inputs["a"], inputs["b"]]))


def test_subclassed_model_with_dict_inputs():
    rng = np.random.default_rng(4)
    data = {"a": rng.random((16, 2)).astype("float32"), "b": rng.random((16, 3)).astype("float32")}
    model = _TwoInputs()
    out = model(data)
    w, b = model.dense.weights
    expected = np.concatenate([data["a"], data["b"]], 1) @ w.numpy() + b.numpy()
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-6)
    model.compile("sgd", "mse")
    model.fit(data, np.ones((16, 1)), epochs=1, verbose=0)
    np.testing.assert_allclose(model.predict(data, verbose=0), model(data).numpy(), rtol=1e-6)
