"""fit's and predict_on_batch's short paths do exactly what the general code does (#17)."""

import numpy as np
import pytest

from neurona import callbacks, layers, metrics
from neurona.layers.base import clear_session
from neurona.models import Sequential
from neurona.models.fast_paths import fast_metric_update
from neurona.tensor import Tensor
from neurona.utils import set_random_seed


def _model():
    clear_session()
    set_random_seed(0)
    model = Sequential([layers.Input((8,)), layers.Dense(6, activation="sigmoid"),
                        layers.Dense(3, activation="softmax")])
    model.compile(optimizer="sgd", loss="categorical_crossentropy", metrics=["accuracy"])
    return model


@pytest.mark.parametrize("cls,sparse", [(metrics.CategoricalAccuracy, False),
                                        (metrics.SparseCategoricalAccuracy, True)])
def test_fast_accuracy_update_equals_update_state(cls, sparse):
    r = np.random.default_rng(0)
    fast, general = cls(), cls()
    for n in (7, 16, 1):
        p = r.random((n, 4)).astype(np.float32)
        labels = r.integers(0, 4, n)
        y = labels if sparse else np.eye(4, dtype=np.float32)[labels]
        assert fast_metric_update(fast, y, p, None)
        general.update_state(y, p)
        assert (fast.total, fast.count, fast.result()) == (general.total, general.count, general.result())
    assert not fast_metric_update(fast, y, p, np.ones(1))  # sample weights: the general path
    assert not fast_metric_update(metrics.MeanSquaredError(), p, p, None)


def test_batch_logs_are_right_when_a_callback_asks():
    """With an on_train_batch_end hook fit takes the per-batch path; the logs equal the running values."""
    seen = []
    model = _model()
    r = np.random.default_rng(2)
    x = r.random((40, 8)).astype(np.float32)
    y = np.eye(3, dtype=np.float32)[r.integers(0, 3, 40)]
    hook = callbacks.LambdaCallback(on_train_batch_end=lambda batch, logs: seen.append(dict(logs)))
    history = model.fit(x, y, batch_size=10, epochs=1, verbose=0, shuffle=False, callbacks=[hook])
    assert len(seen) == 4 and seen[-1] == {k: v[0] for k, v in history.history.items()}
    plain = _model().fit(x, y, batch_size=10, epochs=1, verbose=0, shuffle=False)  # no hook: the tight loop
    assert plain.history == history.history


def test_predict_on_batch_short_path_checks_and_follows_the_model():
    model = _model()
    x = np.random.default_rng(3).random((5, 8)).astype(np.float32)
    first = [model.predict_on_batch(x[i:i + 1]) for i in range(4)]  # full path, then the short one
    assert model.__dict__.get("_fast_x") is not None
    for i, got in enumerate(first):  # the short path gives exactly what the eager forward gives on that sample
        np.testing.assert_array_equal(got, np.asarray(model(x[i:i + 1]).data))
    # a batch of 4 runs other BLAS kernels than one sample (the narrow kernel is stored column by column, #17):
    # equal to float32 rounding, as in PyTorch
    np.testing.assert_allclose(np.concatenate(first), model.predict_on_batch(x[:4]), rtol=1e-6)
    bad = x[:1].copy()
    bad[0, 3] = np.nan
    with pytest.raises(ValueError, match=r"x contains 1 NaN.*x\[0, 3\]"):
        model.predict_on_batch(bad)
    np.testing.assert_array_equal(model.predict_on_batch(x[:2].astype(np.float64)), model.predict_on_batch(x[:2]))
    with pytest.raises(ValueError):
        model.predict_on_batch(x[:1, :5])  # a wrong shape still gets the full path's error
    kernel = model.layers[-1].kernel  # a weight replaced by another Tensor: the plan and the signature are redone
    model.layers[-1].kernel = Tensor(np.zeros_like(kernel.data), requires_grad=True)
    model.layers[-1]._trainable_weights[0] = model.layers[-1].kernel
    np.testing.assert_allclose(model.predict_on_batch(x[:1]), np.full((1, 3), 1 / 3), rtol=1e-6)


def test_fit_in_a_loop_traces_once_and_retraces_after_a_change():
    """fit(epochs=1) called again keeps the recorded step; a changed layer configuration records it anew."""
    model = _model()
    r = np.random.default_rng(4)
    x = r.random((40, 8)).astype(np.float32)
    y = np.eye(3, dtype=np.float32)[r.integers(0, 3, 40)]
    for _ in range(3):
        model.fit(x, y, batch_size=10, epochs=1, verbose=0)
    assert model._replay.trace_count == 2 and model._replay.replayed
    first = model._replay
    model.layers[0].activation = "tanh"
    model.fit(x, y, batch_size=10, epochs=1, verbose=0)
    assert model._replay is not first
    eager = _model()
    eager.compile(optimizer="sgd", loss="categorical_crossentropy", metrics=["accuracy"], run_eagerly=True)
    for _ in range(3):
        eager.fit(x, y, batch_size=10, epochs=1, verbose=0)
    eager.layers[0].activation = "tanh"
    eager.fit(x, y, batch_size=10, epochs=1, verbose=0)
    for a, b in zip(model.get_weights(), eager.get_weights()):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("n,dtype", [(1000, np.uint16), (65536, np.uint16), (70000, np.uint32)])
def test_shuffle_order_is_the_generators_permutation_in_the_smallest_type(n, dtype):
    from neurona.models.data import permutation
    from neurona.random import get_rng

    set_random_seed(3)
    expected = get_rng().permutation(n)
    set_random_seed(3)
    got = permutation(n)
    assert got.dtype == dtype
    np.testing.assert_array_equal(got, expected)


def test_batch_gather_writes_into_its_buffer_without_a_temporary():
    """The bounds-checked np.take gathers into a temporary batch and copies it: fit held two batches (#18)."""
    import tracemalloc

    from neurona.models.gather import Rows

    r = np.random.default_rng(0)
    x = r.random((500, 784), dtype=np.float32)
    rows = Rows(x, np.dtype(np.float32), reuse=True)
    idx = r.permutation(500).astype(np.uint16)[:100]
    rows.take(idx)  # allocates the reused buffer
    tracemalloc.start()
    try:
        out = rows.take(idx[::-1].copy())
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    np.testing.assert_array_equal(out, x[idx[::-1]])
    assert peak < 100 * 784 * 4 // 4  # far less than one batch of float32
