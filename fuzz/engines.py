"""Who picks the mutations: atheris (coverage-guided) when installed, else hypothesis, else `random`.

All three drive the same mutators (`fuzz.mutate`) through the `Chooser` interface and the same oracle
(`fuzz.oracle`); they differ only in where the choices come from. hypothesis and random feed a worker
subprocess, so a hang in C code or a crash is caught by killing it; atheris runs the parser in its own
(sub)process, where libFuzzer's `-timeout`/`-rss_limit_mb` play the worker's part.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from .mutate import Chooser, RandomChooser
from .oracle import ROOT, TIME_LIMIT, Worker, save_finding
from .targets import TARGETS, Target, mutate


@dataclass
class Stats:
    """Per-target counters printed at the end of a run."""

    inputs: int = 0
    allowed: int = 0
    findings: dict[str, str] = field(default_factory=dict)  # key -> "type at place"


def available_engine() -> str:
    """The best engine installed here."""
    for name in ("atheris", "hypothesis"):
        if importlib.util.find_spec(name) is not None:
            return name
    return "random"


class _Session:
    """Seeds, the growing pool of inputs worth mutating further, and the worker of one target."""

    def __init__(self, target: Target, worker: Worker, stats: Stats) -> None:
        self.target, self.worker, self.stats = target, worker, stats
        self.seeds = target.seeds()
        self.pool = list(self.seeds)

    def one(self, c: Chooser, pool: list[bytes] | None = None) -> None:
        pool = self.pool if pool is None else pool
        data = mutate(self.target, pool[c.below(len(pool))], c, self.seeds)
        outcome = self.worker.run(self.target.name, data, self.target.suffix)
        self.stats.inputs += 1
        if outcome.kind == "ok" and len(self.pool) < 500 and data not in self.pool:
            self.pool.append(data)  # still accepted after mutation: a good base for deeper mutations
        elif outcome.kind == "allowed":
            self.stats.allowed += 1
        elif outcome.kind == "finding":
            if outcome.key() not in self.stats.findings:
                print(f"  [{self.target.name}] finding: {outcome.error} at {outcome.place}", flush=True)
            self.stats.findings[outcome.key()] = f"{outcome.error} at {outcome.place}"
            save_finding(self.target.name, self.target.suffix, data, outcome)


def run_random(target: Target, seconds: float, seed: int, worker: Worker) -> Stats:
    stats = Stats()
    session = _Session(target, worker, stats)
    chooser = RandomChooser(seed)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        session.one(chooser)
    return stats


class _HypothesisChooser:
    """The first `DRAWN` choices (which seed, how many mutations, which kinds) come from hypothesis; the
    rest, mostly offsets and bytes, from a `random.Random` seeded by a hypothesis draw. Per-draw cost in
    hypothesis is high, so this keeps most of the throughput of plain `random` while hypothesis explores
    the choices that change the structure of an input."""

    DRAWN = 6

    def __init__(self, data: Any) -> None:
        from hypothesis import strategies as st

        self.draw, self.st = data.draw, st
        self.left = self.DRAWN
        self.rest = RandomChooser(data.draw(st.integers(0, 2**64 - 1)))

    def below(self, n: int) -> int:
        if n <= 1:
            return 0
        if self.left > 0:
            self.left -= 1
            return self.draw(self.st.integers(0, n - 1))
        return self.rest.below(n)

    def data(self, n: int) -> bytes:
        return self.rest.data(n)


def run_hypothesis(target: Target, seconds: float, seed: int, worker: Worker) -> Stats:
    """hypothesis draws the mutation choices; findings are recorded (not raised), so the run goes on."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as hseed
    from hypothesis import strategies as st
    from hypothesis.errors import HypothesisException

    stats = Stats()
    session = _Session(target, worker, stats)
    deadline = time.monotonic() + seconds
    rounds = 0
    while time.monotonic() < deadline:
        pool = list(session.pool)  # fixed during a round: hypothesis needs the same draws to mean the same input

        @hseed(seed + rounds)
        @settings(max_examples=20, deadline=None, database=None, phases=[Phase.generate],
                  suppress_health_check=list(HealthCheck))
        @given(st.data())
        def case(data: Any) -> None:
            session.one(_HypothesisChooser(data), pool)

        try:
            case()
        except HypothesisException as exc:  # e.g. a flaky replay: start the next round with a new seed
            print(f"  [{target.name}] hypothesis: {type(exc).__name__}", flush=True)
        rounds += 1
    return stats


def run_atheris(target: Target, seconds: float, seed: int, worker: Worker) -> Stats:
    """libFuzzer in a child process (`fuzz.atheris_main`), its run parsed for the counts."""
    worker.close()
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT / "src"), str(ROOT), env.get("PYTHONPATH", "")) if p)
    args = [sys.executable, "-m", "fuzz.atheris_main", target.name, f"-max_total_time={int(seconds)}",
            f"-timeout={TIME_LIMIT}", "-rss_limit_mb=2048", f"-seed={seed}", "-print_final_stats=1"]
    run = subprocess.run(args, env=env, cwd=ROOT, capture_output=True, text=True, timeout=seconds + 120)
    stats = Stats(allowed=-1)  # (not counted in-process)
    for line in (run.stdout + run.stderr).splitlines():
        if line.startswith("stat::number_of_executed_units:"):
            stats.inputs = int(line.split(":")[-1])
        elif line.startswith("FINDING "):
            _, key, text = line.split(" ", 2)
            stats.findings[key] = text
    if run.returncode not in (0,) and not stats.findings:
        stats.findings["libfuzzer"] = f"libFuzzer exited {run.returncode}: {run.stderr[-300:]}"
    return stats


ENGINES = {"random": run_random, "hypothesis": run_hypothesis, "atheris": run_atheris}


def fuzz(target_name: str, seconds: float, engine: str, seed: int, worker: Worker) -> Stats:
    return ENGINES[engine](TARGETS[target_name], seconds, seed, worker)
