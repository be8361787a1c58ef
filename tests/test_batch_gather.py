"""Batch assembly in O(batch): fit on a strided view, Fortran order, a memmap, float64 and several inputs gives
the same weights as fit on the contiguous float32 copy (same seed), without copying the whole input per batch;
a memmap whose file shrinks is reported by name."""

import tracemalloc

import numpy as np
import pytest

from neurona.layers import Concatenate, Dense, Flatten, Input
from neurona.layers.base import clear_session
from neurona.models import Model, Sequential
from neurona.models.data import check_finite
from neurona.models.gather import Rows
from neurona.utils import set_random_seed


def siamese_data(n=96, seed=0):
    r = np.random.default_rng(seed)
    pairs = r.normal(size=(n, 2, 6, 5)).astype(np.float32)
    y = (pairs[:, 0].sum(axis=(1, 2)) > pairs[:, 1].sum(axis=(1, 2))).astype(np.float32)
    return pairs, y


def fit_weights(x, y, two_inputs=False, epochs=2, batch_size=16):
    clear_session()
    set_random_seed(0)
    if two_inputs:
        a, b = Input((6, 5)), Input((6, 5))
        h = Concatenate()([Flatten()(a), Flatten()(b)])
        model = Model([a, b], Dense(1, activation="sigmoid")(Dense(8, activation="relu")(h)))
    else:
        model = Sequential([Input((6, 5)), Flatten(), Dense(8, activation="relu"), Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    hist = model.fit(x, y, batch_size=batch_size, epochs=epochs, verbose=0, validation_data=(x, y))
    return [w.copy() for w in model.get_weights()], hist.history, model.predict(x, verbose=0)


def assert_same(a, b):
    for wa, wb in zip(a[0], b[0]):
        np.testing.assert_array_equal(wa, wb)
    assert a[1] == b[1]
    np.testing.assert_array_equal(a[2], b[2])


def test_layouts_give_bit_identical_fits(tmp_path):
    pairs, y = siamese_data()
    ref = fit_weights(np.ascontiguousarray(pairs[:, 0]), y)
    strided = pairs[:, 0]
    assert not strided.flags.c_contiguous
    assert_same(ref, fit_weights(strided, y))
    assert_same(ref, fit_weights(np.asfortranarray(pairs[:, 0]), y))
    assert_same(ref, fit_weights(pairs[:, 0].astype(np.float64), y))  # converted per batch, same float32 values
    path = tmp_path / "x.dat"
    mm = np.memmap(path, dtype=np.float32, mode="w+", shape=strided.shape)
    mm[:] = strided
    mm.flush()
    assert_same(ref, fit_weights(np.memmap(path, dtype=np.float32, mode="r", shape=strided.shape), y))


def test_two_inputs_as_list_and_dict_of_views():
    pairs, y = siamese_data()
    ref = fit_weights([np.ascontiguousarray(pairs[:, 0]), np.ascontiguousarray(pairs[:, 1])], y, two_inputs=True)
    assert_same(ref, fit_weights([pairs[:, 0], pairs[:, 1]], y, two_inputs=True))


def test_rows_gather_matches_fancy_indexing_and_reuses_its_buffer():
    r = np.random.default_rng(1)
    base = r.normal(size=(50, 3, 4))
    for arr in (base, base[:, 1], np.asfortranarray(base), base[::2], (base * 10).astype(np.int16)):
        rows = Rows(arr, np.dtype(np.float32), reuse=True)
        idx = r.permutation(len(arr))[:7]
        got = rows.take(idx)
        np.testing.assert_array_equal(got, arr[idx].astype(np.float32))
        again = rows.take(idx[:3])
        assert np.shares_memory(got, again)  # one buffer per input
        np.testing.assert_array_equal(rows.slice(2, 9), arr[2:9].astype(np.float32))


def test_strided_batches_never_copy_the_whole_input():
    pairs = np.zeros((4000, 2, 32, 32), np.float32)  # x = pairs[:, 0] is 16 MB
    view = pairs[:, 0]
    rows = Rows(view, np.dtype(np.float32), reuse=True)
    perm = np.random.default_rng(0).permutation(len(view))
    tracemalloc.start()
    for start in range(0, 1024, 128):
        rows.take(perm[start:start + 128])
    check_finite(view, "x")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < view.nbytes / 4, f"peak {peak} bytes for a {view.nbytes}-byte input"


def test_memmap_that_shrinks_is_reported_by_name(tmp_path):
    path = tmp_path / "shrinks.dat"
    x = np.memmap(path, dtype=np.float32, mode="w+", shape=(64, 6, 5))
    x[:] = 0.5
    x.flush()
    y = np.zeros(64, np.float32)
    x = np.memmap(path, dtype=np.float32, mode="r", shape=(64, 6, 5))
    with open(path, "r+b") as f:
        f.truncate(100)
    model = Sequential([Input((6, 5)), Flatten(), Dense(1, activation="sigmoid")])
    model.compile(optimizer="sgd", loss="binary_crossentropy")
    with pytest.raises(OSError, match="shrinks.dat.*shrank to 100 bytes"):
        model.fit(x, y, batch_size=16, epochs=1, verbose=0)


def test_memmap_prefetch_changes_nothing_even_with_dropout(tmp_path, monkeypatch):
    from neurona.layers import Dropout
    from neurona.models import data as batches_module

    pairs, y = siamese_data()
    path = tmp_path / "x.dat"
    mm = np.memmap(path, dtype=np.float32, mode="w+", shape=(len(pairs), 6, 5))
    mm[:] = pairs[:, 0]
    mm.flush()

    def fit(x):
        clear_session()
        set_random_seed(0)
        model = Sequential([Input((6, 5)), Flatten(), Dense(8, activation="relu"), Dropout(0.3),
                            Dense(1, activation="sigmoid")])
        model.compile(optimizer="adam", loss="binary_crossentropy")
        model.fit(x, y, batch_size=16, epochs=3, verbose=0, validation_data=(x, y))
        return model.get_weights(), model.predict(x, verbose=0)

    monkeypatch.setattr(batches_module, "PREFETCH_MAPPED_BYTES", 0)
    assert batches_module.ArrayBatches([np.memmap(path, dtype=np.float32, mode="r", shape=mm.shape)], None, None,
                                       16).prefetch  # read on a background thread
    ref = fit(np.ascontiguousarray(pairs[:, 0]))
    runs = []
    for threshold in (0, None):  # prefetch every memmap, then none
        monkeypatch.setattr(batches_module, "PREFETCH_MAPPED_BYTES", threshold)
        runs.append(fit(np.memmap(path, dtype=np.float32, mode="r", shape=mm.shape)))
    for got in runs:
        for a, b in zip(ref[0], got[0]):
            np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(ref[1], got[1])


def test_float64_values_that_overflow_float32_are_refused_before_training():
    x = np.ones((8, 3))
    x[5, 2] = 1e300  # finite in float64, inf once a batch is converted to the model's float32
    model = Sequential([Input((3,)), Dense(1)])
    model.compile("sgd", "mse")
    with pytest.raises(ValueError, match=r"x\[5, 2\].*float32"):
        model.fit(x, np.ones(8), verbose=0)
