"""The scikit-learn estimators' `fit(..., distribute="mpi")`: 2 ranks under mpirun equal one process."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import mpi_sklearn_worker  # noqa: E402
from mpi_launch import launch  # noqa: E402


def test_two_ranks_fit_like_one_process(tmp_path):
    """MLPClassifier (adam; sgd with sample weights and early stopping), MLPRegressor (lbfgs) and
    KerasClassifier: the same coefficients and loss curves as one process, to float32 reduction tolerance."""
    proc = launch("mpi_sklearn_worker.py", str(tmp_path), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    saved = np.load(tmp_path / "sklearn.npz", allow_pickle=False)
    reference = mpi_sklearn_worker.fit_all(None)
    assert sorted(saved.files) == sorted(reference)
    for key, value in reference.items():
        np.testing.assert_allclose(saved[key], value, rtol=1e-5, atol=2e-6, err_msg=key)


def test_one_rank_distribute_equals_plain_fit():
    pytest.importorskip("mpi4py")
    dist, plain = mpi_sklearn_worker.fit_all("mpi"), mpi_sklearn_worker.fit_all(None)
    for key, value in plain.items():
        np.testing.assert_array_equal(dist[key], value, err_msg=key)


def test_bad_distribute_values_are_refused():
    from sklearn.utils._param_validation import InvalidParameterError

    from neurona.sklearn import MLPClassifier

    x, y = mpi_sklearn_worker.data()
    with pytest.raises(InvalidParameterError, match="'distribute' parameter of MLPClassifier"):
        MLPClassifier((4,), max_iter=1, distribute="nccl").fit(x, y)


def test_distribute_refuses_dropout_and_small_batches():
    pytest.importorskip("mpi4py")
    from neurona.distributed import DataParallel
    from neurona.sklearn import MLPClassifier

    x, y = mpi_sklearn_worker.data()
    with pytest.raises(ValueError, match=r"does not support dropout or batch_norm \(got dropout=0.2"):
        MLPClassifier((4,), max_iter=1, dropout=0.2, distribute="mpi").fit(x, y)
    strategy = DataParallel()
    strategy.size = 4  # as if 4 ranks were running
    with pytest.raises(ValueError, match=r"batch_size=2 is smaller than the number of ranks \(4\)"):
        MLPClassifier((4,), max_iter=1, batch_size=2, distribute=strategy).fit(x, y)


def test_distribute_without_mpi4py_names_the_extra(monkeypatch):
    from neurona.distributed import comm
    from neurona.sklearn import MLPRegressor

    monkeypatch.setitem(comm._state, "mpi", None)
    monkeypatch.setitem(comm._state, "comm", None)
    monkeypatch.setitem(sys.modules, "mpi4py", None)
    x, y = mpi_sklearn_worker.data()
    with pytest.raises(ImportError, match=r"neurona\[mpi\]"):
        MLPRegressor(hidden_layer_sizes=(4,), max_iter=1, distribute="mpi").fit(x, y)
