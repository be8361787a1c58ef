"""The `neurona` command: train / predict / summary / export on CSV files the tests write, the errors a shell
user sees (one line on stderr, exit code 2), Ctrl-C (exit 130, no file left behind), info, and the language
of the messages (gettext catalogues, NEURONA_LANG / LANG)."""

from __future__ import annotations

import csv
import os
import signal
import string
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from neurona import i18n
from neurona.cli import main
from neurona.datasets import wine
from neurona.i18n.catalog import TRANSLATED_PACKAGES, compile_mo, extract_messages, parse_po, python_sources
from neurona.saving.model_io import read_preprocessing

SRC = Path(i18n.__file__).resolve().parents[1]
PO = i18n.LOCALE_DIR / "es" / "LC_MESSAGES" / "neurona.po"
CULTIVARS = ["barolo", "grignolino", "barbera"]  # the three cultivars of the UCI wine data


@pytest.fixture(autouse=True)
def english(monkeypatch):
    """Tests run in English unless they ask for Spanish, whatever the machine's locale."""
    for var in ("NEURONA_LANG", "LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(var, raising=False)


def write_csv(path: Path, header: list[str], rows: list[list]) -> Path:
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def wine_csv(path: Path, labels=("1", "2", "3")) -> Path:
    """The slides' wine_shuffled.data shape: the cultivator first, then the 13 measurements."""
    x, y = wine.load(dtype="float64")
    header = ["Cultivator"] + [name.replace("/", "_") for name in wine.FEATURE_NAMES]
    return write_csv(path, header, [[labels[k]] + [f"{v:g}" for v in row] for row, k in zip(x, y)])


def regression_csv(path: Path, n: int = 300) -> Path:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 3))
    price = 5000 + 1000 * (2 * x[:, 0] - x[:, 1] + 0.5 * x[:, 2] ** 2) + rng.normal(0, 50, n)
    return write_csv(path, ["rooms", "age", "distance", "price"],
                     [[f"{a:.4f}", f"{b:.4f}", f"{c:.4f}", f"{p:.2f}"] for (a, b, c), p in zip(x, price)])


def run_cli(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def read_predictions(path: Path) -> tuple[list[str], list[list[str]]]:
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


# --- train, predict, summary, export -------------------------------------------------------------------

def test_train_and_predict_wine_classification(tmp_path, capsys):
    data = wine_csv(tmp_path / "wine.csv")
    model = tmp_path / "out" / "wine.neurona"
    code, out, err = run_cli(capsys, "train", data, "--target", "Cultivator", "--epochs", "80",
                             "--model", model, "--report", tmp_path / "report")
    assert code == 0, err
    assert "classification into 3 classes (1, 2, 3)" in out and "inferred" in out
    assert "Model: " in out and "test accuracy" in out and "precision" in out
    prep = read_preprocessing(model)
    assert not (tmp_path / "out" / "wine.preprocessing.json").exists()  # inside the archive now
    assert prep["task"] == "classification" and prep["classes"] == ["1", "2", "3"]
    assert len(prep["features"]) == 13 and "Cultivator" not in prep["features"]
    assert model.is_file() and (tmp_path / "report" / "index.html").is_file()

    code, out, err = run_cli(capsys, "predict", model, data, "--out", tmp_path / "preds.csv")
    assert code == 0, err
    header, rows = read_predictions(tmp_path / "preds.csv")
    assert header == ["prediction", "probability_1", "probability_2", "probability_3"]
    _x, y = wine.load()
    accuracy = np.mean([row[0] == str(k + 1) for row, k in zip(rows, y)])
    assert accuracy > 0.9
    assert np.allclose([sum(map(float, row[1:])) for row in rows], 1.0, atol=1e-3)
    assert "178 predictions written" in out and "accuracy" in out     # the file has the target column too


def test_text_labels_and_predict_to_stdout(tmp_path, capsys):
    data = wine_csv(tmp_path / "wine.csv", labels=CULTIVARS)
    model = tmp_path / "m.neurona"
    code, out, err = run_cli(capsys, "train", data, "--target", "Cultivator", "--epochs", "40", "--hidden", "16",
                             "--model", model, "--report", "")
    assert code == 0, err
    assert "barbera, barolo, grignolino" in out                                # sorted text labels
    assert not (tmp_path / "neurona-report").exists()
    new = write_csv(tmp_path / "new.csv", *_without_target(data))             # unlabelled rows, columns reordered
    code, out, err = run_cli(capsys, "predict", model, new)
    assert code == 0, err
    lines = out.strip().splitlines()
    assert lines[0].startswith("prediction,probability_barbera") and len(lines) == 179
    assert {line.split(",")[0] for line in lines[1:]} <= set(CULTIVARS)


def _without_target(path: Path) -> tuple[list[str], list[list[str]]]:
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    header = rows[0][1:][::-1]
    return header, [row[1:][::-1] for row in rows[1:]]


def test_train_and_predict_regression(tmp_path, capsys):
    data = regression_csv(tmp_path / "houses.csv")
    model = tmp_path / "houses.neurona"
    code, out, err = run_cli(capsys, "train", data, "--target", "price", "--hidden", "32,16", "--epochs", "150",
                             "--lr", "0.003", "--model", model, "--report", tmp_path / "rep")
    assert code == 0, err
    assert "regression (inferred" in out and "R2 on the test set" in out
    prep = read_preprocessing(model)
    assert prep["task"] == "regression" and 4000 < prep["target_mean"] < 6000
    code, out, err = run_cli(capsys, "predict", model, data, "--out", tmp_path / "p.csv")
    assert code == 0, err
    header, rows = read_predictions(tmp_path / "p.csv")
    predicted = np.array([float(r[0]) for r in rows])
    with open(data, newline="") as f:
        truth = np.array([float(r[3]) for r in list(csv.reader(f))[1:]])
    r2 = 1 - np.sum((truth - predicted) ** 2) / np.sum((truth - truth.mean()) ** 2)
    assert header == ["prediction"] and r2 > 0.85
    html = (tmp_path / "rep" / "index.html").read_text()
    assert "Results on the test set" in html and "price" in html


def test_task_override_options_and_summary(tmp_path, capsys):
    data = write_csv(tmp_path / "d.csv", ["a", "b", "noise", "grade"],
                     [[i % 7, (i * 3) % 5, "x", i % 4] for i in range(60)])
    code, out, err = run_cli(capsys, "train", data, "--target", "grade", "--drop", "noise", "--task", "regression",
                             "--epochs", "3", "--optimizer", "sgd", "--activation", "tanh", "--batch-size", "8",
                             "--model", tmp_path / "g.neurona", "--report", "")
    assert code == 0, err
    assert "task: regression" in out and "inferred" not in out
    code, out, err = run_cli(capsys, "summary", tmp_path / "g.neurona")
    assert code == 0 and "Total params" in out and "regression of 'grade' from 2 columns: a, b" in out


def test_export_onnx_matches_predict(tmp_path, capsys):
    pytest.importorskip("onnx")
    data = wine_csv(tmp_path / "wine.csv")
    model_path = tmp_path / "w.neurona"
    assert run_cli(capsys, "train", data, "--target", "Cultivator", "--epochs", "5", "--model", model_path,
                   "--report", "")[0] == 0
    code, out, err = run_cli(capsys, "export", model_path, "--onnx", tmp_path / "w.onnx")
    assert code == 0, err
    assert (tmp_path / "w.onnx").stat().st_size > 1000 and "standardised" in out
    ort = pytest.importorskip("onnxruntime")
    from neurona.models import load_model

    x = np.random.default_rng(0).normal(size=(5, 13)).astype(np.float32)
    session = ort.InferenceSession(str(tmp_path / "w.onnx"))
    got = session.run(None, {session.get_inputs()[0].name: x})[0]
    np.testing.assert_allclose(got, load_model(model_path).predict(x, verbose=0), atol=1e-5)


# --- mistakes: one line on stderr, exit code 2 -----------------------------------------------------------

MALFORMED = {
    "missing_file": (None, "no such file"),
    "empty_file": ("", "is empty"),
    "only_blank_lines": ("\n\n  \n", "is empty"),
    "header_only": ("a,b,t\n", "no data lines"),
    "ragged_rows": ("a,b,t\n1,2,3\n4,5\n6,7,8\n", "line 3: 2 values, but the header has 3 columns"),
    "text_in_numeric_column": ("a,colour,t\n1,2,0\n2,red,1\n" + "3,4,0\n" * 10,
                               "column 'colour' is not numeric: line 3 holds 'red'"),
    "missing_value": ("a,b,t\n1,,0\n2,3,1\n" + "3,4,0\n" * 10, "line 2: column 'b' has a missing value"),
    "missing_target": ("a,b,label\n1,2,0\n2,3,1\n", "there is no column 't'"),
    "duplicate_column": ("a,a,t\n1,2,0\n", "appears more than once"),
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_malformed_csv_gives_one_line_and_exit_2(tmp_path, capsys, case):
    content, expected = MALFORMED[case]
    path = tmp_path / "bad.csv"
    if content is not None:
        path.write_text(content)
    code, out, err = run_cli(capsys, "train", path, "--target", "t", "--model", tmp_path / "m.neurona",
                             "--missing", "error")  # (--missing impute, the default, reads such cells as missing)
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and err.startswith("neurona: error: "), err
    assert expected in err and "Traceback" not in err
    assert not (tmp_path / "m.neurona").exists()


def test_bad_column_name_suggests_the_closest(tmp_path, capsys):
    data = wine_csv(tmp_path / "wine.csv")
    code, _out, err = run_cli(capsys, "train", data, "--target", "Cultivater")
    assert code == 2 and "did you mean 'Cultivator'?" in err and len(err.strip().splitlines()) == 1


def test_predict_errors(tmp_path, capsys):
    data = wine_csv(tmp_path / "wine.csv")
    model = tmp_path / "w.neurona"
    assert run_cli(capsys, "train", data, "--target", "Cultivator", "--epochs", "2", "--model", model,
                   "--report", "")[0] == 0
    partial = write_csv(tmp_path / "partial.csv", ["alcohol", "ash"], [[13.2, 2.3]])
    for argv, expected in [
        (("predict", tmp_path / "none.neurona", data), "no such file"),
        (("predict", data, data), "is not a model neurona can load"),
        (("predict", model, partial), "lacks the column(s) the model was trained on: malic_acid"),
        (("summary", tmp_path / "none.neurona"), "no such file"),
        (("lab", "nope"), "there is no lab called 'nope'"),
    ]:
        code, _out, err = run_cli(capsys, *argv)
        assert code == 2 and expected in err and len(err.strip().splitlines()) == 1, err


def test_every_subcommand_has_help(capsys):
    for command in ("demo", "lab", "train", "predict", "summary", "export", "info"):
        with pytest.raises(SystemExit) as exit_info:
            main([command, "--help"])
        assert exit_info.value.code == 0
        assert f"usage: neurona {command}" in capsys.readouterr().out


def test_info(capsys):
    code, out, _err = run_cli(capsys, "info")
    assert code == 0
    for text in ("neurona 0.1.0", "NumPy", "BLAS:", "CPU cores available", "matplotlib", "dataset cache:",
                 "language: en"):
        assert text in out


def test_module_entry_point_runs():
    result = subprocess.run([sys.executable, "-m", "neurona", "lab", "list"], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0 and "mnist-mlp" in result.stdout


def test_ctrl_c_exits_130_and_leaves_no_file(tmp_path):
    rng = np.random.default_rng(0)
    data = write_csv(tmp_path / "big.csv", ["a", "b", "y"], [[a, b, a - b] for a, b in rng.normal(size=(2000, 2))])
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "NEURONA_LANG": "en"}
    process = subprocess.Popen(
        [sys.executable, "-m", "neurona", "train", str(data), "--target", "y", "--epochs", "100000",
         "--patience", "100000", "--batch-size", "8", "--model", str(out_dir / "m.neurona"), "--report",
         str(out_dir / "report")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        for line in process.stdout:       # wait until training has started
            if "Non-trainable params" in line:
                break
        time.sleep(0.5)
        process.send_signal(signal.SIGINT)
        _out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    assert list(out_dir.iterdir()) == []


# --- language -------------------------------------------------------------------------------------------

def test_language_selection(monkeypatch):
    assert i18n.language() == "en"
    monkeypatch.setenv("LANG", "es_ES.UTF-8")
    assert i18n.language() == "es"
    monkeypatch.setenv("LC_ALL", "C.UTF-8")           # POSIX order: LC_ALL wins over LANG
    assert i18n.language() == "en"
    monkeypatch.setenv("NEURONA_LANG", "es_AR")        # NEURONA_LANG wins over everything
    assert i18n.language() == "es"
    monkeypatch.setenv("NEURONA_LANG", "fr")           # no French catalogue: English
    assert i18n.language() == "en"


def test_spanish_output(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("NEURONA_LANG", "es")
    code, out, _err = run_cli(capsys, "lab", "list")
    assert code == 0 and "Clasificar vino según su cultivador" in out and "Aumento de datos" in out
    code, _out, err = run_cli(capsys, "train", tmp_path / "none.csv", "--target", "t")
    assert code == 2 and err.strip() == f"neurona: error: {tmp_path / 'none.csv'}: no existe el archivo"
    data = wine_csv(tmp_path / "wine.csv")
    code, out, err = run_cli(capsys, "train", data, "--target", "Cultivator", "--epochs", "15",
                             "--model", tmp_path / "m.neurona", "--report", tmp_path / "informe")
    assert code == 0, err
    assert "tarea: clasificación en 3 clases" in out and "exactitud en test" in out and "Época" in out
    html = (tmp_path / "informe" / "index.html").read_text()
    assert '<html lang="es">' in html and "Resultados en el conjunto de test" in html
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    assert "la columna que hay que predecir" in capsys.readouterr().out
    monkeypatch.setenv("NEURONA_LANG", "en")
    assert "Classify wine by cultivator" in run_cli(capsys, "lab", "list")[1]


def test_spanish_catalogue_is_complete_and_consistent():
    used = extract_messages(python_sources(SRC, TRANSLATED_PACKAGES))
    messages = parse_po(PO.read_text(encoding="utf-8"), str(PO))
    missing = [k for k in used if k not in messages]
    assert not missing, f"messages without a Spanish translation (add them to {PO}): {missing[:5]}"
    fields = string.Formatter()
    for key, value in messages.items():
        if key:
            names = sorted(f for _t, f, _s, _c in fields.parse(key) if f is not None)
            assert names == sorted(f for _t, f, _s, _c in fields.parse(value) if f is not None), key


def test_compiled_catalogue_matches_its_source():
    messages = parse_po(PO.read_text(encoding="utf-8"), str(PO))
    assert PO.with_suffix(".mo").read_bytes() == compile_mo(messages), \
        "neurona.mo is out of date: run python -m neurona.i18n"


def test_po_parser_and_mo_writer_round_trip(tmp_path):
    import gettext

    po = ('msgid ""\nmsgstr "Content-Type: text/plain; charset=UTF-8\\n"\n"Plural-Forms: nplurals=2; '
          'plural=(n != 1);\\n"\n\nmsgid "a \\"quoted\\"\\nline"\nmsgstr "una línea\\n"\n"entre \\"comillas\\""\n\n'
          '#, fuzzy\nmsgid "fuzzy"\nmsgstr "no"\n\nmsgid "empty"\nmsgstr ""\n\n'
          'msgid "one file"\nmsgid_plural "{n} files"\nmsgstr[0] "un archivo"\nmsgstr[1] "{n} archivos"\n')
    messages = parse_po(po)
    assert set(messages) == {"", 'a "quoted"\nline', "one file\0{n} files"}
    t = gettext.GNUTranslations(__import__("io").BytesIO(compile_mo(messages)))
    assert t.gettext('a "quoted"\nline') == 'una línea\nentre "comillas"'
    assert t.gettext("fuzzy") == "fuzzy" and t.gettext("empty") == "empty"
    assert t.ngettext("one file", "{n} files", 1) == "un archivo"
    assert t.ngettext("one file", "{n} files", 3) == "{n} archivos"
    with pytest.raises(ValueError, match=":2: unknown keyword"):
        parse_po('msgid "x"\nbogus "y"\n')
