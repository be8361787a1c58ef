"""The atheris engine: libFuzzer's coverage-guided choices drive the mutators, the parser runs in-process.

Run by `python -m fuzz --engine atheris` (not by hand): `python -m fuzz.atheris_main TARGET [libFuzzer flags]`.
Each libFuzzer input is read as a stream of choices (which seed, which mutations), so coverage feedback
steers the structure-aware mutations. Findings are saved like the other engines' and the run goes on.
"""

from __future__ import annotations

import resource
import signal
import sys

import atheris

with atheris.instrument_imports():
    import neurona  # noqa: F401
    from neurona import datasets, interop, saving  # noqa: F401
    from neurona.cli import csvdata  # noqa: F401

from .oracle import MEMORY_LIMIT, _address_space, _neurona_dir, _on_alarm, run_input, save_finding
from .targets import TARGETS, mutate


class _Provider:
    def __init__(self, data: bytes) -> None:
        self.fdp = atheris.FuzzedDataProvider(data)

    def below(self, n: int) -> int:
        return self.fdp.ConsumeIntInRange(0, n - 1) if n > 1 else 0

    def data(self, n: int) -> bytes:
        return self.fdp.ConsumeBytes(n).ljust(n, b"\0")


def main() -> None:
    target = TARGETS[sys.argv[1]]
    seeds = target.seeds()
    package = _neurona_dir()
    seen: set[str] = set()
    import os
    import tempfile

    folder = tempfile.mkdtemp(prefix="neurona-atheris-")
    path = os.path.join(folder, "case" + target.suffix)

    def one(raw: bytes) -> None:
        chooser = _Provider(raw)
        data = mutate(target, seeds[chooser.below(len(seeds))], chooser, seeds)
        with open(path, "wb") as f:
            f.write(data)
        outcome = run_input(target.name, path, package)
        if outcome.kind == "finding":
            save_finding(target.name, target.suffix, data, outcome)
            if outcome.key() not in seen:
                seen.add(outcome.key())
                print(f"FINDING {outcome.key()} {outcome.error} at {outcome.place}", flush=True)

    signal.signal(signal.SIGALRM, _on_alarm)
    limit = _address_space() + MEMORY_LIMIT
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    atheris.Setup([sys.argv[0], *sys.argv[2:]], one)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
