"""`neurona train --processes N`: the same command, started again on N MPI ranks that train data-parallel.

The first process only launches `mpirun -n N python -m neurona train ...` (without `--processes`'s effect:
the ranks see NEURONA_TRAIN_RANKS and train). Every rank reads and splits the CSV the same way (the split is
seeded); `fit` shards each batch across the ranks; rank 0 alone prints, saves the model and writes the report.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from ..i18n import _
from .errors import CliError

ENV = "NEURONA_TRAIN_RANKS"


def inside() -> bool:
    """True in a rank started by `relaunch`."""
    return bool(os.environ.get(ENV))


def writes() -> bool:
    """Whether this process prints, saves and reports (always, except ranks > 0 of a --processes run)."""
    if not inside():
        return True
    from .. import distributed

    return distributed.rank() == 0


def relaunch(processes: int, argv: list[str]) -> int:
    """Run this command again on `processes` MPI ranks; returns mpirun's exit code."""
    from .. import distributed

    if not distributed.available():
        raise CliError(_("--processes needs MPI for Python: {hint}").format(hint="pip install 'neurona[mpi]'"))
    mpirun = Path(sys.executable).with_name("mpirun")
    found = str(mpirun) if mpirun.exists() else shutil.which("mpirun") or shutil.which("mpiexec")
    if found is None:
        raise CliError(_("--processes needs an MPI launcher (mpirun) on the PATH: {hint}").format(
            hint="pip install 'neurona[mpi]'"))
    flags = []
    version = subprocess.run([found, "--version"], capture_output=True, text=True, timeout=60)
    if "Open MPI" in version.stdout + version.stderr:
        flags = ["--oversubscribe"] + (["--allow-run-as-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else [])
    env = dict(os.environ, **{ENV: str(processes)})
    env.setdefault("OMP_NUM_THREADS", "1")
    sys.stdout.flush()
    return subprocess.call([found, *flags, "-n", str(processes), sys.executable, "-m", "neurona", *argv], env=env)
