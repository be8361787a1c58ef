"""The code in the documentation runs.

A ```python block preceded by the line `<!-- runnable -->` (invisible on GitHub) is run; the runnable blocks of
one page run in order in one namespace (a later block may use an earlier one's names), in a temporary
folder. Other blocks (ones that download MNIST, or show a fragment) are left alone. The docstring examples of
the modules this suite owns run as doctests, and the relative links of the pages written for the course topics
must point at files that exist.
"""

from __future__ import annotations

import contextlib
import doctest
import importlib
import io
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MARKER = "<!-- runnable -->"
PAGES = sorted(p for p in [ROOT / "README.md", ROOT / "README.es.md", *(ROOT / "docs").rglob("*.md")] if p.exists())
TOPIC_PAGES = [ROOT / "README.md", ROOT / "README.es.md", ROOT / "docs" / "README.md",
               *sorted((ROOT / "docs" / "es").glob("*.md")),
               *[ROOT / "docs" / f"{name}.md" for name in ("cli", "perceptron", "mlp", "cnn_lab", "engine")]]
OPTIONAL = {"matplotlib", "sklearn", "onnx", "onnxruntime", "PIL", "scipy"}  # a page using them is skipped without
DOCTEST_MODULES = ["neurona.i18n", "neurona.report", "neurona.labs", "neurona.cli.tabular"]


def runnable_blocks(path: Path) -> list[tuple[int, str]]:
    """(line number, code) of each marked python block of a Markdown file."""
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks, marked, i = [], False, 0
    while i < len(lines):
        text = lines[i].strip()
        if text == MARKER:
            marked = True
        elif text.startswith("```"):
            end = next((j for j in range(i + 1, len(lines)) if lines[j].strip().startswith("```")), len(lines))
            if marked:
                if text[3:].strip().split()[:1] != ["python"]:
                    raise ValueError(f"{path}:{i + 1}: {MARKER} must be followed by a ```python block")
                blocks.append((i + 2, "\n".join(lines[i + 1:end])))
            marked, i = False, end
        elif text and marked:
            raise ValueError(f"{path}:{i + 1}: {MARKER} must be followed by a ```python block")
        i += 1
    return blocks


def _id(path: Path) -> str:
    return str(path.relative_to(ROOT))


@pytest.fixture(autouse=True)
def english(monkeypatch):
    for var in ("NEURONA_LANG", "LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(var, raising=False)


@pytest.mark.parametrize("page", [p for p in PAGES if runnable_blocks(p)], ids=_id)
def test_runnable_snippets(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    namespace: dict = {"__name__": "__doc_snippet__"}
    for line, code in runnable_blocks(page):
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                exec(compile(code, f"{page}:{line}", "exec"), namespace)  # noqa: S102 - the docs' own code
        except ModuleNotFoundError as e:
            if e.name and e.name.split(".")[0] in OPTIONAL:
                pytest.skip(f"{_id(page)}:{line} needs {e.name}, an optional dependency")
            raise


def test_the_docs_have_runnable_snippets():
    count = sum(len(runnable_blocks(p)) for p in PAGES)
    assert count >= 20, f"only {count} runnable blocks found: is the marker {MARKER!r} still used?"
    assert runnable_blocks(ROOT / "README.md")


@pytest.mark.parametrize("name", DOCTEST_MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0


@pytest.mark.parametrize("page", [p for p in TOPIC_PAGES if p.exists()], ids=_id)
def test_relative_links_point_at_files(page):
    text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S)   # links live outside code
    text = re.sub(r"`[^`]*`", "", text)
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"^[a-z]+:", target) or target.startswith("#"):
            continue
        base = page.parent
        assert (base / target.split("#")[0]).exists(), f"{_id(page)} links to missing {target}"


def test_marker_parser(tmp_path):
    page = tmp_path / "p.md"
    page.write_text("text\n<!-- runnable -->\n```python\nx = 1\n```\n```python\nnot run\n```\n"
                    "<!-- runnable -->\n\n```python title\ny = x + 1\n```\n")
    assert runnable_blocks(page) == [(4, "x = 1"), (12, "y = x + 1")]
    page.write_text("<!-- runnable -->\n```bash\nls\n```\n")
    with pytest.raises(ValueError, match="must be followed by a ```python block"):
        runnable_blocks(page)
