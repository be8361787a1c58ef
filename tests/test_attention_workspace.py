"""The transformer's lean paths (#13/#18): attention and layer-norm ops reusing their buffers across replays,
inference that keeps nothing (attention in batch chunks), the fused residual + LayerNormalization op, and the
traced step that never holds two traces' activations at once."""

import threading

import numpy as np
import pytest

from neurona import Tensor, function, gradcheck, layers, models, no_grad, utils
from neurona.ops import attention as aops
from neurona.ops import layer_norm, workspace
from neurona.ops.norm import AddLayerNorm, add_layer_norm

RNG = np.random.default_rng(7)


def _x(*shape, dtype=np.float64):
    return RNG.standard_normal(shape).astype(dtype)


@pytest.mark.parametrize("masked", ["none", "causal", "per_sample"])
def test_reused_attention_op_equals_fresh_ops(masked):
    """One op object run twice (as a replayed step does) gives what two fresh ops give: no stale buffer."""
    h, b, t = 2, 3, 5
    mask = {"none": None, "causal": aops.causal_mask(t, t)[None, None],
            "per_sample": RNG.random((b, 1, t, t)) > 0.3}[masked]
    op = aops.PackedSelfAttention(4, h, 0.5, mask)
    for _ in range(2):
        qkv, g = _x(b, t, 12, dtype=np.float32), _x(b, t, 4, dtype=np.float32)
        fresh = aops.PackedSelfAttention(4, h, 0.5, mask)
        out, ref = op.forward(qkv), fresh.forward(qkv)
        np.testing.assert_array_equal(out, ref)
        np.testing.assert_array_equal(op.backward(g)[0], fresh.backward(g)[0])


@pytest.mark.parametrize("masked", ["none", "causal", "per_sample", "query"])
def test_inference_chunks_equal_the_training_forward(masked, monkeypatch):
    """Under no_grad the op keeps nothing and runs in batch chunks (a remainder chunk included)."""
    monkeypatch.setattr(aops, "_CHUNK_VALUES", 2 * 2 * 4 * 6)  # two samples per chunk: chunks of 2, 2, 1
    b, tq, tk, h = 5, 4, 6, 2
    q, k, v = _x(b, tq, 6, dtype=np.float32), _x(b, tk, 6, dtype=np.float32), _x(b, tk, 4, dtype=np.float32)
    mask = {"none": None, "causal": aops.causal_mask(tq, tk)[None, None],
            "per_sample": RNG.random((b, 1, tq, tk)) > 0.4, "query": None}[masked]
    qmask = RNG.random((b, tq)) > 0.3 if masked == "query" else None
    train = aops.DotProductAttention(h, 0.4, mask, query_mask=qmask)
    infer = aops.DotProductAttention(h, 0.4, mask, query_mask=qmask)
    expected = train.forward(q, k, v)
    with no_grad():
        got = infer.forward(q, k, v)
    assert infer.saved is None and "_ws" not in infer.__dict__
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-7)


def test_attention_declares_the_weights_it_keeps():
    op = aops.PackedSelfAttention(4, 2, 0.5)
    op.forward(_x(3, 5, 12, dtype=np.float32))
    assert op.minimum_saved_nbytes() == 3 * 2 * 5 * 5 * 4
    weights = aops.PackedSelfAttention(4, 2, 0.5, return_weights=True)
    weights.forward(_x(3, 5, 12, dtype=np.float32))
    assert weights.minimum_saved_nbytes() == 0  # the weights are an output, counted as such


def test_add_layer_norm_equals_add_then_layer_norm_and_gradchecks():
    x, y = _x(2, 3, 5, dtype=np.float32), _x(2, 3, 5, dtype=np.float32)
    gamma, beta = 1 + _x(5, dtype=np.float32), _x(5, dtype=np.float32)
    fused = add_layer_norm(x, y, gamma, beta, epsilon=1e-5)
    ref = layer_norm(Tensor(x) + Tensor(y), gamma, beta, epsilon=1e-5)
    np.testing.assert_array_equal(fused.data, ref.data)
    gradcheck(lambda a, c, g, b: add_layer_norm(a, c, g, b, epsilon=1e-5),
              _x(2, 3, 5), _x(2, 3, 5), 1 + _x(5), _x(5))
    gradcheck(lambda a, c: add_layer_norm(a, c, axis=(1, 2)), _x(2, 3, 4), _x(2, 3, 4))
    with pytest.raises(ValueError, match=r"same shape, got \(2, 3\) and \(2, 4\)"):
        add_layer_norm(np.zeros((2, 3)), np.zeros((2, 4)))


def test_reused_layer_norm_ops_equal_fresh_ones():
    op = AddLayerNorm((1,), 1e-5)
    gamma, beta = Tensor(1 + _x(4), requires_grad=True), Tensor(_x(4), requires_grad=True)
    for _ in range(2):
        x, y, g = _x(6, 4), _x(6, 4), _x(6, 4)
        fresh = AddLayerNorm((1,), 1e-5)
        for f in (op, fresh):
            f.inputs = (Tensor(x, requires_grad=True), Tensor(y, requires_grad=True), gamma, beta)
        np.testing.assert_array_equal(op.forward(x, y, gamma.data, beta.data),
                                      fresh.forward(x, y, gamma.data, beta.data))
        for a, e in zip(op.backward(g), fresh.backward(g)):
            np.testing.assert_array_equal(a, e)
    with no_grad():
        op.forward(x, y, gamma.data, beta.data)
    assert op.xhat is None  # inference keeps nothing


def test_scratch_buffers_are_per_thread():
    mine = workspace.scratch("test_buffer", (3,), np.float32)
    seen = []
    worker = threading.Thread(target=lambda: seen.append(workspace.scratch("test_buffer", (3,), np.float32)))
    worker.start()
    worker.join()
    assert seen[0] is not mine and workspace.scratch("test_buffer", (3,), np.float32) is mine


def _model(eager=False):
    utils.set_random_seed(3)
    m = models.Sequential([layers.Input((6, 8)), layers.TransformerEncoder(12, 2), layers.TransformerEncoder(12, 2),
                           layers.GlobalAveragePooling1D(), layers.Dense(3, activation="softmax")])
    m.compile(optimizer="sgd", loss="categorical_crossentropy", run_eagerly=eager)
    return m


def test_replayed_transformer_training_equals_eager_and_forgets_the_traces():
    x = _x(24, 6, 8, dtype=np.float32)
    y = np.eye(3, dtype=np.float32)[RNG.integers(0, 3, 24)]
    replayed, eager = _model(), _model(eager=True)
    replayed.fit(x, y, batch_size=6, epochs=2, verbose=0, shuffle=False)
    for i in range(0, 48, 6):
        eager.train_on_batch(x[i % 24:i % 24 + 6], y[i % 24:i % 24 + 6])
    assert replayed._replay.replayed and eager._replay is None
    for a, b in zip(replayed.get_weights(), eager.get_weights()):
        np.testing.assert_array_equal(a, b)
    plan = next(iter(replayed._replay._plans.values()))
    for f, _, _ in plan.ops:  # the traced call's arrays are gone: shapes only
        assert all(o.strides == (0,) * o.ndim for o in f.outs if o.ndim)
    np.testing.assert_allclose(replayed.predict(x, batch_size=10, verbose=0), eager.predict(x, verbose=0),
                               rtol=1e-6, atol=1e-7)


def test_second_call_check_still_catches_a_changing_constant():
    """The first trace is replayed before the second call is traced (so both never live at once): a constant
    drawn in Python per call still makes the function eager."""
    w = Tensor(np.ones(3), requires_grad=True)

    def step(x):
        return ((Tensor(x) * w) * RNG.random(3)).sum()

    traced = function(step)
    for _ in range(3):
        traced(np.ones(3))
    assert not traced.replayed and None in traced._plans.values()


def test_forgetting_the_trace_leaves_arguments_and_constants_alone():
    w = Tensor(np.arange(3.0), requires_grad=True)
    const = Tensor(np.full(3, 2.0))
    arg = Tensor(np.ones(3))

    def step(x):
        return ((x * w) * const).sum()

    traced = function(step)
    for _ in range(3):
        traced(arg)
    assert traced.replayed
    np.testing.assert_array_equal(const.data, np.full(3, 2.0))
    np.testing.assert_array_equal(arg.data, np.ones(3))
    np.testing.assert_array_equal(w.data, np.arange(3.0))


def test_a_second_call_that_raises_leaves_the_function_usable():
    w = Tensor(np.arange(3.0), requires_grad=True)
    fail = [False]

    def step(x):
        if fail[0]:
            raise ValueError("bad batch")
        return (Tensor(x) * w).sum()

    traced = function(step)
    traced(np.ones(3))
    fail[0] = True
    with pytest.raises(ValueError, match="bad batch"):
        traced(np.ones(3))
    fail[0] = False
    for _ in range(3):
        out = traced(np.full(3, 2.0))
    assert traced.replayed and float(out.data) == 6.0
