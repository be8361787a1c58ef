"""Sequential, functional and subclassed models: building, graph order, shared and nested layers,
gradients through whole models, configs, predict."""

import json

import numpy as np
import pytest

import neurona as nr
from neurona.layers import Activation, Add, Concatenate, Dense, Dropout, Flatten, Input, InputLayer
from neurona.layers.base import clear_session
from neurona.models import Model, Sequential, model_from_json

rng = np.random.default_rng(1)


@pytest.fixture(autouse=True)
def _fresh_names():
    clear_session()


def sig(z):
    return 1 / (1 + np.exp(-z))


def softmax(z):
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


# ----------------------------------------------------------------------------- Sequential
def test_slides_sequential_is_built_at_add():
    model = Sequential()
    model.add(Dense(10, activation="sigmoid", input_shape=(784,)))
    model.add(Dense(10, activation="softmax"))
    assert model.built and model.input_shape == (None, 784) and model.output_shape == (None, 10)
    assert [la.name for la in model.layers] == ["dense", "dense_1"]
    assert model.count_params() == 7960
    x = rng.random((3, 784)).astype(np.float32)
    w1, b1, w2, b2 = model.get_weights()
    np.testing.assert_allclose(model.predict(x, verbose=0), softmax(sig(x @ w1 + b1) @ w2 + b2), rtol=1e-5, atol=1e-6)


def test_sequential_from_list_with_input_and_lazy_build():
    model = Sequential([Input((4,)), Dense(3), Dense(2)])
    assert model.built and len(model.layers) == 2 and model.output_shape == (None, 2)
    lazy = Sequential([Dense(3), Dense(2)])
    assert not lazy.built
    out = lazy(np.ones((5, 7), np.float32))
    assert lazy.built and out.shape == (5, 2) and lazy.input_shape == (None, 7)
    lazy2 = Sequential([Dense(3)])
    lazy2.build((None, 6))
    assert lazy2.layers[0].kernel.shape == (6, 3)


def test_sequential_add_checks_shapes_at_once():
    model = Sequential([Input((8,)), Flatten()])
    with pytest.raises(ValueError, match="Reshape 'reshape' cannot reshape"):
        from neurona.layers import Reshape

        model.add(Reshape((3, 3)))
    assert len(model.layers) == 1  # the failed layer was not kept
    with pytest.raises(TypeError, match="expects a layer"):
        model.add("dense")
    with pytest.raises(ValueError, match="already has a layer named 'flatten'"):
        model.add(Flatten(name="flatten"))
    with pytest.raises(ValueError, match="Input can only be the first"):
        model.add(InputLayer(shape=(3,)))


def test_pop_get_layer_and_trainable():
    model = Sequential([Dense(4, input_shape=(3,)), Dropout(0.5), Dense(2)])
    assert model.get_layer("dropout") is model.layers[1] and model.get_layer(index=-1) is model.layers[2]
    with pytest.raises(ValueError, match="no layer named 'nope'"):
        model.get_layer("nope")
    top = model.pop()
    assert top.name == "dense_1" and model.output_shape == (None, 4)
    model.trainable = False
    assert model.trainable_weights == [] and len(model.non_trainable_weights) == 2
    model.layers[0].trainable = True
    assert model.layers[0].trainable_weights  # the layer itself is unfrozen again


def test_gradcheck_through_a_sequential_model():
    model = Sequential([Dense(4, activation="tanh", input_shape=(3,), dtype="float64"), Dropout(0.5),
                        Dense(3, activation="softmax", dtype="float64")])
    d1, d2 = model.layers[0], model.layers[2]

    def f(x, w1, b1, w2, b2):
        d1.kernel, d1.bias, d2.kernel, d2.bias = w1, b1, w2, b2
        return model.call(x, training=False)

    nr.gradcheck(f, rng.standard_normal((5, 3)), *[w.data.copy() for w in model.weights])


# ----------------------------------------------------------------------------- functional
def _two_inputs_model():
    a, b = Input((3,), name="a"), Input((3,), name="b")
    shared = Dense(4, activation="tanh", name="shared")
    h = Add()([shared(a), shared(b)])
    out = Dense(2, name="out")(h)
    return Model([a, b], out), shared


def test_functional_shared_layer_matches_numpy_and_counts_weights_once():
    model, shared = _two_inputs_model()
    assert [la.name for la in model.layers] == ["a", "b", "shared", "add", "out"]
    assert len(model.weights) == 4 and model.count_params() == 16 + 10
    xa, xb = rng.random((5, 3)).astype(np.float32), rng.random((5, 3)).astype(np.float32)
    ws, bs, wo, bo = model.get_weights()
    ref = (np.tanh(xa @ ws + bs) + np.tanh(xb @ ws + bs)) @ wo + bo
    np.testing.assert_allclose(model.predict([xa, xb], verbose=0), ref, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model([xa, xb]).data, ref, rtol=1e-5, atol=1e-6)


def test_gradcheck_through_a_functional_model_with_a_shared_layer():
    a, b = Input((3,), dtype="float64"), Input((3,), dtype="float64")
    shared = Dense(4, activation="tanh", dtype="float64")
    out = Dense(2, activation="sigmoid", dtype="float64")(Concatenate(dtype="float64")([shared(a), shared(b)]))
    model = Model([a, b], out)
    top = model.layers[-1]

    def f(xa, xb, ws, bs, wo, bo):
        shared.kernel, shared.bias, top.kernel, top.bias = ws, bs, wo, bo
        return model.call([xa, xb])

    nr.gradcheck(f, rng.standard_normal((4, 3)), rng.standard_normal((4, 3)), *[w.data.copy() for w in model.weights])


def test_shared_layer_gradient_is_the_sum_of_both_paths():
    # hand-written backprop for y = sum(shared(a) + shared(b)), shared linear: dW = a^T 1 + b^T 1
    a, b = Input((3,)), Input((3,))
    shared = Dense(2, use_bias=False)
    model = Model([a, b], Add()([shared(a), shared(b)]))
    xa, xb = rng.random((4, 3)).astype(np.float32), rng.random((4, 3)).astype(np.float32)
    model.call([xa, xb]).sum().backward()
    np.testing.assert_allclose(shared.kernel.grad, (xa.sum(0) + xb.sum(0))[:, None] * np.ones((1, 2)), rtol=1e-5)


def test_multi_output_model_and_topological_order():
    a = Input((8,), name="a")
    b = Input((4,), name="b")
    x = Concatenate()([Dense(3)(a), Dense(3)(b)])
    y = Dense(2, name="y")(x)
    model = Model(inputs=[a, b], outputs=[y, x])
    assert [la.name for la in model.layers] == ["a", "b", "dense", "dense_1", "concatenate", "y"]
    assert model.output_shape == [(None, 2), (None, 6)] and model.output_names == ["y", "concatenate"]
    outs = model.predict([np.ones((2, 8)), np.ones((2, 4))], verbose=0)
    assert [o.shape for o in outs] == [(2, 2), (2, 6)]


def test_nested_models_are_layers():
    inner = Sequential([Dense(5, activation="relu", input_shape=(4,)), Dense(3)], name="inner")
    x = Input((4,))
    model = Model(x, Dense(1)(inner(x)))
    assert model.layers[1] is inner and model.count_params() == inner.count_params() + 4
    data = rng.random((6, 4)).astype(np.float32)
    wi = inner.get_weights()
    wo, bo = model.layers[2].get_weights()
    ref = (np.maximum(data @ wi[0] + wi[1], 0) @ wi[2] + wi[3]) @ wo + bo
    np.testing.assert_allclose(model.predict(data, verbose=0), ref, rtol=1e-5, atol=1e-6)
    inner.trainable = False
    assert len(model.trainable_weights) == 2


def test_graph_errors():
    a, b = Input((3,)), Input((3,))
    out = Add()([a, b])
    with pytest.raises(ValueError, match="not in the model's inputs"):
        Model(a, out)
    with pytest.raises(ValueError, match="must come straight from Input"):
        Model(Dense(2)(a), out)
    with pytest.raises(ValueError, match="needs both"):
        Model(a)
    x = Input((3,))
    with pytest.raises(ValueError, match="two different layers named 'same'"):
        Model(x, Dense(2, name="same")(Dense(2, name="same")(x)))


def test_model_call_checks_input_shapes():
    x = Input((4,))
    model = Model(x, Dense(2)(x))
    with pytest.raises(ValueError, match=r"Dense 'dense' expects inputs with last axis 4, got shape \(3, 5\)"):
        model(np.zeros((3, 5), np.float32))


# ----------------------------------------------------------------------------- subclassing
class TwoLayers(Model):
    def __init__(self):
        super().__init__()
        self.hidden = Dense(8, activation="relu")
        self.out = Dense(1)

    def call(self, inputs, training=False):
        return self.out(self.hidden(inputs))


def test_subclassed_model_tracks_layers_and_trains():
    model = TwoLayers()
    assert model.name == "two_layers" and [la.name for la in model.layers] == ["dense", "dense_1"]
    x = rng.random((64, 3)).astype(np.float32)
    y = x.sum(1, keepdims=True)
    model.compile(optimizer="adam", loss="mse")
    history = model.fit(x, y, epochs=3, batch_size=16, verbose=0)
    assert len(model.weights) == 4 and len(history.history["loss"]) == 3
    assert model.predict(x, verbose=0).shape == (64, 1)


# ----------------------------------------------------------------------------- configs
def test_functional_config_round_trip_rebuilds_the_same_model():
    model, _ = _two_inputs_model()
    text = model.to_json()
    clone = model_from_json(text)
    assert [la.name for la in clone.layers] == [la.name for la in model.layers]
    clone.set_weights(model.get_weights())
    xs = [rng.random((3, 3)).astype(np.float32) for _ in range(2)]
    np.testing.assert_allclose(clone.predict(xs, verbose=0), model.predict(xs, verbose=0), rtol=1e-6)
    assert json.loads(text)["config"]["input_layers"] == [["a", 0, 0], ["b", 0, 0]]


def test_sequential_config_round_trip():
    model = Sequential([Dense(4, activation="relu", input_shape=(3,)), Dropout(0.1), Dense(2, activation="softmax")])
    clone = Sequential.from_config(json.loads(json.dumps(model.get_config())))
    assert clone.built and [type(la).__name__ for la in clone.layers] == ["Dense", "Dropout", "Dense"]
    clone.set_weights(model.get_weights())
    x = rng.random((4, 3)).astype(np.float32)
    np.testing.assert_allclose(clone.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)


def test_nested_config_round_trip():
    inner = Sequential([Dense(3, input_shape=(2,))], name="inner")
    x = Input((2,))
    model = Model(x, Activation("relu")(inner(x)))
    clone = Model.from_config(json.loads(json.dumps(model.get_config())))
    assert isinstance(clone.layers[1], Sequential) and clone.count_params() == 9


# ----------------------------------------------------------------------------- predict
def test_predict_is_batch_size_invariant():
    model = Sequential([Dense(7, activation="relu", input_shape=(5,)), Dense(3, activation="softmax")])
    x = rng.random((37, 5)).astype(np.float32)
    full = model.predict(x, batch_size=64, verbose=0)
    for bs in (1, 5, 32):
        np.testing.assert_allclose(model.predict(x, batch_size=bs, verbose=0), full, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(model.predict_on_batch(x), full, rtol=1e-6, atol=1e-7)
    assert full.dtype == np.float32


def test_predict_accepts_lists_ints_and_generators():
    model = Sequential([Dense(2, input_shape=(3,))])
    x = rng.integers(0, 5, (10, 3))
    ref = model.predict(x.astype(np.float32), verbose=0)
    np.testing.assert_allclose(model.predict(x.tolist(), verbose=0), ref, rtol=1e-6)
    batches = (x[i:i + 4] for i in range(0, 10, 4))
    np.testing.assert_allclose(model.predict(batches, verbose=0), ref, rtol=1e-6)


def test_predict_errors_name_the_layer():
    model = Sequential([Dense(10, activation="sigmoid", input_shape=(784,))])
    with pytest.raises(ValueError, match=r"Dense 'dense' expects inputs with last axis 784, got shape "
                                         r"\(5, 28, 28\)"):
        model.predict(np.zeros((5, 28, 28)), verbose=0)
    bad = np.zeros((5, 784))
    bad[2, 7] = np.nan
    with pytest.raises(ValueError, match=r"x contains 1 NaN or infinite value \(the first, nan, at x\[2, 7\]\)"):
        model.predict(bad, verbose=0)
