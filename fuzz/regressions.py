"""Replaying fuzz/regressions/TARGET/*: every input that once crashed a parser, fed through the oracle again."""

from __future__ import annotations

from pathlib import Path

from .oracle import ROOT, Outcome, Worker
from .targets import TARGETS

REGRESSIONS = ROOT / "fuzz" / "regressions"


def cases() -> list[tuple[str, Path]]:
    """(target, file) for every regression input; the folder names the target, the file keeps its suffix."""
    out = []
    for folder in sorted(REGRESSIONS.iterdir()) if REGRESSIONS.is_dir() else []:
        if folder.name in TARGETS:
            out.extend((folder.name, f) for f in sorted(folder.iterdir()) if f.is_file() and f.suffix != ".txt")
    return out


def replay() -> list[tuple[str, Outcome]]:
    """The regression inputs the oracle still flags, as (file name, outcome)."""
    worker = Worker()
    bad = []
    try:
        for target, path in cases():
            outcome = worker.run(target, path.read_bytes(), TARGETS[target].suffix)
            if outcome.kind == "finding":
                bad.append((f"{target}/{path.name}", outcome))
    finally:
        worker.close()
    return bad
