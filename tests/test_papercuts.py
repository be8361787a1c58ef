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
    from neurona.saving.model_io import read_preprocessing

    return read_preprocessing(tmp_path / "m.neurona")["features"]


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


def test_install_hints_are_quoted_for_zsh(monkeypatch):
    """`pip install neurona[onnx]` fails in zsh (the brackets are a glob): every hint quotes the requirement."""
    import re

    import neurona
    from neurona import export

    src = Path(neurona.__file__).parent
    unquoted = [f"{path.relative_to(src)}:{i}" for path in sorted(src.rglob("*.py"))
                for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
                if re.search(r"pip install neurona\[", line)]
    assert unquoted == []
    monkeypatch.setitem(sys.modules, "onnx", None)  # as if onnx were not installed
    with pytest.raises(ImportError, match=r"pip install 'neurona\[onnx\]'"):
        export._onnx_module()


def test_gitignore_ignores_the_demo_report():
    gitignore = Path(__file__).resolve().parents[1] / ".gitignore"
    assert "neurona-report/" in gitignore.read_text().split()


@pytest.mark.parametrize("lang", ["en", "es"])
def test_info_table_columns_line_up(capsys, monkeypatch, lang):
    from neurona.cli import info

    monkeypatch.setenv("NEURONA_LANG", lang)
    real = info._version
    monkeypatch.setattr(info, "_version", lambda dist: None if dist in ("pooch", "tqdm") else real(dist) or "1.0")
    code, out, _err = run_cli(capsys, "info")
    assert code == 0
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.endswith(":") and "pip" not in line and
                 lines[i + 1].lstrip().startswith("matplotlib")) + 1
    table = lines[start:start + len(info.EXTRAS)]
    assert [line.split()[0] for line in table] == [dist for _e, dist, _u in info.EXTRAS]
    states = {line.index(line.split()[1]) for line in table}  # where the version / "not installed" starts
    uses = {line.index(info._(use)) for line, (_e, _d, use) in zip(table, info.EXTRAS)}
    assert len(states) == 1 and len(uses) == 1, table
    assert any("pip install 'neurona[datasets]'" in line for line in table)


def test_new_doctests_pass():
    import doctest

    import neurona.cli.info
    import neurona.suggest

    for module in (neurona.suggest, neurona.cli.info):
        result = doctest.testmod(module)
        assert result.attempted > 0 and result.failed == 0


def test_history_plot_can_draw_the_loss_on_a_log_scale():
    pytest.importorskip("matplotlib")
    from neurona import plot

    logs = {"loss": [100.0, 10.0, 1.0, 0.1], "val_loss": [120.0, 12.0, 1.5, 0.2], "mae": [9.0, 3.0, 1.0, 0.3]}
    fig = plot.history(logs, logy=True)
    assert [ax.get_yscale() for ax in fig.axes if ax.get_title()] == ["log", "linear"]
    assert [ax.get_yscale() for ax in plot.history(logs).axes if ax.get_title()] == ["linear", "linear"]
    negative = plot.history({"loss": [-1.0, -2.0]}, logy=True)  # a log axis needs positive values
    assert negative.axes[0].get_yscale() == "linear"


def test_sum_lab_draws_its_loss_curve_on_a_log_scale(monkeypatch):
    pytest.importorskip("matplotlib")
    from neurona import labs, plot
    from neurona.report import Report

    seen = []
    real = plot.history

    def spy(history, **kwargs):
        fig = real(history, **kwargs)
        seen.append([ax.get_yscale() for ax in fig.axes if ax.get_title() == "loss"])
        return fig

    monkeypatch.setattr(plot, "history", spy)
    metrics = labs.run("sum", True, report=Report("sum"), verbose=0)
    assert seen == [["log"]] and metrics["mse"] >= 0


def _wine_with_index(path: Path, index_name: str, start: int) -> Path:
    """The slides' wine_shuffled.data as pandas saves it: the shuffled frame's index as an unnamed first column."""
    from neurona.datasets import wine

    x, y = wine.load(dtype="float64")
    order = np.random.default_rng(0).permutation(len(x))
    header = [index_name, "Cultivator"] + [name.replace("/", "_") for name in wine.FEATURE_NAMES]
    rows = [[int(i) + start, int(y[i]) + 1] + [f"{v:g}" for v in x[i]] for i in order]
    return _write_csv(path, header, rows)


@pytest.mark.parametrize("index_name, start", [("", 0), ("Unnamed: 0", 0), ("", 1)])
def test_unnamed_index_column_is_dropped_with_a_message(tmp_path, capsys, index_name, start):
    from neurona.datasets import wine

    data = _wine_with_index(tmp_path / "wine_shuffled.data", index_name, start)
    model = tmp_path / "m.neurona"
    code, _out, err = run_cli(capsys, "train", data, "--target", "Cultivator", "--epochs", "2", "--model", model,
                              "--report", "")
    assert code == 0, err
    assert "holds the row numbers (a saved index), not data; it is left out" in err
    assert _trained_features(tmp_path) == [name.replace("/", "_") for name in wine.FEATURE_NAMES]
    code, out, err = run_cli(capsys, "predict", model, data)  # the same file predicts, its index left out too
    assert code == 0 and len(out.strip().splitlines()) == 179 and "left out" in err


def test_index_like_columns_that_are_data_are_kept(tmp_path, capsys):
    from neurona.cli.csvdata import read_csv

    named = _write_csv(tmp_path / "named.csv", ["id", "x", "y"], [[i, i * 0.5, i % 2] for i in range(12)])
    gaps = _write_csv(tmp_path / "gaps.csv", ["", "x", "y"], [[2 * i, i * 0.5, i % 2] for i in range(12)])
    for path, first in ((named, "id"), (gaps, "column_1")):
        assert read_csv(str(path)).header == [first, "x", "y"]
    assert capsys.readouterr().err == ""


def test_index_message_in_spanish(tmp_path, capsys, monkeypatch):
    from neurona.cli.csvdata import read_csv

    monkeypatch.setenv("NEURONA_LANG", "es")
    data = _write_csv(tmp_path / "w.csv", ["", "x", "y"], [[i, i * 0.5, i % 2] for i in range(5)])
    assert read_csv(str(data)).header == ["x", "y"]
    assert "contiene los números de fila (un índice guardado), no datos; se deja fuera" in capsys.readouterr().err
