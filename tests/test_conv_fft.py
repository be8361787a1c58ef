"""The FFT convolution path (ops/conv_fft.py): gradients, agreement with the im2col path, and the shape rule."""

from __future__ import annotations

import numpy as np
import pytest

import neurona as nr
from neurona.ops import conv_fft
from neurona.ops.conv import Conv, conv2d
from neurona.tensor import Tensor


def _conv_layouts(fn):
    """The layouts the Conv ops that `fn()` runs chose (to check which path a case took)."""
    seen = []
    forward = Conv.forward

    def spy(self, *args):
        out = forward(self, *args)
        seen.append(self.layout)
        return out

    Conv.forward = spy
    try:
        fn()
    finally:
        Conv.forward = forward
    return seen


def _run(x, w, b, need_x=True, **kw):
    """Output and gradients (x, w, b) of conv2d for a fixed random output gradient."""
    xt = Tensor(x, requires_grad=need_x)
    wt, bt = Tensor(w, requires_grad=True), None if b is None else Tensor(b, requires_grad=True)
    y = conv2d(xt, wt, bt, **kw)
    gy = np.random.default_rng(1).standard_normal(y.shape).astype(x.dtype)
    y.backward(gy)
    return [y.numpy(), xt.grad if need_x else None, wt.grad, None if b is None else bt.grad]


CASES = [  # (x shape, kernel shape, padding, activation, bias, input gradient)
    ((3, 12, 12, 32), (5, 5, 32, 16), "valid", "relu", True, True),  # the slides' conv2, smaller
    ((2, 9, 7, 8), (3, 4, 8, 5), "valid", None, True, True),  # rectangular image and kernel, odd sizes
    ((2, 8, 8, 8), (3, 3, 8, 4), "same", "relu", False, True),  # 'same': padded, then valid
    ((2, 10, 10, 12), (5, 5, 12, 6), "valid", "tanh", True, False),  # no input gradient wanted
]


@pytest.mark.parametrize("case", CASES)
def test_fft_conv_matches_im2col_to_float32_rounding(case):
    # different arithmetic order (transforms and per-frequency sums), so float32 tolerance, not bit identity
    xs, ws, padding, activation, bias, need_x = case
    rng = np.random.default_rng(0)
    x = rng.standard_normal(xs).astype(np.float32)
    w = (rng.standard_normal(ws) / np.sqrt(np.prod(ws[:3]))).astype(np.float32)
    b = rng.standard_normal(ws[-1]).astype(np.float32) if bias else None
    kw = dict(padding=padding, activation=activation)
    with conv_fft.forced():  # small shapes: the cost rule alone would keep most on im2col
        assert _conv_layouts(lambda: _run(x, w, b, need_x, **kw)) == ["fft"]
        fft = _run(x, w, b, need_x, **kw)
    with conv_fft.disabled():
        assert _conv_layouts(lambda: _run(x, w, b, need_x, **kw)) != ["fft"]
        ref = _run(x, w, b, need_x, **kw)
    for name, got, want in zip(("y", "dx", "dw", "db"), fft, ref):
        if want is None:
            assert got is None, name
            continue
        assert got.dtype == np.float32 and got.shape == want.shape, name
        scale = np.abs(want).max()
        np.testing.assert_allclose(got, want, rtol=0, atol=2e-6 * scale * np.sqrt(np.prod(ws[:3])), err_msg=name)


def test_fft_conv_float64_gradcheck():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 7, 6, 8))
    w = rng.standard_normal((3, 3, 8, 3)) * 0.3
    b = rng.standard_normal(3)
    with conv_fft.forced():
        assert _conv_layouts(lambda: conv2d(x, w, b)) == ["fft"]
        assert nr.gradcheck(lambda a, k, c: conv2d(a, k, c), x, w, b)
        assert nr.gradcheck(lambda a, k: conv2d(a, k, padding="same", activation="tanh"), x, w)


def test_fft_conv_matches_a_plain_numpy_correlation_in_float64():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 9, 8, 8))
    w = rng.standard_normal((4, 3, 8, 5))
    with conv_fft.forced():
        y = conv2d(x, w).numpy()
    want = np.zeros((2, 6, 6, 5))
    for a in range(4):
        for c in range(3):
            want += np.einsum("nijc,cf->nijf", x[:, a:a + 6, c:c + 6], w[a, c])
    assert y.dtype == np.float64
    np.testing.assert_allclose(y, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kw", [
    dict(strides=2), dict(dilation=2), dict(groups=2),
])
def test_rule_keeps_strided_dilated_and_grouped_convs_on_im2col(kw):
    x = np.ones((2, 12, 12, 16), np.float32)
    w = np.ones((3, 3, 16 // kw.get("groups", 1), 8), np.float32)
    assert _conv_layouts(lambda: conv2d(x, w, **kw)) != ["fft"]


def test_rule_from_shapes():
    one = (1, 1)
    assert conv_fft.wanted((100, 12, 12, 32), (5, 5, 32, 64), one, one, 1)  # the slides' conv2
    assert not conv_fft.wanted((100, 28, 28, 1), (5, 5, 1, 32), one, one, 1)  # conv1: one input channel
    assert not conv_fft.wanted((1, 12, 12, 32), (5, 5, 32, 64), one, one, 1)  # one image: the kernel's transforms
    assert conv_fft.wanted((16, 12, 12, 32), (5, 5, 32, 64), one, one, 1)  # dominate; a batch of 16 amortises them
    assert not conv_fft.wanted((100, 12, 12, 32), (1, 1, 32, 64), one, one, 1)  # 1x1 kernel
    assert not conv_fft.wanted((100, 12, 12, 32), (2, 2, 32, 64), one, one, 1)  # below MIN_KERNEL
    assert not conv_fft.wanted((100, 12, 12, 32), (5, 5, 32, 64), (2, 2), one, 1)
    im2col, fft = conv_fft.step_costs((12, 12, 32), (5, 5, 32, 64))
    assert im2col == 3 * 8 * 8 * 25 * 32 * 64 and 2 * fft < im2col  # by the counts
    im2col, fft = conv_fft.step_costs((28, 28, 1), (5, 5, 1, 32))
    assert fft > im2col
    with conv_fft.disabled():
        assert not conv_fft.wanted((100, 12, 12, 32), (5, 5, 32, 64), one, one, 1)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("h,w,size", [(12, 12, (12, 12)), (5, 3, (12, 9)), (8, 7, (11, 7))])
def test_transforms_as_products_match_numpy_fft(h, w, size, dtype):
    a = np.random.default_rng(6).standard_normal((h, w, 3, 4)).astype(dtype)
    spec = conv_fft.spectrum(a, size)
    want = np.fft.rfft2(a, s=size, axes=(0, 1))
    assert spec.dtype == (np.complex64 if dtype == np.float32 else np.complex128)
    tol = 1e-4 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(spec, want, atol=tol * np.abs(want).max())
    back = conv_fft.inverse(want.astype(spec.dtype), size, h - 1, w - 1)
    np.testing.assert_allclose(back, a[: h - 1, : w - 1], atol=tol * np.abs(a).max())
    # the conjugate forms: conj(spectrum) directly, and the inverse of a conjugated spectrum
    conj_spec = conv_fft.spectrum(a, size, conjugate=True)
    np.testing.assert_allclose(conj_spec, np.conj(want), atol=tol * np.abs(want).max())
    back = conv_fft.inverse(conj_spec, size, h, w, conjugate=True)
    np.testing.assert_allclose(back, a, atol=tol * np.abs(a).max())


def test_fft_conv_matches_torch_with_the_same_weights():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    x = rng.standard_normal((3, 12, 12, 32)).astype(np.float32)
    w = (rng.standard_normal((5, 5, 32, 16)) * 0.05).astype(np.float32)
    b = rng.standard_normal(16).astype(np.float32)
    y, dx, dw, db = _run(x, w, b, activation="relu")
    gy = np.random.default_rng(1).standard_normal(y.shape).astype(np.float32)
    xt = torch.tensor(x.transpose(0, 3, 1, 2), requires_grad=True)
    wt = torch.tensor(w.transpose(3, 2, 0, 1), requires_grad=True)
    bt = torch.tensor(b, requires_grad=True)
    yt = torch.relu(torch.nn.functional.conv2d(xt, wt, bt))
    yt.backward(torch.tensor(gy.transpose(0, 3, 1, 2)))
    np.testing.assert_allclose(y, yt.detach().numpy().transpose(0, 2, 3, 1), atol=1e-4)
    np.testing.assert_allclose(dx, xt.grad.numpy().transpose(0, 2, 3, 1), atol=1e-4)
    np.testing.assert_allclose(dw, wt.grad.numpy().transpose(2, 3, 1, 0), atol=1e-3)
    np.testing.assert_allclose(db, bt.grad.numpy(), atol=1e-3)


def test_fft_conv_backward_twice_with_retain_graph():
    rng = np.random.default_rng(7)
    x = Tensor(rng.standard_normal((2, 8, 8, 8)).astype(np.float32), requires_grad=True)
    w = Tensor(rng.standard_normal((3, 3, 8, 4)).astype(np.float32), requires_grad=True)
    with conv_fft.forced():
        y = conv2d(x, w, activation="relu")
        assert _conv_layouts(lambda: conv2d(x, w)) == ["fft"]
        gy = rng.standard_normal(y.shape).astype(np.float32)
        y.backward(gy, retain_graph=True)
        first = x.grad.copy(), w.grad.copy()
        y.backward(gy)  # the spectra were let go after the first backward: made again from the kept input
    np.testing.assert_allclose(x.grad, 2 * first[0], rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(w.grad, 2 * first[1], rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("workers", [None, 2])
def test_fused_predict_takes_the_fft_path_and_matches_eager(workers):
    from neurona import layers, models
    from neurona.ops import conv_parts

    nr.utils.set_random_seed(0)
    model = models.Sequential([layers.Input((12, 12, 8)), layers.Conv2D(6, 5, activation="relu"),
                               layers.MaxPooling2D(2), layers.Flatten(), layers.Dense(3, activation="softmax")])
    x = np.random.default_rng(1).random((230, 12, 12, 8), dtype=np.float32)
    with conv_fft.forced(), nr.no_grad():
        want = model(x).data  # eager: conv (FFT path), relu, pool one after the other
    with conv_fft.forced(), conv_parts.forced_workers(workers):
        layouts = _conv_layouts(lambda: [model.predict(x, batch_size=230, verbose=0) for _ in range(3)])
        got = model.predict(x, batch_size=230, verbose=0)
    plans = [p for p in model._predict_plan()[1]._plans.values() if not isinstance(p, list) and p is not None]
    assert "ConvPool" in [type(f).__name__ for f, _, _ in plans[0].ops]
    assert set(layouts) <= {"fft"}  # the traced calls' convs (the fused op runs none)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_fft_conv_keeps_half_precision_dtypes():
    rng = np.random.default_rng(8)
    x = rng.standard_normal((2, 8, 8, 8)).astype(np.float16)
    w = (rng.standard_normal((3, 3, 8, 4)) * 0.2).astype(np.float16)
    b = np.zeros(4, np.float16)
    with conv_fft.forced():
        got = _run(x, w, b, activation="relu")
    with conv_fft.disabled():
        want = _run(x, w, b, activation="relu")
    for name, a, e in zip(("y", "dx", "dw", "db"), got, want):
        assert a.dtype == e.dtype == np.float16, name
        np.testing.assert_allclose(a.astype(np.float32), e.astype(np.float32), atol=2e-2, err_msg=name)
