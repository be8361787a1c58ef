"""models/dense_step.py: a Dense chain's recorded step as straight-line code, bit-identical to the replayed plan
and to eager execution, chosen only for chains, and keeping everything fit promises (#17)."""

import numpy as np
import pytest

from neurona import callbacks, layers, optimizers
from neurona.layers.base import clear_session
from neurona.models import Sequential
from neurona.models.dense_step import DenseStep, dense_chain
from neurona.models.parallel import two_halves
from neurona.utils import set_random_seed


def _mlp(acts=("sigmoid",), units=(10,), bias=True, out_act="softmax"):
    stack = [layers.Input((20,))]
    stack += [layers.Dense(u, activation=a, use_bias=bias) for u, a in zip(units, acts)]
    return Sequential(stack + [layers.Dense(4, activation=out_act)])


def _data(n=90, seed=1):
    r = np.random.default_rng(seed)
    x = r.standard_normal((n, 20)).astype(np.float32)
    return x, np.eye(4, dtype=np.float32)[r.integers(0, 4, n)]


def _fit(mode, make=_mlp, optimizer="sgd", loss="categorical_crossentropy", epochs=3, **fit_kw):
    """Train a fresh model: mode 'eager' (run_eagerly), 'replay' (the plan, dense step off) or 'dense'."""
    clear_session()
    set_random_seed(0)
    model = make()
    opt = optimizers.get(optimizer) if isinstance(optimizer, str) else optimizer()
    model.compile(optimizer=opt, loss=loss, metrics=["accuracy"], run_eagerly=mode == "eager")
    if mode == "replay":
        model._dense_step = lambda key, x, y: None  # the instance's own lookup: the replayed plan every batch
    x, y = _data()
    with two_halves(False):
        history = model.fit(x, y, batch_size=16, epochs=epochs, verbose=0, validation_data=(x[:20], y[:20]), **fit_kw)
    return model, history


def _assert_same(a, b):
    (ma, ha), (mb, hb) = a, b
    for wa, wb in zip(ma.get_weights(), mb.get_weights()):
        np.testing.assert_array_equal(wa, wb)
    assert ha.history == hb.history


def _dense_steps(model):
    return [s for s in (model._dense_steps or {}).values() if s is not None]


@pytest.mark.parametrize("make", [
    _mlp,  # the slides' shape: sigmoid hidden layer, softmax output
    lambda: _mlp(acts=("relu", "tanh"), units=(12, 8)),
    lambda: _mlp(acts=("relu", None), units=(12, 8), bias=False),
], ids=["sigmoid", "relu-tanh", "no-bias-linear"])
def test_dense_step_is_bit_identical_to_replay_and_eager_over_three_epochs(make):
    dense = _fit("dense", make)
    assert _dense_steps(dense[0])  # the chain was recognised and ran (90 samples: batches of 16 and one of 10)
    assert len(dense[0]._dense_steps) == 2
    _assert_same(dense, _fit("replay", make))
    _assert_same(dense, _fit("eager", make))


def test_momentum_optimizer_and_a_schedule_still_go_through_the_optimizer():
    def opt():
        return optimizers.SGD(learning_rate=optimizers.schedules.ExponentialDecay(0.1, 3, 0.5), momentum=0.9)

    dense = _fit("dense", optimizer=opt)
    assert _dense_steps(dense[0])
    _assert_same(dense, _fit("eager", optimizer=opt))


def test_adam_and_per_batch_callbacks_keep_their_logs():
    seen = {"dense": [], "eager": []}

    def make_cb(mode):
        return callbacks.LambdaCallback(on_train_batch_end=lambda b, logs: seen[mode].append(dict(logs)))

    dense = _fit("dense", optimizer="adam", callbacks=[make_cb("dense")])
    eager = _fit("eager", optimizer="adam", callbacks=[make_cb("eager")])
    assert _dense_steps(dense[0])
    _assert_same(dense, eager)
    assert seen["dense"] == seen["eager"] and len(seen["dense"]) == 3 * 6


def test_stopping_mid_epoch_leaves_a_usable_model():
    class Stop(callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if batch == 2:
                self.model.stop_training = True

    model, history = _fit("dense", callbacks=[Stop()])
    eager, h_eager = _fit("eager", callbacks=[Stop()])
    _assert_same((model, history), (eager, h_eager))
    assert all(w.grad is None for w in model.trainable_weights)
    x, y = _data()
    np.testing.assert_array_equal(model.predict(x, verbose=0), eager.predict(x, verbose=0))


def test_only_chains_with_the_fused_softmax_loss_take_it():
    # integer labels: another loss op; no softmax: mse; sample weights: the plan's third argument
    clear_session()
    set_random_seed(0)
    model = _mlp()
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    x, y = _data()
    model.fit(x, y.argmax(1), batch_size=16, epochs=2, verbose=0)
    assert model._replay is not None and not _dense_steps(model)
    model = _mlp(out_act="linear")
    model.compile(optimizer="sgd", loss="mse")
    model.fit(x, y, batch_size=16, epochs=2, verbose=0)
    assert model._replay is not None and not _dense_steps(model)
    model = _mlp()
    model.compile(optimizer="sgd", loss="categorical_crossentropy")
    model.fit(x, y, sample_weight=np.linspace(0.5, 1.5, len(x)), batch_size=16, epochs=2, verbose=0)
    assert not _dense_steps(model)


def test_run_eagerly_and_jit_compile_false_opt_out():
    clear_session()
    x, y = _data()
    for kw in ({"run_eagerly": True}, {"jit_compile": False}):
        model = _mlp()
        model.compile(optimizer="sgd", loss="categorical_crossentropy", **kw)
        model.fit(x, y, batch_size=16, epochs=2, verbose=0)
        assert model._replay is None and not _dense_steps(model)


def test_dense_chain_reads_the_plan():
    model, _ = _fit("dense", epochs=1)
    step = next(iter(_dense_steps(model)))
    assert isinstance(step, DenseStep)
    plan = next(p for p in model._replay._plans.values() if hasattr(p, "ops"))
    assert isinstance(dense_chain(plan, model._train_weights), DenseStep)
    assert dense_chain(plan, model._train_weights[:-1]) is None  # a weight the optimizer does not know
