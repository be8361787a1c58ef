"""pandas DataFrames in fit/evaluate/predict: gathered per batch, the same results as the float32 array."""

from __future__ import annotations

import numpy as np
import pytest

pd = pytest.importorskip("pandas")

from neurona import layers, models  # noqa: E402
from neurona.models.frames import FrameColumns  # noqa: E402
from neurona.random import set_seed  # noqa: E402


def _frame(n: int = 300, arrow: bool = False) -> tuple[object, np.ndarray]:
    r = np.random.default_rng(0)
    df = pd.DataFrame({"a": r.normal(size=n), "b": r.integers(0, 9, n), "c": r.random(n).astype(np.float32),
                       "d": r.random(n) > 0.5})
    if arrow:
        pytest.importorskip("pyarrow")
        df = df.astype({"a": "float64[pyarrow]", "b": "int64[pyarrow]"})
    y = (df["a"].to_numpy(dtype=float) + df["b"].to_numpy(dtype=float) > 4).astype(np.float32)
    return df, y


def _fit(x: object, y: np.ndarray) -> tuple[list[np.ndarray], object, np.ndarray]:
    set_seed(3)
    m = models.Sequential([layers.Input((4,)), layers.Dense(8, activation="relu"), layers.Dense(1, "sigmoid")])
    m.compile(optimizer="adam", loss="binary_crossentropy")
    h = m.fit(x, y, batch_size=32, epochs=2, verbose=0, validation_split=0.2)
    return m.get_weights(), h.history, m.predict(x, verbose=0)


@pytest.mark.parametrize("arrow", [False, True])
def test_fit_on_frame_matches_float32_array_bit_for_bit(arrow: bool) -> None:
    df, y = _frame(arrow=arrow)
    w_df, h_df, p_df = _fit(df, y)
    w_np, h_np, p_np = _fit(df.to_numpy(dtype=np.float32), y)
    for a, b in zip(w_df, w_np):
        np.testing.assert_array_equal(a, b)
    assert h_df == h_np
    np.testing.assert_array_equal(p_df, p_np)


def test_frame_is_not_copied_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    df, y = _frame()
    calls = []
    monkeypatch.setattr(FrameColumns, "__array__", lambda self, *a, **k: calls.append(1) or np.zeros(self.shape))
    monkeypatch.setattr(pd.DataFrame, "to_numpy", lambda self, *a, **k: calls.append(2) or None)
    monkeypatch.setattr(pd.DataFrame, "__array__", lambda self, *a, **k: calls.append(3) or None)
    _fit(df, y)
    assert calls == []
    cols = FrameColumns.of(df, "x")
    assert np.shares_memory(cols.cols[0], df["a"].to_numpy())  # numpy-backed columns are views, not copies


def test_frame_bad_columns_are_named() -> None:
    df, y = _frame()
    df.loc[7, "a"] = np.nan
    m = models.Sequential([layers.Input((4,)), layers.Dense(1)])
    m.compile(optimizer="sgd", loss="mse")
    with pytest.raises(ValueError, match=r"column 'a'.*row 7"):
        m.fit(df, y, verbose=0)
    df2, _ = _frame()
    df2["e"] = "text"
    m2 = models.Sequential([layers.Input((5,)), layers.Dense(1)])
    m2.compile(optimizer="sgd", loss="mse")
    with pytest.raises(TypeError, match="column 'e'"):
        m2.fit(df2, y, verbose=0)


def test_fit_on_frame_peak_memory_is_a_few_batches() -> None:
    import tracemalloc

    r = np.random.default_rng(0)
    n = 50_000
    df = pd.DataFrame({f"f{i}": r.normal(size=n) for i in range(4)} | {f"i{i}": r.integers(0, 9, n) for i in range(4)})
    y = (df["f0"].to_numpy() > 0).astype(np.float32)
    m = models.Sequential([layers.Input((8,)), layers.Dense(16, activation="relu"), layers.Dense(1, "sigmoid")])
    m.compile(optimizer="adam", loss="binary_crossentropy")
    m.fit(df.iloc[:256], y[:256], verbose=0)  # build and warm up first: the model's own memory is not counted
    tracemalloc.start()
    try:
        m.fit(df, y, batch_size=128, epochs=1, verbose=0)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    whole = int(df.memory_usage(index=False).sum())  # what np.asarray(df) would allocate (float64)
    assert peak < 0.25 * whole, (peak, whole)  # the shuffle order (n int64) and a few batches, not the table
