"""fit's recorded step with relu moved after the max-pool (ops/conv_pool_train.py): the same numbers, bit for bit."""

import contextlib

import numpy as np
import pytest

import neurona as nr
from neurona import layers, models
from neurona.layers.base import clear_session
from neurona.models import half_worker, replay
from neurona.models.parallel import two_halves
from neurona.ops import conv_fft
from neurona.ops.conv import activate, activation_grad
from neurona.ops.conv_pool_train import ReluMaxPool, relu_after_pool
from neurona.ops.pool import Pool
from neurona.optimizers import SGD

VALID = ((0, 0), (0, 0))


def _old_path(z, gp, pool):
    """pool(relu(z)) and its gradient as the unrewritten plan computes them: relu in the conv, then the pool."""
    r = activate(z.copy(), "relu")
    op = Pool("max", pool, pool, VALID)
    p = op.forward(r)
    return p, activation_grad(op.backward(gp), r, "relu").reshape(z.shape)


@pytest.mark.parametrize("shape,pool", [((3, 8, 8, 5), (2, 2)), ((2, 9, 7, 3), (2, 2)), ((2, 6, 6, 4), (3, 3))])
def test_relu_after_the_pool_is_bitwise_the_old_path(shape, pool):
    """Bit for bit where the windows tile the image; where a row or column is left over, the same values (the
    old backward's adds into zeros turn some -0 into +0: the rewrite leaves those pools alone)."""
    rng = np.random.default_rng(0)
    # small integers: many ties, exact zeros and all-negative windows; -0.0 and a negative gradient for the signs
    z = rng.integers(-3, 3, shape).astype(np.float32)
    z[0, 0, 0] = -0.0
    z[1, :2, :2] = 0.0  # a window of zeros only
    gp_shape = (shape[0], shape[1] // pool[0], shape[2] // pool[1], shape[3])
    gp = rng.standard_normal(gp_shape).astype(np.float32)
    want_p, want_g = _old_path(z, gp, pool)
    op = ReluMaxPool(Pool("max", pool, pool, VALID))
    p = op.forward(z.copy())
    g = op.backward(gp)
    for got, want in ((p, want_p), (g, want_g)):
        assert got.shape == want.shape
        np.testing.assert_array_equal(got, want)
        if shape[1] % pool[0] == 0 and shape[2] % pool[1] == 0:
            np.testing.assert_array_equal(np.signbit(got), np.signbit(want))  # signed zeros included


def test_relu_after_a_one_d_pool():
    rng = np.random.default_rng(1)
    z = rng.integers(-2, 3, (4, 1, 10, 3)).astype(np.float32)
    gp = rng.standard_normal((4, 5, 3)).astype(np.float32)
    want_p, want_g = _old_path(z, gp.reshape(4, 1, 5, 3), (1, 2))
    op = ReluMaxPool(Pool("max", (1, 2), (1, 2), VALID))
    np.testing.assert_array_equal(op.forward(z[:, 0].copy()), want_p[:, 0])
    np.testing.assert_array_equal(op.backward(gp), want_g[:, 0])


def test_relu_max_pool_gradcheck_float64():
    x = np.random.default_rng(2).uniform(-1, 1, (2, 6, 6, 3))
    assert nr.gradcheck(lambda t: ReluMaxPool(Pool("max", (2, 2), (2, 2), VALID))(t), x)


def _cnn(conv_act="relu", pool=2, size=14):
    return models.Sequential([layers.Input((size, size, 2)), layers.Conv2D(6, 3, activation=conv_act),
                              layers.MaxPooling2D(pool), layers.Conv2D(8, 3, activation="relu"),
                              layers.MaxPooling2D(2), layers.Flatten(), layers.Dense(4, activation="softmax")])


@contextlib.contextmanager
def _rewriting(enabled):
    """fit's training plans with (the default) or without the relu-after-pool rewrite."""
    old = replay.relu_after_pool
    if not enabled:
        replay.relu_after_pool = lambda plan: 0
    try:
        yield
    finally:
        replay.relu_after_pool = old


def _fit(make, rewrite, halves, epochs=3):
    clear_session()
    nr.utils.set_random_seed(0)
    model = make()
    size = model.input_shape[1]
    model.compile(optimizer=SGD(learning_rate=0.1, momentum=0.5), loss="categorical_crossentropy",
                  metrics=["accuracy"])
    rng = np.random.default_rng(3)
    x = rng.standard_normal((40, size, size, 2)).astype(np.float32)
    y = np.eye(4, dtype=np.float32)[rng.integers(0, 4, 40)]
    # the halves on two threads: both replicas' plans are then here to inspect (with a worker process, replica A's
    # rewritten plan lives in the child; its results are the two-thread split's bits, tests/test_half_worker.py)
    with _rewriting(rewrite), two_halves(halves), half_worker.in_processes(False):
        history = model.fit(x, y, batch_size=10, epochs=epochs, verbose=0)
    steps = model._halves.replicas if halves else [model._replay]
    ops = [[type(f).__name__ for f, _, _ in step._last.ops] for step in steps]
    for step in steps:  # the pools the rewrite replaced keep none of the traced call's arrays (10.7 MiB, slide CNN)
        for f, _, _ in step._last.ops:
            if isinstance(f, ReluMaxPool):
                replaced = [x.creator for g, _, _ in step._last.ops for x in g.inputs
                            if x.creator is not None and x.creator.inputs is f.inputs and x.creator is not f]
                assert replaced and all(old.xp is None and old.y is None for old in replaced)
    return model.get_weights(), history.history, ops


@pytest.mark.parametrize("halves", [False, True], ids=["one_thread", "two_halves"])
@pytest.mark.parametrize("fft", [False, True], ids=["im2col", "fft"])
def test_fit_with_the_rewrite_equals_fit_without(halves, fft):
    with conv_fft.forced() if fft else conv_fft.disabled():
        new_w, new_h, new_ops = _fit(_cnn, True, halves)
        old_w, old_h, old_ops = _fit(_cnn, False, halves)
    assert all(ops.count("ReluMaxPool") == 2 for ops in new_ops)  # both replicas, or the one step: both pairs
    assert all("ReluMaxPool" not in ops for ops in old_ops)
    for a, b in zip(new_w, old_w):
        np.testing.assert_array_equal(a, b)
    assert new_h == old_h


def test_fit_of_a_one_d_conv_with_the_rewrite_equals_fit_without():
    def seq():
        return models.Sequential([layers.Input((14, 14)), layers.Conv1D(6, 3, activation="relu"),
                                  layers.MaxPooling1D(2), layers.Flatten(), layers.Dense(4, activation="softmax")])

    def fit(rewrite):
        clear_session()
        nr.utils.set_random_seed(0)
        model = seq()
        model.compile(optimizer=SGD(learning_rate=0.1), loss="categorical_crossentropy")
        rng = np.random.default_rng(5)
        x = rng.standard_normal((40, 14, 14)).astype(np.float32)
        y = np.eye(4, dtype=np.float32)[rng.integers(0, 4, 40)]
        with _rewriting(rewrite), two_halves(False):
            model.fit(x, y, batch_size=10, epochs=3, verbose=0)
        return model.get_weights(), [type(f).__name__ for f, _, _ in model._replay._last.ops]

    (new_w, new_ops), (old_w, old_ops) = fit(True), fit(False)
    assert "ReluMaxPool" in new_ops and "ReluMaxPool" not in old_ops
    for a, b in zip(new_w, old_w):
        np.testing.assert_array_equal(a, b)


def test_no_rewrite_without_relu_or_for_an_average_pool_or_a_second_reader():
    _, _, ops = _fit(lambda: _cnn(conv_act="tanh"), True, False, epochs=1)
    assert ops[0].count("ReluMaxPool") == 1  # the second pair only
    _, _, ops = _fit(lambda: _cnn(size=15), True, False, epochs=1)  # 13x13 conv output: a row left over
    assert ops[0].count("ReluMaxPool") == 1  # the second pair only (its 4x4 tiles by 2)

    def two_readers():
        inp = layers.Input((14, 14, 2))
        h = layers.Conv2D(3, 3, activation="relu")(inp)
        both = layers.Concatenate()([layers.Flatten()(layers.MaxPooling2D(2)(h)), layers.Flatten()(h)])
        return models.Model(inp, layers.Dense(4, activation="softmax")(both))

    plan_ops = _fit(two_readers, True, False, epochs=1)[2][0]
    assert "ReluMaxPool" not in plan_ops and "Pool" in plan_ops

    def average():
        return models.Sequential([layers.Input((14, 14, 2)), layers.Conv2D(6, 3, activation="relu"),
                                  layers.AveragePooling2D(2), layers.Flatten(), layers.Dense(4, activation="softmax")])

    assert "ReluMaxPool" not in _fit(average, True, False, epochs=1)[2][0]
    assert relu_after_pool(type("P", (), {"ops": [], "outputs": []})()) == 0


def test_eager_fit_is_not_rewritten():
    model = _cnn()
    model.compile(optimizer="sgd", loss="categorical_crossentropy", run_eagerly=True)
    x = np.random.default_rng(4).standard_normal((20, 14, 14, 2)).astype(np.float32)
    model.fit(x, np.eye(4, dtype=np.float32)[np.arange(20) % 4], batch_size=10, epochs=2, verbose=0)
    assert model._replay is None
