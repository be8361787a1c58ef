"""Batch and layer normalisation ops: NumPy formulas, float64 gradient checks, PyTorch where installed."""

import numpy as np
import pytest

import neurona as nr
from neurona.ops.norm import batch_norm, layer_norm

rng = np.random.default_rng(0)


def randn(*shape):
    return rng.standard_normal(shape)


def test_batch_norm_training_normalises_each_channel():
    x = randn(4, 3, 3, 5) * 3 + 2
    gamma, beta = randn(5), randn(5)
    y = batch_norm(x, gamma, beta, training=True, epsilon=1e-3)
    mean, var = x.mean(axis=(0, 1, 2)), x.var(axis=(0, 1, 2))
    np.testing.assert_allclose(y.data, (x - mean) / np.sqrt(var + 1e-3) * gamma + beta, atol=1e-12)


def test_batch_norm_moving_statistics_follow_keras():
    x = randn(8, 4) * 2 + 1
    mm, mv = np.full(4, 0.5), np.full(4, 2.0)
    batch_norm(x, None, None, mm, mv, training=True, momentum=0.9)
    # Keras: moving = moving * momentum + batch * (1 - momentum), with the biased batch variance
    np.testing.assert_allclose(mm, 0.5 * 0.9 + x.mean(0) * 0.1)
    np.testing.assert_allclose(mv, 2.0 * 0.9 + x.var(0) * 0.1)


def test_batch_norm_inference_uses_moving_statistics():
    x, gamma, beta = randn(6, 3), randn(3), randn(3)
    mm, mv = randn(3), rng.uniform(0.5, 2, 3)
    y = batch_norm(x, gamma, beta, mm, mv, training=False)
    np.testing.assert_allclose(y.data, (x - mm) / np.sqrt(mv + 1e-3) * gamma + beta, atol=1e-12)
    before = mm.copy()
    batch_norm(x, gamma, beta, mm, mv, training=False)
    np.testing.assert_array_equal(mm, before)


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("axis,shape", [(-1, (4, 3, 3, 2)), (1, (4, 2, 3, 3)), (-1, (5, 3)), ((1, 3), (3, 2, 2, 3))])
def test_batch_norm_gradcheck(training, axis, shape):
    x = randn(*shape)
    feat = tuple(shape[a] for a in np.atleast_1d(axis))
    gamma, beta = randn(*feat), randn(*feat)
    mm, mv = randn(*feat), rng.uniform(0.5, 2, feat)
    fn = lambda a, g, b: batch_norm(a, g, b, mm.copy(), mv.copy(), training=training, axis=axis)  # noqa: E731
    assert nr.gradcheck(fn, x, gamma, beta)


def test_batch_norm_without_scale_or_center_gradcheck():
    x = randn(6, 4)
    assert nr.gradcheck(lambda a: batch_norm(a, training=True), x)
    assert nr.gradcheck(lambda a, b: batch_norm(a, None, b, training=True), x, randn(4))


def test_layer_norm_formula_and_gradcheck():
    x, gamma, beta = randn(3, 4, 5), randn(5), randn(5)
    y = layer_norm(x, gamma, beta)
    mean, var = x.mean(-1, keepdims=True), x.var(-1, keepdims=True)
    np.testing.assert_allclose(y.data, (x - mean) / np.sqrt(var + 1e-3) * gamma + beta, atol=1e-12)
    assert nr.gradcheck(layer_norm, x, gamma, beta)
    g2, b2 = randn(4, 5), randn(4, 5)
    assert nr.gradcheck(lambda a, g, b: layer_norm(a, g, b, axis=(1, 2)), x, g2, b2)
    assert nr.gradcheck(lambda a: layer_norm(a, axis=1), x)


def test_norm_float32_and_errors():
    x = randn(4, 3).astype(np.float32)
    assert batch_norm(x, training=True).dtype == np.float32
    assert layer_norm(x, np.ones(3, np.float32)).dtype == np.float32
    with pytest.raises(ValueError, match=r"gamma shape \(4,\) does not match the feature shape \(3,\)"):
        batch_norm(x, np.ones(4), training=True)
    with pytest.raises(ValueError, match="moving_mean and moving_var"):
        batch_norm(x, training=False)
    with pytest.raises(ValueError, match="axis 2 is out of range"):
        layer_norm(x, axis=2)


def test_norm_matches_torch():
    torch = pytest.importorskip("torch")
    x, gamma, beta = randn(4, 3, 5, 2), randn(3), randn(3)  # NCHW for torch, axis=1 for us
    r = randn(*x.shape)
    ts = [torch.tensor(a, requires_grad=True) for a in (x, gamma, beta)]
    yt = torch.nn.functional.batch_norm(ts[0], None, None, ts[1], ts[2], training=True, eps=1e-3)
    (yt * torch.tensor(r)).sum().backward()
    ours = [nr.Tensor(a, requires_grad=True) for a in (x, gamma, beta)]
    y = batch_norm(*ours, training=True, axis=1)
    (y * nr.Tensor(r)).sum().backward()
    np.testing.assert_allclose(y.data, yt.detach().numpy(), atol=1e-10)
    for a, t in zip(ours, ts):
        np.testing.assert_allclose(a.grad, t.grad.numpy(), atol=1e-10)

    g2, b2 = randn(5, 2), randn(5, 2)
    ts = [torch.tensor(a, requires_grad=True) for a in (x, g2, b2)]
    yt = torch.nn.functional.layer_norm(ts[0], (5, 2), ts[1], ts[2], eps=1e-3)
    (yt * torch.tensor(r)).sum().backward()
    ours = [nr.Tensor(a, requires_grad=True) for a in (x, g2, b2)]
    y = layer_norm(*ours, axis=(2, 3))
    (y * nr.Tensor(r)).sum().backward()
    np.testing.assert_allclose(y.data, yt.detach().numpy(), atol=1e-10)
    for a, t in zip(ours, ts):
        np.testing.assert_allclose(a.grad, t.grad.numpy(), atol=1e-10)
