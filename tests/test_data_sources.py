"""Disk sources of neurona.data.Dataset (.npy shards, CSV in chunks, image folders) and fit on data larger than
what it copies: same seed -> same shuffled batches, prefetch changes nothing, bad files named, skips counted,
and fit/evaluate/predict on an np.memmap with a bounded peak of traced memory."""

import tracemalloc
import warnings

import numpy as np
import pytest

from neurona.data import Dataset
from neurona.layers import Dense, Flatten, Input
from neurona.layers.base import clear_session
from neurona.models import Sequential
from neurona.utils import set_random_seed


def write_shards(folder, n=100, per=30, cols=3):
    r = np.random.default_rng(0)
    x = r.normal(size=(n, cols)).astype(np.float32)
    y = (x.sum(axis=1) > 0).astype(np.float32)
    xs, ys = [], []
    for i, start in enumerate(range(0, n, per)):
        xs.append(folder / f"x{i}.npy")
        ys.append(folder / f"y{i}.npy")
        np.save(xs[-1], x[start:start + per])
        np.save(ys[-1], y[start:start + per])
    return x, y, xs, ys


def write_csv(folder, x, y, parts=3):
    paths = []
    for i, idx in enumerate(np.array_split(np.arange(len(x)), parts)):
        p = folder / f"part{i}.csv"
        lines = ["a,b,c,label"] + [",".join(f"{v:.9g}" for v in (*x[j], y[j])) for j in idx]
        p.write_text("\n".join(lines) + "\n")
        paths.append(p)
    return paths


def write_images(folder, n_per=4):
    from PIL import Image

    r = np.random.default_rng(0)
    for c in ("cats", "dogs"):
        (folder / c).mkdir()
        for i in range(n_per):
            Image.fromarray(r.integers(0, 256, (6, 5, 3), dtype=np.uint8)).save(folder / c / f"{i}.png")


def batches(ds):
    return [tuple(np.array(leaf) for leaf in (b if isinstance(b, tuple) else (b,))) for b in ds]


def same(a, b):
    assert len(a) == len(b)
    for ba, bb in zip(a, b):
        for la, lb in zip(ba, bb):
            np.testing.assert_array_equal(la, lb)


def test_npy_shards_in_order_and_shuffled_by_seed(tmp_path):
    x, y, xs, ys = write_shards(tmp_path)
    plain = Dataset.from_npy_shards((xs, ys))
    assert len(plain) == 100 and len(plain.batch(32)) == 4
    got = batches(plain.batch(32))
    np.testing.assert_array_equal(np.concatenate([b[0] for b in got]), x)
    assert [len(b[0]) for b in got] == [32, 32, 32, 4]

    def shuffled():
        return Dataset.from_npy_shards((xs, ys), shuffle=True, seed=7).batch(16)

    one, two = shuffled(), shuffled()
    first = batches(one)
    same(first, batches(two))  # same seed, same batches
    second = batches(one)  # the next pass: another order
    assert not np.array_equal(first[0][0], second[0][0])
    rows = np.concatenate([b[0] for b in first])
    np.testing.assert_array_equal(np.sort(rows, axis=0), np.sort(x, axis=0))
    same(batches(shuffled()), batches(shuffled().prefetch(2)))  # prefetch never changes the batches


def test_csv_in_chunks_same_as_the_table(tmp_path):
    x, y, _, _ = write_shards(tmp_path, n=50)
    paths = write_csv(tmp_path, x, y)
    ds = Dataset.from_csv(paths, label="label", chunk_rows=7)
    assert len(ds) == 50
    got = batches(ds.batch(8))
    np.testing.assert_allclose(np.concatenate([b[0] for b in got]), x, rtol=1e-6)
    np.testing.assert_array_equal(np.concatenate([b[1] for b in got]), y)

    def shuffled():
        return Dataset.from_csv(paths, label="label", shuffle=True, seed=3, chunk_rows=7).batch(8)

    same(batches(shuffled()), batches(shuffled()))
    same(batches(shuffled()), batches(shuffled().prefetch(3)))


def test_csv_with_another_column_set_or_a_bad_line_is_named(tmp_path):
    x, y, _, _ = write_shards(tmp_path, n=20)
    paths = write_csv(tmp_path, x, y, parts=2)
    other = tmp_path / "other.csv"
    other.write_text("a,b,d,label\n1,2,3,0\n")
    with pytest.raises(ValueError, match=r"other\.csv.*columns"):
        Dataset.from_csv([*paths, other], label="label")
    with pytest.warns(UserWarning, match="skipped 1 item"):
        ds = Dataset.from_csv([*paths, other], label="label", on_error="skip")
    assert len(ds) == 20
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b,c,label\n1,2,3,0\n1,oops,3,1\n4,5,6,1\n")
    with pytest.raises(ValueError, match=r"bad\.csv.*line 3"):
        list(Dataset.from_csv(bad, label="label"))
    ds = Dataset.from_csv(bad, label="label", on_error="skip")
    with pytest.warns(UserWarning, match="skipped 1 item"):
        rows = list(ds)
    assert len(rows) == 2 and ds.skipped == 1


def test_shard_with_other_columns_is_named_or_skipped(tmp_path):
    x, y, xs, ys = write_shards(tmp_path)
    np.save(xs[1], np.zeros((30, 4), np.float32))
    with pytest.raises(ValueError, match=r"x1\.npy.*same columns"):
        Dataset.from_npy_shards((xs, ys))
    with pytest.warns(UserWarning, match="skipped 1 item"):
        ds = Dataset.from_npy_shards((xs, ys), on_error="skip")
    assert len(ds) == 70
    assert sum(len(b[0]) for b in ds.batch(32)) == 70


def test_image_folder_decodes_lazily_and_names_a_broken_file(tmp_path):
    pytest.importorskip("PIL")
    write_images(tmp_path)
    ds = Dataset.from_image_folder(tmp_path, (6, 5), shuffle=True, seed=1)
    assert ds.class_names == ["cats", "dogs"] and len(ds) == 8
    got = batches(ds.batch(3))
    assert got[0][0].shape == (3, 6, 5, 3) and got[0][0].dtype == np.float32
    same(got, batches(Dataset.from_image_folder(tmp_path, (6, 5), shuffle=True, seed=1).batch(3).prefetch(2)))
    (tmp_path / "dogs" / "9.png").write_bytes(b"not a png")
    with pytest.raises(ValueError, match=r"9\.png"):
        list(Dataset.from_image_folder(tmp_path, (6, 5)))
    ds = Dataset.from_image_folder(tmp_path, (6, 5), on_error="skip")
    with pytest.warns(UserWarning, match="skipped 1 item"):
        assert len(list(ds)) == 8
    assert ds.skipped == 1


def test_fit_logs_the_images_it_skipped(tmp_path):
    pytest.importorskip("PIL")
    write_images(tmp_path)
    (tmp_path / "cats" / "9.png").write_bytes(b"broken")
    clear_session()
    set_random_seed(0)
    model = Sequential([Input((6, 5, 3)), Flatten(), Dense(2, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    ds = Dataset.from_image_folder(tmp_path, (6, 5), shuffle=True, seed=0, on_error="skip").batch(4).prefetch(1)
    with pytest.warns(UserWarning, match=r"skipped 1 item.*9\.png"):
        history = model.fit(ds, epochs=2, verbose=0)
    assert history.history["skipped"] == [1, 2]  # counted over the passes so far


def small_model(shape):
    clear_session()
    set_random_seed(0)
    model = Sequential([Input(shape), Flatten(), Dense(4, activation="relu"), Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy")
    return model


def test_fit_on_shards_with_and_without_prefetch_is_identical(tmp_path):
    _, _, xs, ys = write_shards(tmp_path)
    weights = []
    for prefetch in (False, True):
        model = small_model((3,))
        ds = Dataset.from_npy_shards((xs, ys), shuffle=True, seed=5).batch(16)
        model.fit(ds.prefetch(2) if prefetch else ds, epochs=3, verbose=0)
        weights.append(model.get_weights())
    for a, b in zip(*weights):
        np.testing.assert_array_equal(a, b)


def memmap_peak(tmp_path, rows, batch, cols=784):
    """Traced peak bytes of fit + evaluate + predict on a float32 memmap of rows x cols (written in chunks)."""
    path = tmp_path / "big.dat"
    mm = np.memmap(path, dtype=np.float32, mode="w+", shape=(rows, cols))
    for start in range(0, rows, 8192):
        mm[start:start + 8192] = np.random.default_rng(start).random((min(8192, rows - start), cols), np.float32)
    mm.flush()
    del mm
    x = np.memmap(path, dtype=np.float32, mode="r", shape=(rows, cols))
    y = np.zeros(rows, np.float32)
    model = small_model((cols,))
    model.fit(x[:256], y[:256], batch_size=256, epochs=1, verbose=0)  # the model's own memory, before measuring
    tracemalloc.start()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.fit(x, y, batch_size=batch, epochs=1, verbose=0)
        model.evaluate(x, y, batch_size=batch, verbose=0)
        model.predict(x, batch_size=batch, verbose=0)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak, x.nbytes


def test_memmap_fit_evaluate_predict_peak_under_10_percent(tmp_path, monkeypatch):
    from neurona.models import data as batches_module

    monkeypatch.setattr(batches_module, "PREFETCH_MAPPED_BYTES", 0)  # with the read-ahead thread and its buffers
    # 24 MB file, batches of 128 (0.4 MB): traced peak (NumPy's allocations; the mapping's page cache is not
    # the process's own memory) under 10 % of the file; it grows with the batch, not with the file
    peak, size = memmap_peak(tmp_path, 8192, 128)
    assert peak < 0.10 * size, f"peak {peak / 2**20:.1f} MiB for a {size / 2**20:.0f} MiB memmap"


@pytest.mark.slow
def test_memmap_200mb_peak_under_10_percent(tmp_path):
    peak, size = memmap_peak(tmp_path, 65536, 512)  # 205 MB
    assert peak < 0.10 * size, f"peak {peak / 2**20:.1f} MiB for a {size / 2**20:.0f} MiB memmap"


def test_float64_memmap_autoencoder_converts_per_batch(tmp_path):
    # x = y = a float64 memmap (48 MB): inputs and targets are converted to float32 per batch, not whole (a whole
    # conversion would take 24 MB; the traced peak is ~3.3 MB whatever the file's size, set by the batch)
    path = tmp_path / "x64.dat"
    rows, cols = 12288, 512
    mm = np.memmap(path, dtype=np.float64, mode="w+", shape=(rows, cols))
    mm[:] = np.random.default_rng(0).random((rows, cols))
    mm.flush()
    x = np.memmap(path, dtype=np.float64, mode="r", shape=(rows, cols))
    clear_session()
    set_random_seed(0)
    model = Sequential([Input((cols,)), Dense(8, activation="relu"), Dense(cols)])
    model.compile(optimizer="adam", loss="mse")
    model.fit(x[:128], x[:128], batch_size=128, epochs=1, verbose=0)
    tracemalloc.start()
    model.fit(x, x, batch_size=128, epochs=1, verbose=0)
    model.evaluate(x, x, batch_size=128, verbose=0)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 0.10 * x.nbytes, f"peak {peak / 2**20:.1f} MiB for a {x.nbytes / 2**20:.0f} MiB memmap"
