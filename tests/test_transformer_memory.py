"""The transformer's training memory (#18): attention's products chunk by chunk over the batch (the op keeps only
its softmax weights), LayerNorm's one scratch buffer, a replayed plan that holds its large intermediates as
shape-only placeholders, a linear Dense op that does not keep its output; and the bench row's training peak
against its algorithmic minimum."""

import sys
from pathlib import Path

import numpy as np
import pytest

from neurona import Tensor, function, gradcheck, no_grad, ops
from neurona.models import parallel
from neurona.ops import attention as aops
from neurona.ops import nn as nn_ops
from neurona.ops.norm import AddLayerNorm

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `bench/` lives next to `src/`, outside the installed package
    sys.path.insert(0, str(ROOT))

RNG = np.random.default_rng(18)


def _x(*shape, dtype=np.float32):
    return RNG.standard_normal(shape).astype(dtype)


def _run(op, args, g, gp=None):
    """One training forward and backward of an attention op on arrays (as a replayed step runs it)."""
    if len(args) == 4:  # the trainable scale: backward reads its input's shape
        op.inputs = tuple(Tensor(a, requires_grad=True) for a in args)
    out = op.forward(*args)
    grads = op.backward(g, gp) if isinstance(out, tuple) else op.backward(g)
    return (out if isinstance(out, tuple) else (out,)), grads


CASES = ["plain", "causal", "per_sample_mask", "dropout", "query_mask", "weights", "trainable_scale"]


@pytest.mark.parametrize("case", CASES)
def test_attention_in_chunks_equals_one_chunk(case, monkeypatch):
    """Chunks of 2 samples (a shorter last one) give the very bits of the whole batch in one chunk."""
    b, h, tq, tk, d = 5, 2, 4, 6, 3
    q, k, v, g = _x(b, tq, h * d), _x(b, tk, h * d), _x(b, tk, h * d), _x(b, tq, h * d)
    mask = {"causal": aops.causal_mask(tq, tk)[None, None],
            "per_sample_mask": RNG.random((b, 1, tq, tk)) > 0.3}.get(case)
    keep = ((RNG.random((b, h, tq, tk)) > 0.25) / np.float32(0.75)).astype(np.float32) if case == "dropout" else None
    qmask = RNG.random((b, tq)) > 0.3 if case == "query_mask" else None
    weights = case == "weights"
    gp = _x(b, h, tq, tk) if weights else None
    args = (q, k, v, np.asarray(1.3, np.float32)) if case == "trainable_scale" else (q, k, v)
    results = []
    for values in (2 * h * tq * tk, 1 << 20):  # two samples per chunk, then all five at once
        monkeypatch.setattr(aops, "_CHUNK_VALUES", values)
        op = aops.DotProductAttention(h, 0.5, mask, keep, qmask, return_weights=weights)
        results.append(_run(op, args, g, gp))
    (outs, grads), (outs1, grads1) = results
    for a, e in zip(outs + tuple(grads), outs1 + tuple(grads1)):
        np.testing.assert_array_equal(a, e)


def test_packed_attention_in_chunks_equals_one_chunk_and_gradchecks(monkeypatch):
    b, t, h, d = 5, 4, 2, 3
    qkv, g = _x(b, t, 3 * h * d), _x(b, t, h * d)
    mask = aops.causal_mask(t, t)[None, None]
    results = []
    for values in (2 * h * t * t, 1 << 20):
        monkeypatch.setattr(aops, "_CHUNK_VALUES", values)
        results.append(_run(aops.PackedSelfAttention(h * d, h, 0.5, mask), (qkv,), g))
    np.testing.assert_array_equal(results[0][0][0], results[1][0][0])
    np.testing.assert_array_equal(results[0][1][0], results[1][1][0])
    monkeypatch.setattr(aops, "_CHUNK_VALUES", 2 * h * t * t)  # float64 gradients through chunks of 2, 2, 1
    gradcheck(lambda x: aops.packed_self_attention(x, h * d, num_heads=h, scale=0.5, mask=mask),
              _x(b, t, 3 * h * d, dtype=np.float64))
    qmask = RNG.random((b, t)) > 0.3
    gradcheck(lambda q, k, v: aops.dot_product_attention(q, k, v, num_heads=h, scale=0.5, query_mask=qmask),
              *(_x(b, t, h * d, dtype=np.float64) for _ in range(3)))


def test_attention_keeps_only_its_weights_and_its_inputs():
    """No head-major copies on the op: its buffers are the weights alone, and what backward reads of q, k, v are
    the inputs themselves (views of the packed projection); the chunk buffers are the thread's scratch."""
    b, t, h, d = 6, 5, 2, 4
    qkv = _x(b, t, 3 * h * d)
    op = aops.PackedSelfAttention(h * d, h, 0.5)
    op.forward(qkv)
    assert set(op._ws) == {"s"} and op._ws["s"].shape == (b, h, t, t)
    q, k, v = op.saved[:3]
    assert all(np.shares_memory(a, qkv) for a in (q, k, v))
    assert op.minimum_saved_nbytes() == op._ws["s"].nbytes


def test_layer_norm_inference_between_a_forward_and_its_backward():
    """Inference shares the backward's scratch buffer: an inference forward between a training forward and its
    backward changes nothing."""
    x, y, g = _x(8, 6), _x(8, 6), _x(8, 6)
    gamma, beta = Tensor(1 + _x(6), requires_grad=True), Tensor(_x(6), requires_grad=True)
    ops_ = [AddLayerNorm((1,), 1e-5) for _ in range(3)]
    for f in ops_:
        f.inputs = (Tensor(x, requires_grad=True), Tensor(y, requires_grad=True), gamma, beta)
    out = [f.forward(x, y, gamma.data, beta.data) for f in ops_[:2]]
    np.testing.assert_array_equal(out[0], out[1])
    with no_grad():
        ops_[2].forward(_x(8, 6), _x(8, 6), gamma.data, beta.data)
    for a, e in zip(ops_[0].backward(g), ops_[1].backward(g)):
        np.testing.assert_array_equal(a, e)


def test_replayed_plan_holds_large_intermediates_as_placeholders():
    """After a replayed forward the plan keeps only shapes of its large intermediate arrays; a linear Dense op keeps
    no output (a relu one does, its backward reads it); gradients equal the eager engine's."""
    w1 = Tensor(_x(32, 300) * 0.1, requires_grad=True)
    w2 = Tensor(_x(300, 300) * 0.1, requires_grad=True)

    def step(x):
        return (ops.dense(ops.dense(Tensor(x), w1), w2, activation="relu") ** 2).mean()

    traced = function(step)
    x = _x(64, 32)
    for _ in range(3):
        for w in (w1, w2):
            w.grad = None
        traced(x)
        traced.backward()
    plan = traced._last
    assert traced.replayed and plan._big  # the two (64, 300) dense outputs
    for s in plan._big:
        assert plan.vals[s].strides == (0,) * plan.vals[s].ndim
    linear, relu = (f for f, _, _ in plan.ops if isinstance(f, nn_ops.Dense))
    assert linear.y is None and relu.y is not None
    got = [w1.grad.copy(), w2.grad.copy()]
    for w in (w1, w2):
        w.grad = None
    step(x).backward()
    for a, e in zip(got, (w1.grad, w2.grad)):
        np.testing.assert_array_equal(a, e)


@pytest.mark.parametrize("halves", [False, True])
def test_bench_transformer_training_peak_within_the_target(halves):
    """The suite's transformer row (4 steps here): training peak <= 1.25x the algorithmic minimum (#18), on one
    thread and as two half-batch replicas (the suite's default at two threads)."""
    from bench import suite

    wl = suite.WORKLOADS["transformer"]
    data = suite.make_data(wl, 4 * wl.batch)
    with parallel.two_halves(halves):
        suite._neurona_memory(wl, data)  # warm: imports and first-use caches, as the suite's timed runs before
        peak, _ = suite._neurona_memory(wl, data)
        minimum = sum(suite.algorithmic_minimum(wl, suite.make_data(wl, wl.batch)).values())
    assert peak <= 1.25 * minimum, f"training peak {peak:.2f} MiB = {peak / minimum:.2f}x the minimum {minimum:.2f}"
