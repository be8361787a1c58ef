"""Convolutions, round five (#18): what the training step keeps between its forward and backward, and when it lets go.

- `ReluMaxPool` keeps a uint8 code per window (which position holds the first maximum) instead of the conv's output;
- a conv without a fused activation keeps no output;
- a replayed plan's ops forget the last call's saved state before the call allocates (`Plan._drops`);
- the relu-after-pool rewrite empties the pool of the traced calls' idle buffers;
- the FFT path's bands: the nearest count of near-equal bands.
The numbers themselves are pinned by tests/test_conv_pool_train.py (fit bit for bit with and without the rewrite),
tests/test_conv_fft.py and tests/test_parallel_step.py.
"""

import importlib

import numpy as np
import pytest

import neurona as nr
from neurona import layers, models
from neurona.layers.base import clear_session
from neurona.models.parallel import two_halves
from neurona.ops import conv_fft
from neurona.ops.conv import activate, activation_grad
from neurona.ops.conv_pool_train import ReluMaxPool
from neurona.ops.patches import SCRATCH
from neurona.ops.pool import Pool
from neurona.optimizers import SGD

conv_module = importlib.import_module("neurona.ops.conv")  # `neurona.ops.conv` the name is the conv() function
VALID = ((0, 0), (0, 0))


def _old_path(z, gp, pool):
    """pool(relu(z)) and its gradient as the unrewritten plan computes them: relu in the conv, then the pool."""
    r = activate(z.copy(), "relu")
    op = Pool("max", pool, pool, VALID)
    return op.forward(r), activation_grad(op.backward(gp), r, "relu").reshape(z.shape)


def test_relu_max_pool_with_nan_inf_and_signed_zeros_is_bitwise_the_old_path():
    rng = np.random.default_rng(0)
    z = rng.integers(-2, 3, (2, 6, 6, 3)).astype(np.float32)
    z[0, 0, 0, 0] = np.nan  # a window with a NaN: its maximum is NaN, no gradient passes
    z[0, 2, 3, 1] = np.inf
    z[1, 4:, 4:, 2] = -0.0  # a window of negative zeros
    z[1, 0, 1, 0] = -np.inf
    gp = rng.standard_normal((2, 3, 3, 3)).astype(np.float32)
    gp[0, 0, 0, 0] = np.inf
    gp[1, 2, 2, 2] = -1.0
    op = ReluMaxPool(Pool("max", (2, 2), (2, 2), VALID))
    with np.errstate(invalid="ignore"):  # inf * 0: NaN, in both paths alike
        want_p, want_g = _old_path(z, gp, (2, 2))
        got_p, got_g = op.forward(z.copy()), op.backward(gp)
    for got, want in ((got_p, want_p), (got_g, want_g)):
        np.testing.assert_array_equal(got, want)  # NaN where NaN
        np.testing.assert_array_equal(np.signbit(got), np.signbit(want))


@pytest.mark.parametrize("pool", [(2, 2), (3, 3), (1, 2)])
def test_relu_max_pool_keeps_one_byte_per_window_not_its_input(pool):
    z = np.random.default_rng(1).standard_normal((3, 6, 6, 4)).astype(np.float32)
    op = ReluMaxPool(Pool("max", pool, pool, VALID))
    y = op.forward(z)
    assert op.xp is None  # the conv's output is not kept for backward
    assert op.code.dtype == np.uint8 and op.code.shape == y.shape
    # the code names the first position holding the window's maximum, or none (ph * pw) where relu stops it
    ph, pw = pool
    windows = z.reshape(3, 6 // ph, ph, 6 // pw, pw, 4).transpose(0, 1, 3, 5, 2, 4).reshape(*y.shape, ph * pw)
    want = np.where(windows.max(axis=-1) > 0, windows.argmax(axis=-1), ph * pw)
    np.testing.assert_array_equal(op.code, want)
    op.drop_saved()
    assert op.code is None and op.y is None


@pytest.mark.parametrize("size,channels", [(10, 1), (10, 6), (12, 8)], ids=["taps", "pixels", "fft"])
def test_a_conv_without_activation_keeps_no_output(size, channels):
    rng = np.random.default_rng(2)
    x = nr.Tensor(rng.standard_normal((12, size, size, channels)).astype(np.float32))
    w = nr.Tensor(rng.standard_normal((5, 5, channels, 8)).astype(np.float32), requires_grad=True)
    for act, kept in ((None, False), ("relu", True)):
        op = conv_module.Conv((1, 1), (1, 1), VALID, 1, act)
        with conv_fft.forced() if channels == 8 else conv_fft.disabled():
            y = op(x, w)
            assert (op.layout == "fft") == (channels == 8)
            assert (op.y is not None) == kept
            gx, gw = op.backward(np.ones(y.shape, np.float32))
        assert gw.shape == w.shape


@pytest.mark.parametrize("n,size", [(50, 24), (100, 24), (10, 24), (24, 24), (37, 24), (101, 25), (1, 3), (7, 3)])
def test_fft_bands_are_the_nearest_count_of_near_equal_bands(n, size):
    bands = conv_fft._bands(n, size)
    assert bands[0][0] == 0 and bands[-1][1] == n
    assert all(a[1] == b[0] for a, b in zip(bands, bands[1:]))
    lengths = [j - i for i, j in bands]
    assert len(bands) == max(1, round(n / size))
    assert max(lengths) - min(lengths) <= 1 and max(lengths) <= 1.5 * size + 1
    if (n, size) == (50, 24):  # half the slides' batch: two bands of 25, not three of 16-17
        assert lengths == [25, 25]


def _fitted_cnn():
    clear_session()
    nr.utils.set_random_seed(0)
    model = models.Sequential([layers.Input((14, 14, 2)), layers.Conv2D(6, 3, activation="relu"),
                               layers.MaxPooling2D(2), layers.Conv2D(8, 3, activation="relu"),
                               layers.MaxPooling2D(2), layers.Flatten(), layers.Dense(4, activation="softmax")])
    model.compile(optimizer=SGD(learning_rate=0.1), loss="categorical_crossentropy")
    rng = np.random.default_rng(3)
    x = rng.standard_normal((40, 14, 14, 2)).astype(np.float32)
    y = np.eye(4, dtype=np.float32)[rng.integers(0, 4, 40)]
    with two_halves(False):
        model.fit(x, y, batch_size=10, epochs=1, verbose=0)
    return model, x, y


def test_a_replayed_plan_forgets_the_last_calls_saved_state_before_it_allocates():
    model, x, y = _fitted_cnn()
    plan = model._replay._last
    pools = [f for f, _, _ in plan.ops if isinstance(f, ReluMaxPool)]
    convs = [f for f, _, _ in plan.ops if type(f).__name__ == "Conv"]
    assert len(pools) == 2 and all(p.code is not None for p in pools)  # kept from the last step for its backward
    assert all(c.y is None for c in convs)  # rewritten: relu after the pool, no activation, no output kept
    seen = []
    first, ins, out = plan._fwd[0]

    def watch(*args):
        seen.append([p.code for p in pools] + [c.xp for c in convs])
        return first(*args)

    plan._fwd = ((watch, ins, out),) + plan._fwd[1:]
    model._replay.arrays(x[:10], y[:10], None)
    assert seen == [[None] * (len(pools) + len(convs))]  # all gone before the first op of this call ran
    assert all(p.code is not None for p in pools)  # and saved again for this call's backward
    model._replay._last.backward()


def test_the_rewrite_empties_the_pool_of_idle_buffers():
    big = np.empty(64 << 20, np.uint8)  # no request of this small CNN matches 64 MiB (the pool allows 2x slack)
    SCRATCH.give(big)
    assert SCRATCH.has((64 << 20,), np.uint8)
    _fitted_cnn()
    assert not SCRATCH.has((64 << 20,), np.uint8)


def _fft_conv(x, w, b, gy):
    op = conv_module.Conv((1, 1), (1, 1), VALID, 1, "relu")
    with conv_fft.forced():
        y = op(nr.Tensor(x, requires_grad=True), nr.Tensor(w, requires_grad=True), nr.Tensor(b, requires_grad=True))
        return (y.data.copy(), *op.backward(gy))


def test_fft_conv_in_bands_equals_one_band_to_float32_rounding(monkeypatch):
    """Bands change only where the weight and bias gradients' sums split (and BLAS's blocking of the products)."""
    rng = np.random.default_rng(4)
    x = rng.standard_normal((9, 12, 12, 8)).astype(np.float32)
    w = rng.standard_normal((5, 5, 8, 16)).astype(np.float32) * 0.1
    b = rng.standard_normal(16).astype(np.float32)
    gy = rng.standard_normal((9, 8, 8, 16)).astype(np.float32)
    monkeypatch.setattr(conv_fft, "BAND_BYTES", 1 << 30)
    whole = _fft_conv(x, w, b, gy)
    per_image = 12 * 7 * 16 * 8  # bytes of the widest per-frequency stack per image (complex64)
    monkeypatch.setattr(conv_fft, "BAND_BYTES", 2 * per_image)
    assert len(conv_fft._bands(9, conv_fft.BAND_BYTES // per_image)) == 4
    banded = _fft_conv(x, w, b, gy)
    for got, want in zip(banded, whole):
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5 * float(np.abs(want).max()))
