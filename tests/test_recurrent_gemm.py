"""The recurrences' weight gradient through SciPy's gemm with beta=1 (`lstm_rows.gemm_accumulate`): it adds into
the accumulator in place, equals the NumPy matmul-and-add path it replaces, and runs on one BLAS thread like the
rest of the recurrence."""

import sys

import numpy as np
import pytest

from neurona import Tensor
from neurona.ops import lstm_rows
from neurona.ops.recurrent import GRUOp, LSTMOp, SimpleRNNOp

pytest.importorskip("scipy")
RNG = np.random.default_rng(5)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gemm_accumulate_adds_in_place(dtype):
    gemm = lstm_rows.gemm_accumulate(np.dtype(dtype))
    acc = RNG.standard_normal((12, 7)).astype(dtype)  # (4H, K) C-ordered: its transpose is what gemm writes
    hxs, dz = RNG.standard_normal((7, 5)).astype(dtype), RNG.standard_normal((12, 5)).astype(dtype)
    expected = acc + dz @ hxs.T
    out = gemm(1.0, hxs.T, dz.T, beta=1.0, c=acc.T, overwrite_c=True, trans_a=1)
    assert np.shares_memory(out, acc)
    np.testing.assert_allclose(acc, expected, rtol=1e-5 if dtype == np.float32 else 1e-12)


def test_no_gemm_for_other_dtypes_or_without_scipy(monkeypatch):
    assert lstm_rows.gemm_accumulate(np.dtype(np.float16)) is None
    monkeypatch.setattr(lstm_rows, "_GEMM", {})
    monkeypatch.setitem(sys.modules, "scipy.linalg", None)  # import fails: the matmul-and-add path is used
    assert lstm_rows.gemm_accumulate(np.dtype(np.float32)) is None


_OPS = {"LSTM": (LSTMOp, 4), "GRU": (GRUOp, 3), "RNN": (SimpleRNNOp, 1)}


def _grads(kind, dtype, t=9):
    """Gradients of x, W, U, b for a fixed random problem (the same arrays on every call)."""
    rng = np.random.default_rng(7)
    op_class, gates = _OPS[kind]
    bsz, d, h = 4, 3, 5
    x = rng.standard_normal((bsz, t, d)).astype(dtype)
    w = (rng.standard_normal((d, gates * h)) * 0.5).astype(dtype)
    u = (rng.standard_normal((h, gates * h)) * 0.5).astype(dtype)
    b = (rng.standard_normal((2, gates * h) if kind == "GRU" else gates * h) * 0.5).astype(dtype)
    g = rng.standard_normal((bsz, t, h)).astype(dtype)
    ts = [Tensor(a, requires_grad=True) for a in (x, w, u, b)]
    out = op_class("tanh", "sigmoid", True)(*ts)[0]
    (out * Tensor(g)).sum().backward()
    return [tt.grad for tt in ts]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kind", ["LSTM", "GRU", "RNN"])
def test_gemm_path_equals_matmul_and_add(monkeypatch, kind, dtype):
    """Every gradient with SciPy's gemm equals the matmul-and-add path's (as without SciPy) to rounding (on
    this machine, OpenBLAS under both NumPy and SciPy, the bits are the same)."""
    with_gemm = _grads(kind, dtype)
    assert lstm_rows.gemm_accumulate(np.dtype(dtype)) is not None
    monkeypatch.setattr(lstm_rows, "_GEMM", {np.dtype(dtype): None})
    without = _grads(kind, dtype)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    for a, b in zip(with_gemm, without):
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


def test_scipy_blas_is_held_at_one_thread(monkeypatch):
    """one_blas_thread loads SciPy's BLAS (a library of its own) before looking the libraries up, so the
    weight-gradient products run on one thread like every other product of the recurrence."""
    tpc = pytest.importorskip("threadpoolctl")
    monkeypatch.setattr(lstm_rows, "_BLAS", [])
    with tpc.threadpool_limits(2):
        with lstm_rows.one_blas_thread():
            threads = [lib.num_threads for lib in tpc.ThreadpoolController().select(user_api="blas").lib_controllers]
    assert threads and all(n == 1 for n in threads)


def test_one_blas_thread_restores_each_library(monkeypatch):
    """The lean limiter sets only the libraries running more than one thread to one, and gives each its own
    count back on exit (also when the block raises), as threadpoolctl's limit did."""
    tpc = pytest.importorskip("threadpoolctl")
    monkeypatch.setattr(lstm_rows, "_BLAS", [])
    lstm_rows.gemm_accumulate(np.dtype(np.float32))  # SciPy's BLAS loaded first, so the limits below reach it
    with tpc.threadpool_limits(2):
        before = [lib.num_threads for lib in tpc.ThreadpoolController().select(user_api="blas").lib_controllers]
        if max(before, default=1) < 2:
            pytest.skip("no BLAS library here runs more than one thread")
        with pytest.raises(RuntimeError, match="inside"):
            with lstm_rows.one_blas_thread():
                inside = [lib.num_threads for lib in tpc.ThreadpoolController().select(user_api="blas").lib_controllers]
                raise RuntimeError("inside")
        after = [lib.num_threads for lib in tpc.ThreadpoolController().select(user_api="blas").lib_controllers]
    assert inside and all(n == 1 for n in inside)
    assert after == before
