"""bench/recommenders.py runs and reports numbers (never a speed assertion: timings are not tests)."""

import math
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

pytest.importorskip("surprise")

from bench import recommenders  # noqa: E402


def test_bench_runs_small():
    info = recommenders.run(n_ratings=3000, repeats=1, log=lambda s: None)
    assert len(info["rows"]) == 6
    for row in info["rows"]:
        assert all(math.isfinite(row[k]) and row[k] > 0 for k in ("neurona_s", "surprise_s", "ratio"))
        assert row["rmse_neurona"] < 2 and row["rmse_surprise"] < 2
    assert "| workload |" in info["text"] and "KNNBasic" in info["text"]
