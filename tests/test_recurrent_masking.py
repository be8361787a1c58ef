"""Masks, initial states, stateful layers, recurrent dropout and GRU reset_after=False: gradients, padding
invariance, propagation through models, parity with PyTorch and Keras."""

import numpy as np
import pytest

from neurona import gradcheck, layers
from neurona.layers import GRU, LSTM, Embedding, Input, SimpleRNN
from neurona.models import Model, Sequential
from neurona.ops.recurrent import GRUOp, LSTMOp, SimpleRNNOp
from neurona.ops.recurrent_gru import GRUV1Op

RNG = np.random.default_rng(11)
B, T, D, H = 3, 5, 2, 3
OPS = [(SimpleRNNOp, 1, (H,), 1), (LSTMOp, 4, (4 * H,), 2), (GRUOp, 3, (2, 3 * H), 1), (GRUV1Op, 3, (3 * H,), 1)]
MASK = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [1, 0, 1, 1, 0]], bool)


def _weights(gates, bias_shape):
    return (RNG.standard_normal((D, gates * H)) * 0.5, RNG.standard_normal((H, gates * H)) * 0.5,
            RNG.standard_normal(bias_shape) * 0.5)


# ------------------------------------------------------------------------------------------------ gradients
@pytest.mark.parametrize("op,gates,bias_shape,n_states", OPS, ids=lambda v: getattr(v, "__name__", ""))
@pytest.mark.parametrize("return_sequences,go_backwards,zero_out", [(True, False, False), (True, True, True),
                                                                     (False, True, False)])
def test_masked_op_gradcheck_with_initial_states_and_recurrent_dropout(op, gates, bias_shape, n_states,
                                                                       return_sequences, go_backwards, zero_out):
    x = RNG.standard_normal((B, T, D))
    w, u, b = _weights(gates, bias_shape)
    init = [RNG.standard_normal((B, H)) * 0.5 for _ in range(n_states)]
    dmask = (RNG.random((B, H)) > 0.3) / 0.7

    def every_output(*args):
        outs = op("tanh", "sigmoid", return_sequences, go_backwards, n_init=n_states, mask=MASK,
                  dropout_mask=dmask, zero_output_for_mask=zero_out)(*args)
        total = (outs[0] * np.linspace(0.5, 1.5, outs[0].size).reshape(outs[0].shape)).sum()
        for s in outs[1:]:
            total = total + (s * 0.7).sum()
        return total

    gradcheck(every_output, x, w, u, b, *init)


def test_gru_reset_after_false_gradcheck_plain():
    x = RNG.standard_normal((B, T, D))
    w, u, b = _weights(3, (3 * H,))
    gradcheck(lambda *a: GRUV1Op("tanh", "sigmoid", True)(*a)[0], x, w, u, b)
    gradcheck(lambda *a: GRUV1Op("relu", "sigmoid", False, True)(*a)[0], x, w, u)


# -------------------------------------------------------------------------------------- padding invariance
@pytest.mark.parametrize("cls", ["SimpleRNN", "LSTM", "GRU"])
@pytest.mark.parametrize("go_backwards", [False, True])
def test_padded_steps_change_nothing_in_sequential(cls, go_backwards):
    model = Sequential([Input((None,), dtype="int64"), Embedding(10, 4, mask_zero=True),
                        getattr(layers, cls)(H, go_backwards=go_backwards), layers.Dense(2)])
    short = np.array([[3, 1, 4]])
    padded = np.array([[3, 1, 4, 0, 0, 0]])
    np.testing.assert_allclose(model.predict(padded, verbose=0), model.predict(short, verbose=0), rtol=1e-5,
                               atol=1e-6)


def test_masking_layer_bidirectional_and_pooling_in_a_functional_model():
    inp = Input((None, 2))
    x = layers.Masking(0.0)(inp)
    seq = layers.Bidirectional(LSTM(H, return_sequences=True))(x)
    pooled = layers.GlobalAveragePooling1D()(seq)
    peak = layers.GlobalMaxPooling1D()(seq)
    model = Model(inp, layers.Concatenate()([pooled, peak]))
    data = RNG.standard_normal((2, 4, 2)).astype(np.float32)
    padded = np.concatenate([data, np.zeros((2, 2, 2), np.float32)], axis=1)
    np.testing.assert_allclose(model.predict(padded, verbose=0), model.predict(data, verbose=0),
                               rtol=1e-5, atol=1e-6)


def test_masked_loss_averages_over_real_steps_only():
    model = Sequential([Input((5,), dtype="int64"), Embedding(8, 3, mask_zero=True),
                        LSTM(4, return_sequences=True), layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    ids = np.array([[1, 2, 3, 0, 0], [4, 5, 6, 7, 1]])
    y = RNG.standard_normal((2, 5, 1)).astype(np.float32)
    pred = model.predict(ids, verbose=0)
    keep = ids != 0
    expected = ((pred[..., 0] - y[..., 0]) ** 2)[keep].mean()
    assert model.evaluate(ids, y, verbose=0) == pytest.approx(expected, rel=1e-5)
    y2 = y.copy()
    y2[0, 3:] = 100.0  # targets at padded steps are ignored
    assert model.evaluate(ids, y2, verbose=0) == pytest.approx(expected, rel=1e-5)


def test_masked_fused_softmax_loss_ignores_padding():
    model = Sequential([Input((4,), dtype="int64"), Embedding(6, 3, mask_zero=True),
                        GRU(4, return_sequences=True), layers.Dense(3, activation="softmax")])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    ids = np.array([[1, 2, 0, 0], [3, 4, 5, 1]])
    y = np.array([[0, 1, 2, 2], [1, 1, 0, 2]])
    p = model.predict(ids, verbose=0)
    nll = -np.log(np.take_along_axis(p, y[..., None], -1)[..., 0])
    assert model.evaluate(ids, y, verbose=0) == pytest.approx(nll[ids != 0].mean(), rel=1e-5)


# --------------------------------------------------------------------------------- states and the layer API
@pytest.mark.parametrize("cls", [SimpleRNN, LSTM, GRU])
def test_stateful_two_halves_equal_one_pass_and_reset(cls):
    x = RNG.standard_normal((2, 6, D)).astype(np.float32)
    whole = cls(H, return_sequences=True)
    whole.build((None, 6, D))
    stateful = cls(H, return_sequences=True, stateful=True)
    stateful.build((None, 3, D))
    stateful.set_weights(whole.get_weights())
    halves = np.concatenate([stateful(x[:, :3]).data, stateful(x[:, 3:]).data], axis=1)
    np.testing.assert_allclose(halves, whole(x).data, rtol=1e-5, atol=1e-6)
    stateful.reset_states()
    np.testing.assert_allclose(stateful(x[:, 3:]).data, whole(x[:, 3:]).data, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="stateful with a batch of 2"):
        stateful(x[:1, :3])
    with pytest.raises(AttributeError, match="not stateful"):
        whole.reset_states()


@pytest.mark.parametrize("cls", [SimpleRNN, LSTM, GRU])
def test_initial_state_feeds_the_recurrence_in_the_functional_api(cls):
    n = 2 if cls is LSTM else 1
    enc_in, dec_in = Input((T, D)), Input((4, D))
    outs = cls(H, return_state=True)(enc_in)
    dec = cls(H, return_sequences=True)(dec_in, initial_state=outs[1:])
    model = Model([enc_in, dec_in], dec)
    a, b = RNG.standard_normal((2, T, D)).astype(np.float32), RNG.standard_normal((2, 4, D)).astype(np.float32)
    got = model.predict([a, b], verbose=0)
    enc, dec_layer = model.layers[2], model.layers[3]
    states = enc(a)[1:]
    assert len(states) == n
    np.testing.assert_allclose(got, dec_layer(b, initial_state=states).data, rtol=1e-5, atol=1e-6)
    assert not np.allclose(got, dec_layer(b).data, atol=1e-3)


def test_recurrent_dropout_is_random_in_training_only():
    layer = LSTM(8, dropout=0.3, recurrent_dropout=0.5, seed=1)
    x = RNG.standard_normal((4, 6, D)).astype(np.float32)
    a, b = layer(x, training=True).data, layer(x, training=True).data
    assert not np.allclose(a, b)
    np.testing.assert_array_equal(layer(x).data, layer(x).data)
    config = layer.get_config()
    assert (config["dropout"], config["recurrent_dropout"]) == (0.3, 0.5)
    with pytest.raises(ValueError, match="recurrent_dropout must be in"):
        GRU(3, recurrent_dropout=1.5)


def test_mask_and_state_errors_name_the_layer_and_shapes():
    layer = LSTM(H, name="enc")
    x = np.zeros((2, 4, D), np.float32)
    with pytest.raises(ValueError, match=r"enc.*\(2, 4\).*got a mask of shape \(2, 3\)"):
        layer(x, mask=np.ones((2, 3), bool))
    with pytest.raises(ValueError, match=r"enc.*2 state\(s\), got 1"):
        layer(x, initial_state=[np.zeros((2, H))])
    with pytest.raises(ValueError, match=r"enc.*initial state 0 must have shape \(batch, units\) = \(2, 3\)"):
        layer(x, initial_state=[np.zeros((2, 5)), np.zeros((2, H))])


def test_output_masks_follow_keras():
    ids = np.array([[1, 2, 0]])
    emb = Embedding(4, 2, mask_zero=True)
    e = emb(ids)
    np.testing.assert_array_equal(e._keras_mask, [[True, True, False]])
    seq = LSTM(2, return_sequences=True)(e)
    np.testing.assert_array_equal(seq._keras_mask, [[True, True, False]])
    assert getattr(LSTM(2)(e), "_keras_mask", None) is None
    assert Embedding(4, 2).compute_mask(ids) is None


# ----------------------------------------------------------------------------------------------- the peers
def _set_pair(ours, theirs, shape):
    ours.build(shape)
    theirs.build(shape)
    weights = [RNG.standard_normal(w.shape).astype(np.float32) * 0.5 for w in ours.get_weights()]
    ours.set_weights(weights)
    theirs.set_weights(weights)


@pytest.mark.parametrize("cls,kwargs", [("LSTM", {}), ("GRU", {}), ("SimpleRNN", {}), ("GRU", {"reset_after": False}),
                                        ("LSTM", {"go_backwards": True}), ("GRU", {"go_backwards": True})])
def test_masked_outputs_and_initial_states_equal_keras(keras, cls, kwargs):
    ours = getattr(layers, cls)(H, return_sequences=True, return_state=True, **kwargs)
    theirs = getattr(keras.layers, cls)(H, return_sequences=True, return_state=True, **kwargs)
    _set_pair(ours, theirs, (None, T, D))
    x = RNG.standard_normal((B, T, D)).astype(np.float32)
    init = [RNG.standard_normal((B, H)).astype(np.float32) for _ in range(2 if cls == "LSTM" else 1)]
    got = ours(x, mask=MASK, initial_state=init)
    expected = theirs(x, mask=MASK, initial_state=init)
    for g, e in zip(got, expected):
        np.testing.assert_allclose(g.data, keras.ops.convert_to_numpy(e), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("merge_mode", ["concat", "sum", "mul", "ave"])
def test_masked_bidirectional_equals_keras(keras, merge_mode):
    ours = layers.Bidirectional(LSTM(H, return_sequences=True), merge_mode=merge_mode)
    theirs = keras.layers.Bidirectional(keras.layers.LSTM(H, return_sequences=True), merge_mode=merge_mode)
    _set_pair(ours, theirs, (None, T, D))
    x = RNG.standard_normal((B, T, D)).astype(np.float32)
    np.testing.assert_allclose(ours(x, mask=MASK).data, keras.ops.convert_to_numpy(theirs(x, mask=MASK)),
                               rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("merge_mode", ["concat", "mul", "ave", "sum"])
def test_masked_bidirectional_gradcheck(merge_mode):
    layer = layers.Bidirectional(GRU(H, return_sequences=True), merge_mode=merge_mode, dtype="float64")
    layer.build((None, T, D))
    gradcheck(lambda xx: (layer(xx, mask=MASK) ** 2).sum(), RNG.standard_normal((B, T, D)))


def test_lstm_and_gru_equal_torch():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    x = RNG.standard_normal((B, T, D))
    lstm = torch.nn.LSTM(D, H, batch_first=True).double()
    sd = {k: v.detach().numpy() for k, v in lstm.state_dict().items()}
    ours = LSTM(H, return_sequences=True, dtype="float64")
    ours.build((None, T, D))
    ours.set_weights([sd["weight_ih_l0"].T, sd["weight_hh_l0"].T, sd["bias_ih_l0"] + sd["bias_hh_l0"]])
    with torch.no_grad():
        ref = lstm(torch.from_numpy(x))[0].numpy()
    np.testing.assert_allclose(ours(x).data, ref, atol=1e-12)

    gru = torch.nn.GRU(D, H, batch_first=True).double()
    sd = {k: v.detach().numpy() for k, v in gru.state_dict().items()}

    def keras_order(m):  # torch stacks gates r, z, n; Keras z, r, h
        r, z, n = np.split(m, 3, axis=0)
        return np.concatenate([z, r, n], axis=0)

    ours = GRU(H, return_sequences=True, dtype="float64")
    ours.build((None, T, D))
    ours.set_weights([keras_order(sd["weight_ih_l0"]).T, keras_order(sd["weight_hh_l0"]).T,
                      np.stack([keras_order(sd["bias_ih_l0"]), keras_order(sd["bias_hh_l0"])])])
    with torch.no_grad():
        ref = gru(torch.from_numpy(x))[0].numpy()
    np.testing.assert_allclose(ours(x).data, ref, atol=1e-12)


# ----------------------------------------------------------------------------------------------- ConvLSTM2D
def test_conv_lstm2d_gradcheck_with_mask_and_backwards():
    layer = layers.ConvLSTM2D(2, 3, padding="same", return_sequences=True, go_backwards=True, dtype="float64")
    x = RNG.standard_normal((2, 3, 4, 4, 1))
    layer.build((None, 3, 4, 4, 1))
    mask = np.array([[1, 1, 0], [1, 1, 1]], bool)
    weights = (layer.kernel.data.copy(), layer.recurrent_kernel.data.copy(), layer.bias.data.copy())

    def loss(xx, k, r, b):  # the weights as gradcheck's tensors, so their gradients are checked too
        layer.kernel, layer.recurrent_kernel, layer.bias = k, r, b
        return (layer.call(xx, mask=mask) ** 2).sum()

    gradcheck(loss, x, *weights)


@pytest.mark.parametrize("kwargs", [{"padding": "same", "return_sequences": True}, {"strides": 2},
                                    {"return_state": True, "go_backwards": True}])
def test_conv_lstm2d_equals_keras(keras, kwargs):
    ours = layers.ConvLSTM2D(3, (3, 3), **kwargs)
    theirs = keras.layers.ConvLSTM2D(3, (3, 3), **kwargs)
    _set_pair(ours, theirs, (None, 4, 7, 7, 2))
    x = RNG.standard_normal((2, 4, 7, 7, 2)).astype(np.float32)
    got, expected = ours(x), theirs(x)
    got, expected = (got, expected) if isinstance(got, list) else ([got], [expected])
    assert [g.shape for g in got] == [tuple(s) for s in _listify(ours.compute_output_shape((2, 4, 7, 7, 2)))]
    for g, e in zip(got, expected):
        np.testing.assert_allclose(g.data, keras.ops.convert_to_numpy(e), rtol=1e-4, atol=1e-5)


def _listify(shape):
    return shape if isinstance(shape, list) else [shape]


def test_explicit_mask_reaches_layers_that_take_it_and_passes_through_others():
    x = RNG.standard_normal((2, 4, 3)).astype(np.float32)
    mask = np.array([[1, 1, 0, 0], [1, 1, 1, 1]], bool)
    dense = layers.Dense(3)
    y = dense(x, mask=mask)  # Dense supports masking: the mask is passed on
    np.testing.assert_array_equal(y._keras_mask, mask)
    pooled = layers.GlobalAveragePooling1D()(x, mask=mask)
    np.testing.assert_allclose(pooled.data[0], x[0, :2].mean(axis=0), rtol=1e-6)
    assert getattr(layers.Flatten()(y), "_keras_mask", None) is None  # Flatten does not support masking
    with pytest.raises(ValueError, match=r"global_average_pooling1d.*got a mask of shape \(2, 3\)"):
        layers.GlobalAveragePooling1D(name="global_average_pooling1d_x")(x, mask=mask[:, :3])
