"""neurona.distributed: data-parallel fit over MPI.

The multi-rank tests start `mpirun -n 2` on tests/mpi_worker.py (skipped without mpi4py or Open MPI's
mpirun) and compare with plain one-process training in this process.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from neurona.distributed import shard_bounds

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
import mpi_worker  # noqa: E402


def _mpirun() -> str | None:
    for path in (Path(sys.executable).with_name("mpirun"), shutil.which("mpirun")):
        if path and os.path.exists(path):
            return str(path)
    return None


def _launch(mode: str, out: Path, n: int = 2, timeout: float = 60) -> tuple[subprocess.CompletedProcess, float]:
    pytest.importorskip("mpi4py")
    mpirun = _mpirun()
    if mpirun is None:
        pytest.skip("mpirun not found (pip install 'neurona[mpi]' brings Open MPI)")
    version = subprocess.run([mpirun, "--version"], capture_output=True, text=True, timeout=30)
    if "Open MPI" not in version.stdout + version.stderr:
        pytest.skip("these tests launch Open MPI's mpirun")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "src"), str(ROOT / "tests")]),
               OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    start = time.perf_counter()
    proc = subprocess.run([mpirun, "--allow-run-as-root", "--oversubscribe", "-n", str(n), sys.executable,
                           str(ROOT / "tests" / "mpi_worker.py"), mode, str(out)],
                          capture_output=True, text=True, timeout=timeout, env=env, cwd=out)
    return proc, time.perf_counter() - start


@pytest.mark.parametrize("n", [1, 2, 3, 7, 32])
def test_shard_bounds_cover_the_batch_in_order(n):
    for size in (1, 2, 3, 4):
        parts = [shard_bounds(n, r, size) for r in range(size)]
        assert parts[0][0] == 0 and parts[-1][1] == n
        assert all(a[1] == b[0] for a, b in zip(parts, parts[1:]))
        assert max(hi - lo for lo, hi in parts) - min(hi - lo for lo, hi in parts) <= 1


def test_two_ranks_train_like_one_process(tmp_path):
    """Same global batch and seed: 2 ranks end with 1 process's weights (float32 reduction tolerance), for
    an MLP whose last batch leaves rank 1 nothing and a CNN whose last batch splits 3 + 3."""
    proc, _ = _launch("train", tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    saved = np.load(tmp_path / "weights.npz", allow_pickle=False)
    for kind in ("mlp", "cnn"):
        model = mpi_worker.fit(kind, distribute=None)
        for i, w in enumerate(model.get_weights()):
            np.testing.assert_allclose(saved[f"{kind}_w{i}"], w, rtol=1e-5, atol=2e-6, err_msg=f"{kind} weight {i}")
        np.testing.assert_allclose(saved[f"{kind}_loss"], model.history.history["loss"], rtol=1e-5)
    # a generator source with validation and EarlyStopping, and a user train_step, the same way
    for key, value in mpi_worker.fit_variants(distribute=None).items():
        np.testing.assert_allclose(saved[key], value, rtol=1e-5, atol=2e-6, err_msg=key)


@pytest.mark.parametrize("mode", ["raise", "kill"])
def test_a_failing_rank_ends_the_job(tmp_path, mode):
    proc, seconds = _launch(mode, tmp_path, timeout=60)
    assert proc.returncode != 0
    assert seconds < 30
    if mode == "raise":
        assert "rank 1 of 2 failed" in proc.stderr and "rank 1 failed on purpose" in proc.stderr


def test_mismatched_architectures_are_refused_at_broadcast(tmp_path):
    proc, seconds = _launch("mismatch", tmp_path)
    assert proc.returncode != 0 and seconds < 30
    assert "architecture differs across ranks" in proc.stderr
    assert "weight 0 is 'dense/kernel' of shape (12, 20) float32 on rank 1 but 'dense/kernel' of shape (12, 16)" \
        in proc.stderr


def test_resume_from_the_rank0_backup_finishes_the_run(tmp_path):
    killed, _ = _launch("resume", tmp_path)
    assert killed.returncode != 0
    assert (tmp_path / "backup" / "latest.neurona").exists()
    (tmp_path / "resumed").touch()
    resumed, _ = _launch("resume", tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    reference = mpi_worker.fit("mlp", distribute=None).get_weights()
    saved = np.load(tmp_path / "weights.npz", allow_pickle=False)
    for i, w in enumerate(reference):
        np.testing.assert_allclose(saved[f"mlp_w{i}"], w, rtol=1e-5, atol=2e-6)


# ------------------------------------------------------------------------------------------ in one process
def test_distribute_mpi_without_mpi4py_names_the_extra(monkeypatch):
    from neurona.distributed import comm

    monkeypatch.setitem(comm._state, "mpi", None)
    monkeypatch.setitem(comm._state, "comm", None)
    monkeypatch.setitem(sys.modules, "mpi4py", None)
    m = mpi_worker.model("mlp")
    x, y = mpi_worker.data("mlp")
    with pytest.raises(ImportError, match=r"neurona\[mpi\]"):
        m.fit(x, y, epochs=1, verbose=0, distribute="mpi")


def test_bad_distribute_values_are_refused():
    m = mpi_worker.model("mlp")
    x, y = mpi_worker.data("mlp")
    with pytest.raises(ValueError, match="distribute must be 'mpi'"):
        m.fit(x, y, epochs=1, verbose=0, distribute="nccl")


def test_batch_smaller_than_the_ranks_is_refused():
    pytest.importorskip("mpi4py")
    from neurona.distributed import DataParallel

    strategy = DataParallel()
    strategy.size = 4  # as if 4 ranks were running
    m = mpi_worker.model("mlp")
    x, y = mpi_worker.data("mlp")
    with pytest.raises(ValueError, match=r"batch_size=2 is smaller than the number of ranks \(4\)"):
        m.fit(x, y, batch_size=2, epochs=1, verbose=0, distribute=strategy)


def test_one_rank_context_manager_equals_plain_fit():
    pytest.importorskip("mpi4py")
    from neurona.distributed import DataParallel

    with DataParallel() as strategy:
        dist = mpi_worker.fit("cnn", distribute=None)
    plain = mpi_worker.fit("cnn", distribute=None)
    for a, b in zip(dist.get_weights(), plain.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert strategy.averager.steps == 3 * 5 and "apply" not in vars(dist.optimizer)


def test_one_rank_steps_per_epoch_stream_equals_plain_fit():
    """float64 data for a float32 model: the shards go through the same per-batch conversion as fit alone."""
    pytest.importorskip("mpi4py")
    x, y = mpi_worker.data("mlp")
    x = x.astype(np.float64)
    runs = []
    for distribute in ("mpi", None):
        m = mpi_worker.model("mlp")
        m.fit(x, y, batch_size=32, steps_per_epoch=4, epochs=3, verbose=0, distribute=distribute)
        runs.append(m.get_weights())
    for a, b in zip(*runs):
        assert a.dtype == np.float32
        np.testing.assert_array_equal(a, b)


def test_cli_train_processes_2_prints_once_and_matches_one_process(tmp_path):
    """`neurona train --processes 2` relaunches itself under mpirun; rank 0 alone prints and saves."""
    pytest.importorskip("mpi4py")
    if _mpirun() is None:
        pytest.skip("mpirun not found")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(150, 3))
    rows = [",".join(f"{v:.4f}" for v in r) + ("," + ("a" if r[0] + r[1] > 0 else "b")) for r in x]
    (tmp_path / "d.csv").write_text("f1,f2,f3,label\n" + "\n".join(rows) + "\n")
    args = ["train", "d.csv", "--target", "label", "--epochs", "3", "--hidden", "8", "--report", ""]
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"), OMP_NUM_THREADS="1")
    proc = subprocess.run([sys.executable, "-m", "neurona", *args, "--processes", "2", "--model", "two.neurona"],
                          capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.count("model saved to two.neurona") == 1 and proc.stdout.count("Results on the test") == 1
    one = subprocess.run([sys.executable, "-m", "neurona", *args, "--model", "one.neurona"], capture_output=True,
                         text=True, timeout=120, env=env, cwd=tmp_path)
    assert one.returncode == 0, one.stderr[-3000:]
    from neurona.models import load_model

    two, one = (load_model(tmp_path / f"{name}.neurona").get_weights() for name in ("two", "one"))
    for a, b in zip(two, one):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
