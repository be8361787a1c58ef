"""The LSTM's inference path (#18): under no_grad() the rows path keeps one step's gates and, without
return_sequences, two state slabs, and its outputs are bit-identical to the training forward's."""

import numpy as np
import pytest

from neurona import Tensor, no_grad
from neurona.ops import lstm_rows
from neurona.ops.recurrent import LSTMOp

RNG = np.random.default_rng(5)
B, T, D, H = 4, 9, 3, 5


def _arrays():
    x = RNG.standard_normal((B, T, D)).astype(np.float32)
    w = (RNG.standard_normal((D, 4 * H)) * 0.5).astype(np.float32)
    u = (RNG.standard_normal((H, 4 * H)) * 0.5).astype(np.float32)
    b = (RNG.standard_normal(4 * H) * 0.5).astype(np.float32)
    h0 = (RNG.standard_normal((B, H)) * 0.5).astype(np.float32)
    c0 = (RNG.standard_normal((B, H)) * 0.5).astype(np.float32)
    return x, w, u, b, h0, c0


@pytest.mark.parametrize("small_states", [0, 1 << 18])
@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("go_backwards", [False, True])
def test_inference_is_bit_identical_to_the_training_forward(monkeypatch, return_sequences, go_backwards,
                                                            small_states):
    """Two state slabs (x copied per step) or, when they are small, every step's (x placed once): same bits."""
    monkeypatch.setattr(lstm_rows, "SMALL_STATES", small_states)
    lstm_rows.clear_pools()
    arrays = _arrays()
    train = LSTMOp("tanh", "sigmoid", return_sequences, go_backwards, n_init=2)
    got_train = [o.data for o in train(*[Tensor(a, requires_grad=True) for a in arrays])]
    assert train.z.shape[0] == T + 1  # every step's gates kept for backward
    infer = LSTMOp("tanh", "sigmoid", return_sequences, go_backwards, n_init=2)
    with no_grad():
        got_infer = [o.data for o in infer(*[Tensor(a) for a in arrays])]
        again = [o.data.copy() for o in infer(*[Tensor(a) for a in arrays])]  # buffers reused
    ws = lstm_rows._INFER[-1]  # handed back at once: nothing the outputs refer to
    assert infer.z is None and "_ws" not in infer.__dict__
    assert ws["z2"].shape == (2, 5 * H, B)  # one step's gates (and c_prev) only
    assert ("hx2" in ws) == (not return_sequences and not small_states)
    for a, b_, c in zip(got_train, got_infer, again):
        assert a.dtype == np.float32
        np.testing.assert_array_equal(a, b_)
        np.testing.assert_array_equal(a, c)


def test_layer_predict_equals_training_call_bitwise():
    from neurona import layers, models

    x = RNG.standard_normal((6, T, D)).astype(np.float32)
    m = models.Sequential([layers.Input((T, D)), layers.LSTM(H), layers.Dense(2)])
    pred = m.predict(x, verbose=0)
    train_out = m(Tensor(x), training=True).data  # grad enabled: the training forward
    np.testing.assert_array_equal(pred, train_out)


def test_eager_op_hands_its_workspace_to_the_next_op():
    """After backward (release) the buffers serve the next LSTM op: one set of gates held, not two."""
    arrays = _arrays()
    lstm_rows._POOL.clear()
    first = LSTMOp("tanh", "sigmoid", False, n_init=2)
    out, h, c = first(*[Tensor(a, requires_grad=True) for a in arrays])
    z = first.z
    (out.sum() + c.sum()).backward()
    second = LSTMOp("tanh", "sigmoid", False, n_init=2)
    ts = [Tensor(a, requires_grad=True) for a in arrays]
    out2, _, c2 = second(*ts)
    assert second.z is z  # the same buffer
    (out2.sum() + c2.sum()).backward()
    ref = LSTMOp("tanh", "sigmoid", False, n_init=2)  # a fresh workspace gives the same gradients
    lstm_rows._POOL.clear()
    tr = [Tensor(a, requires_grad=True) for a in arrays]
    o3, _, c3 = ref(*tr)
    (o3.sum() + c3.sum()).backward()
    for a, b_ in zip(ts, tr):
        np.testing.assert_array_equal(a.grad, b_.grad)


def test_retained_graph_run_again_after_another_op_recomputes_its_gates():
    arrays = _arrays()
    ta = [Tensor(a, requires_grad=True) for a in arrays]
    out, _, c = LSTMOp("tanh", "sigmoid", False, n_init=2)(*ta)
    loss = out.sum() + c.sum()
    loss.backward(retain_graph=True)
    first = [t.grad.copy() for t in ta]
    other = LSTMOp("tanh", "sigmoid", False, n_init=2)  # takes the buffers the first op handed back
    o2, _, _ = other(*[Tensor(a * 3, requires_grad=True) for a in arrays])
    for t in ta:
        t.grad = None
    loss.backward()  # the first graph again: its gates must be its own, not the other op's
    for a, b_ in zip(first, ta):
        np.testing.assert_array_equal(a, b_.grad)
