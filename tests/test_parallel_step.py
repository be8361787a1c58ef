"""fit's step as two half-batch replicas (models/parallel.py), on two threads or with the first half in a worker
process (models/half_worker.py): the same gradients, weights and history as the one-thread step to float32
rounding, and the rule that decides when it runs."""

import contextlib
import os

import numpy as np
import pytest

from neurona import layers, losses
from neurona.function import Plan
from neurona.layers.base import clear_session
from neurona.models import Sequential, half_worker
from neurona.models.parallel import Halves, forward_flops, two_halves
from neurona.optimizers import SGD
from neurona.utils import set_random_seed


def slide_mlp():
    return Sequential([layers.Input((784,)), layers.Dense(10, activation="sigmoid"),
                       layers.Dense(10, activation="softmax")]), (784,)


def slide_cnn():
    from neurona.labs.cnn import build_model

    return build_model(), (28, 28, 1)


def lstm():
    return Sequential([layers.Input((12, 3)), layers.LSTM(16), layers.Dense(10, activation="softmax")]), (12, 3)


def transformer():
    return Sequential([layers.Input((8, 16)), layers.TransformerEncoder(32, 4), layers.GlobalAveragePooling1D(),
                       layers.Dense(10, activation="softmax")]), (8, 16)


MODELS = [slide_mlp, slide_cnn, lstm, transformer]
TWO_CORES = (os.cpu_count() or 1) >= 2
IDS = ["slide_mlp", "slide_cnn", "lstm", "transformer"]
FORKS = half_worker.available()
# where half A runs: on a second thread, or in a worker process (Linux)
WHERE = pytest.mark.parametrize("where", ["threads", pytest.param("process", marks=pytest.mark.skipif(
    not FORKS, reason="no os.fork here: the halves run on threads"))])


def _data(shape, n, seed=1):
    r = np.random.default_rng(seed)
    x = r.random((n, *shape)).astype(np.float32)
    y = np.eye(10, dtype=np.float32)[r.integers(0, 10, n)]
    return x, y


def _compiled(make, loss="categorical_crossentropy"):
    clear_session()
    set_random_seed(0)
    model, shape = make()
    model.compile(optimizer=SGD(learning_rate=0.01, momentum=0.5), loss=loss, metrics=["accuracy"])
    return model, shape


def _one_blas_thread():
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(1)


def _close(a, b, what, scale=None):
    scale = max(float(np.max(np.abs(b))) if scale is None else scale, 1e-6)
    np.testing.assert_allclose(a, b, rtol=0, atol=2e-6 * scale, err_msg=what)  # float32 sums in another order


@WHERE
@pytest.mark.parametrize("make", MODELS, ids=IDS)
@pytest.mark.parametrize("n", [16, 15])  # an even split (seeds 1/2) and an odd one (seeds 7/15, 8/15)
def test_the_halves_gradients_equal_the_whole_batch(make, n, where):
    with half_worker.in_processes(where == "process"):
        _halves_gradients(make, n, where)


def _halves_gradients(make, n, where):
    model, shape = _compiled(make)
    x, y = _data(shape, n)
    sw = np.linspace(0.5, 1.5, n).astype(np.float32)
    with two_halves(False):
        model.train_step((x[:4], y[:4]))  # prepares the step (one update of the weights: no matter)
    weights = model._train_weights
    loss, _ = model._forward_loss(x, [y], sw, True)
    loss.backward()
    expected = [w.grad for w in weights]
    for w in weights:
        w.grad = None
    halves = model._halves
    for _ in range(3):  # trace, check, then the replayed halves run on two threads
        grads, parts = halves.step(x, y, sw, weights)
        assert all(w.grad is None for w in weights)  # nothing leaks into .grad
        for g, e, w in zip(grads, expected, weights):  # a key bias's gradient is 0 up to rounding: the scale
            _close(g, e, w.name, scale=max(float(np.max(np.abs(e))) for e in expected))  # is the largest one
        total = sum(float(p[3]) * len(p[0]) for p in parts) / n
        np.testing.assert_allclose(total, float(loss.data), rtol=2e-6)
        assert [len(p[0]) for p in parts] == [n // 2, n - n // 2]
    if where == "process":  # half A ran in the worker: the replica here was last used to check its plan
        assert halves.worker is not None and halves.worker.alive() and halves.replicas[1].replayed
        halves.worker.close()
    else:
        assert all(isinstance(r._last, Plan) and r.replayed for r in halves.replicas)


@WHERE
@pytest.mark.parametrize("make", MODELS, ids=IDS)
def test_a_fit_on_two_halves_matches_the_one_thread_fit(make, where):
    results = []
    for mode in (False, True):
        model, shape = _compiled(make)
        x, y = _data(shape, 52)  # 3 batches of 16 and a last one of 4, each split in two
        # the reference: the one-thread step. One epoch (4 steps): later, a rounding-sized difference can flip a
        # relu or a max-pool's pick in the slide CNN, and the weights then differ by ~1e-4 (measured at epoch 2)
        with _one_blas_thread(), two_halves(mode), half_worker.in_processes(where == "process"):
            history = model.fit(x, y, batch_size=16, epochs=1, verbose=0, validation_data=(x[:8], y[:8]))
        results.append((model.get_weights(), history.history))
        assert (model._halves.replicas[0].trace_count > 0) == mode
    (w_off, h_off), (w_on, h_on) = results
    top = max(float(np.max(np.abs(w))) for w in w_off)
    for a, b in zip(w_on, w_off):
        _close(a, b, "weights after 4 steps", scale=top)
    assert h_on.keys() == h_off.keys()
    for key in h_off:
        np.testing.assert_allclose(h_on[key], h_off[key], rtol=1e-5, err_msg=key)


def test_the_replicas_hold_their_own_ops():
    model, shape = _compiled(slide_cnn)
    x, y = _data(shape, 16)
    with two_halves(True), half_worker.in_processes(False):
        model.fit(x, y, batch_size=16, epochs=3, verbose=0)
    a, b = model._halves.replicas
    plan_a, plan_b = a._last, b._last
    assert isinstance(plan_a, Plan) and isinstance(plan_b, Plan)
    assert not {id(f) for f, _, _ in plan_a.ops} & {id(f) for f, _, _ in plan_b.ops}


def test_the_default_backward_is_unchanged_by_the_hooks():
    """Plan.backward() without `into` still accumulates into .grad, seeded with ones."""
    model, shape = _compiled(slide_mlp)
    x, y = _data(shape, 16)
    with two_halves(False):
        model.fit(x, y, batch_size=16, epochs=3, verbose=0)
    step = model._replay
    step.arrays(x, y, None)
    step.backward()
    grads = [w.grad.copy() for w in model._train_weights]
    into = {}
    step.arrays(x, y, None)
    step._last.backward(into, 0.5)
    for w, g in zip(model._train_weights, grads):
        np.testing.assert_array_equal(into[id(w)], 0.5 * g)  # a power-of-two seed: exactly half
        w.grad = None


def test_the_rule():
    pytest.importorskip("threadpoolctl")
    from threadpoolctl import threadpool_limits

    model, shape = _compiled(slide_cnn)
    # conv 5x5x1x32 at 24x24 pixels, conv 5x5x32x64 at 8x8, dense 1024x10: 2 flops per multiply-add
    assert forward_flops(model) == 2 * (800 * 576 + 51200 * 64 + 10240)
    halves = Halves(model)
    with threadpool_limits(2), half_worker.in_processes(False):
        assert halves.wanted(100) == TWO_CORES  # 750 MFLOP per step
        assert not halves.wanted(16)  # 120 MFLOP per step: measured 0.90x split
        assert halves.wanted(24) == TWO_CORES  # 180 MFLOP: measured 1.11x
        assert not halves.wanted(4)  # under MIN_BATCH
        with two_halves(False):
            assert not halves.wanted(100)
    with threadpool_limits(1):  # one BLAS thread: everything on one thread, as before
        assert not halves.wanted(100)
        with two_halves(True):
            assert halves.wanted(100)
    rnn, _ = _compiled(lstm)
    with half_worker.in_processes(False):
        assert not Halves(rnn).wanted(10_000)  # recurrences on threads: the GIL serialises them (measured slower)
    small, _ = _compiled(slide_mlp)
    assert forward_flops(small) == 2 * (7840 + 100)
    assert not Halves(small).wanted(100_000)  # Dense layers alone: left to BLAS's threads (measured slower split)
    with threadpool_limits(2), half_worker.in_processes(False):
        tfm, _ = _compiled(transformer)
        assert Halves(tfm).wanted(8192) == TWO_CORES  # 33 kFLOP per sample


def test_no_halves_for_a_summed_loss_or_an_eager_step():
    model, shape = _compiled(slide_mlp, loss=losses.CategoricalCrossentropy(reduction="sum"))
    x, y = _data(shape, 16)
    with two_halves(True):
        model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    assert model._halves is None  # the halves' sums would need seeds 1, not their shares: not split
    model, shape = _compiled(slide_mlp)
    model.compile(optimizer="sgd", loss="categorical_crossentropy", run_eagerly=True)
    with two_halves(True):
        model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    assert model._replay is None and model._halves is None



@WHERE
def test_blas_threads_are_restored_after_a_split_fit(where):
    threadpoolctl = pytest.importorskip("threadpoolctl")
    libs = [c for c in threadpoolctl.ThreadpoolController().lib_controllers if c.user_api == "blas"]
    before = [c.num_threads for c in libs]
    model, shape = _compiled(slide_mlp)
    x, y = _data(shape, 24)
    with two_halves(True), half_worker.in_processes(where == "process"):
        model.fit(x, y, batch_size=8, epochs=2, verbose=0)
        model.train_step((x[:8], y[:8]))  # outside fit's held BLAS: set to one thread and back in the step
    assert model._halves.replicas[1].replayed
    assert [c.num_threads for c in libs] == before


def test_the_split_is_deterministic():
    weights = []
    for where in ("threads", "process") if FORKS else ("threads", "threads"):
        model, shape = _compiled(slide_cnn)
        x, y = _data(shape, 40)
        with two_halves(True), half_worker.in_processes(where == "process"):
            model.fit(x, y, batch_size=16, epochs=2, verbose=0)
        weights.append(model.get_weights())
    for a, b in zip(*weights):
        np.testing.assert_array_equal(a, b)  # a fixed cut, the two gradients added in a fixed order: the same
        # bits whether half A ran on a thread or in the worker process
