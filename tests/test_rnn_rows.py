"""SimpleRNN's states-as-rows path (ops/rnn_rows.py): float64 gradients across backward chunks, equality with the
general path, inference bits equal to training's, buffers handed between ops, and parity with torch's nn.RNN."""

import numpy as np
import pytest

from neurona import Tensor, gradcheck, no_grad
from neurona.ops import lstm_rows, rnn_rows
from neurona.ops.recurrent import SimpleRNNOp

RNG = np.random.default_rng(17)
B, T, D, H = 3, 7, 2, 3


def _args(t=T, dtype=np.float64):
    x = RNG.standard_normal((B, t, D)).astype(dtype)
    w = (RNG.standard_normal((D, H)) * 0.5).astype(dtype)
    u = (RNG.standard_normal((H, H)) * 0.5).astype(dtype)
    b = (RNG.standard_normal(H) * 0.5).astype(dtype)
    h0 = (RNG.standard_normal((B, H)) * 0.5).astype(dtype)
    return x, w, u, b, h0


@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("go_backwards", [False, True])
def test_rows_gradcheck_across_chunks(monkeypatch, return_sequences, go_backwards):
    monkeypatch.setattr(rnn_rows, "CHUNK", 3)  # 7 steps: chunks of 3, 3 and 1

    def loss(*args):
        op = SimpleRNNOp("tanh", "sigmoid", return_sequences, go_backwards, n_init=1)
        out, h = op(*args)
        assert op.rows
        return (out * out).sum() + (h * 0.3).sum()

    gradcheck(loss, *_args())
    x, w, u, _, _ = _args()
    gradcheck(lambda *a: SimpleRNNOp("tanh", "sigmoid", True, go_backwards)(*a)[0].sum(), x, w, u)  # no bias


def test_rows_path_equals_the_general_path():
    """The rows path (no mask) against the general path (an all-true mask), outputs and every gradient."""
    arrays = _args(t=13)
    results = []
    for mask in (None, np.ones((B, 13), bool)):
        ts = [Tensor(a, requires_grad=True) for a in arrays]
        op = SimpleRNNOp("tanh", "sigmoid", True, False, n_init=1, mask=mask)
        out, h = op(*ts)
        assert op.rows == (mask is None)
        ((out * out).sum() + (h * h).sum()).backward()
        results.append([out.data, h.data] + [t.grad for t in ts])
    for fast, general in zip(*results):
        np.testing.assert_allclose(fast, general, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("small_states", [0, 1 << 18])
@pytest.mark.parametrize("return_sequences", [False, True])
def test_inference_is_bit_identical_to_the_training_forward(monkeypatch, small_states, return_sequences):
    monkeypatch.setattr(rnn_rows, "SMALL_STATES", small_states)
    arrays = _args(t=20, dtype=np.float32)
    got = [o.data for o in SimpleRNNOp("tanh", "sigmoid", return_sequences, True, n_init=1)(
        *[Tensor(a, requires_grad=True) for a in arrays])]
    infer = SimpleRNNOp("tanh", "sigmoid", return_sequences, True, n_init=1)
    with no_grad():
        outs = infer(*[Tensor(a) for a in arrays])
    assert got[0].dtype == np.float32 and infer.hxr is None
    for a, e in zip(got, outs):
        np.testing.assert_array_equal(a, e.data)
    with pytest.raises(RuntimeError, match="no_grad"):  # its states were not kept
        infer.backward(np.ones_like(got[0]), None)


def test_buffers_are_handed_on_and_a_retained_graph_recomputes():
    arrays = _args()
    lstm_rows.clear_pools()
    ta = [Tensor(a, requires_grad=True) for a in arrays]
    out, _ = SimpleRNNOp("tanh", "sigmoid", False, n_init=1)(*ta)
    loss = out.sum()
    loss.backward(retain_graph=True)
    first = [t.grad.copy() for t in ta]
    SimpleRNNOp("tanh", "sigmoid", False, n_init=1)(*[Tensor(a * 3, requires_grad=True) for a in arrays])
    assert len(lstm_rows._POOL) == 0  # the second op holds the first one's buffers
    for t in ta:
        t.grad = None
    loss.backward()
    for a, b_ in zip(first, ta):
        np.testing.assert_array_equal(a, b_.grad)


def test_rows_gradients_equal_torch_rnn():
    torch = pytest.importorskip("torch")
    bsz, t, d, h = 4, 12, 3, 5
    x = RNG.standard_normal((bsz, t, d))
    w, u, b = RNG.standard_normal((d, h)) * 0.5, RNG.standard_normal((h, h)) * 0.5, RNG.standard_normal(h) * 0.5
    g = RNG.standard_normal((bsz, t, h))
    ts = [Tensor(a, requires_grad=True) for a in (x, w, u, b)]
    out, _ = SimpleRNNOp("tanh", "sigmoid", True)(*ts)
    (out * Tensor(g)).sum().backward()
    rnn = torch.nn.RNN(d, h, batch_first=True).double()
    with torch.no_grad():
        rnn.weight_ih_l0.copy_(torch.from_numpy(w.T))
        rnn.weight_hh_l0.copy_(torch.from_numpy(u.T))
        rnn.bias_ih_l0.copy_(torch.from_numpy(b))
        rnn.bias_hh_l0.zero_()
    xt = torch.from_numpy(x).requires_grad_()
    ref, _ = rnn(xt)
    (ref * torch.from_numpy(g)).sum().backward()
    np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=1e-10, atol=1e-12)
    for got, e in zip((t_.grad for t_ in ts), (xt.grad, rnn.weight_ih_l0.grad.T, rnn.weight_hh_l0.grad.T,
                                               rnn.bias_ih_l0.grad)):
        np.testing.assert_allclose(got, e.numpy(), rtol=1e-9, atol=1e-11)
