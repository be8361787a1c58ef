"""Every differentiable op against central differences in float64 (neurona.gradcheck)."""

import numpy as np
import pytest

import neurona as nr
from neurona import ops

rng = np.random.default_rng(0)


def r(*shape, lo=-2.0, hi=2.0):
    return rng.uniform(lo, hi, shape)


def away_from_zero(*shape):
    """Values with |x| in [0.2, 2], so kinks (relu, abs) are never straddled."""
    return rng.uniform(0.2, 2, shape) * rng.choice([-1, 1], shape)


UNARY = {
    "neg": ops.neg,
    "exp": ops.exp,
    "log": lambda x: ops.log(ops.abs(x) + 0.5),
    "sqrt": lambda x: ops.sqrt(ops.abs(x) + 0.5),
    "abs": ops.abs,
    "square": ops.square,
    "clip": lambda x: ops.clip(x, -1.0, 1.0),
    "sigmoid": ops.sigmoid,
    "tanh": ops.tanh,
    "relu": ops.relu,
    "leaky_relu": lambda x: ops.leaky_relu(x, 0.1),
    "elu": ops.elu,
    "selu": ops.selu,
    "gelu": ops.gelu,
    "gelu_tanh": lambda x: ops.gelu(x, approximate=True),
    "softplus": ops.softplus,
    "swish": ops.swish,
    "softmax": ops.softmax,
    "softmax_axis0": lambda x: ops.softmax(x, axis=0),
    "log_softmax": ops.log_softmax,
    "linear": lambda x: ops.linear(x) * 1.0,
    "heaviside_st": lambda x: ops.heaviside(x, straight_through=True) * 0 + x * 2,
    "sum": ops.sum,
    "sum_axis": lambda x: ops.sum(x, axis=1, keepdims=True),
    "mean": lambda x: ops.mean(x, axis=0),
    "max": lambda x: ops.max(x, axis=1),
    "min": lambda x: ops.min(x, axis=(0, 1), keepdims=True),
    "var": lambda x: ops.var(x, axis=-1),
    "var_all": ops.var,
    "reshape": lambda x: ops.reshape(x, (4, 3)),
    "transpose": ops.transpose,
    "permute": lambda x: ops.permute(ops.reshape(x, (3, 2, 2)), (2, 0, 1)),
    "expand_dims": lambda x: ops.expand_dims(x, 1),
    "squeeze": lambda x: ops.squeeze(ops.reshape(x, (3, 1, 4))),
    "pad": lambda x: ops.pad(x, ((1, 0), (2, 1))),
    "getitem_slice": lambda x: x[1:, ::2],
    "getitem_int": lambda x: x[1],
    "getitem_intarray": lambda x: x[np.array([0, 2, 0])],
    "getitem_bool": lambda x: x[x.data > 0],
    "broadcast_to": lambda x: ops.broadcast_to(ops.sum(x, axis=0), (2, 4)),
    "flatten": lambda x: ops.flatten(ops.reshape(x, (3, 2, 2))),
    "method_T": lambda x: x.T * 1.0,
    "cast": lambda x: ops.cast(x, np.float32).astype(np.float64) * 1.0,
}


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_op_gradient(name):
    fn = UNARY[name]
    if name == "cast":  # float32 round trip is exact only to ~1e-7
        nr.gradcheck(fn, away_from_zero(3, 4), rtol=1e-4, eps=1e-3)
        return
    assert nr.gradcheck(fn, away_from_zero(3, 4))


BINARY = {
    "add": ops.add,
    "sub": ops.sub,
    "mul": ops.mul,
    "div": lambda a, b: ops.div(a, ops.abs(b) + 0.5),
    "pow": lambda a, b: ops.pow(ops.abs(a) + 0.5, b),
    "maximum": ops.maximum,
    "minimum": ops.minimum,
    "where": lambda a, b: ops.where(a.data > 0, a, b),
    "operators": lambda a, b: (a + b) * a - b / (ops.abs(a) + 1) + (-a) ** 2,
}


@pytest.mark.parametrize("name", sorted(BINARY))
@pytest.mark.parametrize("shapes", [((3, 4), (3, 4)), ((3, 4), (4,)), ((3, 1), (1, 4)), ((2, 3, 4), (3, 1))])
def test_binary_op_gradient_with_broadcasting(name, shapes):
    a, b = away_from_zero(*shapes[0]), away_from_zero(*shapes[1])
    if name in ("maximum", "minimum"):
        b = b + 0.05  # no ties
    assert nr.gradcheck(BINARY[name], a, b)


@pytest.mark.parametrize("sa,sb", [((3, 4), (4, 5)), ((4,), (4, 5)), ((3, 4), (4,)), ((2, 3, 4), (4, 5)),
                                   ((2, 3, 4), (2, 4, 5)), ((1, 3, 4), (2, 4, 2)), ((4,), (4,))])
def test_matmul_gradient(sa, sb):
    assert nr.gradcheck(ops.matmul, r(*sa), r(*sb))


def test_concatenate_stack_gradient():
    assert nr.gradcheck(lambda a, b: ops.concatenate([a, b, a], axis=1), r(2, 3), r(2, 2))
    assert nr.gradcheck(lambda a, b: ops.stack([a, b], axis=1), r(2, 3), r(2, 3))


@pytest.mark.parametrize("activation", [None, "linear", "relu", "sigmoid", "tanh", "softmax", "elu", "gelu"])
def test_dense_gradient(activation):
    x, w, b = away_from_zero(5, 4), r(4, 3), r(3)
    assert nr.gradcheck(lambda x, w, b: ops.dense(x, w, b, activation), x, w, b)


def test_dense_without_bias_and_3d_input():
    assert nr.gradcheck(lambda x, w: ops.dense(x, w, activation="tanh"), r(2, 3, 4), r(4, 2))
    assert nr.gradcheck(lambda x, w, b: ops.dense(x, w, b), r(4), r(4, 2), r(2))


def test_dense_matches_unfused_ops():
    x, w, b = r(5, 4), r(4, 3), r(3)
    fused = ops.dense(x, w, b, "sigmoid").data
    plain = ops.sigmoid(ops.add(ops.matmul(x, w), b)).data
    np.testing.assert_allclose(fused, plain, rtol=1e-12)


def test_softmax_cross_entropy_gradient_and_value():
    z = r(6, 4)
    t = np.eye(4)[rng.integers(0, 4, 6)]
    assert nr.gradcheck(lambda z: ops.softmax_cross_entropy(z, t), z)
    soft = rng.dirichlet(np.ones(4), 6)  # probability targets too
    assert nr.gradcheck(lambda z: ops.softmax_cross_entropy(z, soft), z)
    expected = -(t * np.log(np.exp(z) / np.exp(z).sum(1, keepdims=True))).sum(1).mean()
    np.testing.assert_allclose(ops.softmax_cross_entropy(z, t).item(), expected, rtol=1e-12)


def test_sparse_softmax_cross_entropy_matches_dense_version():
    z, labels = r(6, 4), rng.integers(0, 4, 6)
    assert nr.gradcheck(lambda z: ops.sparse_softmax_cross_entropy(z, labels), z)
    dense = ops.softmax_cross_entropy(z, np.eye(4)[labels]).item()
    np.testing.assert_allclose(ops.sparse_softmax_cross_entropy(z, labels).item(), dense, rtol=1e-12)


def test_softmax_cross_entropy_is_stable_for_huge_logits():
    z = np.array([[1000.0, 0.0, -1000.0]])
    loss = ops.softmax_cross_entropy(z, np.array([[0.0, 1.0, 0.0]])).item()
    np.testing.assert_allclose(loss, 1000.0)


def test_sigmoid_cross_entropy_gradient_and_value():
    z, t = r(5, 3), rng.integers(0, 2, (5, 3)).astype(float)
    assert nr.gradcheck(lambda z: ops.sigmoid_cross_entropy(z, t), z)
    p = 1 / (1 + np.exp(-z))
    expected = -(t * np.log(p) + (1 - t) * np.log(1 - p)).mean()
    np.testing.assert_allclose(ops.sigmoid_cross_entropy(z, t).item(), expected, rtol=1e-10)


def test_dropout_gradient_uses_the_same_mask():
    x = r(4, 5)
    g = np.random.default_rng(1)
    y = ops.dropout(nr.Tensor(x, requires_grad=True), 0.5, rng=g)
    mask = y.data / x
    assert set(np.round(np.unique(mask), 6)) <= {0.0, 2.0}
    assert nr.gradcheck(lambda x: ops.dropout(x, 0.5, rng=np.random.default_rng(1)), x)
    assert ops.dropout(nr.Tensor(x), 0.5, training=False).data is x


def test_reused_input_accumulates():
    assert nr.gradcheck(lambda x: x * x + ops.exp(x) * x - ops.sum(x, axis=0), r(3, 4))
    a = nr.Tensor(3.0, requires_grad=True)
    y = a * a * a
    y.backward()
    assert a.grad == pytest.approx(27.0)


def test_random_composite_of_fifty_ops():
    g = np.random.default_rng(42)
    unary = [ops.tanh, ops.sigmoid, lambda t: t * 0.7, ops.softplus, lambda t: ops.exp(t * 0.1),
             lambda t: ops.sqrt(t * t + 1.0), ops.swish, lambda t: ops.log(ops.abs(t) + 1.5)]
    binary = [ops.add, ops.sub, ops.mul, lambda p, q: p / (q * q + 1.0), ops.maximum]
    plan = [(int(g.integers(2)), int(g.integers(8)), int(g.integers(100))) for _ in range(50)]

    def composite(a, b):
        values = [a, b]
        for kind, k, pick in plan:
            if kind == 0:
                values.append(unary[k](values[pick % len(values)]))
            else:
                p, q = values[pick % len(values)], values[(pick * 7 + 1) % len(values)]
                values.append(binary[k % len(binary)](p, q))
        return values[-1] + values[-2] + values[len(values) // 2]

    assert nr.gradcheck(composite, r(3, 4), r(3, 4))


def test_gradcheck_catches_a_wrong_gradient():
    class Wrong(nr.Function):
        def forward(self, x):
            return x * x

        def backward(self, gy):
            return gy * 3  # should be 2 x

    with pytest.raises(nr.GradcheckError, match="relative error"):
        nr.gradcheck(lambda x: Wrong()(x), r(3))
    assert nr.gradcheck(lambda x: Wrong()(x), r(3), raise_exception=False) is False
