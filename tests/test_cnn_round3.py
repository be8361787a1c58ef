"""#18 round three: conv backward in bands, predict's fused conv -> max-pool, traced plans that forget trace arrays."""

from __future__ import annotations

import numpy as np
import pytest

import neurona as nr
from neurona import layers, models
from neurona.ops import conv_parts
from neurona.ops.conv import conv2d
from neurona.ops.conv_fused import ConvPool, fuse_conv_pool
from neurona.ops.pool import max_pool2d


def _settings(**values):
    """Set conv_parts constants for a block (a context manager restoring the old values)."""
    class _Ctx:
        def __enter__(self):
            self.old = {k: getattr(conv_parts, k) for k in values}
            for k, v in values.items():
                setattr(conv_parts, k, v)

        def __exit__(self, *exc):
            for k, v in self.old.items():
                setattr(conv_parts, k, v)

    return _Ctx()


def _conv_grads(shape, kernel, dtype=np.float32, activation="relu", need_x=True, seed=5):
    rng = np.random.default_rng(seed)
    x = nr.Tensor(rng.standard_normal(shape).astype(dtype), requires_grad=need_x)
    w = nr.Tensor((rng.standard_normal(kernel) * 0.2).astype(dtype), requires_grad=True)
    b = nr.Tensor(rng.standard_normal(kernel[-1]).astype(dtype), requires_grad=True)
    y = conv2d(x, w, b, activation=activation)
    (y * nr.Tensor(rng.standard_normal(y.shape).astype(dtype))).sum().backward()
    return y.data, x.grad, w.grad, b.grad


@pytest.mark.parametrize("shape,kernel", [((9, 12, 12, 1), (5, 5, 1, 6)), ((7, 10, 10, 3), (3, 3, 3, 4))])
def test_tap_major_bands_equal_kept_patches(shape, kernel):
    with _settings(KEEP_TAPS=True):
        kept = _conv_grads(shape, kernel)
    with _settings(KEEP_TAPS=False, PATCH_BYTES=200 * 4):  # a few images per band: patches rebuilt in backward
        bands = _conv_grads(shape, kernel)
    with _settings(KEEP_TAPS=True, GRAD_BYTES=16):  # kept patches, the activation gradient image by image
        kept_bands = _conv_grads(shape, kernel)
    np.testing.assert_array_equal(kept_bands[1], kept[1])
    for a, b in zip(kept_bands[2:], kept[2:]):
        np.testing.assert_allclose(a, b, rtol=2e-6, atol=1e-6 * np.abs(b).max())
    np.testing.assert_array_equal(bands[0], kept[0])  # outputs: the same rows of the same products
    np.testing.assert_array_equal(bands[1], kept[1])  # input gradients: each image's own col2im
    for a, b in zip(bands[2:], kept[2:]):  # weight and bias gradients: sums over bands, float32 rounding
        np.testing.assert_allclose(a, b, rtol=2e-6, atol=1e-6 * np.abs(b).max())


def test_first_conv_skips_its_input_gradient_in_bands():
    with _settings(PATCH_BYTES=200 * 4):
        _, gx, gw, gb = _conv_grads((6, 12, 12, 1), (5, 5, 1, 4), need_x=False)
    assert gx is None and gw.shape == (5, 5, 1, 4) and gb.shape == (4,)


@pytest.mark.parametrize("channels", [1, 6])
def test_banded_backward_gradcheck_float64(channels):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((4, 7, 7, channels))
    w = rng.standard_normal((3, 3, channels, 2)) * 0.3
    b = rng.standard_normal(2) * 0.1
    with _settings(PATCH_BYTES=30 * 8, GRAD_BYTES=16):  # one image per band
        assert nr.gradcheck(lambda x_, w_, b_: conv2d(x_, w_, b_, activation="tanh"), x, w, b)
        assert nr.gradcheck(lambda x_, w_, b_: max_pool2d(conv2d(x_, w_, b_, activation="relu"), 2), x, w, b)


@pytest.mark.parametrize("channels", [1, 8])
def test_banded_conv_relu_pool_matches_torch(channels):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(8)
    x = rng.standard_normal((6, 12, 12, channels)).astype(np.float32)
    w = (rng.standard_normal((5, 5, channels, 6)) * 0.2).astype(np.float32)
    b = (rng.standard_normal(6) * 0.1).astype(np.float32)
    r = rng.standard_normal((6, 4, 4, 6)).astype(np.float32)
    X, W, B = (nr.Tensor(a, requires_grad=True) for a in (x, w, b))
    with _settings(PATCH_BYTES=300 * 4):
        y = max_pool2d(conv2d(X, W, B, activation="relu"), 2)
        (y * nr.Tensor(r)).sum().backward()
    ts = [torch.tensor(a, requires_grad=True) for a in (x, w, b)]
    z = torch.nn.functional.conv2d(ts[0].permute(0, 3, 1, 2), ts[1].permute(3, 2, 0, 1), ts[2]).relu()
    yt = torch.nn.functional.max_pool2d(z, 2).permute(0, 2, 3, 1)
    (yt * torch.from_numpy(r)).sum().backward()
    np.testing.assert_allclose(y.data, yt.detach().numpy(), rtol=1e-5, atol=1e-6)
    for got, t in zip((X.grad, W.grad, B.grad), ts):
        np.testing.assert_allclose(got, t.grad.numpy(), rtol=1e-4, atol=1e-5)


# ----------------------------------------------------------------------------- predict: conv -> max-pool fused


def _cnn(input_shape, convs, pool=2, padding="valid", activation="relu", use_bias=True):
    nr.utils.set_random_seed(0)
    stack = [layers.Input(input_shape)]
    for filters in convs:
        stack += [layers.Conv2D(filters, 5, padding=padding, activation=activation, use_bias=use_bias),
                  layers.MaxPooling2D(pool)]
    stack += [layers.Flatten(), layers.Dense(3, activation="softmax")]
    return models.Sequential(stack)


def _plan_ops(model):
    plans = [p for p in model._predict_plan()[1]._plans.values() if not isinstance(p, list) and p is not None]
    return [type(f).__name__ for f, _, _ in plans[0].ops]


@pytest.mark.parametrize("input_shape,convs,kw", [
    ((28, 28, 1), (6, 8), {}),
    ((25, 23, 3), (5,), {"padding": "same"}),  # odd sizes: the pool drops the last row and column
    ((16, 16, 6), (4,), {"use_bias": False, "activation": None}),
    ((20, 20, 2), (4,), {"pool": 3}),
])
@pytest.mark.parametrize("workers", [None, 2])
def test_fused_predict_equals_unfused_forward(input_shape, convs, kw, workers):
    model = _cnn(input_shape, convs, **kw)
    x = np.random.default_rng(1).random((37,) + input_shape, dtype=np.float32)
    with nr.no_grad():
        want = model(x[:10]).data  # eager: conv, relu, pool one after the other
    with conv_parts.forced_workers(workers):
        for _ in range(3):  # traced twice, then the fused plan replays
            got = model.predict(x, batch_size=10, verbose=0)
    assert _plan_ops(model).count("ConvPool") == len(convs)
    np.testing.assert_array_equal(got[:10], want)


def test_no_fusion_when_the_conv_output_has_another_reader_or_a_tanh():
    inp = layers.Input((12, 12, 2))
    h = layers.Conv2D(3, 3, activation="relu")(inp)
    both = layers.Concatenate()([layers.Flatten()(layers.MaxPooling2D(2)(h)), layers.Flatten()(h)])
    model = models.Model(inp, layers.Dense(2)(both))
    x = np.random.default_rng(2).random((8, 12, 12, 2), dtype=np.float32)
    with nr.no_grad():
        want = model(x).data
    for _ in range(3):
        got = model.predict(x, verbose=0)
    assert "ConvPool" not in _plan_ops(model)
    np.testing.assert_array_equal(got, want)
    tanh = _cnn((12, 12, 1), (3,), activation="tanh")
    for _ in range(3):
        tanh.predict(x[..., :1], verbose=0)
    assert "ConvPool" not in _plan_ops(tanh)


def test_fused_op_refuses_backward_and_plans_fuse_once():
    assert fuse_conv_pool(type("P", (), {"ops": [], "outputs": []})()) == 0
    with pytest.raises(RuntimeError, match="inference op"):
        ConvPool(None, None).backward(np.zeros(1))


# ----------------------------------------------------------------------------- memory of replayed training


def test_replayed_fit_keeps_no_trace_arrays_and_matches_eager():
    def fit(jit):
        model = _cnn((12, 12, 1), (4,))
        model.compile(optimizer="sgd", loss="categorical_crossentropy", jit_compile=jit)
        x = np.random.default_rng(0).random((40, 12, 12, 1), dtype=np.float32)
        y = np.eye(3, dtype=np.float32)[np.arange(40) % 3]
        model.fit(x, y, batch_size=10, epochs=2, verbose=0)
        return model

    replayed, eager = fit(True), fit(False)
    for a, b in zip(replayed.weights, eager.weights):
        np.testing.assert_array_equal(a.data, b.data)
    plan = replayed._replay._last
    assert plan is not None and plan.ops
    for f, _, _ in plan.ops:  # the trace's activations: only shape and dtype are left
        assert all(y.strides.count(0) == y.ndim for y in f.outs)
        assert all(x.creator is None or x.data.strides.count(0) == x.data.ndim for x in f.inputs)
