"""The HTML report: self-contained (figures as base64 PNG, inline style, nothing fetched), escaped, written
atomically, localised, and useful without matplotlib (tables plus a note on how to get the figures)."""

from __future__ import annotations

import base64
import re
import sys

import numpy as np
import pytest

from neurona.report import Report, plotting_available


@pytest.fixture(autouse=True)
def english(monkeypatch):
    for var in ("NEURONA_LANG", "LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(var, raising=False)


def sample_report() -> Report:
    report = Report("Wine <b>& co</b>", "subtitle")
    s = report.section("Results", "Intro <script>alert(1)</script>")
    s.table(["metric", "value"], [["accuracy", 0.97], ["f1", "<0.9>"]], caption="Scores")
    s.preformatted("Model: 'x'\n  a  <b>")
    report.section("Second")
    return report


def test_structure_and_escaping():
    html = sample_report().to_html()
    assert html.startswith("<!DOCTYPE html>") and '<html lang="en">' in html and '<meta charset="utf-8">' in html
    assert "<title>Wine &lt;b&gt;&amp; co&lt;/b&gt;</title>" in html
    assert "<script" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<td>0.97</td>" in html and "<td>&lt;0.9&gt;</td>" in html and "<caption>Scores</caption>" in html
    assert "<pre>Model: &#x27;x&#x27;\n  a  &lt;b&gt;</pre>" in html
    assert 'href="#s0-results"' in html and 'id="s1-second"' in html       # table of contents
    assert "http://" not in html and "https://" not in html and "<link" not in html


def test_figures_are_embedded_png():
    pytest.importorskip("matplotlib")
    from neurona import plot

    report = Report("r")
    s = report.section("curves")
    assert s.plot(plot.history, {"loss": [1.0, 0.5, 0.2], "val_loss": [1.1, 0.7, 0.6]}, caption="Learning curves")
    html = report.to_html()
    (payload,) = re.findall(r'<img src="data:image/png;base64,([^"]+)" alt="Learning curves">', html)
    assert base64.b64decode(payload).startswith(b"\x89PNG\r\n\x1a\n")
    assert "<figcaption>Learning curves</figcaption>" in html and report.has_figures
    assert "matplotlib is not installed" not in html


def test_without_matplotlib_tables_stay_and_a_note_says_how(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)          # import matplotlib now raises ImportError
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    assert not plotting_available()
    report = sample_report()
    assert report.sections[0].plot(lambda: 1 / 0, caption="never drawn") is False
    html = report.to_html()
    assert "<img" not in html and "<table>" in html
    assert "matplotlib is not installed" in html and "pip install &#x27;neurona[plot]&#x27;" in html


def test_lab_without_matplotlib_shows_the_confusion_matrix_as_a_table(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    from neurona.labs import _common

    report = Report("r")
    s = report.section("wine")
    _common.add_confusion(s, np.array([0, 1, 1, 2]), np.array([0, 1, 2, 2]), ["a", "b", "c"])
    kind, (header, rows, _caption) = s.blocks[0]
    assert kind == "table" and header == ["", "a", "b", "c"]
    assert rows == [["a", "1", "0", "0"], ["b", "0", "1", "1"], ["c", "0", "0", "1"]]


def test_write_creates_the_folder_and_replaces_atomically(tmp_path):
    target = tmp_path / "a" / "b"
    path = sample_report().write(target)
    assert path == target / "index.html" and "Results" in path.read_text(encoding="utf-8")
    Report("second").write(target)
    assert "second" in path.read_text(encoding="utf-8")
    assert sorted(p.name for p in target.iterdir()) == ["index.html"]      # no temporary file left


def test_spanish_report(monkeypatch):
    monkeypatch.setenv("NEURONA_LANG", "es")
    html = sample_report().to_html()
    assert '<html lang="es">' in html and "Contenido" in html and "Hecho por neurona" in html


def _check_report_tool():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "tools" / "check_report.py"
    spec = importlib.util.spec_from_file_location("check_report", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_report_renders_in_headless_chromium(tmp_path):
    pytest.importorskip("matplotlib")
    pytest.importorskip("PIL")
    tool = _check_report_tool()
    if tool.find_browser() is None:
        pytest.skip("no Chromium installed (apt-get install chromium-headless-shell)")
    from neurona import plot

    report = Report("screenshot")
    section = report.section("figures")
    section.plot(plot.confusion_matrix, matrix=np.array([[20, 3], [1, 30]]), caption="a confusion matrix")
    html = report.write(tmp_path)
    assert tool.check_html(html.read_text(encoding="utf-8")) == 1
    png = tmp_path / "shot.png"
    tool.screenshot(html, png, width=900, height=900)
    assert tool.coloured_fraction(png) > 0.02          # the figure's blues are drawn on the page
    broken = tmp_path / "broken" / "index.html"        # the same page with an image that cannot decode
    broken.parent.mkdir()
    broken.write_text(re.sub(r"base64,[^\"]+", "base64,AAAA", html.read_text(encoding="utf-8")), encoding="utf-8")
    tool.screenshot(broken, png, width=900, height=900)
    assert tool.coloured_fraction(png) < 0.01
