"""Starting a test worker under Open MPI's `mpirun -n N` (skips without mpi4py or mpirun)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def mpirun() -> str:
    pytest.importorskip("mpi4py")
    for path in (Path(sys.executable).with_name("mpirun"), shutil.which("mpirun")):
        if path and os.path.exists(path):
            version = subprocess.run([str(path), "--version"], capture_output=True, text=True, timeout=30)
            if "Open MPI" in version.stdout + version.stderr:
                return str(path)
    pytest.skip("Open MPI's mpirun not found (pip install 'neurona[mpi]' brings it)")


def launch(script: str, *args: str, cwd: Path, n: int = 2, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run tests/`script` with `args` on n ranks, one thread each."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "src"), str(ROOT / "tests")]),
               OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    return subprocess.run([mpirun(), "--allow-run-as-root", "--oversubscribe", "-n", str(n), sys.executable,
                           str(ROOT / "tests" / script), *args], capture_output=True, text=True, timeout=timeout,
                          env=env, cwd=cwd)
