"""bench/transformer.py builds both peers' training steps and they run (timings are not tests)."""

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `bench/` lives next to `src/`, outside the installed package
    sys.path.insert(0, str(ROOT))

from bench import transformer  # noqa: E402


def test_neurona_step_runs_and_learns_something():
    step = transformer.neurona_step()
    first = float(step())
    for _ in range(3):
        last = float(step())
    assert last < first


def test_torch_step_runs():
    pytest.importorskip("torch")
    transformer.torch_step()()
