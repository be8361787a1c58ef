"""neurona.ops under Keras 3's keras.ops names: values against NumPy (and keras.ops when installed), and a
float64 numerical gradient check for every differentiable one."""

from __future__ import annotations

import os

import numpy as np
import pytest

from neurona import gradcheck, ops

RNG = np.random.default_rng(0)
A = RNG.uniform(0.2, 0.8, (3, 4))  # inside every domain used below (arcsin, arccosh needs > 1: shifted)
B = RNG.uniform(0.2, 0.8, (3, 4))
SQ = RNG.normal(size=(3, 3)) + 3 * np.eye(3)

# name -> (neurona call, NumPy reference, inputs); every one is differentiable and gradchecked.
DIFFERENTIABLE = {
    "sin": (ops.sin, np.sin, [A]), "cos": (ops.cos, np.cos, [A]), "tan": (ops.tan, np.tan, [A]),
    "arcsin": (ops.arcsin, np.arcsin, [A]), "arccos": (ops.arccos, np.arccos, [A]),
    "arctan": (ops.arctan, np.arctan, [A]), "sinh": (ops.sinh, np.sinh, [A]), "cosh": (ops.cosh, np.cosh, [A]),
    "arcsinh": (ops.arcsinh, np.arcsinh, [A]), "arccosh": (ops.arccosh, np.arccosh, [A + 1.5]),
    "arctanh": (ops.arctanh, np.arctanh, [A]), "log1p": (ops.log1p, np.log1p, [A]),
    "expm1": (ops.expm1, np.expm1, [A]), "log2": (ops.log2, np.log2, [A]), "log10": (ops.log10, np.log10, [A]),
    "exp2": (ops.exp2, np.exp2, [A]), "reciprocal": (ops.reciprocal, np.reciprocal, [A]),
    "rsqrt": (ops.rsqrt, lambda x: 1 / np.sqrt(x), [A]), "cbrt": (ops.cbrt, np.cbrt, [A]),
    "sinc": (ops.sinc, np.sinc, [A]), "deg2rad": (ops.deg2rad, np.deg2rad, [A]),
    "arctan2": (ops.arctan2, np.arctan2, [A, B]), "hypot": (ops.hypot, np.hypot, [A, B]),
    "logaddexp": (ops.logaddexp, np.logaddexp, [A, B]), "logaddexp2": (ops.logaddexp2, np.logaddexp2, [A, B]),
    "divide_no_nan": (ops.divide_no_nan, np.divide, [A, B]), "prod": (lambda x: ops.prod(x, axis=1),
                                                                      lambda x: np.prod(x, 1), [A]),
    "prod_zero": (ops.prod, np.prod, [np.array([2.0, 0.0, 3.0])]),
    "std": (lambda x: ops.std(x, axis=0), lambda x: np.std(x, 0), [A]),
    "average": (lambda x, w: ops.average(x, axis=1, weights=w), lambda x, w: np.average(x, 1, w), [A, B[0]]),
    "ptp": (lambda x: ops.ptp(x, axis=1), lambda x: np.ptp(x, 1), [A]),
    "logsumexp": (lambda x: ops.logsumexp(x, axis=1), lambda x: np.log(np.exp(x).sum(1)), [A]),
    "cumsum": (lambda x: ops.cumsum(x, axis=1), lambda x: np.cumsum(x, 1), [A]),
    "cumprod": (lambda x: ops.cumprod(x, axis=0), lambda x: np.cumprod(x, 0), [A]),
    "dot": (ops.dot, np.dot, [A, B.T]), "vdot": (ops.vdot, np.vdot, [A, B]), "inner": (ops.inner, np.inner, [A, B]),
    "outer": (ops.outer, np.outer, [A[0], B[0]]),
    "tensordot": (lambda a, b: ops.tensordot(a, b, axes=([1], [1])), lambda a, b: np.tensordot(a, b, ([1], [1])),
                  [A, B]),
    "tensordot_int": (lambda a, b: ops.tensordot(a, b, 1), lambda a, b: np.tensordot(a, b, 1), [A, B.T]),
    "einsum": (lambda a, b: ops.einsum("ij,kj->ik", a, b), lambda a, b: np.einsum("ij,kj->ik", a, b), [A, B]),
    "einsum_sum": (lambda a, b: ops.einsum("ij,j->i", a, b), lambda a, b: np.einsum("ij,j->i", a, b), [A, B[0]]),
    "trace": (ops.trace, np.trace, [SQ]), "flip": (lambda x: ops.flip(x, 1), lambda x: np.flip(x, 1), [A]),
    "rot90": (ops.rot90, np.rot90, [A]), "roll": (lambda x: ops.roll(x, 2, axis=1), lambda x: np.roll(x, 2, 1), [A]),
    "roll_flat": (lambda x: ops.roll(x, 5), lambda x: np.roll(x, 5), [A]),
    "tile": (lambda x: ops.tile(x, (2, 1)), lambda x: np.tile(x, (2, 1)), [A]),
    "repeat": (lambda x: ops.repeat(x, 2, axis=0), lambda x: np.repeat(x, 2, 0), [A]),
    "moveaxis": (lambda x: ops.moveaxis(x, 0, 1), lambda x: np.moveaxis(x, 0, 1), [A]),
    "swapaxes": (lambda x: ops.swapaxes(x, 0, 1), lambda x: np.swapaxes(x, 0, 1), [A]),
    "ravel": (ops.ravel, np.ravel, [A]), "append": (ops.append, np.append, [A, B]),
    "hstack": (lambda a, b: ops.hstack([a, b]), lambda a, b: np.hstack([a, b]), [A, B]),
    "vstack": (lambda a, b: ops.vstack([a, b]), lambda a, b: np.vstack([a, b]), [A, B]),
    "dstack": (lambda a, b: ops.dstack([a, b]), lambda a, b: np.dstack([a, b]), [A, B]),
    "diagonal": (ops.diagonal, np.diagonal, [A]), "diag": (ops.diag, np.diag, [A[0]]),
    "tril": (ops.tril, np.tril, [A]), "triu": (lambda x: ops.triu(x, 1), lambda x: np.triu(x, 1), [A]),
    "take": (lambda x: ops.take(x, np.array([2, 0, 2]), axis=1), lambda x: np.take(x, [2, 0, 2], 1), [A]),
    "take_along_axis": (lambda x: ops.take_along_axis(x, np.argsort(A, 1), 1),
                        lambda x: np.take_along_axis(x, np.argsort(A, 1), 1), [A]),
    "sort": (lambda x: ops.sort(x, axis=1), lambda x: np.sort(x, 1), [A]),
    "diff": (lambda x: ops.diff(x, 2), lambda x: np.diff(x, 2), [A]),
    "slice_update": (lambda x, u: ops.slice_update(x, (1, 1), u), None, [A, B[:2, :2]]),
    "inv": (ops.inv, np.linalg.inv, [SQ]), "det": (ops.det, np.linalg.det, [SQ]),
    "solve": (ops.solve, np.linalg.solve, [SQ, A[:, :2]]), "norm": (ops.norm, np.linalg.norm, [A]),
    "cdist": (ops.cdist, lambda a, b: np.sqrt(((a[:, None] - b[None]) ** 2).sum(-1)), [A, B]),
    "segment_sum": (lambda x: ops.segment_sum(x, np.array([0, 1, 0]), 2),
                    lambda x: np.stack([x[0] + x[2], x[1]]), [A]),
    "softsign": (ops.softsign, lambda x: x / (1 + np.abs(x)), [A - 0.5]),
    "log_sigmoid": (ops.log_sigmoid, lambda x: -np.log1p(np.exp(-x)), [A]),
    "celu": (ops.celu, lambda x: np.maximum(0, x) + np.minimum(0, np.expm1(x)), [A - 0.5]),
    "glu": (ops.glu, lambda x: x[:, :2] / (1 + np.exp(-x[:, 2:])), [A]),
    "squareplus": (ops.squareplus, lambda x: (x + np.sqrt(x * x + 4)) / 2, [A]),
    "normalize": (ops.normalize, lambda x: x / np.linalg.norm(x, axis=-1, keepdims=True), [A]),
    "rms_normalization": (ops.rms_normalization, lambda x: x / np.sqrt((x * x).mean(-1, keepdims=True) + 1e-7), [A]),
    "layer_normalization": (ops.layer_normalization,
                            lambda x: (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + 1e-3), [A]),
    "binary_crossentropy": (ops.binary_crossentropy, lambda t, p: -(t * np.log(p) + (1 - t) * np.log(1 - p)),
                            [B, A]),
    "categorical_crossentropy": (
        lambda t, p: ops.categorical_crossentropy(t, p),
        lambda t, p: -(t * np.log(p / p.sum(-1, keepdims=True))).sum(-1), [B, A]),
    "psnr": (lambda a, b: ops.psnr(a, b, 1.0), lambda a, b: 10 * np.log10(1 / ((a - b) ** 2).mean()), [A, B]),
}


@pytest.mark.parametrize("name", sorted(DIFFERENTIABLE))
def test_values_and_gradients(name):
    fn, reference, inputs = DIFFERENTIABLE[name]
    if reference is not None:
        np.testing.assert_allclose(np.asarray(fn(*inputs).data), reference(*inputs), rtol=1e-6, atol=1e-9)
    gradcheck(fn, *[np.ascontiguousarray(x, dtype=np.float64) for x in inputs])


def test_top_k_split_unstack_and_friends():
    values, idx = ops.top_k(np.array([[1.0, 5.0, 3.0], [4.0, 2.0, 6.0]]), 2)
    assert values.numpy().tolist() == [[5, 3], [6, 4]] and idx.numpy().tolist() == [[1, 2], [2, 0]]
    parts = ops.split(np.arange(6.0), 3)
    assert [p.numpy().tolist() for p in parts] == [[0, 1], [2, 3], [4, 5]]
    assert [p.shape for p in ops.array_split(np.arange(7.0), 3)] == [(3,), (2,), (2,)]
    assert [u.shape for u in ops.unstack(np.zeros((2, 3)), axis=1)] == [(2,), (2,), (2,)]
    np.testing.assert_array_equal(ops.one_hot(np.array([0, 2, 5]), 3).numpy(), [[1, 0, 0], [0, 0, 1], [0, 0, 0]])
    np.testing.assert_array_equal(ops.multi_hot(np.array([[0, 2], [1, 1]]), 3).numpy(), [[1, 0, 1], [0, 1, 0]])
    assert ops.shape(np.zeros((2, 3))) == (2, 3) and ops.ndim(np.zeros((2, 3))) == 2
    assert ops.convert_to_tensor(3).dtype == np.int32 and ops.convert_to_tensor(1.5).dtype == np.float32
    assert isinstance(ops.convert_to_numpy(ops.ones((2,))), np.ndarray)
    assert ops.in_top_k(np.array([1, 0]), np.array([[0.1, 0.9], [0.2, 0.8]]), 1).numpy().tolist() == [True, False]
    carry, ys = ops.scan(lambda c, x: (c + x, c * x), 0.0, np.arange(1.0, 4.0))
    assert float(carry) == 6.0 and ys.numpy().tolist() == [0.0, 2.0, 9.0]
    assert ops.while_loop(lambda i: i < 5, lambda i: i + 2, 0) == 6
    assert ops.fori_loop(0, 3, lambda i, v: v + i, 10) == 13
    # sparsemax: the Euclidean projection onto the simplex (Keras's torch backend returns zeros here)
    np.testing.assert_allclose(ops.sparsemax(np.array([[2.0, 0.0], [0.3, 0.1], [0.0, 0.0]])).numpy(),
                               [[1, 0], [0.6, 0.4], [0.5, 0.5]], rtol=1e-6)
    x = np.arange(16.0).reshape(1, 2, 2, 4)
    np.testing.assert_array_equal(ops.space_to_depth(ops.depth_to_space(x, 2), 2).numpy(), x)
    np.testing.assert_array_equal(ops.reshape(np.arange(6), (2, 3)).numpy(), np.arange(6).reshape(2, 3))
    np.testing.assert_array_equal(ops.pad(np.ones((1, 1)), 1).numpy(), np.pad(np.ones((1, 1)), 1))


@pytest.fixture(scope="module")
def keras():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    return pytest.importorskip("keras")


KERAS_CALLS = [
    ("hard_sigmoid", [A * 8 - 4]), ("hard_silu", [A * 8 - 4]), ("relu6", [A * 20 - 5]), ("celu", [A - 0.5]),
    ("sparse_plus", [A * 4 - 2]), ("sparse_sigmoid", [A * 4 - 2]), ("squareplus", [A]), ("hard_tanh", [A * 4 - 2]),
    ("hard_shrink", [A - 0.5]), ("soft_shrink", [A * 2 - 1]), ("tanh_shrink", [A]), ("log_sigmoid", [A]),
    ("glu", [A]), ("softsign", [A]), ("erf", [A]), ("logsumexp", [A]),
    ("binary_crossentropy", [B, A]), ("categorical_crossentropy", [B, A]), ("normalize", [A]),
    ("tensordot", [A, B]), ("moments", [A, [0]]), ("average", [A]), ("cumsum", [A]), ("argmax", [A]),
    ("isclose", [A, B]), ("greater", [A, B]), ("logical_and", [A > 0.5, B > 0.5]), ("sort", [A]),
    ("trace", [SQ]), ("median", [A]), ("quantile", [A, 0.3]), ("count_nonzero", [A > 0.5]),
]


@pytest.mark.parametrize("name,inputs", KERAS_CALLS, ids=[c[0] for c in KERAS_CALLS])
def test_values_match_keras_ops(keras, name, inputs):
    f32 = [x.astype("float32") if isinstance(x, np.ndarray) and x.dtype == np.float64 else x for x in inputs]
    theirs = getattr(keras.ops, name)(*f32)
    ours = getattr(ops, name)(*f32)
    for t, o in zip(theirs if isinstance(theirs, tuple) else [theirs], ours if isinstance(ours, tuple) else [ours]):
        np.testing.assert_allclose(np.asarray(o.data, dtype=np.float64),
                                   keras.ops.convert_to_numpy(t).astype(np.float64), rtol=1e-5, atol=1e-6)


def test_dot_product_attention_matches_keras(keras):
    q, k, v = (RNG.normal(size=(2, 4, 3, 5)).astype("float32") for _ in range(3))
    for causal in (False, True):
        theirs = keras.ops.dot_product_attention(q, k, v, is_causal=causal)
        np.testing.assert_allclose(ops.dot_product_attention(q, k, v, is_causal=causal).numpy(),
                                   keras.ops.convert_to_numpy(theirs), rtol=1e-5, atol=1e-6)
    gradcheck(lambda a, b, c: ops.dot_product_attention(a, b, c, is_causal=True),
              *[x[:1, :3, :2, :2].astype(np.float64) for x in (q, k, v)])


def test_conv_and_pool_match_keras(keras):
    x = RNG.normal(size=(2, 7, 7, 3)).astype("float32")
    w = RNG.normal(size=(3, 3, 3, 4)).astype("float32")
    for padding in ("valid", "same"):
        np.testing.assert_allclose(ops.conv(x, w, 2, padding).numpy(),
                                   keras.ops.convert_to_numpy(keras.ops.conv(x, w, 2, padding)), rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(ops.max_pool(x, 2, 2, padding).numpy(),
                                   keras.ops.convert_to_numpy(keras.ops.max_pool(x, 2, 2, padding)), rtol=1e-6)
    dw = RNG.normal(size=(3, 3, 3, 2)).astype("float32")
    np.testing.assert_allclose(ops.depthwise_conv(x, dw).numpy(),
                               keras.ops.convert_to_numpy(keras.ops.depthwise_conv(x, dw)), rtol=1e-4, atol=1e-5)
