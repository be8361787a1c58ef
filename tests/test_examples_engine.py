import importlib.util
from pathlib import Path

import numpy as np

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def load(name):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_linear_regression_example_matches_least_squares(capsys):
    t0, t1 = load("linear_regression").main(steps=500)
    rng = np.random.default_rng(0)
    x = rng.uniform(-3, 3, 100).astype(np.float32)
    y = (4.0 + 2.5 * x + rng.normal(0, 0.5, 100)).astype(np.float32)
    b1, b0 = np.polyfit(x, y, 1)
    assert abs(t0 - b0) < 1e-3 and abs(t1 - b1) < 1e-3
    assert "dataflow graph" in capsys.readouterr().out
