"""Small usability fixes of issue 21: help with no command, "did you mean" for labs, metrics, losses and
optimizers, repeatable --drop/--keep, the info table's alignment, the index column of the slides' CSV."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from neurona import losses, metrics, optimizers
from neurona.cli import main
from neurona.layers import Dense, Input
from neurona.models import Sequential
from neurona.suggest import did_you_mean, suggest


@pytest.fixture(autouse=True)
def english(monkeypatch):
    for var in ("NEURONA_LANG", "LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(var, raising=False)


def run_cli(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_no_command_prints_the_help(capsys):
    code, out, err = run_cli(capsys)
    assert code == 0 and "usage: neurona" in out and "train" in out and err == ""
    result = subprocess.run([sys.executable, "-m", "neurona"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "usage: neurona" in result.stdout and "error" not in result.stderr


def test_suggest_finds_close_and_prefix_names():
    assert suggest("acuracy", ["accuracy", "auc", "mse"]) == ["accuracy"]
    assert suggest("ADM", ["sgd", "adam"]) == ["adam"]
    assert suggest("mnist", ["cnn", "mnist-mlp"]) == ["mnist-mlp"]
    assert suggest("zzz", ["accuracy", "mse"]) == [] and did_you_mean("zzz", ["mse"]) == ""
    assert did_you_mean("mse_", ["mse", "mae"]) == "did you mean 'mse'?"


def test_unknown_lab_suggests_the_close_name(capsys):
    code, _out, err = run_cli(capsys, "lab", "mnist")
    assert code == 2 and "did you mean 'mnist-mlp'?" in err and len(err.strip().splitlines()) == 1


def _model() -> Sequential:
    return Sequential([Input((3,)), Dense(2, activation="softmax")])


@pytest.mark.parametrize("kwargs, message", [
    ({"optimizer": "adam", "loss": "sparse_categorical_crossentropy", "metrics": ["acuracy"]},
     "unknown metric 'acuracy'; did you mean 'accuracy'?"),
    ({"optimizer": "adam", "loss": "sparse_categorical_crossentropy", "weighted_metrics": {"dense": "pecision"}},
     "unknown metric 'pecision'; did you mean 'precision'?"),
    ({"optimizer": "adam", "loss": "sparse_categorical_crosentropy"},
     "unknown loss 'sparse_categorical_crosentropy'; did you mean 'sparse_categorical_crossentropy'?"),
    ({"optimizer": "adm", "loss": "mse"}, "unknown optimizer 'adm'; did you mean 'adam'"),
])
def test_typos_fail_at_compile_with_a_suggestion(kwargs, message):
    model = _model()
    with pytest.raises(ValueError) as info:
        model.compile(**kwargs)
    assert message in str(info.value)


def test_get_errors_suggest_and_still_list_the_names():
    for get, typo, expected in ((metrics.get, "acuracy", "accuracy"), (losses.get, "mse_", "mse"),
                                (optimizers.get, "rmsprob", "rmsprop")):
        with pytest.raises(ValueError) as info:
            get(typo)
        text = str(info.value)
        assert f"did you mean {expected!r}?" in text and "known" in text


def test_valid_metric_names_still_compile_and_fit():
    model = _model()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy", "acc", "auc"])
    x = np.random.default_rng(0).normal(size=(8, 3)).astype(np.float32)
    history = model.fit(x, np.arange(8) % 2, epochs=1, verbose=0)
    assert "accuracy" in history.history and "acc" in history.history


def _write_csv(path: Path, header: list[str], rows: list[list]) -> Path:
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _mixed_csv(path: Path) -> Path:
    """Two numeric features, two text columns that must be dropped, a class label."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 2))
    rows = [[f"{a:.3f}", f"{b:.3f}", f"city{i % 3}", f"name{i}", int(a + b > 0)] for i, (a, b) in enumerate(x)]
    return _write_csv(path, ["a", "b", "City", "Name", "label"], rows)


def _trained_features(tmp_path: Path) -> list[str]:
    import json

    return json.loads((tmp_path / "m.preprocessing.json").read_text())["features"]


@pytest.mark.parametrize("options", [("--drop", "City", "--drop", "Name"), ("--drop", "City,Name"),
                                     ("--drop", "City", "--drop", "Name,b")])
def test_drop_is_repeatable(tmp_path, capsys, options):
    data = _mixed_csv(tmp_path / "mixed.csv")
    code, _out, err = run_cli(capsys, "train", data, "--target", "label", *options, "--epochs", "1",
                              "--model", tmp_path / "m.neurona", "--report", "")
    assert code == 0, err
    dropped = {c for option in options[1::2] for c in option.split(",")}
    assert _trained_features(tmp_path) == [c for c in ("a", "b") if c not in dropped]


def test_keep_is_repeatable(tmp_path, capsys):
    data = _mixed_csv(tmp_path / "mixed.csv")
    code, _out, err = run_cli(capsys, "train", data, "--target", "label", "--keep", "b", "--features", "a",
                              "--epochs", "1", "--model", tmp_path / "m.neurona", "--report", "")
    assert code == 0, err
    assert _trained_features(tmp_path) == ["b", "a"]
