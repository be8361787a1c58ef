"""The LSTM's gates-as-rows hot path (ops/lstm_rows.py): float64 gradients across backward chunks, equality
with the general path, workspace reuse across replayed calls. (Parity with torch's nn.LSTM: the parametrized
test in tests/test_recurrent_rows.py, with nn.RNN's and nn.GRU's.)"""

import numpy as np
import pytest

from neurona import gradcheck
from neurona.ops import lstm_rows
from neurona.ops.recurrent import LSTMOp

RNG = np.random.default_rng(11)
B, T, D, H = 3, 7, 2, 3


def _args(t=T, dtype=np.float64):
    x = RNG.standard_normal((B, t, D)).astype(dtype)
    w = (RNG.standard_normal((D, 4 * H)) * 0.5).astype(dtype)
    u = (RNG.standard_normal((H, 4 * H)) * 0.5).astype(dtype)
    b = (RNG.standard_normal(4 * H) * 0.5).astype(dtype)
    h0 = (RNG.standard_normal((B, H)) * 0.5).astype(dtype)
    c0 = (RNG.standard_normal((B, H)) * 0.5).astype(dtype)
    return x, w, u, b, h0, c0


@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("go_backwards", [False, True])
def test_rows_gradcheck_across_chunks(monkeypatch, return_sequences, go_backwards):
    monkeypatch.setattr(lstm_rows, "CHUNK", 3)  # 7 steps: chunks of 3, 3 and 1

    def loss(*args):
        out, h, c = LSTMOp("tanh", "sigmoid", return_sequences, go_backwards, n_init=2)(*args)
        return (out * out).sum() + (h * 0.3).sum() + (c * 0.7).sum()

    gradcheck(loss, *_args())


def test_rows_path_equals_the_general_path(monkeypatch):
    """The rows path (no mask) against the general path (an all-true mask), outputs and every gradient."""
    monkeypatch.setattr(lstm_rows, "CHUNK", 4)
    from neurona import Tensor

    arrays = _args(t=13)
    results = []
    for mask in (None, np.ones((B, 13), bool)):
        ts = [Tensor(a, requires_grad=True) for a in arrays]
        op = LSTMOp("tanh", "sigmoid", True, False, n_init=2, mask=mask)
        out, h, c = op(*ts)
        assert op.rows == (mask is None)
        ((out * out).sum() + (h * c).sum()).backward()
        results.append([out.data, h.data, c.data] + [t.grad for t in ts])
    for fast, general in zip(*results):
        np.testing.assert_allclose(fast, general, rtol=1e-12, atol=1e-12)


def test_workspace_is_reused_and_outputs_do_not_alias_it():
    x, w, u, b, h0, c0 = _args(dtype=np.float32)
    op = LSTMOp("tanh", "sigmoid", True)
    first = [o.copy() for o in op.forward(x, w, u, b)]
    z = op._ws["z"]
    outs = op.forward(x * 2, w, u, b)  # a replayed op: the same object, new inputs
    assert op._ws["z"] is z
    again = op.forward(x, w, u, b)
    for a, e in zip(again, first):
        np.testing.assert_array_equal(a, e)
    assert not any(np.shares_memory(o, z) or np.shares_memory(o, op._ws["hx"]) for o in outs)
