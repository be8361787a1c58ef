"""Dataset.from_parquet: row groups read in chunks, shuffled by row-group permutation, bad files named."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from neurona.data import Dataset

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")


def write(tmp_path, n=90, files=3, group=10):
    r = np.random.default_rng(0)
    x = r.normal(size=(n, 3))
    y = r.integers(0, 2, n)
    paths = []
    per = n // files
    for i in range(files):
        s = slice(i * per, (i + 1) * per)
        t = pa.table({"a": x[s, 0], "b": x[s, 1].astype(np.float32), "c": (x[s, 2] * 10).astype(np.int64),
                      "label": y[s]})
        p = tmp_path / f"part{i}.parquet"
        pq.write_table(t, p, row_group_size=group)
        paths.append(str(p))
    expect = np.stack([x[:, 0], x[:, 1].astype(np.float32), (x[:, 2] * 10).astype(np.int64)], 1).astype(np.float32)
    return paths, expect, y


def flat(ds):
    got = list(ds)
    return np.concatenate([b[0] for b in got]), np.concatenate([b[1] for b in got]), [len(b[0]) for b in got]


def test_in_order_equals_the_table(tmp_path):
    paths, x, y = write(tmp_path)
    ds = Dataset.from_parquet(paths, label="label", batch_size=8, chunk_rows=7)
    assert len(Dataset.from_parquet(paths, label="label")) == 90
    gx, gy, sizes = flat(ds)
    np.testing.assert_array_equal(gx, x)  # float32 cast per column, as np.asarray(...).astype(float32)
    np.testing.assert_array_equal(gy, y)
    assert sizes == [8] * 11 + [2]
    only = list(Dataset.from_parquet(paths, columns=["c", "a"], batch_size=90))[0]
    np.testing.assert_array_equal(only, x[:, [2, 0]])


def test_shuffled_by_row_group_same_for_same_seed(tmp_path):
    paths, x, y = write(tmp_path)

    def shuffled(seed=5):
        return Dataset.from_parquet(paths, label="label", batch_size=16, shuffle=True, seed=seed)

    a, b = flat(shuffled()), flat(shuffled().prefetch(2))
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[0], x)
    order = np.lexsort(a[0].T[::-1])
    np.testing.assert_array_equal(a[0][order], x[np.lexsort(x.T[::-1])])  # a permutation of the rows
    assert not np.array_equal(flat(shuffled(6))[0], a[0])
    ds = shuffled()
    assert not np.array_equal(flat(ds)[0], flat(ds)[0])  # another order each pass


def test_other_column_set_is_named_or_skipped(tmp_path):
    paths, _, _ = write(tmp_path)
    bad = tmp_path / "bad.parquet"
    pq.write_table(pa.table({"a": [1.0], "z": [2.0], "label": [0]}), bad)
    with pytest.raises(ValueError, match=r"bad\.parquet.*same column set"):
        Dataset.from_parquet(paths + [str(bad)], label="label")
    with pytest.warns(UserWarning, match=r"skipped 1 item.*bad\.parquet"):
        ds = Dataset.from_parquet(paths + [str(bad)], label="label", batch_size=30, on_error="skip")
    assert len(flat(ds)[0]) == 90 and ds.skipped == 1
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"not parquet")
    with pytest.raises(ValueError, match=r"broken\.parquet"):
        Dataset.from_parquet(paths + [str(broken)], label="label")


def test_fit_on_parquet(tmp_path):
    from neurona import layers, models
    from neurona.random import set_seed

    paths, _, _ = write(tmp_path)

    def trained():
        set_seed(0)
        m = models.Sequential([layers.Input((3,)), layers.Dense(4, activation="relu"), layers.Dense(1, "sigmoid")])
        m.compile(optimizer="adam", loss="binary_crossentropy")
        m.fit(Dataset.from_parquet(paths, label="label", batch_size=16, shuffle=True, seed=1), epochs=2, verbose=0)
        return m.get_weights()

    for a, b in zip(trained(), trained()):
        np.testing.assert_array_equal(a, b)


def test_without_pyarrow_the_error_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    with pytest.raises(ImportError, match=r"neurona\[parquet\]"):
        Dataset.from_parquet(str(tmp_path / "x.parquet"))
