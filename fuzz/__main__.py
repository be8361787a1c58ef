"""`python -m fuzz --seconds N [--target NAME] [--engine E]`: fuzz the parsers, print what was found.

Exit status 1 when a run found something (saved under fuzz/findings/TARGET/); `--replay` instead feeds
the committed regression files (fuzz/regressions/TARGET/) through the oracle and fails on any finding.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
import warnings

from .engines import ENGINES, available_engine, fuzz
from .oracle import FINDINGS, Worker
from .regressions import replay
from .targets import TARGETS


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fuzz", description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60, help="total time, split evenly over the targets")
    parser.add_argument("--target", action="append", choices=sorted(TARGETS),
                        help="fuzz only this target (repeatable); default: all")
    parser.add_argument("--engine", choices=sorted(ENGINES), default=None,
                        help=f"default: the best installed ({available_engine()})")
    parser.add_argument("--seed", type=int, default=int(time.time()), help="seed of the mutation choices")
    parser.add_argument("--replay", action="store_true", help="replay fuzz/regressions/ and exit")
    parser.add_argument("--fail-on", choices=("any", "new", "clean"), default="any",
                        help="'new': findings already saved under fuzz/findings/ (open bugs) do not fail the run; "
                             "'clean': only findings in targets with no open bug saved there fail it")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")  # zipfile's "Duplicate name" while building hostile archives
    if args.replay:
        bad = replay()
        for name, outcome in bad:
            print(f"{name}: {outcome.error} at {outcome.place}")
        print(f"regressions: {len(bad)} failing")
        return 1 if bad else 0
    engine = args.engine or available_engine()
    targets = args.target or list(TARGETS)
    share = args.seconds / len(targets)
    print(f"fuzzing {', '.join(targets)} with {engine}, {share:.0f} s each, seed {args.seed}", flush=True)
    known = known_findings()
    worker = Worker()
    found = new = failing = 0
    try:
        for name in targets:
            started = time.monotonic()
            stats = fuzz(name, share, engine, args.seed, worker)
            elapsed = time.monotonic() - started
            found += len(stats.findings)
            refused = "" if stats.allowed < 0 else f" ({stats.allowed} refused with neurona's errors)"
            print(f"{name}: {stats.inputs} inputs in {elapsed:.0f} s{refused}, {len(stats.findings)} distinct "
                  f"findings", flush=True)
            for text in stats.findings.values():
                is_known = (name, _loose(text)) in known
                new += not is_known
                failing += args.fail_on == "any" or (args.fail_on == "new" and not is_known) or \
                    (args.fail_on == "clean" and name not in {target for target, _ in known})
                print(f"    {'(known) ' if is_known else ''}{text}")
    finally:
        worker.close()
    if found:
        print(f"{found} findings ({new} new) saved under fuzz/findings/ (docs/fuzzing.md: turning them into "
              f"regression tests)")
    return 1 if failing else 0


def _loose(text: str) -> str:
    """A finding's "type at place" without line numbers, so edits elsewhere in a file keep it recognised."""
    return re.sub(r":\d+ in ", " in ", text)


def known_findings() -> set[tuple[str, str]]:
    """(target, loose text) of every finding saved under fuzz/findings/ before this run started."""
    known = set()
    for report in FINDINGS.glob("*/*.txt"):
        fields = dict(line.split(": ", 1) for line in report.read_text(encoding="utf-8").splitlines()[:3]
                      if ": " in line)
        known.add((report.parent.name, _loose(f"{fields.get('error')} at {fields.get('place')}")))
    return known


if __name__ == "__main__":
    sys.exit(main())
