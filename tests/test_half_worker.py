"""Half A of a split batch in a forked worker process (models/half_worker.py): the same bits as on two threads,
errors raised in the parent, one child at a time, and children that end with their parent's handle."""

import os
import tracemalloc

import numpy as np
import pytest

from neurona import layers
from neurona.layers.base import clear_session
from neurona.models import Sequential, half_worker, parallel
from neurona.models.parallel import Halves, forward_flops, two_halves
from neurona.optimizers import SGD
from neurona.utils import set_random_seed

pytestmark = pytest.mark.skipif(not half_worker.available(), reason="no os.fork here: the halves run on threads")


def lstm():
    return Sequential([layers.Input((12, 3)), layers.LSTM(16), layers.Dense(10, activation="softmax")]), (12, 3)


def gru_backwards():
    return Sequential([layers.Input((9, 4)), layers.GRU(8, go_backwards=True),
                       layers.Dense(10, activation="softmax")]), (9, 4)


def conv():
    return Sequential([layers.Input((12, 12, 2)), layers.Conv2D(8, 3, activation="relu"), layers.MaxPooling2D(2),
                       layers.Flatten(), layers.Dense(10, activation="softmax")]), (12, 12, 2)


def transformer():
    return Sequential([layers.Input((8, 16)), layers.TransformerEncoder(32, 4), layers.GlobalAveragePooling1D(),
                       layers.Dense(10, activation="softmax")]), (8, 16)


def _fit(make, where, epochs=3, n=40, batch=16):
    clear_session()
    set_random_seed(0)
    model, shape = make()
    model.compile(optimizer=SGD(learning_rate=0.05, momentum=0.5), loss="categorical_crossentropy",
                  metrics=["accuracy"])
    r = np.random.default_rng(3)
    x = r.random((n, *shape)).astype(np.float32)
    y = np.eye(10, dtype=np.float32)[r.integers(0, 10, n)]
    with two_halves(True), half_worker.in_processes(where == "process"):
        history = model.fit(x, y, batch_size=batch, epochs=epochs, verbose=0)
    return model, history.history


@pytest.mark.parametrize("make", [lstm, gru_backwards, conv, transformer])
def test_the_worker_process_gives_the_bits_of_the_two_threads(make):
    m_threads, h_threads = _fit(make, "threads")
    m_proc, h_proc = _fit(make, "process")
    worker = m_proc._halves.worker
    assert worker is not None and worker.steps > 0  # half A really ran in the child
    for a, b in zip(m_proc.get_weights(), m_threads.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert h_proc == h_threads
    worker.close()


def test_an_error_in_the_worker_is_raised_here_and_the_model_stays_usable(monkeypatch):
    model, _ = _fit(conv, "process", epochs=1, n=64)
    model._halves.worker.close()
    run_half = parallel._run_half

    def failing(*args, **kwargs):
        if half_worker._IN_CHILD:
            raise ValueError("boom in the child")
        return run_half(*args, **kwargs)

    monkeypatch.setattr(parallel, "_run_half", failing)  # the next child is forked with it
    r = np.random.default_rng(0)
    x = r.random((64, 12, 12, 2)).astype(np.float32)  # replica A traces again here (2 steps), then a new child
    y = np.eye(10, dtype=np.float32)[r.integers(0, 10, 64)]
    with two_halves(True), pytest.raises(RuntimeError, match="boom in the child"):
        model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    assert not model._halves.worker.alive()  # closed on the error
    monkeypatch.setattr(parallel, "_run_half", run_half)
    with two_halves(True):
        history = model.fit(x, y, batch_size=16, epochs=1, verbose=0)  # a new child, and the fit goes on
    assert np.isfinite(history.history["loss"][0]) and model._halves.worker.steps > 0
    model._halves.worker.close()


def test_one_child_at_a_time_and_each_is_reaped():
    first, _ = _fit(conv, "process", epochs=1, n=64)
    worker = first._halves.worker
    pid = worker.pid
    os.kill(pid, 0)  # running
    second, _ = _fit(lstm, "process", epochs=1, n=64)
    assert not worker.alive() and second._halves.worker.alive()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # ended and reaped, not a zombie
    pid = second._halves.worker.pid
    second._halves.worker.close()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_the_child_reports_its_memory_to_a_traced_run():
    half_worker.child_peak_mib()  # reset
    tracemalloc.start()
    try:
        model, _ = _fit(conv, "process", epochs=1, n=64)
        extra = half_worker.child_peak_mib()
    finally:
        tracemalloc.stop()
    worker = model._halves.worker
    assert extra > worker.size / 2**20  # the shared memory plus what the child allocated
    worker.close()


def test_recurrent_models_split_only_with_a_worker_process():
    pytest.importorskip("threadpoolctl")
    from threadpoolctl import threadpool_limits

    clear_session()
    model, _ = lstm()
    model.compile(optimizer="sgd", loss="categorical_crossentropy")
    model._prepare_step()
    halves = Halves(model)
    per_sample = forward_flops(model)
    big = int(parallel.PROCESS_MIN_FLOPS / per_sample) + 1
    with threadpool_limits(2):
        assert halves.wanted(big) == ((os.cpu_count() or 1) >= 2)
        assert not halves.wanted(big // 2)  # under PROCESS_MIN_FLOPS
        with half_worker.in_processes(False):
            assert not halves.wanted(big * 100)  # on threads the GIL serialises a recurrence: never split


def test_outputs_too_large_for_the_shared_memory_run_here(monkeypatch):
    m_threads, h_threads = _fit(conv, "threads")
    nbytes = half_worker._nbytes
    monkeypatch.setattr(half_worker, "_nbytes", lambda a: 1 << 40 if half_worker._IN_CHILD else nbytes(a))
    m_proc, h_proc = _fit(conv, "process")  # every answer of the child: "no room"
    worker = m_proc._halves.worker
    assert worker is not None and worker.steps == 0 and not worker.known  # asked once per signature, then not
    for a, b in zip(m_proc.get_weights(), m_threads.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert h_proc == h_threads
    worker.close()


def test_large_weights_for_little_work_stay_on_threads():
    pytest.importorskip("threadpoolctl")
    from threadpoolctl import threadpool_limits

    two_cores = (os.cpu_count() or 1) >= 2
    clear_session()
    rnn, _ = lstm()
    rnn.compile(optimizer="sgd", loss="categorical_crossentropy")
    halves = Halves(rnn)
    n = int(parallel.PROCESS_MIN_FLOPS / forward_flops(rnn)) + 1
    assert halves.weight_bytes <= parallel.COPY_BYTES_PER_FLOP * halves.flops * n
    with threadpool_limits(2):
        assert halves.wanted(n) == two_cores
        halves.weight_bytes = 1 << 40  # weights too large to copy every step: the two-thread rule decides,
        assert not halves.wanted(n * 1000)  # which never splits a recurrence
    clear_session()
    model, _ = conv()
    model.compile(optimizer="sgd", loss="categorical_crossentropy")
    halves = Halves(model)
    small, big = (int(f / forward_flops(model)) + 1 for f in (parallel.PROCESS_MIN_FLOPS, parallel.MIN_FLOPS))
    with threadpool_limits(2):
        assert not halves.wanted(small)  # conv models cross at the two-thread rule's MIN_FLOPS in a process too
        assert halves.wanted(big) == two_cores
        halves.weight_bytes = 1 << 40
        assert halves.wanted(big) == two_cores  # on threads
    assert halves.worker is None


def test_the_child_keeps_no_copy_of_the_parents_other_descriptors():
    import select

    r, w = os.pipe()  # say, the stdin of another subprocess: it must see EOF when this process closes it
    try:
        model, _ = _fit(conv, "process", epochs=1, n=64)
        assert model._halves.worker.alive()
        os.close(w)
        w = None
        ready, _, _ = select.select([r], [], [], 5.0)
        assert ready and os.read(r, 1) == b""  # EOF: no copy of the write end left open in the child
        model._halves.worker.close()
    finally:
        os.close(r)
        if w is not None:
            os.close(w)


def test_no_worker_process_in_one_of_several_mpi_processes(monkeypatch):
    import types

    world = types.SimpleNamespace(Get_size=lambda: 2)
    fake = types.SimpleNamespace(Is_initialized=lambda: True, COMM_WORLD=world)
    monkeypatch.setitem(__import__("sys").modules, "mpi4py.MPI", fake)
    monkeypatch.setattr(half_worker, "_MPI_RUN", [])
    assert not half_worker.available()  # mpirun -n 2: the halves stay on threads
    world.Get_size = lambda: 1
    monkeypatch.setattr(half_worker, "_MPI_RUN", [])
    assert half_worker.available()  # a lone process that imported mpi4py may fork


def test_the_shared_memory_holds_the_weights_once_and_the_larger_of_inputs_and_outputs():
    """#18: the gradients go over the weights (the child has read them), the outputs over the inputs, and the room
    is sized by whichever is larger, from the recorded plan: a model whose outputs outgrow its inputs (sparse
    labels, many classes) still runs every step in the child."""
    def wide_out():
        return Sequential([layers.Input((3, 2)), layers.LSTM(4), layers.Dense(600, activation="softmax")]), (3, 2)

    results = []
    for where in ("threads", "process"):
        clear_session()
        set_random_seed(0)
        model, shape = wide_out()
        model.compile(optimizer=SGD(learning_rate=0.05), loss="sparse_categorical_crossentropy")
        r = np.random.default_rng(3)
        x = r.random((48, *shape)).astype(np.float32)
        y = r.integers(0, 600, 48)
        with two_halves(True), half_worker.in_processes(where == "process"):
            history = model.fit(x, y, batch_size=16, epochs=2, verbose=0)
        results.append((model, history.history))
    (m_threads, h_threads), (m_proc, h_proc) = results
    worker = m_proc._halves.worker
    weights = sum(-(-w.data.nbytes // 64) * 64 for w in m_proc._train_weights)
    inputs = -(-8 * 3 * 2 * 4 // 64) * 64 + -(-8 * y.itemsize // 64) * 64
    outputs = 64 + 8 * 600 * 4  # the loss and half A's 8 rows of probabilities: more than the inputs
    assert worker.size == weights + max(inputs, outputs) and worker.io_base == weights
    assert all(np.shares_memory(w, g) for w, g in zip(worker.weight_views, worker.grad_views))
    assert worker.known and worker.steps == 4  # 6 steps; the first 2 trace: every later one ran in the child
    for a, b in zip(m_proc.get_weights(), m_threads.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert h_proc == h_threads
    worker.close()
