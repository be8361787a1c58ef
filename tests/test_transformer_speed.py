"""The transformer's training speed, round three (#13): self-attention's packed input projection as one op on the
three kernels (ops/attention_projection.py) and the softmax backward's row dot products by `np.vecdot`; each
against the path it replaced."""

import numpy as np
import pytest

from neurona import Tensor, enable_grad, gradcheck, numerics, ops
from neurona.layers import MultiHeadAttention, TransformerEncoder
from neurona.ops.attention_projection import PackedProjection, packed_projection
from neurona.ops.nn import dense
from neurona.ops.shape import reshape

RNG = np.random.default_rng(13)


def _weights(dtype, bias=True):
    x = RNG.standard_normal((3, 5, 8)).astype(dtype)
    kernels = [RNG.standard_normal((8, 2, 4)).astype(dtype) for _ in range(3)]
    biases = [RNG.standard_normal((2, 4)).astype(dtype) for _ in range(3)] if bias else []
    return x, kernels, biases


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("bias", [True, False])
def test_packed_projection_equals_the_nine_op_path_bit_for_bit(dtype, bias):
    """Output and every gradient equal those of reshape + concatenate + dense (the graph it replaced)."""
    x, kernels, biases = _weights(dtype, bias)
    gy = RNG.standard_normal((3, 5, 24)).astype(dtype)
    with enable_grad():
        new = [Tensor(a, requires_grad=True) for a in [x, *kernels, *biases]]
        y_new = packed_projection(new[0], new[1:4], new[4:] or None)
        y_new.backward(gy)
        old = [Tensor(a, requires_grad=True) for a in [x, *kernels, *biases]]
        w = ops.concatenate([reshape(k, (8, -1)) for k in old[1:4]], axis=1)
        b = ops.concatenate([reshape(t, (-1,)) for t in old[4:]], axis=0) if bias else None
        y_old = dense(old[0], w, b)
        y_old.backward(gy)
    np.testing.assert_array_equal(y_new.data, y_old.data)
    for a, e in zip(new, old):
        assert a.grad.shape == e.data.shape
        np.testing.assert_array_equal(a.grad, e.grad)


def test_packed_projection_gradcheck():
    x, kernels, biases = _weights(np.float64)
    gradcheck(lambda *t: packed_projection(t[0], list(t[1:4]), list(t[4:])), x, *kernels, *biases)
    gradcheck(lambda *t: packed_projection(t[0], list(t[1:])), x, *kernels)


def test_packed_projection_rewrites_its_kernel_buffer_every_call():
    """The side-by-side kernel is the op's own buffer, reused: a changed weight must show in the next call."""
    x, kernels, biases = _weights(np.float32)
    op = PackedProjection(3)
    first = op.forward(x, *kernels, *biases).copy()
    kernels[1] = kernels[1] * 2
    second = op.forward(x, *kernels, *biases)
    expected = x.reshape(-1, 8) @ np.concatenate([k.reshape(8, -1) for k in kernels], axis=1)
    expected += np.concatenate([b.reshape(-1) for b in biases])
    np.testing.assert_array_equal(second.reshape(-1, 24), expected)
    assert not np.array_equal(first, second)


def test_packed_projection_rejects_a_kernel_that_does_not_fit():
    x, kernels, biases = _weights(np.float32)
    with pytest.raises(ValueError, match=r"kernel of shape \(7, 2, 4\).*8 features"):
        packed_projection(Tensor(x), [kernels[0], RNG.standard_normal((7, 2, 4)), kernels[2]])
    with pytest.raises(ValueError, match=r"bias \(3,\)"):
        packed_projection(Tensor(x), kernels, [biases[0], np.zeros(3, np.float32), biases[2]])


def test_multi_head_self_attention_runs_one_projection_op():
    """Self-attention's q, k, v projection is one op in the graph (was nine: six reshapes, two concatenations,
    one dense), and the layer still equals the separate projections."""
    mha = MultiHeadAttention(2, 4)
    x = RNG.standard_normal((2, 5, 8)).astype(np.float32)
    t = Tensor(x)
    with enable_grad():
        out = mha(t, t)
    kinds = [type(f).__name__ for f in _ops(out)]
    assert kinds.count("PackedProjection") == 1 and "Concatenate" not in kinds
    q, k, v = (np.einsum("btd,dhk->bthk", x, getattr(mha, f"{n}_kernel").data) + getattr(mha, f"{n}_bias").data
               for n in ("query", "key", "value"))
    s = np.einsum("bqhk,bshk->bhqs", q, k) / 2.0
    p = np.exp(s - s.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    o = np.einsum("bhqs,bshk->bqhk", p, v)
    ref = np.einsum("bqhk,hko->bqo", o, mha.attention_output_kernel.data) + mha.attention_output_bias.data
    np.testing.assert_allclose(out.data, ref, rtol=1e-5, atol=1e-5)


def _ops(out):
    seen, stack, found = set(), [out.creator], []
    while stack:
        f = stack.pop()
        if f is not None and id(f) not in seen:
            seen.add(id(f))
            found.append(f)
            stack.extend(t.creator for t in f.inputs)
    return found


def test_softmax_rows_backward_equals_the_product_form():
    """vecdot's row sums equal sum(gp * p) to float32 rounding (a different summation order than einsum's)."""
    p = RNG.random((2, 3, 7, 9)).astype(np.float32)
    p /= p.sum(-1, keepdims=True)
    gp = RNG.standard_normal(p.shape).astype(np.float32)
    expected = p * (gp - (gp.astype(np.float64) * p).sum(-1, keepdims=True))
    np.testing.assert_allclose(numerics.softmax_rows_backward(p, gp), expected, rtol=1e-5, atol=1e-6)
    inplace = gp.copy()
    assert numerics.softmax_rows_backward(p, inplace, inplace=True) is inplace


def test_transformer_encoder_gradcheck_through_the_packed_projection():
    layer = TransformerEncoder(6, 2, dtype="float64")
    x = RNG.standard_normal((2, 3, 4))
    layer(x)
    gradcheck(lambda t: layer(t), x)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_backward_equals_the_bool_mask_product_bit_for_bit(dtype):
    """The float mask written by np.greater, times gy in place: the bits of gy * (y > 0), signed zeros and NaNs
    included, in gy's dtype."""
    y = np.maximum(RNG.standard_normal((40, 24)), 0).astype(dtype)
    gy = RNG.standard_normal((40, 24)).astype(dtype)
    gy[0, 0], y[1, 1], y[2, 2] = np.nan, np.nan, 0
    got, expected = numerics.relu_backward(gy, y), gy * (y > 0)
    assert got.dtype == expected.dtype
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(np.signbit(got), np.signbit(expected))
