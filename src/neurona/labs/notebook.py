"""Each lab as a Jupyter notebook, generated from the lab's own code so the two cannot drift apart.

The notebook of a lab is its module read with `ast`: the module's docstring (English) or the lab's translated
title and summary become the first markdown cell; its imports, constants and helper functions become code
cells a student can read and change; and the body of its `run()` becomes a few cells, one per block of code
between blank lines (data, model, training, evaluation, report), each under a heading that says which it is.
Relative imports are rewritten as `neurona.` imports and the final `return metrics` becomes `metrics`, so the
cells run in a fresh kernel exactly as `run()` does. `quick` is read from the environment variable
`NEURONA_NOTEBOOK_QUICK` (set to 1 by the tests that execute every notebook), and tables and figures show inline.

    python -m neurona.labs.notebook            # rewrites notebooks/en/*.ipynb and notebooks/es/*.ipynb
    neurona lab wine --notebook                # writes wine.ipynb here, in the language of the command line
"""

from __future__ import annotations

import ast
import json
import os
import re
import sys
import textwrap
from pathlib import Path
from typing import Any

from ..i18n import N_, _
from . import LABS, Lab, get

QUICK_VARIABLE = "NEURONA_NOTEBOOK_QUICK"
FOLDER = "notebooks"
_RUN_ARGUMENTS = ("quick", "report", "verbose")

# What a block of run()'s code does, found from the names it calls; in this order in its heading.
_STEPS = (
    (N_("the data"), re.compile(r"load_data|datasets|make_\w+\(|new_task|_digits\(|synthetic|split\(|Standardizer")),
    (N_("the model"), re.compile(r"Sequential|Model\(|build\w*\(|\.compile\(|layers\.|LeNet5|UNet")),
    (N_("training"), re.compile(r"\.fit\(|train_\w+\(|\.pretrain\(")),
    (N_("evaluation"), re.compile(r"\.predict\(|\.evaluate\(|accuracy|metrics\[|metrics =|_score\(")),
)
_REPORT = re.compile(r"c\.section\(report")


def _absolute(code: str) -> str:
    """`from ..x import y` -> `from neurona.x import y`; `from . import y` -> `from neurona.labs import y`."""
    code = re.sub(r"^(\s*)from \.\.(\w[\w.]*)? import", lambda m: f"{m[1]}from neurona{'.' + m[2] if m[2] else ''} "
                  "import", code, flags=re.M)
    return re.sub(r"^(\s*)from \.(\w[\w.]*)? import", lambda m: f"{m[1]}from neurona.labs{'.' + m[2] if m[2] else ''} "
                  "import", code, flags=re.M)


def _segment(lines: list[str], node: ast.stmt) -> tuple[int, int]:
    """First and last line (0-based, inclusive) of a statement, with its decorators and the comments just above."""
    first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])]) - 1
    while first > 0 and lines[first - 1].strip().startswith("#"):
        first -= 1
    return first, (node.end_lineno or node.lineno) - 1


def _blocks(lines: list[str], body: list[ast.stmt]) -> list[list[ast.stmt]]:
    """Statements grouped into the blocks the author separated by blank lines."""
    groups: list[list[ast.stmt]] = []
    previous_end = -1
    for node in body:
        first, last = _segment(lines, node)
        if not groups or any(not lines[i].strip() for i in range(previous_end + 1, first)):
            groups.append([])
        groups[-1].append(node)
        previous_end = last
    return groups


def _imports_used(lines: list[str], imports: list[ast.stmt], used: set[str]) -> str:
    """The module's import statements, with the author's blank lines between sections, less the names no cell
    uses (an annotation of run()'s signature, which the notebook does not show)."""
    out: list[str] = []
    previous_end = -1
    for node in imports:
        first, last = _segment(lines, node)
        if out and out[-1] and any(not lines[i].strip() for i in range(previous_end + 1, first)):
            out.append("")
        previous_end = last
        kept = [a for a in node.names if (a.asname or a.name).split(".")[0] in used]
        if len(kept) == len(node.names):
            out.append(_text(lines, [node]))
        elif kept:
            node.names = kept
            out.append(ast.unparse(node))
    return "\n".join(out).strip("\n")


def _text(lines: list[str], nodes: list[ast.stmt]) -> str:
    first = _segment(lines, nodes[0])[0]
    last = _segment(lines, nodes[-1])[1]
    return textwrap.dedent("\n".join(lines[first:last + 1])).strip("\n")


def _heading(nodes: list[ast.stmt], code: str, number: int) -> str:
    code = re.sub(r"\"[^\"\n]*\"|'[^'\n]*'", "", code)  # names in messages do not count
    if all(isinstance(n, (ast.Import, ast.ImportFrom)) for n in nodes):
        what = _("imports")
    elif _REPORT.search(code):
        what = _("tables and figures")
    else:
        found = [_(name) for name, pattern in _STEPS if pattern.search(code)]
        what = ", ".join(found) if found else _("preparation")
    return _("Step {n}: {what}").format(n=number, what=what)


def _run_function(tree: ast.Module, lab: Lab) -> ast.FunctionDef:
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == "run":
            return node
    raise ValueError(f"lab {lab.name!r}: {lab.path} has no run() function")


def _parameters(run: ast.FunctionDef, lines: list[str]) -> list[str]:
    """`name = default` for run()'s parameters other than quick, report and verbose (the setup cell sets those)."""
    args = run.args
    pairs = list(zip(args.args[len(args.args) - len(args.defaults):], args.defaults))
    pairs += [(a, d) for a, d in zip(args.kwonlyargs, args.kw_defaults) if d is not None]
    return [f"{a.arg} = {ast.get_source_segment(chr(10).join(lines), d)}" for a, d in pairs
            if a.arg not in _RUN_ARGUMENTS]


def _cell(kind: str, source: str, ident: str) -> dict[str, Any]:
    cell: dict[str, Any] = {"cell_type": kind, "id": ident, "metadata": {}, "source": source.splitlines(keepends=True)}
    if kind == "code":
        cell.update(execution_count=None, outputs=[])
    return cell


def _setup(lang: str) -> str:
    return "\n".join([
        "import os",
        "",
        "from neurona.labs.notebook import NotebookReport",
        "",
        f'os.environ["NEURONA_LANG"] = "{lang}"  # ' + _("the language of the lab's messages and figures"),
        f'quick = os.environ.get("{QUICK_VARIABLE}", "") == "1"  # ' + _("True: less data, fewer epochs"),
        "verbose = 1",
        "report = NotebookReport()  # " + _("shows the lab's tables and figures below the cells"),
    ])


def build(name: str, lang: str = "en") -> dict[str, Any]:
    """The notebook of lab `name` in language `lang` ('en' or 'es'), as nbformat 4 JSON (outputs empty)."""
    lab = get(name)
    previous = os.environ.get("NEURONA_LANG")
    os.environ["NEURONA_LANG"] = lang
    try:
        return _build(lab, lang)
    finally:
        if previous is None:
            del os.environ["NEURONA_LANG"]
        else:
            os.environ["NEURONA_LANG"] = previous


def _build(lab: Lab, lang: str) -> dict[str, Any]:
    source = lab.path.read_text(encoding="utf-8")
    lines = source.splitlines()
    tree = ast.parse(source)
    run = _run_function(tree, lab)
    cells: list[dict[str, Any]] = []

    def add(kind: str, text: str) -> None:
        cells.append(_cell(kind, text, f"{lab.module}-{len(cells):02d}"))

    intro = [f"# {_(lab.title)}", "", _(lab.summary), ""]
    docstring = ast.get_docstring(tree)
    if lang == "en" and docstring:
        intro += [docstring, ""]
    elif docstring:
        intro += [_("The code and its comments are in English, like neurona's own code."), ""]
    intro += [_("Slides: deck {slides}. Code: `src/neurona/labs/{module}.py`. More: `{docs}`.").format(
        slides=lab.slides, module=lab.module, docs=lab.docs), "",
        _("Run the cells in order (Run All). For a first look in seconds, set `quick = True` in the next cell, or "
          "start Jupyter with {variable}=1.").format(variable=QUICK_VARIABLE)]
    add("markdown", "\n".join(intro))
    add("code", "\n".join([_setup(lang), *_parameters(run, lines)]))

    helpers = [node for node in tree.body if node is not run and not _is_docstring(node)
               and not (isinstance(node, ast.ImportFrom) and node.module == "__future__")]
    imports = [n for n in helpers if isinstance(n, (ast.Import, ast.ImportFrom))]
    helpers = [n for n in helpers if n not in imports]
    add("markdown", "## " + _("The lab's imports and helper functions"))
    add("code", "")  # the imports: filled in below, once the cells that use them are known
    import_cell = len(cells) - 1
    if helpers:
        for group in _blocks(lines, helpers):
            definitions = [n for n in group if isinstance(n, (ast.FunctionDef, ast.ClassDef))]
            chunks = [[n] for n in group] if len(definitions) > 1 else [group]
            for chunk in chunks:
                add("code", _absolute(_text(lines, chunk)))

    add("markdown", "## " + _("The lab, step by step"))
    body = list(run.body[1:] if _is_docstring(run.body[0]) else run.body)
    last = body[-1]
    if not isinstance(last, ast.Return) or last.value is None:
        raise ValueError(f"lab {lab.name!r}: run() must end with `return <metrics>`")
    result = ast.get_source_segment(source, last.value)
    for number, group in enumerate(_blocks(lines, body[:-1]), start=1):
        code = _absolute(_text(lines, group))
        add("markdown", "### " + _heading(group, code, number))
        add("code", code)
    add("markdown", "## " + _("Results"))
    add("code", str(result))
    used = set(re.findall(r"\w+", "".join(line for c in cells if c["cell_type"] == "code" for line in c["source"])))
    code = _absolute(_imports_used(lines, imports, used))
    cells[import_cell] = _cell("code", code, cells[import_cell]["id"])
    return {"cells": cells, "nbformat": 4, "nbformat_minor": 5,
            "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
                         "language_info": {"name": "python"}}}


def _is_docstring(node: ast.stmt) -> bool:
    return isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)


def dumps(notebook: dict[str, Any]) -> str:
    """The notebook as text, the way Jupyter writes it (so opening and saving it changes little)."""
    return json.dumps(notebook, indent=1, ensure_ascii=False, sort_keys=True) + "\n"


def write(name: str, path: str | os.PathLike, lang: str = "en") -> Path:
    """Write lab `name`'s notebook to `path` (a folder gets NAME.ipynb inside it); returns the file written."""
    target = Path(path)
    if target.is_dir():
        target = target / f"{get(name).name}.ipynb"
    target.write_text(dumps(build(name, lang)), encoding="utf-8")
    return target


def expected_files() -> dict[str, str]:
    """Every notebook the repository holds, by path relative to the repository root: notebooks/LANG/NAME.ipynb."""
    return {f"{FOLDER}/{lang}/{lab.name}.ipynb": dumps(build(lab.name, lang)) for lang in ("en", "es") for lab in LABS}


def regenerate(root: str | os.PathLike = ".") -> list[str]:
    """Rewrite the repository's notebooks under `root`; returns the paths that changed."""
    changed = []
    for relative, text in expected_files().items():
        path = Path(root) / relative
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            changed.append(relative)
    return changed


class NotebookReport:
    """A stand-in for `neurona.report.Report` that shows each table, text and figure in the notebook at once."""

    def section(self, title: str, intro: str = "") -> NotebookSection:
        return NotebookSection(title, intro)


class NotebookSection:
    """What a lab adds to its report section, displayed (IPython) or printed (a plain Python console)."""

    def __init__(self, title: str, intro: str = "") -> None:
        self._show(f"## {title}\n\n{intro}" if intro else f"## {title}")

    @staticmethod
    def _show(markdown: str, plain: str | None = None) -> None:
        try:
            from IPython.display import Markdown, display
        except ImportError:
            print(plain if plain is not None else markdown)
            return
        display(Markdown(markdown))

    def text(self, paragraph: str) -> None:
        self._show(paragraph)

    def preformatted(self, text: str) -> None:
        print(text)

    def table(self, header: list[str], rows: list[list[Any]], caption: str = "") -> None:
        def line(cells: list[Any]) -> str:
            return "| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |"

        markdown = "\n".join([line(header), "|" + "---|" * len(header), *(line(r) for r in rows)])
        self._show(f"{markdown}\n\n*{caption}*" if caption else markdown,
                   "\n".join(["\t".join(map(str, r)) for r in [header, *rows]] + [caption]))

    def figure(self, fig: Any, caption: str = "") -> None:
        import base64

        from ..report.figures import png_data_uri

        png = base64.b64decode(png_data_uri(fig).split(",", 1)[1])
        try:
            from IPython.display import Image, display
        except ImportError:
            print(caption)
            return
        display(Image(data=png, format="png"))
        if caption:
            self._show(f"*{caption}*", caption)

    def plot(self, draw: Any, *args: Any, caption: str = "", **kwargs: Any) -> bool:
        from ..report.figures import plotting_available

        if not plotting_available():
            return False
        self.figure(draw(*args, **kwargs), caption)
        return True


def main(argv: list[str] | None = None) -> int:
    """`python -m neurona.labs.notebook [ROOT]`: regenerate the repository's notebooks (ROOT: the checkout)."""
    args = sys.argv[1:] if argv is None else argv
    root = args[0] if args else "."
    changed = regenerate(root)
    print(f"{len(changed)} notebook(s) written under {Path(root) / FOLDER}" if changed else "notebooks up to date")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
