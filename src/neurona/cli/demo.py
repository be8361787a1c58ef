"""`neurona demo` (the main job of the README) and `neurona lab`: the course's labs, with a report."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from .. import labs
from ..i18n import _
from ..i18n.numbers import number
from .errors import CliError

RULE = "=" * 78


def _headline(metrics: dict[str, float]) -> str:
    from ..labs._common import label

    key = next(iter(metrics))
    return f"{label(key)} {number(metrics[key], '.3f')}"


def _banner(index: int, total: int, lab: labs.Lab) -> None:
    print(RULE)
    print(f"[{index}/{total}] {_(lab.title)}  (neurona lab {lab.name})")
    print(_(lab.summary))
    print(RULE, flush=True)


def _results_table(results: list[tuple[labs.Lab, dict[str, float]]]) -> list[list[str]]:
    return [[lab.name, _(lab.title), _headline(m), f"{number(m['seconds'], '.1f')} s"] for lab, m in results]


def _print_table(header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    line = "  ".join("-" * w for w in widths)
    print("  ".join(h.ljust(w) for h, w in zip(header, widths)).rstrip())
    print(line)
    for row in rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip())


def _report_header(quick: bool) -> tuple[str, str]:
    from .. import __version__

    title = _("neurona demo: the course's core labs")
    mode = _("quick run (less data, fewer epochs)") if quick else _("full run")
    return title, f"neurona {__version__} · {mode}"


def _check_folder(out: str | None) -> None:
    """Refuse at once a report folder that cannot be one, rather than after the training."""
    from pathlib import Path

    if out and Path(out).exists() and not Path(out).is_dir():
        raise CliError(_("cannot write {path}: {reason}").format(path=out, reason=_("it is a file, not a folder")))


def run_labs(names: list[str], quick: bool, out: str | None, verbose: int) -> list[tuple[labs.Lab, dict]]:
    """Run labs in order, print the results table, write the report when `out` is given."""
    from ..report import Report, plotting_available

    _check_folder(out)
    report = Report(*_report_header(quick)) if out else None
    overview = report.section(_("Results")) if report is not None else None
    results = []
    started = time.perf_counter()
    for i, name in enumerate(names, 1):
        lab = labs.get(name)
        _banner(i, len(names), lab)
        results.append((lab, labs.run(name, quick, report=report, verbose=verbose)))
    total = time.perf_counter() - started
    header = [_("lab"), _("what it does"), _("result"), _("time")]
    rows = _results_table(results)
    print(RULE)
    print(_("Results ({seconds:.0f} s in all)").format(seconds=total))
    _print_table(header, rows)
    if report is not None and overview is not None:
        overview.text(_("Each lab below trains what the course's slides train, on data that ships with neurona. "
                        "Run one again with: neurona lab NAME (its code is in src/neurona/labs/)."))
        overview.table(header, rows)
        try:
            path = report.write(out)
        except OSError as e:
            raise CliError(_("cannot write {path}: {reason}").format(path=out, reason=e.strerror or e)) from None
        print(_("Report: {path}").format(path=path.resolve()))
        if not plotting_available():
            print(_("(no figures: install matplotlib to get them: pip install 'neurona[plot]')"))
    return results


def cmd_demo(args: argparse.Namespace) -> int:
    print(_("neurona demo: {n} labs of the course on data that ships with neurona{quick}").format(
        n=len(labs.CORE), quick=_(" (quick run)") if args.quick else ""), flush=True)
    run_labs(list(labs.CORE), args.quick, args.out or None, verbose=1)
    return 0


def cmd_lab(args: argparse.Namespace) -> int:
    if args.name.lower() == "list":
        rows = [[lab.name, _(lab.title), str(lab.path)] for lab in labs.LABS]
        _print_table([_("name"), _("lab"), _("code")], rows)
        print()
        print(_("Run one with: neurona lab NAME [--quick] [--out DIR]"))
        return 0
    try:
        lab = labs.get(args.name)
    except KeyError:
        from ..suggest import suggest

        close = suggest(args.name.strip().lower().replace("_", "-"), labs.names(), n=1)
        hint = _(" (did you mean {name!r}?)").format(name=close[0]) if close else ""
        raise CliError(_("there is no lab called {name!r}{hint}; the labs are: {names}").format(
            name=args.name, hint=hint, names=", ".join(labs.names()))) from None
    if args.notebook is not None:
        return _write_notebook(lab.name, args.notebook)
    print(f"{_(lab.title)}  (neurona lab {lab.name})")
    print(_(lab.summary))
    print(_("slides: deck {slides} · code: {code}").format(slides=lab.slides, code=lab.path))
    extra = [lab.docs] + ([lab.example] if lab.example else [])
    print(_("read more: {files} (in the source repository)").format(files=", ".join(extra)))
    print(RULE, flush=True)
    report = None
    _check_folder(args.out)
    if args.out:
        from ..report import Report

        report = Report(_(lab.title), f"neurona lab {lab.name}" + (_(" (quick run)") if args.quick else ""))
    metrics = labs.run(lab.name, args.quick, report=report, verbose=1)
    print(RULE)
    from ..labs._common import label

    for key, value in metrics.items():
        print(f"  {label(key)}: {number(value, '.4g')}")
    if report is not None:
        try:
            path = report.write(args.out)
        except OSError as e:
            raise CliError(_("cannot write {path}: {reason}").format(path=args.out, reason=e.strerror or e)) from None
        print(_("Report: {path}").format(path=path.resolve()))
    sys.stdout.flush()
    return 0


def _write_notebook(name: str, where: str) -> int:
    """`neurona lab NAME --notebook [PATH]`: the lab as a Jupyter notebook, in the command line's language."""
    from ..i18n import language
    from ..labs import notebook

    try:
        path = notebook.write(name, where or ".", language())
    except OSError as e:
        raise CliError(_("cannot write {path}: {reason}").format(path=where or ".", reason=e.strerror or e)) from None
    print(_("Notebook: {path}").format(path=path))
    print(_("Open it with: jupyter lab {path}  (pip install jupyterlab)").format(path=path))
    return 0


def add_parsers(sub: Any, make: Any) -> None:
    p = make(sub, "demo", _("run the course's core labs on embedded data and write an HTML report"),
             _("Trains, on data that ships with neurona (no network needed): a network that adds two numbers, "
               "one that classifies wine by cultivator, and the slides' dense and convolutional networks on "
               "handwritten digits. Prints Keras-style logs and a results table, and writes an HTML report with "
               "learning curves, confusion matrices, weight pictures and CNN filters."))
    p.add_argument("--quick", action="store_true",
                   help=_("less data and fewer epochs, for a first look in a few seconds"))
    p.add_argument("--out", default="neurona-report", metavar="DIR",
                   help=_("folder of the report (default: neurona-report; '' for none)"))
    p.set_defaults(func=cmd_demo)

    p = make(sub, "lab", _("list the course's labs, or run one"),
             _("neurona lab list shows every lab with where its code is; neurona lab NAME explains and runs one."))
    p.add_argument("name", metavar="list|NAME", help=_("'list', or a lab's name: {names}").format(
        names=", ".join(labs.names())))
    p.add_argument("--quick", action="store_true", help=_("less data and fewer epochs"))
    p.add_argument("--out", metavar="DIR", help=_("also write an HTML report to this folder"))
    p.add_argument("--notebook", nargs="?", const="", metavar="PATH",
                   help=_("write the lab as a Jupyter notebook (to PATH, or NAME.ipynb here) instead of running it"))
    p.set_defaults(func=cmd_lab)
