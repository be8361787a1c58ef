"""SimpleRNN's and the GRU's states-as-rows paths (ops/rnn_rows.py, ops/gru_rows.py), one set of tests for both:
float64 gradients across backward chunks, equality with the general path, inference bits equal to training's,
buffers handed between ops, and parity with torch's nn.RNN, nn.GRU and (for the LSTM too) nn.LSTM. (The LSTM's
other tests: tests/test_lstm_rows.py.)"""

import numpy as np
import pytest

from neurona import Tensor, gradcheck, no_grad
from neurona.ops import gru_rows, lstm_rows, rnn_rows
from neurona.ops.recurrent import GRUOp, LSTMOp, SimpleRNNOp

RNG = np.random.default_rng(17)
B, T, D, H = 3, 7, 2, 3

# kind -> (the rows module, the op, gate blocks in the kernels, the bias's shape, what a training forward keeps)
KINDS = {
    "rnn": (rnn_rows, SimpleRNNOp, 1, (H,), lambda op: op.hxr),
    "gru": (gru_rows, GRUOp, 3, (2, 3 * H), lambda op: op.g),
}


def _args(kind, t=T, dtype=np.float64):
    _, _, gates, bias, _ = KINDS[kind]
    x = RNG.standard_normal((B, t, D)).astype(dtype)
    w = (RNG.standard_normal((D, gates * H)) * 0.5).astype(dtype)
    u = (RNG.standard_normal((H, gates * H)) * 0.5).astype(dtype)
    b = (RNG.standard_normal(bias) * 0.5).astype(dtype)
    h0 = (RNG.standard_normal((B, H)) * 0.5).astype(dtype)
    return x, w, u, b, h0


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("go_backwards", [False, True])
def test_rows_gradcheck_across_chunks(monkeypatch, kind, return_sequences, go_backwards):
    rows, op_class = KINDS[kind][:2]
    monkeypatch.setattr(rows, "CHUNK", 3)  # 7 steps: chunks of 3, 3 and 1

    def loss(*args):
        op = op_class("tanh", "sigmoid", return_sequences, go_backwards, n_init=1)
        out, h = op(*args)
        assert op.rows
        return (out * out).sum() + (h * 0.3).sum()

    gradcheck(loss, *_args(kind))
    x, w, u, _, _ = _args(kind)
    gradcheck(lambda *a: op_class("tanh", "sigmoid", True, go_backwards)(*a)[0].sum(), x, w, u)  # no bias


@pytest.mark.parametrize("kind", KINDS)
def test_rows_path_equals_the_general_path(kind):
    """The rows path (no mask) against the general path (an all-true mask), outputs and every gradient."""
    op_class = KINDS[kind][1]
    arrays = _args(kind, t=13)
    results = []
    for mask in (None, np.ones((B, 13), bool)):
        ts = [Tensor(a, requires_grad=True) for a in arrays]
        op = op_class("tanh", "sigmoid", True, False, n_init=1, mask=mask)
        out, h = op(*ts)
        assert op.rows == (mask is None)
        ((out * out).sum() + (h * h).sum()).backward()
        results.append([out.data, h.data] + [t.grad for t in ts])
    for fast, general in zip(*results):
        np.testing.assert_allclose(fast, general, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("small_states", [0, 1 << 18])
@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("go_backwards", [False, True])
def test_inference_is_bit_identical_to_the_training_forward(monkeypatch, kind, small_states, return_sequences,
                                                            go_backwards):
    """no_grad keeps one step's states (and two state slabs when every step's would be big): the same bits."""
    rows, op_class, _, _, kept = KINDS[kind]
    monkeypatch.setattr(rows, "SMALL_STATES", small_states)
    arrays = _args(kind, t=20, dtype=np.float32)
    train = op_class("tanh", "sigmoid", return_sequences, go_backwards, n_init=1)
    got = [o.data for o in train(*[Tensor(a, requires_grad=True) for a in arrays])]
    infer = op_class("tanh", "sigmoid", return_sequences, go_backwards, n_init=1)
    with no_grad():
        outs = infer(*[Tensor(a) for a in arrays])
    assert infer.rows and kept(infer) is None
    assert got[0].dtype == np.float32
    for a, e in zip(got, outs):
        np.testing.assert_array_equal(a, e.data)
    with pytest.raises(RuntimeError, match="no_grad"):  # its states were not kept
        infer.backward(np.ones_like(got[0]), None)


@pytest.mark.parametrize("kind", KINDS)
def test_buffers_are_handed_on_and_a_retained_graph_recomputes(kind):
    op_class = KINDS[kind][1]
    arrays = _args(kind)
    lstm_rows.clear_pools()
    ta = [Tensor(a, requires_grad=True) for a in arrays]
    out, _ = op_class("tanh", "sigmoid", False, n_init=1)(*ta)
    loss = out.sum()
    loss.backward(retain_graph=True)
    first = [t.grad.copy() for t in ta]
    other = op_class("tanh", "sigmoid", False, n_init=1)
    other(*[Tensor(a * 3, requires_grad=True) for a in arrays])  # takes the buffers the first op handed back
    assert len(lstm_rows._POOL) == 0
    for t in ta:
        t.grad = None
    loss.backward()  # the first graph again: its states must be its own, not the other op's
    for a, b_ in zip(first, ta):
        np.testing.assert_array_equal(a, b_.grad)


# kind -> (the op, torch's module name, gate blocks, the bias's shape, torch's gate order as Keras's columns);
# Keras's LSTM gates i, f, c, o are torch's i, f, g, o; its GRU gates z, r, h are torch's r, z, n reordered
TORCH = {
    "rnn": (SimpleRNNOp, "RNN", 1, lambda h: (h,), lambda h: np.arange(h)),
    "gru": (GRUOp, "GRU", 3, lambda h: (2, 3 * h), lambda h: np.r_[h:2 * h, 0:h, 2 * h:3 * h]),
    "lstm": (LSTMOp, "LSTM", 4, lambda h: (4 * h,), lambda h: np.arange(4 * h)),
}


@pytest.mark.parametrize("kind", TORCH)
def test_rows_gradients_equal_torch(kind):
    torch = pytest.importorskip("torch")
    op, module, gates, bias, order = TORCH[kind]
    bsz, t, d, h = 4, 12, 3, 5
    x = RNG.standard_normal((bsz, t, d))
    w, u = RNG.standard_normal((d, gates * h)) * 0.5, RNG.standard_normal((h, gates * h)) * 0.5
    b = RNG.standard_normal(bias(h)) * 0.5
    g = RNG.standard_normal((bsz, t, h))
    ts = [Tensor(a, requires_grad=True) for a in (x, w, u, b)]
    out = op("tanh", "sigmoid", True)(*ts)[0]
    (out * Tensor(g)).sum().backward()
    net = getattr(torch.nn, module)(d, h, batch_first=True).double()
    perm = order(h)
    # torch's weights are transposed; its two biases add (one Keras bias: torch's second is zero)
    b_ih, b_hh = (b[0, perm], b[1, perm]) if b.ndim == 2 else (b[perm], np.zeros_like(b))
    with torch.no_grad():
        net.weight_ih_l0.copy_(torch.from_numpy(w[:, perm].T))
        net.weight_hh_l0.copy_(torch.from_numpy(u[:, perm].T))
        net.bias_ih_l0.copy_(torch.from_numpy(b_ih))
        net.bias_hh_l0.copy_(torch.from_numpy(b_hh))
    xt = torch.from_numpy(x).requires_grad_()
    ref = net(xt)[0]
    (ref * torch.from_numpy(g)).sum().backward()
    np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=1e-10, atol=1e-12)
    inv = np.argsort(perm)
    gb_ih, gb_hh = net.bias_ih_l0.grad.numpy()[inv], net.bias_hh_l0.grad.numpy()[inv]
    expected = (xt.grad.numpy(), net.weight_ih_l0.grad.numpy().T[:, inv], net.weight_hh_l0.grad.numpy().T[:, inv],
                np.stack([gb_ih, gb_hh]) if b.ndim == 2 else gb_ih)
    for got, e in zip((t_.grad for t_ in ts), expected):
        np.testing.assert_allclose(got, e, rtol=1e-9, atol=1e-11)
