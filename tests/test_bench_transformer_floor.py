"""The hand-written NumPy transformer floor of the bench (bench/transformer_floor.py): its gradients equal torch's."""

import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `bench/` lives next to `src/`
    sys.path.insert(0, str(ROOT))

from bench.transformer_floor import TransformerFloor  # noqa: E402


def _torch_model(torch, net):
    """torch's TransformerEncoderLayer stack + mean + Linear carrying the floor's weights (transposed)."""
    layer = torch.nn.TransformerEncoderLayer(net.d, net.h, net.ff, dropout=0.0, batch_first=True)
    encoder = torch.nn.TransformerEncoder(layer, len(net.blocks), enable_nested_tensor=False).double()
    head = torch.nn.Linear(net.d, net.v.shape[1]).double()
    with torch.no_grad():
        for mod, p in zip(encoder.layers, net.blocks):
            pairs = ((mod.self_attn.in_proj_weight, p["wqkv"].T), (mod.self_attn.in_proj_bias, p["bqkv"]),
                     (mod.self_attn.out_proj.weight, p["wo"].T), (mod.self_attn.out_proj.bias, p["bo"]),
                     (mod.norm1.weight, p["g1"]), (mod.norm1.bias, p["be1"]), (mod.linear1.weight, p["w1"].T),
                     (mod.linear1.bias, p["b1"]), (mod.linear2.weight, p["w2"].T), (mod.linear2.bias, p["b2"]),
                     (mod.norm2.weight, p["g2"]), (mod.norm2.bias, p["be2"]))
            for t, a in pairs:
                t.copy_(torch.from_numpy(np.ascontiguousarray(a)))
        head.weight.copy_(torch.from_numpy(np.ascontiguousarray(net.v.T)))
        head.bias.copy_(torch.from_numpy(net.c))
    return encoder, head


@pytest.mark.parametrize("loss", ["softmax", "mse"])
def test_floor_gradients_equal_torch(loss):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    bsz, t, d, heads, ff, k = 3, 7, 8, 2, 12, 4
    net = TransformerFloor(d, heads, ff, 2, k, lr=0.1, loss=loss, dtype=np.float64, seed=1)
    for p in net.blocks:  # non-trivial biases and LayerNorm parameters, and large scores (the row-max path)
        for name in ("bqkv", "bo", "b1", "b2", "be1", "be2"):
            p[name][...] = rng.standard_normal(p[name].shape) * 0.3
        for name in ("g1", "g2"):
            p[name][...] = 1 + rng.standard_normal(d) * 0.3
    net.c[...] = rng.standard_normal(k)
    x = rng.standard_normal((bsz, t, d)) * 3
    y = np.eye(k)[rng.integers(0, k, bsz)] if loss == "softmax" else rng.standard_normal((bsz, k))
    grads, head = net.gradients(x, y)

    encoder, lin = _torch_model(torch, net)
    out = lin(encoder(torch.from_numpy(x)).mean(dim=1))
    yt = torch.from_numpy(y)
    value = (torch.nn.functional.cross_entropy(out, yt.argmax(1)) if loss == "softmax"
             else torch.nn.functional.mse_loss(out, yt))
    value.backward()
    for mod, gb in zip(encoder.layers, grads):
        expected = {"wqkv": mod.self_attn.in_proj_weight.grad.T, "bqkv": mod.self_attn.in_proj_bias.grad,
                    "wo": mod.self_attn.out_proj.weight.grad.T, "bo": mod.self_attn.out_proj.bias.grad,
                    "g1": mod.norm1.weight.grad, "be1": mod.norm1.bias.grad, "w1": mod.linear1.weight.grad.T,
                    "b1": mod.linear1.bias.grad, "w2": mod.linear2.weight.grad.T, "b2": mod.linear2.bias.grad,
                    "g2": mod.norm2.weight.grad, "be2": mod.norm2.bias.grad}
        for name, e in expected.items():
            np.testing.assert_allclose(gb[name], e.numpy(), rtol=1e-9, atol=1e-12, err_msg=name)
    np.testing.assert_allclose(head["v"], lin.weight.grad.T.numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(head["c"], lin.bias.grad.numpy(), rtol=1e-9, atol=1e-12)
    ref = torch.softmax(out, 1) if loss == "softmax" else out
    np.testing.assert_allclose(net.predict(x), ref.detach().numpy(), rtol=1e-10, atol=1e-12)


def test_floor_step_lowers_the_loss_in_float32():
    rng = np.random.default_rng(0)
    net = TransformerFloor(16, 4, 32, 2, 3, lr=0.05)
    x = rng.random((8, 10, 16), dtype=np.float32)
    y = np.eye(3, dtype=np.float32)[rng.integers(0, 3, 8)]

    def loss() -> float:
        return float(-(y * np.log(net.predict(x))).sum(axis=1).mean())

    before = loss()
    for _ in range(20):
        net.step(x, y)
    assert net.predict(x).dtype == np.float32
    assert loss() < before
