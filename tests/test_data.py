"""neurona.data.Dataset: sources, transformations, lengths, seeding and the prefetch thread."""

from __future__ import annotations

import gc
import threading

import numpy as np
import pytest

from neurona.data import INFINITE, UNKNOWN, Dataset


def values(ds):
    return [np.asarray(e).tolist() if not isinstance(e, tuple) else tuple(np.asarray(p).tolist() for p in e)
            for e in ds]


def test_from_tensor_slices_structures():
    x, y = np.arange(6).reshape(3, 2), np.array([7, 8, 9])
    assert values(Dataset.from_tensor_slices((x, y))) == [([0, 1], 7), ([2, 3], 8), ([4, 5], 9)]
    assert len(Dataset.from_tensor_slices(x)) == 3
    elems = list(Dataset.from_tensor_slices({"a": y, "b": x}))
    assert elems[1]["a"] == 8 and elems[1]["b"].tolist() == [2, 3]
    assert values(Dataset.from_tensor_slices([1, 2])) == [1, 2]
    with pytest.raises(ValueError, match="same first dimension"):
        Dataset.from_tensor_slices((x, np.arange(4)))
    with pytest.raises(ValueError, match="scalar"):
        Dataset.from_tensor_slices(np.float32(1))


def test_batch_and_drop_remainder():
    ds = Dataset.from_tensor_slices((np.arange(10), np.arange(10) * 2))
    batches = list(ds.batch(4))
    assert len(ds.batch(4)) == 3 and [len(b[0]) for b in batches] == [4, 4, 2]
    np.testing.assert_array_equal(batches[1][1], [8, 10, 12, 14])
    assert len(ds.batch(4, drop_remainder=True)) == 2
    assert [len(b[0]) for b in ds.batch(4, drop_remainder=True)] == [4, 4]
    gen = Dataset.from_generator(lambda: ((i, -i) for i in range(5))).batch(2)
    assert values(gen) == [([0, 1], [0, -1]), ([2, 3], [-2, -3]), ([4], [-4])]
    with pytest.raises(ValueError, match="batch_size"):
        ds.batch(0)


def test_shuffle_is_seeded_per_pass_and_complete():
    ds = Dataset.from_tensor_slices(np.arange(50)).shuffle(50, seed=3).batch(7)
    first, second = np.concatenate(list(ds)), np.concatenate(list(ds))
    assert sorted(first) == list(range(50)) and sorted(second) == list(range(50))
    assert first.tolist() != second.tolist()  # reshuffled each pass
    again = Dataset.from_tensor_slices(np.arange(50)).shuffle(50, seed=3).batch(7)
    np.testing.assert_array_equal(np.concatenate(list(again)), first)  # the same seed, the same passes
    small = list(Dataset.from_tensor_slices(np.arange(30)).shuffle(4, seed=0))
    assert sorted(int(v) for v in small) == list(range(30)) and [int(v) for v in small] != list(range(30))
    fixed = Dataset.from_tensor_slices(np.arange(9)).shuffle(9, seed=1, reshuffle_each_iteration=False)
    assert values(fixed) == values(fixed)
    gen = Dataset.from_generator(lambda: iter(range(20))).shuffle(5, seed=2)
    assert sorted(values(gen)) == list(range(20))


def test_map_before_and_after_batch():
    ds = Dataset.from_tensor_slices((np.arange(4.0), np.arange(4))).map(lambda x, y: (x * 10, y + 1))
    assert values(ds) == [(0.0, 1), (10.0, 2), (20.0, 3), (30.0, 4)]
    assert len(ds) == 4
    batched = Dataset.from_tensor_slices(np.arange(6)).batch(3).map(lambda b: b.sum())
    assert values(batched) == [3, 12]


def test_repeat_take_skip_and_lengths():
    ds = Dataset.from_tensor_slices(np.arange(5))
    assert values(ds.repeat(2)) == list(range(5)) * 2 and len(ds.repeat(2)) == 10
    forever = ds.repeat()
    assert forever.cardinality() == INFINITE
    with pytest.raises(TypeError, match="infinite"):
        len(forever)
    assert values(forever.take(12)) == list(range(5)) * 2 + [0, 1]
    assert len(forever.batch(3).take(4)) == 4
    assert values(forever.batch(3).take(3)) == [[0, 1, 2], [3, 4, 0], [1, 2, 3]]
    assert values(ds.skip(3)) == [3, 4] and len(ds.skip(3)) == 2
    assert values(ds.take(-1)) == list(range(5))
    reshuffled = Dataset.from_tensor_slices(np.arange(6)).shuffle(6, seed=0).repeat(2)
    got = values(reshuffled)
    assert sorted(got[:6]) == sorted(got[6:]) == list(range(6)) and got[:6] != got[6:]


def test_from_generator_function_object_and_length():
    ds = Dataset.from_generator(lambda: (i * i for i in range(4)))
    assert values(ds) == values(ds) == [0, 1, 4, 9]
    assert ds.cardinality() == UNKNOWN
    with pytest.raises(TypeError, match="unknown"):
        len(ds)
    assert len(Dataset.from_generator(lambda: iter(range(4)), length=4)) == 4
    once = Dataset.from_generator(i for i in range(3))
    assert values(once) == [0, 1, 2]
    with pytest.raises(RuntimeError, match="only once"):
        list(once)


def test_prefetch_yields_the_same_and_propagates_errors():
    ds = Dataset.from_tensor_slices((np.arange(20), np.arange(20))).shuffle(20, seed=1).batch(6)
    plain = Dataset.from_tensor_slices((np.arange(20), np.arange(20))).shuffle(20, seed=1).batch(6)
    assert values(ds.prefetch(2)) == values(plain)

    def broken():
        yield 1
        raise KeyError("bad element")

    with pytest.raises(KeyError, match="bad element"):
        list(Dataset.from_generator(broken).prefetch(3))


def test_prefetch_thread_stops_when_the_consumer_does():
    it = iter(Dataset.from_tensor_slices(np.arange(10)).repeat().prefetch(2))
    assert [int(next(it)) for _ in range(3)] == [0, 1, 2]
    del it
    gc.collect()
    for t in threading.enumerate():
        if t.name == "neurona-prefetch":
            t.join(timeout=2)
    assert not any(t.name == "neurona-prefetch" and t.is_alive() for t in threading.enumerate())


def test_dataset_feeds_a_keras_style_loop():
    """What fit does with a dataset: len() batches per epoch, a fresh pass each epoch."""
    x = np.random.default_rng(0).normal(size=(25, 3)).astype(np.float32)
    ds = Dataset.from_tensor_slices((x, np.arange(25))).shuffle(25, seed=0).batch(8).prefetch(1)
    for _ in range(2):
        seen = [yb for _, yb in ds]
        assert len(seen) == len(ds) == 4
        assert sorted(np.concatenate(seen).tolist()) == list(range(25))


def test_fit_accepts_a_dataset_and_an_image_generator():
    models = pytest.importorskip("neurona.models")
    if not hasattr(models, "Sequential"):
        pytest.skip("the training loop is not available")
    from neurona import layers
    from neurona.preprocessing.image import ImageDataGenerator

    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, size=(40, 8, 8, 1)).astype(np.float32)
    y = (x.mean(axis=(1, 2, 3)) > 127).astype(np.float32)
    model = models.Sequential([layers.Input((8, 8, 1)), layers.Rescaling(1 / 255), layers.RandomFlip(seed=0),
                               layers.Flatten(), layers.Dense(1, activation="sigmoid")])
    model.compile(loss="binary_crossentropy", optimizer="sgd")
    ds = Dataset.from_tensor_slices((x, y)).shuffle(40, seed=0).batch(16).prefetch(1)
    assert len(model.fit(ds, epochs=2, verbose=0).history["loss"]) == 2
    flow = ImageDataGenerator(horizontal_flip=True, rotation_range=10).flow(x, y, batch_size=16, seed=0)
    assert len(model.fit(flow, epochs=2, verbose=0).history["loss"]) == 2
    infinite = Dataset.from_tensor_slices((x, y)).batch(8).repeat()
    assert len(model.fit(infinite, steps_per_epoch=3, epochs=1, verbose=0).history["loss"]) == 1
