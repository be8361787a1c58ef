"""neurona.function and fit's replayed step: bit-identical to eager, retraced per signature, safe fallbacks."""

import numpy as np
import pytest

import neurona as nr
from neurona import layers
from neurona.function import TracedFunction, function
from neurona.layers.base import clear_session
from neurona.models import Sequential
from neurona.models.parallel import two_halves
from neurona.random import get_rng
from neurona.utils import set_random_seed


def slide_mlp():
    return Sequential([layers.Input((784,)), layers.Dense(10, activation="sigmoid"),
                       layers.Dense(10, activation="softmax")]), "sgd", "categorical_crossentropy", (784,)


def wide_mlp():
    return Sequential([layers.Input((784,)), layers.Dense(128, activation="relu"), layers.Dense(128, activation="relu"),
                       layers.Dense(10, activation="softmax")]), "sgd", "categorical_crossentropy", (784,)


def slide_cnn():
    from neurona.labs.cnn import build_model

    return build_model(), "adam", "categorical_crossentropy", (28, 28, 1)


def lstm():
    return Sequential([layers.Input((12, 3)), layers.LSTM(16), layers.Dense(10, activation="softmax")]), \
        "rmsprop", "categorical_crossentropy", (12, 3)


def _fit(make, eager, n, epochs=3):
    clear_session()
    set_random_seed(0)
    model, opt, loss, shape = make()
    model.compile(optimizer=opt, loss=loss, metrics=["accuracy"], run_eagerly=eager)
    r = np.random.default_rng(1)
    x = r.random((n, *shape)).astype(np.float32)
    y = np.eye(10, dtype=np.float32)[r.integers(0, 10, n)]
    with two_halves(False):  # the replayed step on one thread, as eager (the halves: test_parallel_step.py)
        history = model.fit(x, y, batch_size=16, epochs=epochs, verbose=0, validation_data=(x[:20], y[:20]))
    return model, history, x


@pytest.mark.parametrize("make,n", [(slide_mlp, 100), (wide_mlp, 100), (slide_cnn, 36), (lstm, 100)],
                         ids=["slide_mlp", "wide_mlp", "slide_cnn", "lstm"])
def test_replayed_fit_is_bit_identical_to_eager(make, n):
    eager, h_eager, x = _fit(make, True, n)
    replay, h_replay, _ = _fit(make, False, n)
    assert eager._replay is None and replay._replay is not None
    assert replay._replay.replayed  # the last batches were replays, not traces
    for a, b in zip(eager.get_weights(), replay.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert h_eager.history == h_replay.history
    np.testing.assert_array_equal(eager.predict(x, verbose=0), replay.predict(x, verbose=0))
    for i in range(4):  # predict_on_batch replays its inference forward from the third call
        np.testing.assert_array_equal(eager.predict_on_batch(x[i:i + 1]), replay.predict_on_batch(x[i:i + 1]))
    assert replay.__dict__["_predict_cache"][1].replayed


def test_a_new_batch_shape_retraces():
    model, _, _ = _fit(slide_mlp, False, 100, epochs=2)  # 6 full batches of 16 and one of 4 per epoch
    step = model._replay
    assert step.trace_count == 4  # trace + check for the (16, 784) signature, the same for (4, 784)
    assert len(step._plans) == 2


def test_function_replays_and_backpropagates_like_the_engine():
    set_random_seed(0)
    w = nr.Tensor(np.random.default_rng(0).normal(size=(5, 3)).astype(np.float32), requires_grad=True)
    b = nr.Tensor(np.zeros(3, np.float32), requires_grad=True)

    @function
    def loss_fn(x, y):
        return nr.ops.softmax_cross_entropy(nr.ops.tanh(x @ w + b), y)

    r = np.random.default_rng(2)
    for i in range(4):
        x = r.random((8, 5)).astype(np.float32)
        y = np.eye(3, dtype=np.float32)[r.integers(0, 3, 8)]
        got = loss_fn(x, y)
        loss_fn.backward()
        gw, gb = w.grad, b.grad
        w.grad = b.grad = None
        expected = nr.ops.softmax_cross_entropy(nr.ops.tanh(x @ w + b), y)
        expected.backward()
        assert got.data == expected.data
        np.testing.assert_array_equal(gw, w.grad)
        np.testing.assert_array_equal(gb, b.grad)
        assert loss_fn.replayed == (i >= 2)
        w.grad = b.grad = None
        w.data -= 0.1 * gw  # the plan reads the parameters' current values
    assert loss_fn.trace_count == 2


def test_python_side_effects_run_only_while_tracing():
    calls = []
    w = nr.Tensor(np.ones(3, np.float32), requires_grad=True)

    def f(x):
        calls.append(1)  # Python: runs on the trace and the check, then never again
        return (x * w).sum()

    traced = TracedFunction(f)
    for _ in range(5):
        traced(np.ones(3, np.float32))
    assert len(calls) == 2


def test_values_computed_in_python_fall_back_to_eager():
    w = nr.Tensor(np.ones(3, np.float32), requires_grad=True)
    traced = function(lambda x: (nr.Tensor(x * 2.0) * w).sum())  # NumPy work on x: a constant of the trace
    r = np.random.default_rng(0)
    for _ in range(4):
        x = r.random(3).astype(np.float32)
        assert traced(x).data == pytest.approx(float((x * 2).sum()))
    assert not traced.replayed and traced.trace_count == 4  # the check found a changing constant: eager


def test_state_given_to_an_op_when_created_is_caught():
    """A Dropout mask made when the op is built is no input of the plan: the replay check catches it."""
    set_random_seed(0)
    w = nr.Tensor(np.ones((4, 4), np.float32), requires_grad=True)
    traced = function(lambda x: nr.ops.dropout(x @ w, 0.5, training=True, rng=get_rng()).sum())
    x = np.ones((3, 4), np.float32)
    values = [float(traced(x).data) for _ in range(6)]
    assert not traced.replayed and len(set(values)) > 1  # fresh masks every call, as eager
    set_random_seed(0)
    eager = [float(nr.ops.dropout(nr.Tensor(x) @ w, 0.5, training=True, rng=get_rng()).sum().data)
             for _ in range(6)]
    assert values == eager  # the check drew no random numbers


def test_dropout_and_embedding_models_train_eagerly():
    clear_session()
    model = Sequential([layers.Input((4,)), layers.Dense(4), layers.Dropout(0.5), layers.Dense(2)])
    model.compile(optimizer="sgd", loss="mse")
    model.fit(np.ones((8, 4), np.float32), np.ones((8, 2), np.float32), verbose=0)
    assert model._replay is None


def _small(frozen_at_compile=False):
    clear_session()
    set_random_seed(0)
    model = Sequential([layers.Input((8,)), layers.Dense(6, activation="relu"), layers.Dense(3, activation="softmax")])
    model.layers[0].trainable = not frozen_at_compile
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    return model


def test_no_replay_when_trainable_flags_changed_after_compile():
    r = np.random.default_rng(0)
    x, y = r.random((64, 8)).astype(np.float32), r.integers(0, 3, 64)
    reference = _small()
    reference.fit(x, y, batch_size=16, verbose=0)
    assert reference._replay is not None
    frozen_late = _small()  # frozen after compile: the compiled model still trains it, eagerly
    before = frozen_late.get_weights()
    frozen_late.layers[0].trainable = False
    frozen_late.fit(x, y, batch_size=16, verbose=0)
    assert frozen_late._replay is None
    for a, b, c in zip(before, frozen_late.get_weights(), reference.get_weights()):
        assert not np.array_equal(a, b)
        np.testing.assert_allclose(b, c, rtol=1e-6, atol=1e-7)  # same updates as the replayed run
    unfrozen_late = _small(frozen_at_compile=True)  # unfrozen after compile: still not trained by this compile
    before = unfrozen_late.get_weights()
    unfrozen_late.layers[0].trainable = True
    unfrozen_late.fit(x, y, batch_size=16, verbose=0)
    assert unfrozen_late._replay is None
    np.testing.assert_array_equal(before[0], unfrozen_late.get_weights()[0])
    assert not np.array_equal(before[2], unfrozen_late.get_weights()[2])


def test_an_overridden_train_step_is_not_replayed():
    class Own(Sequential):
        def train_step(self, data):
            return super().train_step(data)

    r = np.random.default_rng(0)
    x, y = r.random((64, 8)).astype(np.float32), r.integers(0, 3, 64)
    replayed = _small()
    replayed.fit(x, y, batch_size=16, epochs=2, verbose=0)
    clear_session()
    set_random_seed(0)
    own = Own([layers.Input((8,)), layers.Dense(6, activation="relu"), layers.Dense(3, activation="softmax")])
    own.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    own.fit(x, y, batch_size=16, epochs=2, verbose=0)
    assert replayed._replay is not None and own._replay is None
    for a, b in zip(replayed.get_weights(), own.get_weights()):
        np.testing.assert_array_equal(a, b)
