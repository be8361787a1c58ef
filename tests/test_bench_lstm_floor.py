"""The hand-written NumPy LSTM floor of the bench (bench/lstm.py `LSTMFloor`): its gradients equal torch's."""

import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `bench/` lives next to `src/`
    sys.path.insert(0, str(ROOT))

from bench.lstm import LSTMFloor  # noqa: E402


@pytest.mark.parametrize("loss", ["softmax", "mse"])
def test_floor_gradients_equal_torch(loss):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    bsz, t, d, h, k = 5, 12, 3, 4, 3  # 12 steps: backward chunks of 2
    x = rng.standard_normal((bsz, t, d))
    y = np.eye(k)[rng.integers(0, k, bsz)] if loss == "softmax" else rng.standard_normal((bsz, k))
    kernel, recurrent = rng.standard_normal((d, 4 * h)) * 0.5, rng.standard_normal((h, 4 * h)) * 0.5
    bias, head, head_bias = rng.standard_normal(4 * h) * 0.5, rng.standard_normal((h, k)), rng.standard_normal(k)
    net = LSTMFloor(d, h, k, lr=0.1, loss=loss, dtype=np.float64)
    net.set_keras_weights(kernel, recurrent, bias, head, head_bias)
    got = net.keras_gradients(net.gradients(x, y))

    lstm, lin = torch.nn.LSTM(d, h, batch_first=True).double(), torch.nn.Linear(h, k).double()
    with torch.no_grad():  # Keras's gates i, f, c, o are torch's i, f, g, o; torch's weights are transposed
        lstm.weight_ih_l0.copy_(torch.from_numpy(kernel.T))
        lstm.weight_hh_l0.copy_(torch.from_numpy(recurrent.T))
        lstm.bias_ih_l0.copy_(torch.from_numpy(bias))
        lstm.bias_hh_l0.zero_()
        lin.weight.copy_(torch.from_numpy(head.T))
        lin.bias.copy_(torch.from_numpy(head_bias))
    out = lin(lstm(torch.from_numpy(x))[0][:, -1])
    yt = torch.from_numpy(y)
    value = (torch.nn.functional.cross_entropy(out, yt.argmax(1)) if loss == "softmax"
             else torch.nn.functional.mse_loss(out, yt))
    value.backward()
    expected = {"kernel": lstm.weight_ih_l0.grad.T, "recurrent_kernel": lstm.weight_hh_l0.grad.T,
                "bias": lstm.bias_ih_l0.grad, "head": lin.weight.grad.T, "head_bias": lin.bias.grad}
    for name, e in expected.items():
        np.testing.assert_allclose(got[name], e.numpy(), rtol=1e-9, atol=1e-12, err_msg=name)
    probs = net.predict(x)
    ref = torch.softmax(out, 1) if loss == "softmax" else out
    np.testing.assert_allclose(probs, ref.detach().numpy(), rtol=1e-10, atol=1e-12)


def test_torch_kernels_lists_the_heaviest_ops_first():
    """bench/lstm.py's torch profile (the evidence that torch eager runs a fused RNN primitive): op names with
    their milliseconds per step, heaviest first."""
    torch = pytest.importorskip("torch")
    from bench.lstm import torch_kernels

    lstm = torch.nn.LSTM(3, 4, batch_first=True)
    x = torch.randn(2, 5, 3)

    def step() -> None:
        lstm(x)[0].sum().backward()

    rows = torch_kernels(step, top=3)
    assert 1 <= len(rows) <= 3
    assert all(isinstance(name, str) and ms >= 0 for name, ms in rows)
    assert [ms for _, ms in rows] == sorted((ms for _, ms in rows), reverse=True)
