"""bench/pipeline.py runs and reports a time per step for every source (never a speed assertion)."""

import math
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `bench/` lives next to `src/`, outside the installed package
    sys.path.insert(0, str(ROOT))

from bench import pipeline  # noqa: E402


def test_quick_pipeline_bench_times_every_source():
    lines = []
    results = pipeline.run(samples=256, quick=True, log=lines.append)
    assert set(results) == {"contiguous", "strided pairs[:, 0]", "fortran order", "memmap", "npy shards (Dataset)"}
    for row in results.values():
        assert row["data"] > 0 and math.isfinite(row["fit"]) and row["fit"] > 0
    assert results["strided pairs[:, 0]"]["old np.take"] > 0
    assert any("strided" in line for line in lines)


def test_quick_tabular_bench_times_frame_and_parquet():
    import pytest

    pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    lines = []
    results = pipeline.tabular(samples=512, quick=True, log=lines.append)
    assert {"float32 array", "pandas DataFrame", "Parquet (Dataset)"} <= set(results)
    for name in ("float32 array", "pandas DataFrame", "Parquet (Dataset)"):
        assert results[name]["data"] > 0 and math.isfinite(results[name]["fit"]) and results[name]["fit"] > 0
    assert any("Parquet" in line for line in lines)
