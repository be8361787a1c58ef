"""The oracle: what a parser may do with a hostile input, judged in a worker process that can be killed.

Allowed: return, or raise one of neurona's own errors (`UnsafeFileError`, `DatasetError`, the CLI's
`CliError`, any exception class defined in neurona that the target allows), or a plain `ValueError`
raised by neurona's own code (the innermost frame is in the neurona package). Everything else is a
finding: any other exception type, or a ValueError subclass raised from inside Python/NumPy/zipfile/h5py
(a `JSONDecodeError`, a `UnicodeDecodeError`...), a run over `TIME_LIMIT` seconds, an allocation past
`MEMORY_LIMIT` bytes over the worker's baseline (`RLIMIT_AS`, so it shows up as a `MemoryError`), or the
worker dying (a crash in C code).
"""

from __future__ import annotations

import hashlib
import json
import os
import resource
import select
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

TIME_LIMIT = 10  # seconds per input before it is a hang
MEMORY_LIMIT = 1 << 30  # bytes of address space an input may add
ROOT = Path(__file__).resolve().parents[1]
FINDINGS = ROOT / "fuzz" / "findings"


class Hang(BaseException):
    """Raised by SIGALRM when one input runs past TIME_LIMIT (a BaseException: no `except Exception` eats it)."""


@dataclass
class Outcome:
    """What one input did: `kind` is "ok", "allowed" or "finding"; for findings, the type, place and traceback."""

    kind: str
    error: str = ""
    place: str = ""
    trace: str = ""

    def key(self) -> str:
        """A short stable name for the finding: same type raised at the same place = same bug."""
        return hashlib.sha1(f"{self.error}|{self.place}".encode()).hexdigest()[:10]


def _neurona_dir() -> str:
    import neurona

    return os.path.dirname(os.path.abspath(neurona.__file__)) + os.sep


def _place(frames: list[traceback.FrameSummary], package: str) -> str:
    """The innermost neurona frame, then the innermost frame overall when it is elsewhere."""
    ours = [f for f in frames if f.filename.startswith(package)]
    parts = []
    if ours:
        f = ours[-1]
        parts.append(f"{f.filename[len(package):]}:{f.lineno} in {f.name}")
    if frames and (not ours or frames[-1] is not ours[-1]):
        f = frames[-1]
        parts.append(f"{os.path.basename(f.filename)}:{f.name}")
    return " -> ".join(parts)


def judge(exc: BaseException, allowed: tuple[type[BaseException], ...], package: str) -> Outcome:
    """Whether exception `exc` is one the target may raise, and if not, where it came from."""
    frames = traceback.extract_tb(exc.__traceback__)
    cls = type(exc)
    if isinstance(exc, allowed) and not isinstance(exc, (MemoryError, RecursionError)):
        if cls.__module__.split(".")[0] == "neurona":
            return Outcome("allowed", cls.__name__)
        if cls in allowed and frames and frames[-1].filename.startswith(package):
            return Outcome("allowed", cls.__name__)
    name = "hang" if isinstance(exc, Hang) else f"{cls.__module__}.{cls.__qualname__}".removeprefix("builtins.")
    trace = "".join(traceback.format_exception(cls, exc, exc.__traceback__))
    return Outcome("finding", name, _place(frames, package), trace[-20000:])


# ------------------------------------------------------------------------------------------ the worker
def _on_alarm(signum: int, frame: object) -> None:
    raise Hang(f"over {TIME_LIMIT} s")


def _address_space() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def run_input(target_name: str, path: str, package: str) -> Outcome:
    """Feed one file to every step of a target, under the alarm; the first finding ends the run."""
    from .targets import TARGETS, allowed_types

    target = TARGETS[target_name]
    allowed = allowed_types(target)
    outcome = None
    for step in target.steps(path):
        signal.alarm(TIME_LIMIT)
        try:
            step()
            outcome = Outcome("ok")  # accepted by one step at least (CIFAR's archive or folder reading)
        except BaseException as exc:  # noqa: BLE001 - judging every exception is the point
            verdict = judge(exc, allowed, package)
            if verdict.kind == "finding":
                return verdict
            outcome = outcome or verdict
        finally:
            signal.alarm(0)
    return outcome or Outcome("ok")


def worker_main() -> None:
    """Serve inputs from stdin (one JSON line each) until EOF; answer one JSON line each on the saved stdout."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    proto = os.fdopen(os.dup(1), "w")
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    import warnings

    warnings.simplefilter("ignore")
    package = _neurona_dir()
    from .targets import TARGETS

    for target in TARGETS.values():  # import every reader before the limit, so imports do not count
        try:
            target.steps(os.devnull)
        except Exception:  # noqa: BLE001, S110 - only warming imports up
            pass
    signal.signal(signal.SIGALRM, _on_alarm)
    limit = _address_space() + MEMORY_LIMIT
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    proto.write("ready\n")
    proto.flush()
    for line in sys.stdin:
        request = json.loads(line)
        outcome = run_input(request["target"], request["path"], package)
        proto.write(json.dumps(outcome.__dict__) + "\n")
        proto.flush()


class Worker:
    """A killable subprocess running `worker_main`; restarted after a hang or a crash."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen | None = None
        self.tmp = tempfile.mkdtemp(prefix="neurona-fuzz-")

    def _start(self) -> None:
        env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", KERAS_BACKEND="numpy")
        src = str(ROOT / "src")
        env["PYTHONPATH"] = os.pathsep.join(p for p in (src, str(ROOT), env.get("PYTHONPATH", "")) if p)
        self.proc = subprocess.Popen([sys.executable, "-c", "from fuzz.oracle import worker_main; worker_main()"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env, cwd=self.tmp)
        ready = self._read(120)
        if ready != "ready":
            raise RuntimeError(f"the fuzz worker did not start (got {ready!r})")

    def _read(self, timeout: float) -> str | None:
        assert self.proc is not None and self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        if not ready:
            return None
        line = self.proc.stdout.readline()
        return line.strip() if line else ""

    def run(self, target: str, data: bytes, suffix: str) -> Outcome:
        """The oracle's verdict on `data` given to `target` as a file ending in `suffix`."""
        if self.proc is None or self.proc.poll() is not None:
            self._start()
        assert self.proc is not None and self.proc.stdin is not None
        case = os.path.join(self.tmp, f"case{os.getpid()}")
        for entry in os.listdir(self.tmp):  # what the last input left (the CIFAR folder copy)
            _remove(os.path.join(self.tmp, entry))
        path = case + suffix
        Path(path).write_bytes(data)
        self.proc.stdin.write(json.dumps({"target": target, "path": path}) + "\n")
        self.proc.stdin.flush()
        started = time.monotonic()
        answer = self._read(TIME_LIMIT + 5)
        if answer is None:
            self.close()
            return Outcome("finding", "hang", "killed: no answer (stuck in C code?)",
                           f"no answer after {time.monotonic() - started:.0f} s")
        if not answer:
            code = self.proc.wait()
            self.proc = None
            return Outcome("finding", "crash", f"worker died with exit code {code}", f"exit code {code}")
        return Outcome(**json.loads(answer))

    def close(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None


def _remove(path: str) -> None:
    if os.path.isdir(path) and not os.path.islink(path):
        for entry in os.listdir(path):
            _remove(os.path.join(path, entry))
        os.rmdir(path)
    else:
        os.unlink(path)


def save_finding(target: str, suffix: str, data: bytes, outcome: Outcome, folder: Path = FINDINGS) -> Path | None:
    """Keep the smallest input per (type, place) under fuzz/findings/TARGET/, with its traceback beside it.

    Returns the path written, or None when an input at least as small is already kept."""
    where = folder / target
    where.mkdir(parents=True, exist_ok=True)
    stem = where / f"{outcome.error.replace('.', '_')}-{outcome.key()}"
    case = Path(str(stem) + suffix)
    if case.exists() and case.stat().st_size <= len(data):
        return None
    case.write_bytes(data)
    Path(str(stem) + ".txt").write_text(
        f"target: {target}\nerror: {outcome.error}\nplace: {outcome.place}\ninput: {case.name} ({len(data)} bytes)\n\n"
        f"{outcome.trace}", encoding="utf-8")
    return case
