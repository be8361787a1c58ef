"""The benchmark suite runs and produces numbers (never a speed assertion: timings are not tests)."""

import math
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `bench/` lives next to `src/`, outside the installed package
    sys.path.insert(0, str(ROOT))

from bench import suite  # noqa: E402
from bench.__main__ import main  # noqa: E402

TINY = {"slide_mlp": 200, "wide_mlp": 128, "slide_cnn": 100}


def tiny_config(**kwargs):
    base = dict(quick=True, repeats=2, min_time=0.001, threads=1, samples=TINY, predict_samples=64,
                peers=("neurona", "numpy floor", "torch eager", "sklearn MLP"), profile=False, memory=False)
    return suite.Config(**{**base, **kwargs})


def numbers(cells):
    return {name: cell for name, cell in cells.items() if not name.startswith("_") and cell.samples}


def test_quick_suite_times_every_workload_and_task(tmp_path):
    out = tmp_path / "RESULTS.md"
    info = suite.run(tiny_config(output=str(out)), log=lambda s: None)
    assert set(info["results"]) == set(suite.WORKLOADS)
    for key, tasks in info["results"].items():
        assert set(tasks) == set(suite.TASKS)
        for task, cells in tasks.items():
            timed = numbers(cells)
            assert "neurona" in timed, (key, task)
            for cell in timed.values():
                assert len(cell.samples) == 2 and all(math.isfinite(s) and s > 0 for s in cell.samples)
    # peers that cannot run a workload say why instead of failing the run
    assert "dense layers only" in info["results"]["slide_cnn"]["train"]["sklearn MLP"].skipped
    assert numbers(info["results"]["slide_cnn"]["train"]).get("numpy floor")  # the hand-written CNN floor (#18)
    text = out.read_text()
    assert text == info["text"]
    for heading in ("## Training", "## Inference", "## Arithmetic efficiency", "## Memory", "## Targets",
                    "LSTM(64)", "- CPU:", "NumPy BLAS:"):
        assert heading in text


def test_memory_and_profile_sections_are_filled():
    info = suite.run(tiny_config(workloads=["slide_mlp"], peers=("neurona", "numpy floor"), memory=True,
                                 profile=True), log=lambda s: None)
    cell = info["results"]["slide_mlp"]["train"]["neurona"]
    assert cell.traced_mb is not None and cell.traced_mb > 0
    phases = info["phases"]["slide_mlp"]
    assert set(phases) == {"neurona", "numpy floor"}
    assert all(v >= 0 for v in phases["neurona"].values()) and set(phases["neurona"]) == set(suite.PHASES)
    assert info["profiles"]["slide_mlp"] and "Where a training step's time goes" in info["text"]


def test_flop_counts_match_hand_counts():
    wl = suite.WORKLOADS["slide_mlp"]
    forward, first = suite.forward_flops(wl)
    assert forward == 2 * (784 * 10 + 10 * 10) and first == 2 * 784 * 10
    assert suite.train_flops_per_step(wl) == 100 * (3 * forward - first)
    cnn, _ = suite.forward_flops(suite.WORKLOADS["slide_cnn"])
    assert cnn == 2 * (24 * 24 * 25 * 32 + 8 * 8 * 800 * 64 + 1024 * 10)


def test_cli_rejects_unknown_workload(capsys):
    with pytest.raises(SystemExit):
        main(["--quick", "--workloads", "nope"])
    assert "unknown workload" in capsys.readouterr().err


@pytest.mark.slow
def test_python_m_bench_quick_runs(tmp_path):
    out = tmp_path / "quick.md"
    proc = subprocess.run([sys.executable, "-m", "bench", "--quick", "--threads", "1", "--output", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "## Targets" in out.read_text()


def test_lstm_bench_step_runs():
    from bench import lstm

    step = lstm.neurona_step()
    loss = step()
    assert math.isfinite(float(loss))


def test_two_thread_counts_in_one_run_and_the_algorithmic_minimum():
    """Each workload at every thread count (rows 'key@N' after the first), the memory ratio against the
    minimum computed from the model itself, printed, and each target per row with met/missed."""
    info = suite.run(tiny_config(workloads=["slide_mlp"], peers=("neurona", "numpy floor"), memory=True,
                                 thread_counts=(2, 1)), log=lambda s: None)
    assert set(info["results"]) == {"slide_mlp", "slide_mlp@1"}
    assert info["threads_of"] == {"slide_mlp": 2, "slide_mlp@1": 1} and set(info["peaks_by_threads"]) == {1, 2}
    minimum = info["minimum"]["slide_mlp"]
    weights = 4 * (785 * 10 + 11 * 10)  # kernels and biases, float32
    assert minimum["weights"] * 2**20 == weights == minimum["gradients"] * 2**20
    assert minimum["optimizer state"] == 0  # plain SGD keeps no state
    # one batch of 100: the two dense outputs and the loss's softmax (the scalar loss not counted)
    assert minimum["activations kept for backward"] * 2**20 >= 4 * 100 * (10 + 10)
    assert minimum["one batch"] * 2**20 == 4 * 100 * (784 + 10)
    text = info["text"]
    assert "2 threads" in text and "1 thread" in text and f"**{sum(minimum.values()):.2f}**" in text
    targets = text.split("## Targets")[1].split("##")[0]
    assert "PyTorch eager" not in targets  # torch eager was not among the peers
    assert "within 1.15x of the hand-written floor (#18) — 1 thread" in targets
    assert all(("**met**" in ln) or ("**missed**" in ln) for ln in targets.splitlines() if ln.startswith("| slide"))
