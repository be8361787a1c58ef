"""The labs as notebooks: the committed notebooks are exactly what the generator makes from the labs' code (so
they cannot drift), `neurona lab NAME --notebook` writes one, and the notebooks run in a kernel in fast mode.

Executing all 42 notebooks (21 labs, English and Spanish) takes 134 s of CPU (docs/notebooks.md), so the default
run executes one lab in both languages and `pytest -m slow tests/test_notebooks.py` (a step of .ci/run)
executes them all; both skip when nbclient, nbformat or ipykernel is not installed (`pip install
"neurona[notebooks]"`).
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import pytest

from neurona import labs
from neurona.cli import main
from neurona.labs import notebook

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
LANGS = ("en", "es")


def test_committed_notebooks_are_what_the_generator_makes():
    expected = notebook.expected_files()
    assert len(expected) == 2 * len(labs.LABS)
    stale = [path for path, text in expected.items()
             if not (ROOT / path).is_file() or (ROOT / path).read_text(encoding="utf-8") != text]
    assert not stale, f"regenerate them with: PYTHONPATH=src python -m neurona.labs.notebook ({stale[:3]}...)"
    extra = {str(p.relative_to(ROOT)) for p in (ROOT / notebook.FOLDER).rglob("*.ipynb")} - set(expected)
    assert not extra, f"notebooks of no lab: {sorted(extra)}"


@pytest.mark.parametrize("lang", LANGS)
def test_notebooks_have_no_outputs_and_show_the_steps(lang):
    for lab in labs.LABS:
        nb = notebook.build(lab.name, lang)
        code = [c for c in nb["cells"] if c["cell_type"] == "code"]
        assert all(c["outputs"] == [] and c["execution_count"] is None for c in code)
        text = "\n".join("".join(c["source"]) for c in code)
        assert "from .." not in text and "from . import" not in text, lab.name
        assert f'"NEURONA_LANG"] = "{lang}"' in text and notebook.QUICK_VARIABLE in text
        assert "".join(code[-1]["source"]).isidentifier()  # the metrics, shown as the last cell's result
        headings = [("".join(c["source"])) for c in nb["cells"] if c["cell_type"] == "markdown"]
        assert len(headings) >= 4, lab.name


def test_a_notebook_has_the_labs_code_split_into_steps():
    nb = notebook.build("wine", "en")
    cells = ["".join(c["source"]) for c in nb["cells"]]
    assert cells[0].startswith("# Classify wine by cultivator")
    fit = [c for c in cells if "model.fit(" in c]
    assert len(fit) == 1 and "model.compile(" in fit[0]
    assert any("wine.load_data(" in c for c in cells) and any(".predict(" in c for c in cells)
    assert any(c.startswith("### Step") and "training" in c for c in cells)
    es = ["".join(c["source"]) for c in notebook.build("wine", "es")["cells"]]
    assert es[0].startswith("# Clasificar") and any(c.startswith("### Paso") for c in es)


def test_nbformat_validates_them():
    nbformat = pytest.importorskip("nbformat")
    for lang in LANGS:
        for lab in labs.LABS:
            nbformat.validate(nbformat.reads(notebook.dumps(notebook.build(lab.name, lang)), as_version=4))


def test_lab_command_writes_a_notebook(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("NEURONA_LANG", "es")
    target = tmp_path / "vino.ipynb"
    assert main(["lab", "wine", "--notebook", str(target)]) == 0
    assert json.loads(target.read_text(encoding="utf-8")) == notebook.build("wine", "es")
    assert str(target) in capsys.readouterr().out
    monkeypatch.delenv("NEURONA_LANG")
    monkeypatch.chdir(tmp_path)
    assert main(["lab", "sum", "--notebook"]) == 0
    assert json.loads((tmp_path / "sum.ipynb").read_text(encoding="utf-8")) == notebook.build("sum", "en")


def execute(name: str, lang: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict:
    """Run the committed notebook in a fresh kernel in fast mode; returns the notebook with its outputs."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    monkeypatch.setenv(notebook.QUICK_VARIABLE, "1")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    nb = nbformat.read(ROOT / notebook.FOLDER / lang / f"{name}.ipynb", as_version=4)
    client = nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    return nb


def check_outputs(nb: dict, name: str) -> None:
    outputs = [o for c in nb["cells"] if c["cell_type"] == "code" for o in c["outputs"]]
    assert not [o for o in outputs if o["output_type"] == "error"]
    result = nb["cells"][-1]["outputs"]
    assert result and result[0]["output_type"] == "execute_result", name
    metrics = eval(result[0]["data"]["text/plain"], {"np": __import__("numpy")})  # a dict of numbers
    assert metrics and all(math.isfinite(float(v)) for v in metrics.values()), metrics


@pytest.mark.parametrize("lang", LANGS)
def test_wine_notebook_runs(lang, tmp_path, monkeypatch):
    nb = execute("wine", lang, tmp_path, monkeypatch)
    check_outputs(nb, "wine")
    printed = "".join(o.get("text", "") for c in nb["cells"] if c["cell_type"] == "code" for o in c["outputs"])
    assert ("Test accuracy" in printed) == (lang == "en") and ("Exactitud en test" in printed) == (lang == "es")
    assert any("image/png" in o.get("data", {}) for c in nb["cells"] if c["cell_type"] == "code"
               for o in c["outputs"])


@pytest.mark.slow
@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("name", labs.names())
def test_every_notebook_runs(name, lang, tmp_path, monkeypatch):
    check_outputs(execute(name, lang, tmp_path, monkeypatch), name)
