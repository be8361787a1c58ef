"""The Spanish experience end to end: argparse's own messages, figures, numbers with a decimal comma, the
classification report, and no English sentence in what the demo, `train`, the labs and `--help` show.

The English-sentence detector is `tests/english_text.py`; the full lab sweep is marked slow
(`pytest -m slow tests/test_spanish.py`), a few labs, the demo, `train` and every `--help` run by default.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import html
import re
import string
from pathlib import Path

import numpy as np
import pytest
from english_text import english_lines, figure_texts, html_text, is_english

from neurona import i18n, labs
from neurona.cli import build_parser, main
from neurona.i18n.catalog import parse_po
from neurona.i18n.numbers import Num, date_time, localise_cell, localise_numbers, number
from neurona.report.classification import classification_report_text

PO = i18n.LOCALE_DIR / "es" / "LC_MESSAGES" / "neurona.po"
# Output that is English on purpose: deck 003's TensorFlow program prints its own log lines unchanged (the
# lab shows that the slides' code runs as written), and the text lab's data are English reviews.
PROGRAM_OUTPUT = re.compile(r"^(Minibatch (loss|accuracy)|Validation accuracy|Test accuracy)\b")


@pytest.fixture(autouse=True)
def spanish(monkeypatch):
    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NEURONA_LANG", "es")


@pytest.fixture
def figure_log(monkeypatch):
    """Every text of every matplotlib figure saved while the test runs (reports save each figure as a PNG)."""
    pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure

    texts: list[str] = []
    savefig = Figure.savefig

    def logging_savefig(self, *args, **kwargs):
        texts.extend(figure_texts(self))
        return savefig(self, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", logging_savefig)
    return texts


def run(capsys, *argv) -> tuple[int, str, str]:
    try:
        code = main([str(a) for a in argv])
    except SystemExit as e:  # --help
        code = int(e.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def english_in(out: str, report: Path | None, texts: list[str], allowed: re.Pattern | None = None) -> list[str]:
    found = english_lines(out) + english_lines(texts)
    if report is not None:
        found += english_lines(html_text((report / "index.html").read_text(encoding="utf-8")))
    return [line for line in found if not (allowed and allowed.search(line))]


# --- the detector itself ---------------------------------------------------------------------------------

def test_the_detector_finds_english_sentences_and_passes_spanish_ones():
    assert is_english("early stopping after epoch 12: the validation loss stopped improving")
    assert is_english("Confusion matrix on the test set: rows are the true class")
    assert not is_english("parada temprana tras la época 12: la pérdida de validación dejó de mejorar")
    assert not is_english("Época 3/15 - loss: 1,9998 - accuracy: 0,4167 - val_loss: 1,9707")
    assert not is_english(" Total params: 7,960 (31.09 KB)")  # Keras's summary table: names, not sentences
    assert not is_english("uso: neurona train [-h] --target COLUMN [--drop A,B,...] DATA.csv")


# --- numbers and dates ----------------------------------------------------------------------------------

def test_numbers_take_a_decimal_comma_in_spanish_and_a_point_in_english(monkeypatch):
    assert number(0.95333, ".3f") == "0,953" and number(1234.5, ".1f") == "1234,5"
    assert localise_numbers("v2.4.1 model.neurona 3ms/step loss: 0.25") == "v2.4.1 model.neurona 3ms/step loss: 0,25"
    assert localise_cell("0.9733") == "0,9733" and localise_cell(0.5) == "0,5" and localise_cell("a.b") == "a.b"
    assert localise_cell(7) == 7 and localise_cell("2.4.1") == "2.4.1"
    assert f"{Num(np.float32(0.25)):.2f}" == "0,25"
    assert i18n._("test accuracy {acc:.4f}").format(acc=np.float64(0.95)) == "test accuracy 0,9500"
    assert i18n._("{n} x").format(n=3) == "3 x"  # integers are unchanged
    assert date_time(dt.datetime(2026, 12, 4, 14, 5)) == "4 de diciembre de 2026, 14:05"
    monkeypatch.setenv("NEURONA_LANG", "en")
    assert number(0.95333, ".3f") == "0.953" and localise_numbers("0.25") == "0.25"
    assert i18n._("test accuracy {acc:.4f}").format(acc=0.95) == "test accuracy 0.9500"
    assert date_time(dt.datetime(2026, 12, 4, 14, 5)) == "2026-12-04 14:05"


def test_the_progress_line_writes_numbers_in_the_language():
    from neurona.callbacks.progress import format_values

    assert format_values({"loss": 0.12345, "accuracy": 0.5}) == " - loss: 0,1235 - accuracy: 0,5000"


# --- argparse ---------------------------------------------------------------------------------------------

def test_argparse_errors_are_in_spanish_and_argparse_is_left_as_it_was(capsys):
    code, _out, err = run(capsys, "train")
    assert code == 2 and "faltan los siguientes argumentos obligatorios: DATA.csv, --target" in err
    code, _out, err = run(capsys, "frob")
    assert code == 2 and "argumento ORDEN: opción no válida: 'frob' (elija entre" in err
    code, _out, err = run(capsys, "train", "x.csv", "--target", "t", "--optimizer", "sgdd")
    assert code == 2 and "opción no válida: 'sgdd'" in err
    code, _out, err = run(capsys, "info", "--bogus")
    assert code == 2 and "argumentos no reconocidos: --bogus" in err
    code, _out, err = run(capsys, "train", "x.csv", "--target")
    assert code == 2 and "argumento --target: se esperaba un argumento" in err
    assert argparse._("usage: ") == "usage: "  # outside neurona's parsers argparse speaks as it always did
    assert not english_lines(err)


def test_argparse_translation_follows_the_thread_inside_the_parser():
    """While one thread is inside neurona's parser, argparse used by another thread stays in English."""
    import threading

    from neurona.cli.parser import argparse_in_language

    inside, done, seen = threading.Event(), threading.Event(), {}

    def neurona_thread():
        with argparse_in_language():
            seen["neurona"] = argparse._("usage: ")
            inside.set()
            done.wait(5)

    t = threading.Thread(target=neurona_thread)
    t.start()
    assert inside.wait(5)
    seen["other"] = argparse._("usage: ")
    done.set()
    t.join()
    assert seen["other"] == "usage: "
    assert seen["neurona"] != "usage: " and seen["neurona"].strip()  # Spanish (this module runs in Spanish)


def test_every_help_page_is_in_spanish(capsys):
    commands = [[]] + [[name] for name in build_parser()._subparsers._group_actions[0].choices]
    assert len(commands) >= 9
    for command in commands:
        code, out, _err = run(capsys, *command, "--help")
        assert code == 0 and out.startswith("uso: neurona"), command
        assert "opciones:" in out and "mostrar este mensaje de ayuda y salir" in out, command
        assert not english_lines(out), (command, english_lines(out))


def test_argparse_messages_have_the_same_placeholders_in_spanish():
    messages = parse_po(PO.read_text(encoding="utf-8"), str(PO))
    placeholder = re.compile(r"%(?:\([a-z_]+\))?[sr]")
    for key, value in messages.items():
        if "%" in key:
            for one, other in zip(key.split("\0"), value.split("\0")):
                assert sorted(placeholder.findall(one)) == sorted(placeholder.findall(other)), key
        names = {f for _t, f, _s, _c in string.Formatter().parse(key.split("\0")[0]) if f}
        assert names == {f for _t, f, _s, _c in string.Formatter().parse(value.split("\0")[0]) if f}, key


# --- figures, classification report, report page ------------------------------------------------------------

def test_figures_are_labelled_in_spanish(figure_log):
    from neurona import plot

    history = {"loss": [1.0, 0.5, 0.4], "val_loss": [1.1, 0.7, 0.6], "accuracy": [0.5, 0.8, 0.9],
               "val_accuracy": [0.4, 0.7, 0.8]}
    texts = []
    for fig in (plot.history(history), plot.confusion_matrix([0, 1, 1, 2], [0, 1, 2, 2]),
                plot.images(np.zeros((2, 8, 8)), [0, 1], [0, 0]), plot.dense_weights_as_images(np.ones((64, 3)))):
        texts += figure_texts(fig)
    joined = " | ".join(texts)
    for spanish in ("entrenamiento", "validación", "época", "pérdida", "exactitud", "mejor época 3: 0,6",
                    "clase predicha", "clase verdadera", "recuentos", "0,50", "real 0", "predic. 0",
                    "peso (rojo -, azul +)"):
        assert spanish in joined, spanish
    english = {"epoch", "training", "validation", "predicted", "label", "counts", "best", "normalised", "weight",
               "loss", "accuracy", "true", "pred"}
    assert not english & {w.lower() for t in texts for w in re.findall(r"[A-Za-z]+", t)}


def test_the_classification_report_has_spanish_headers_and_decimal_commas(monkeypatch):
    from neurona.metrics import classification_report

    y, p = [0, 1, 1, 2, 2, 2], [0, 1, 2, 2, 2, 1]
    text = classification_report_text(y, p, target_names=["a", "b", "c"])
    lines = text.splitlines()
    assert lines[0].split() == ["precisión", "exhaustividad", "valor", "F1", "soporte"]
    assert "0,67" in text and "0.67" not in text and "media ponderada" in text and "exactitud" in text
    assert len({len(line) for line in lines if line.strip() and not line.strip().startswith("exactitud")}) == 1
    monkeypatch.setenv("NEURONA_LANG", "en")
    assert classification_report_text(y, p) == classification_report(y, p)


def test_report_tables_scroll_inside_a_narrow_screen(tmp_path):
    from neurona.report import Report

    report = Report("r")
    report.section("s").table(["metric", "value"], [["a", 0.25], ["b", "0.9733"]])
    page = report.write(tmp_path).read_text(encoding="utf-8")
    assert re.search(r'<div class="table-wrap"><table>.*?</table></div>', page, re.S)
    style = re.search(r"<style>(.*?)</style>", page, re.S).group(1)
    assert re.search(r"\.table-wrap\s*\{[^}]*overflow-x:\s*auto", style)
    assert re.search(r"@media\s*\(max-width:\s*\d+px\)", style)  # a 420 px phone gets the compact layout
    assert "<td>0,25</td>" in page and "<td>0,9733</td>" in page
    assert " de 20" in page  # the date, written in Spanish


# --- rendered output of the demo, train and a few labs ---------------------------------------------------

def test_the_quick_demo_in_spanish_has_no_english_sentence(tmp_path, capsys, figure_log):
    code, out, err = run(capsys, "demo", "--quick", "--out", tmp_path / "informe")
    assert code == 0, err
    assert not english_in(out + err, tmp_path / "informe", figure_log)
    assert re.search(r"exactitud en test \d,\d{3}", out) and "Resultados" in out
    assert len(figure_log) > 50 and "época" in figure_log


def test_train_in_spanish_has_no_english_sentence(tmp_path, capsys, figure_log):
    from neurona.datasets import wine

    x, y = wine.load(dtype="float64")
    data = tmp_path / "vino.csv"
    with open(data, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["Cultivador"] + [name.replace("/", "_") for name in wine.FEATURE_NAMES])
        writer.writerows([[k + 1] + [f"{v:g}" for v in row] for row, k in zip(x, y)])
    code, out, err = run(capsys, "train", data, "--target", "Cultivador", "--epochs", "12",
                         "--model", tmp_path / "m.neurona", "--report", tmp_path / "informe")
    assert code == 0, err
    assert "precisión" in out and "exhaustividad" in out and re.search(r"exactitud en test\s+\d,\d{4}", out)
    assert not english_in(out + err, tmp_path / "informe", figure_log)


FAST_LABS = ("perceptron", "tf-graph", "forecast")


@pytest.mark.parametrize("name", FAST_LABS)
def test_a_quick_lab_in_spanish_has_no_english_sentence(name, tmp_path, capsys, figure_log):
    code, out, err = run(capsys, "lab", name, "--quick", "--out", tmp_path / "informe")
    assert code == 0, err
    assert not english_in(out + err, tmp_path / "informe", figure_log, PROGRAM_OUTPUT)


@pytest.mark.slow
@pytest.mark.parametrize("name", [lab.name for lab in labs.LABS if lab.name not in FAST_LABS])
def test_every_lab_in_spanish_has_no_english_sentence(name, tmp_path, capsys, figure_log):
    code, out, err = run(capsys, "lab", name, "--quick", "--out", tmp_path / "informe")
    assert code == 0, err
    if name == "text":  # its data are English reviews, quoted in the output and listed in a table: drop them
        from neurona.labs.text import make_reviews

        reviews = sorted(make_reviews(2400, seed=0)[0], key=len, reverse=True)
        out = re.sub("|".join(map(re.escape, reviews)), " ", out)
        page = tmp_path / "informe" / "index.html"
        page.write_text(re.sub("|".join(re.escape(html.escape(r)) for r in reviews), " ", page.read_text("utf-8")),
                        "utf-8")
    assert not english_in(out + err, tmp_path / "informe", figure_log, PROGRAM_OUTPUT)


def test_every_metric_a_lab_reports_has_a_spanish_name():
    from neurona.labs._common import METRIC_LABELS

    messages = parse_po(PO.read_text(encoding="utf-8"), str(PO))
    assert all(label in messages for label in METRIC_LABELS.values())


def test_tick_labels_take_a_decimal_comma_in_spanish(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    from neurona import plot

    history = {"loss": [1.0, 0.5, 0.4], "val_loss": [1.1, 0.7, 0.6]}
    fig = plot.history(history, path=tmp_path / "h.png")  # saving localises the ticks
    fig.canvas.draw()
    ticks = [t.get_text() for ax in fig.axes for t in ax.get_yticklabels() if t.get_text()]
    assert any("," in t for t in ticks) and not any("." in t for t in ticks), ticks
    monkeypatch.setenv("NEURONA_LANG", "en")
    fig = plot.history(history, path=tmp_path / "h_en.png")
    fig.canvas.draw()
    ticks = [t.get_text() for ax in fig.axes for t in ax.get_yticklabels() if t.get_text()]
    assert any("." in t for t in ticks) and not any("," in t for t in ticks), ticks


def test_callback_messages_are_in_spanish(capsys):
    from neurona import callbacks, layers, models

    model = models.Sequential([layers.Input((2,)), layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    x = np.ones((8, 2), np.float32)
    stop = callbacks.EarlyStopping(monitor="loss", patience=0, min_delta=1e9, verbose=1, restore_best_weights=True)
    model.fit(x, x[:, :1], epochs=3, verbose=0, callbacks=[stop])
    out = capsys.readouterr().out
    assert "parada temprana" in out and "mejor época" in out, out
    assert not english_lines(out), out
