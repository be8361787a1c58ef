"""Every lab of `neurona lab list` runs with --quick and gets sensible numbers; `neurona demo --quick` runs the
core labs end to end into a report whose figures are embedded (the core labs are run there, once)."""

from __future__ import annotations

import base64
import math
import re
import sys

import pytest

from neurona import labs
from neurona.cli import main
from neurona.report import Report

EXPECTED = {  # quick runs: loose floors that still catch a lab that stopped learning
    "perceptron": {"mlp_xor": 0.9, "perceptron_and": 1.0, "perceptron_or": 1.0, "neuron_blobs": 0.9},
    "product": {"r2": 0.3},
    "augmentation": {"augmented_on_moved": 0.45, "augmented_on_original": 0.7, "plain_on_original": 0.8},
    "transfer": {"feature_extraction": 0.5, "fine_tuning": 0.7, "from_scratch": 0.5},
    "sum": {"r2": 0.99},
    "wine": {"test_accuracy": 0.9},
    "mnist-mlp": {"test_accuracy": 0.7, "softmax_regression_accuracy": 0.85},
    "cnn": {"test_accuracy": 0.5},
    "tf-graph": {"test_accuracy": 0.85, "valid_accuracy": 0.85},
    "recommender": {"worst_gain_over_baseline": 0.1},
    "text": {"lstm_accuracy": 0.9, "transformer_accuracy": 0.85},
    "attention": {"reverse_token_accuracy": 0.99, "copy_token_accuracy": 0.99},
    "road": {"test_iou": 0.4, "pixel_accuracy": 0.8},
    "localization": {"class_accuracy": 0.4, "mean_box_iou": 0.3},
    "forecast": {"lstm_vs_last_value": 2.0},
    "baby-cry": {"test_accuracy": 0.9},
    "char-rnn": {"next_char_accuracy": 0.6, "valid_word_rate": 0.5},
    "autoencoder": {"anomaly_precision": 0.2, "anomaly_recall": 0.1},
    "vae": {"code_std": 0.3},
    "gan": {"judge_confidence_real": 0.8, "d_acc": 0.5},
    "dbn": {"dbn_all_first_epoch": 0.15, "dbn_few_accuracy": 0.5},
}


@pytest.fixture(autouse=True)
def english(monkeypatch):
    for var in ("NEURONA_LANG", "LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(var, raising=False)


def check(name: str, metrics: dict[str, float]) -> None:
    assert all(isinstance(v, float) and math.isfinite(v) for v in metrics.values()), metrics
    for key, floor in EXPECTED[name].items():
        assert metrics[key] >= floor, (name, key, metrics[key])


def test_every_lab_is_listed_with_its_code(capsys):
    assert main(["lab", "list"]) == 0
    out = capsys.readouterr().out
    assert set(EXPECTED) == set(labs.names())
    for lab in labs.LABS:
        assert lab.path.is_file() and lab.name in out and str(lab.path) in out
    assert set(labs.CORE) == {"sum", "wine", "mnist-mlp", "cnn"}
    assert labs.get("MNIST_MLP").name == "mnist-mlp"
    with pytest.raises(KeyError, match="perceptron"):
        labs.get("no-such-lab")


@pytest.mark.parametrize("name", [n for n in labs.names() if n not in labs.CORE])
def test_lab_runs_quick(name, capsys):
    report = Report(name)
    metrics = labs.run(name, quick=True, report=report, verbose=1)
    check(name, metrics)
    assert metrics["seconds"] > 0
    assert report.sections and report.sections[0].blocks
    assert capsys.readouterr().out
    if name == "augmentation":
        assert metrics["augmented_on_moved"] > metrics["plain_on_moved"]
    if name == "transfer":  # the few-label harder task, where transfer wins (more seeds: test_lab_figures_live.py)
        assert metrics["hard_fine_tuning"] > metrics["hard_from_scratch"], metrics


def test_lab_command_prints_what_and_where_and_writes_a_report(tmp_path, capsys):
    assert main(["lab", "wine", "--quick", "--out", str(tmp_path / "r")]) == 0
    out = capsys.readouterr().out
    assert "Classify wine by cultivator" in out and "labs/wine.py" in out and "docs/evaluation.md" in out
    assert "Epoch" in out and "test accuracy" in out
    assert "Classify wine by cultivator" in (tmp_path / "r" / "index.html").read_text()


def test_demo_quick_end_to_end(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    out_dir = tmp_path / "neurona-report"
    assert main(["demo", "--quick", "--out", str(out_dir)]) == 0
    out = capsys.readouterr().out
    for name in labs.CORE:
        assert f"(neurona lab {name})" in out
    assert "Results (" in out and "Report: " in out
    assert re.search(r"Epoch \d+/\d+", out) and "accuracy: " in out       # Keras-style training logs
    html = (out_dir / "index.html").read_text(encoding="utf-8")
    images = re.findall(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)
    assert len(images) >= 10
    assert all(base64.b64decode(img)[:8] == b"\x89PNG\r\n\x1a\n" for img in images)
    for caption in ("Learning curves", "Confusion matrix", "The evidence for each digit", "filters"):
        assert caption in html
    for lab_title in ("Learn to add two numbers", "Classify wine by cultivator",
                      "Handwritten digits with the slides&#x27; convolutional network"):
        assert lab_title in html
    assert "src=\"http" not in html and "<script" not in html and "<link" not in html
    assert sorted(p.name for p in out_dir.iterdir()) == ["index.html"]


def test_lab_report_without_matplotlib_keeps_tables_and_says_how(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    assert main(["lab", "wine", "--quick", "--out", str(tmp_path)]) == 0
    html = (tmp_path / "index.html").read_text(encoding="utf-8")
    assert "<img" not in html and "matplotlib is not installed" in html
    assert "<td>cultivator 1</td>" in html                   # the confusion matrix, as a table
    capsys.readouterr()
