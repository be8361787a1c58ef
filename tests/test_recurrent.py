"""SimpleRNN, LSTM, GRU and Embedding: fused-op gradients, Keras parity, summaries, configs, learning."""

import numpy as np
import pytest

import neurona
from neurona import gradcheck, layers
from neurona.layers import GRU, LSTM, Embedding, Input, SimpleRNN
from neurona.models import Model, Sequential
from neurona.ops.recurrent import GRUOp, LSTMOp, SimpleRNNOp
from neurona.ops.shape import GetItem

RNG = np.random.default_rng(7)
B, T, D, H = 3, 4, 2, 3
OPS = [(SimpleRNNOp, 1, (H,)), (LSTMOp, 4, (4 * H,)), (GRUOp, 3, (2, 3 * H))]
RNN_LAYERS = [SimpleRNN, LSTM, GRU]


def _weights(gates: int, bias_shape: tuple):
    w = RNG.standard_normal((D, gates * H)) * 0.5
    u = RNG.standard_normal((H, gates * H)) * 0.5
    b = RNG.standard_normal(bias_shape) * 0.5
    return w, u, b


# ------------------------------------------------------------------------------------------------ gradients
@pytest.mark.parametrize("op,gates,bias_shape", OPS, ids=lambda v: getattr(v, "__name__", ""))
@pytest.mark.parametrize("return_sequences", [True, False])
@pytest.mark.parametrize("go_backwards", [False, True])
def test_op_gradcheck(op, gates, bias_shape, return_sequences, go_backwards):
    x = RNG.standard_normal((B, T, D))
    w, u, b = _weights(gates, bias_shape)

    def every_output(*args):  # the output and the final state(s) all feed the loss
        outs = op("tanh", "sigmoid", return_sequences, go_backwards)(*args)
        total = outs[0].sum() if return_sequences else outs[0]
        for s in outs[1:]:
            total = total + s * 0.7
        return total

    gradcheck(every_output, x, w, u, b)
    gradcheck(lambda *a: op("tanh", "sigmoid", return_sequences, go_backwards)(*a)[0], x, w, u)  # no bias


@pytest.mark.parametrize("op,gates,bias_shape", OPS, ids=lambda v: getattr(v, "__name__", ""))
def test_op_gradcheck_other_activations(op, gates, bias_shape):
    x = RNG.standard_normal((B, T, D))
    w, u, b = _weights(gates, bias_shape)
    gradcheck(lambda *a: op("relu", "tanh", True)(*a)[0], x, w, u, b)
    gradcheck(lambda *a: op("linear", "sigmoid", True)(*a)[0], x, w, u, b)


def test_embedding_gather_gradcheck_accumulates_repeated_ids():
    ids = np.array([[1, 2, 2], [0, 4, 1]])
    table = RNG.standard_normal((5, 3))
    gradcheck(lambda w: GetItem(ids)(w), table)
    layer = Embedding(5, 3)
    out = layer(ids)
    out.sum().backward()
    np.testing.assert_array_equal(layer.embeddings.grad[:, 0], [1, 2, 2, 0, 1])


# ------------------------------------------------------------------------------------------- hand-computed
def test_simple_rnn_matches_a_hand_written_loop():
    x = RNG.standard_normal((B, T, D)).astype(np.float32)
    layer = SimpleRNN(H, return_sequences=True)
    layer.build((None, T, D))
    w, u, b = (v.data for v in layer.weights)
    h, expected = np.zeros((B, H), np.float32), []
    for t in range(T):
        h = np.tanh(x[:, t] @ w + h @ u + b)
        expected.append(h)
    np.testing.assert_allclose(layer(x).data, np.stack(expected, 1), rtol=1e-5, atol=1e-6)


def test_lstm_defaults_follow_keras():
    layer = LSTM(4)
    layer.build((None, 5, 3))
    assert [w.shape for w in layer.weights] == [(3, 16), (4, 16), (16,)]
    np.testing.assert_array_equal(layer.bias.data, np.r_[np.zeros(4), np.ones(4), np.zeros(8)])
    u = layer.recurrent_kernel.data
    np.testing.assert_allclose(u @ u.T, np.eye(4), atol=1e-5)  # orthogonal rows
    assert GRU(4).get_config()["reset_after"] is True
    gru = GRU(4)
    gru.build((None, 5, 3))
    assert gru.bias.shape == (2, 12)


# ---------------------------------------------------------------------------------------------- Keras parity
def _keras_pair(keras, cls, **kwargs):
    ours = getattr(layers, cls)(H, **kwargs)
    theirs = getattr(keras.layers, cls)(H, **kwargs)
    theirs.build((None, T, D))
    ours.build((None, T, D))
    weights = [RNG.standard_normal(w.shape).astype(np.float32) * 0.5 for w in ours.get_weights()]
    ours.set_weights(weights)
    theirs.set_weights(weights)
    return ours, theirs


@pytest.mark.parametrize("cls", ["SimpleRNN", "LSTM", "GRU"])
@pytest.mark.parametrize("kwargs", [{}, {"return_sequences": True}, {"return_sequences": True, "go_backwards": True},
                                    {"return_state": True}, {"use_bias": False, "activation": "relu"}])
def test_outputs_equal_keras(keras, cls, kwargs):
    ours, theirs = _keras_pair(keras, cls, **kwargs)
    x = RNG.standard_normal((B, T, D)).astype(np.float32)
    got, expected = ours(x), theirs(x)
    if not isinstance(got, list):
        got, expected = [got], [expected]
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        np.testing.assert_allclose(g.data, keras.ops.convert_to_numpy(e), rtol=1e-4, atol=1e-5)


def test_embedding_equals_keras(keras):
    ours, theirs = Embedding(10, 4), keras.layers.Embedding(10, 4)
    ids = RNG.integers(0, 10, size=(3, 5))
    theirs.build((None, 5))
    ours.build((None, 5))
    values = ours.embeddings.data
    assert values.min() >= -0.05 and values.max() <= 0.05  # Keras's "uniform" range
    ours.set_weights(theirs.get_weights())
    np.testing.assert_array_equal(ours(ids).data, keras.ops.convert_to_numpy(theirs(ids)))


def _stack(mod, rnn_layer, emb=False):
    lay = mod.layers
    if emb:
        return [mod.Input((7,), dtype="int64"), lay.Embedding(20, 8), rnn_layer, lay.Dense(1)]
    return [mod.Input((50, 8)), rnn_layer, lay.Dense(1)]


@pytest.mark.parametrize("cls", ["SimpleRNN", "LSTM", "GRU"])
@pytest.mark.parametrize("emb", [False, True])
def test_param_counts_equal_keras(keras, cls, emb):
    ours = Sequential(_stack(neurona, getattr(layers, cls)(64, return_sequences=True), emb))
    theirs = keras.Sequential(_stack(keras, getattr(keras.layers, cls)(64, return_sequences=True), emb))
    assert ours.count_params() == theirs.count_params()
    for a, b in zip(ours.layers, theirs.layers):
        assert a.count_params() == b.count_params()


def test_lstm_64_on_8_features_has_18688_params():
    model = Sequential([Input((50, 8)), LSTM(64)])
    lines = []
    model.summary(print_fn=lines.append)
    assert model.layers[0].count_params() == 18_688
    assert "18,688" in "\n".join(lines)


# ---------------------------------------------------------------------------------------------- graph, config
@pytest.mark.parametrize("cls", RNN_LAYERS)
def test_return_state_in_the_functional_api(cls):
    inp = Input((T, D))
    outs = cls(H, return_sequences=True, return_state=True)(inp)
    n_states = 2 if cls is LSTM else 1
    assert [o.shape for o in outs] == [(None, T, H)] + [(None, H)] * n_states
    model = Model(inp, outs)
    preds = model.predict(RNG.standard_normal((2, T, D)).astype(np.float32), verbose=0)
    np.testing.assert_array_equal(preds[0][:, -1], preds[1])


@pytest.mark.parametrize("cls", RNN_LAYERS + [Embedding])
def test_config_round_trip(cls):
    layer = (Embedding(10, 3, mask_zero=True) if cls is Embedding
             else cls(5, return_sequences=True, go_backwards=True, use_bias=False, kernel_regularizer="l2"))
    config = layer.get_config()
    again = cls.from_config(config)
    assert again.get_config() == config
    assert layers.get(cls.__name__) is cls


def test_clear_errors():
    with pytest.raises(ValueError, match="units"):
        LSTM(0)
    with pytest.raises(ValueError, match="activation"):
        GRU(3, activation="softmax")
    with pytest.raises(ValueError, match=r"lstm.*\(batch, timesteps, features\)|ndim|dimension"):
        LSTM(3, name="lstm")(np.zeros((2, 3), np.float32))
    emb = Embedding(4, 2, name="emb")
    with pytest.raises(ValueError, match=r"emb.*id 4 is outside \[0, 4\)"):
        emb(np.array([[1, 4]]))


# ------------------------------------------------------------------------------------------------- learning
@pytest.mark.parametrize("cls", RNN_LAYERS)
def test_sine_wave_regression_learns(cls):
    from neurona.datasets.synthetic import sine_waves
    from neurona.utils import set_random_seed

    set_random_seed(0)
    x, y = sine_waves(256, timesteps=20, seed=0)
    model = Sequential([Input((20, 1)), cls(16), layers.Dense(1)])
    model.compile(optimizer=neurona.optimizers.Adam(0.01), loss="mse")
    before = model.evaluate(x, y, verbose=0)
    model.fit(x, y, epochs=15, batch_size=32, verbose=0)
    after = model.evaluate(x, y, verbose=0)
    assert after < 0.25 * before


# ---------------------------------------------------------------------------------------------- wrappers
@pytest.mark.parametrize("cls", ["SimpleRNN", "LSTM", "GRU"])
@pytest.mark.parametrize("merge_mode", ["concat", "sum", "ave", "mul", None])
@pytest.mark.parametrize("return_sequences", [False, True])
def test_bidirectional_equals_keras(keras, cls, merge_mode, return_sequences):
    ours = layers.Bidirectional(getattr(layers, cls)(H, return_sequences=return_sequences), merge_mode=merge_mode)
    theirs = keras.layers.Bidirectional(getattr(keras.layers, cls)(H, return_sequences=return_sequences),
                                        merge_mode=merge_mode)
    ours.build((None, T, D))
    theirs.build((None, T, D))
    assert ours.count_params() == theirs.count_params()
    weights = [RNG.standard_normal(w.shape).astype(np.float32) * 0.5 for w in ours.get_weights()]
    ours.set_weights(weights)
    theirs.set_weights(weights)
    x = RNG.standard_normal((B, T, D)).astype(np.float32)
    got, expected = ours(x), theirs(x)
    if merge_mode is None:
        got, expected = [g.data for g in got], [keras.ops.convert_to_numpy(e) for e in expected]
    else:
        got, expected = got.data, keras.ops.convert_to_numpy(expected)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)
    inp = Input((T, D))
    out = layers.Bidirectional(getattr(layers, cls)(H, return_sequences=return_sequences), merge_mode=merge_mode)(inp)
    shapes = [o.shape[1:] for o in out] if isinstance(out, list) else [out.shape[1:]]
    assert shapes == [np.shape(g)[1:] for g in (got if merge_mode is None else [got])]


def test_bidirectional_gradients_and_states():
    x = RNG.standard_normal((B, T, D))
    layer = layers.Bidirectional(LSTM(H, return_sequences=True, return_state=True), dtype="float64")
    outs = layer(x)
    assert [o.shape for o in outs] == [(B, T, 2 * H)] + [(B, H)] * 4
    np.testing.assert_array_equal(outs[0].data[:, -1, :H], outs[1].data)  # forward final h
    np.testing.assert_array_equal(outs[0].data[:, 0, H:], outs[3].data)  # backward final h, flipped back
    attrs = [(sub, name) for sub in (layer.forward_layer, layer.backward_layer)
             for name in ("kernel", "recurrent_kernel", "bias")]
    values = [getattr(sub, name).data for sub, name in attrs]

    def run(xx, *ws):  # the layer's call, with gradcheck's tensors in place of its weights
        for (sub, name), w in zip(attrs, ws):
            setattr(sub, name, w)
        outs = layer(xx)
        return outs[0].sum() + (outs[2] * outs[4]).sum()

    gradcheck(run, x, *values)


def test_time_distributed_dense_equals_per_step_dense(keras):
    dense = layers.Dense(2, activation="relu")
    td = layers.TimeDistributed(dense)
    x = RNG.standard_normal((B, T, D)).astype(np.float32)
    y = td(x)
    assert y.shape == (B, T, 2)
    np.testing.assert_allclose(y.data, np.maximum(x @ dense.kernel.data + dense.bias.data, 0), rtol=1e-6)
    theirs = keras.layers.TimeDistributed(keras.layers.Dense(2, activation="relu"))
    theirs.build((None, T, D))
    theirs.set_weights(td.get_weights())
    np.testing.assert_allclose(y.data, keras.ops.convert_to_numpy(theirs(x)), rtol=1e-5, atol=1e-6)
    assert layers.TimeDistributed(layers.Dense(2)).compute_output_shape((None, T, D)) == (None, T, 2)


def test_wrapper_configs_round_trip_and_errors():
    bi = layers.Bidirectional(GRU(3, return_sequences=True), merge_mode="sum")
    again = layers.Bidirectional.from_config(bi.get_config())
    assert again.get_config() == bi.get_config()
    assert again.forward_layer.name.startswith("forward_") and again.backward_layer.go_backwards
    td = layers.TimeDistributed(layers.Dense(4))
    assert layers.TimeDistributed.from_config(td.get_config()).get_config() == td.get_config()
    with pytest.raises(ValueError, match="merge_mode"):
        layers.Bidirectional(LSTM(2), merge_mode="max")
    with pytest.raises(ValueError, match="wraps SimpleRNN, LSTM or GRU"):
        layers.Bidirectional(layers.Dense(2))
