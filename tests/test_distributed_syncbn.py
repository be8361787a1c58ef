"""DataParallel(sync_batchnorm=True): BatchNormalization statistics over the whole global batch."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import mpi_syncbn_worker  # noqa: E402
from mpi_launch import launch  # noqa: E402


def test_two_ranks_with_sync_batchnorm_train_like_one_process(tmp_path):
    """A CNN with two BatchNormalization layers: with synchronised statistics 2 ranks end with one process's
    weights and moving statistics; without them they do not (each rank normalises by its half batch)."""
    proc = launch("mpi_syncbn_worker.py", str(tmp_path), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    saved = np.load(tmp_path / "syncbn.npz", allow_pickle=False)
    reference = mpi_syncbn_worker.fit(None)
    weights = reference.get_weights()
    for i, w in enumerate(weights):
        np.testing.assert_allclose(saved[f"w{i}"], w, rtol=1e-4, atol=1e-5, err_msg=f"weight {i}")
    np.testing.assert_allclose(saved["loss"], reference.history.history["loss"], rtol=1e-5)
    worst = max(float(np.abs(saved[f"unsynced_w{i}"] - w).max()) for i, w in enumerate(weights))
    assert worst > 1e-3


def test_one_rank_sync_batchnorm_equals_plain_fit():
    pytest.importorskip("mpi4py")
    from neurona.distributed import DataParallel

    synced = mpi_syncbn_worker.fit(DataParallel(sync_batchnorm=True))
    plain = mpi_syncbn_worker.fit(None)
    for a, b in zip(synced.get_weights(), plain.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    assert all("_sync" not in vars(layer) for layer in synced.layers)


def test_sync_batchnorm_refuses_a_last_batch_smaller_than_the_ranks():
    pytest.importorskip("mpi4py")
    from neurona.distributed import DataParallel

    strategy = DataParallel(sync_batchnorm=True)
    strategy.size = 6  # as if 6 ranks were running: 61 % 16 = 13 is fine, 61 % 28 = 5 is not
    x, y = mpi_syncbn_worker.data()
    m = mpi_syncbn_worker.fit(None)
    with pytest.raises(ValueError, match=r"last batch of 61 samples in batches of 28 has 5 sample\(s\), fewer than"):
        m.fit(x, y, batch_size=28, epochs=1, verbose=0, distribute=strategy)
    with pytest.raises(ValueError, match="sync_batchnorm must be True or False"):
        DataParallel(sync_batchnorm="yes")


class _WholeBatch:
    share = 1.0


@pytest.mark.parametrize("axis,shape", [(-1, (4, 3, 3, 2)), (1, (5, 3, 2))])
def test_synchronised_batch_norm_op_on_one_rank(axis, shape):
    """On one rank the synchronised op is batch normalisation: NumPy's formula and a float64 gradient check."""
    pytest.importorskip("mpi4py")
    import neurona as nr
    from neurona.distributed import init
    from neurona.distributed.syncbn import BatchNormSync
    from neurona.ops.norm import batch_norm

    init()
    rng = np.random.default_rng(2)
    x = rng.standard_normal(shape) * 2 + 1
    feat = (shape[axis],)
    gamma, beta = rng.standard_normal(feat), rng.standard_normal(feat)
    sync = BatchNormSync(_WholeBatch())
    y = batch_norm(x, gamma, beta, training=True, axis=axis, sync=sync)
    reduce = tuple(i for i in range(len(shape)) if i != axis % len(shape))
    bshape = [1] * len(shape)
    bshape[axis] = shape[axis]
    mean, var = x.mean(axis=reduce, keepdims=True), x.var(axis=reduce, keepdims=True)
    expected = (x - mean) / np.sqrt(var + 1e-3) * gamma.reshape(bshape) + beta.reshape(bshape)
    np.testing.assert_allclose(y.data, expected, atol=1e-12)
    assert nr.gradcheck(lambda a, g, b: batch_norm(a, g, b, training=True, axis=axis, sync=sync), x, gamma, beta)
