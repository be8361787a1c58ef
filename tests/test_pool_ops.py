"""Pooling and upsampling ops: a direct-loop reference, float64 gradient checks, PyTorch where installed."""

import numpy as np
import pytest

import neurona as nr
from neurona.ops.conv import padding_amounts
from neurona.ops.pool import (
    avg_pool1d,
    avg_pool2d,
    global_avg_pool,
    global_max_pool,
    max_pool1d,
    max_pool2d,
    sum_pool2d,
    upsampling1d,
    upsampling2d,
)

rng = np.random.default_rng(0)
POOLS = {"max": max_pool2d, "avg": avg_pool2d, "sum": sum_pool2d}


def distinct(*shape):
    """Values without ties, so max pooling's gradient is well defined for central differences."""
    return rng.permutation(np.prod(shape)).reshape(shape) * 0.1 + rng.uniform(0, 0.01, shape)


def loop_pool(x, mode, pool, strides, pads):
    """Each window reduced on its own (padding ignored, as TF does): the independent reference."""
    n, h, w, c = x.shape
    (t, b), (lf, rt) = pads
    oh = (h + t + b - pool[0]) // strides[0] + 1
    ow = (w + lf + rt - pool[1]) // strides[1] + 1
    y = np.zeros((n, oh, ow, c))
    for i in range(oh):
        for j in range(ow):
            r0, c0 = i * strides[0] - t, j * strides[1] - lf
            win = x[:, max(r0, 0) : r0 + pool[0], max(c0, 0) : c0 + pool[1]]
            y[:, i, j] = {"max": np.max, "avg": np.mean, "sum": np.sum}[mode](win, axis=(1, 2))
    return y


CASES = [  # (H, W, pool, strides, padding)
    (4, 4, (2, 2), None, "valid"),
    (5, 7, (2, 2), None, "valid"),
    (5, 5, (3, 3), (1, 1), "valid"),
    (6, 5, (3, 2), (2, 1), "same"),
    (5, 5, (2, 2), (2, 2), "same"),
    (7, 6, (3, 3), (2, 2), "valid"),
]


@pytest.mark.parametrize("mode", list(POOLS))
@pytest.mark.parametrize("case", CASES)
def test_pool2d_matches_loop_reference(mode, case):
    h, w, pool, strides, pad = case
    x = distinct(2, h, w, 3)
    s = strides or pool
    pads = padding_amounts((h, w), pool, s, (1, 1), pad)
    np.testing.assert_allclose(POOLS[mode](x, pool, strides, pad).data, loop_pool(x, mode, pool, s, pads),
                               atol=1e-12)


@pytest.mark.parametrize("mode", list(POOLS))
@pytest.mark.parametrize("case", CASES)
def test_pool2d_gradcheck(mode, case):
    h, w, pool, strides, pad = case
    assert nr.gradcheck(lambda a: POOLS[mode](a, pool, strides, pad), distinct(2, h, w, 2))


def test_max_pool_ties_send_the_gradient_to_the_first_maximum():
    x = nr.Tensor(np.zeros((1, 2, 2, 1)), requires_grad=True)
    max_pool2d(x).sum().backward()
    np.testing.assert_array_equal(x.grad[0, :, :, 0], [[1, 0], [0, 0]])
    x = nr.Tensor(np.ones((1, 3, 3, 1)), requires_grad=True)  # overlapping windows share pixels
    max_pool2d(x, 2, 1).sum().backward()
    np.testing.assert_array_equal(x.grad[0, :, :, 0], [[1, 1, 0], [1, 1, 0], [0, 0, 0]])


def test_slides_max_pooling_example():
    # a 4x4 feature map pooled by 2x2 windows of stride 2 keeps the largest value of each block
    x = np.array([[1, 1, 2, 4], [5, 6, 7, 8], [3, 2, 1, 0], [1, 2, 3, 4]], float)[None, :, :, None]
    np.testing.assert_array_equal(max_pool2d(x, (2, 2)).data[0, :, :, 0], [[6, 8], [3, 4]])
    np.testing.assert_array_equal(avg_pool2d(x, (2, 2)).data[0, :, :, 0], [[3.25, 5.25], [2, 2]])
    np.testing.assert_array_equal(sum_pool2d(x, (2, 2)).data[0, :, :, 0], [[13, 21], [8, 8]])


def test_pool_channels_first_and_float32():
    x = distinct(2, 3, 6, 4)
    y = max_pool2d(x, 2, data_format="channels_first")
    ref = loop_pool(x.transpose(0, 2, 3, 1), "max", (2, 2), (2, 2), ((0, 0), (0, 0))).transpose(0, 3, 1, 2)
    np.testing.assert_allclose(y.data, ref)
    assert max_pool2d(x.astype(np.float32), 2).dtype == np.float32
    assert avg_pool2d(x.astype(np.float32), 3, 1, "same").dtype == np.float32


@pytest.mark.parametrize("fn,mode", [(max_pool1d, "max"), (avg_pool1d, "avg")])
@pytest.mark.parametrize("pool,s,pad", [(2, None, "valid"), (3, 1, "same"), (3, 2, "valid")])
def test_pool1d(fn, mode, pool, s, pad):
    x = distinct(2, 7, 3)
    pads = ((0, 0),) + padding_amounts((7,), (pool,), (s or pool,), (1,), pad)
    ref = loop_pool(x[:, None], mode, (1, pool), (1, s or pool), pads)[:, 0]
    np.testing.assert_allclose(fn(x, pool, s, pad).data, ref, atol=1e-12)
    assert nr.gradcheck(lambda a: fn(a, pool, s, pad), x)


@pytest.mark.parametrize("keepdims", [False, True])
def test_global_pooling(keepdims):
    x = distinct(2, 3, 4, 5)
    np.testing.assert_allclose(global_max_pool(x, keepdims).data, x.max(axis=(1, 2), keepdims=keepdims))
    np.testing.assert_allclose(global_avg_pool(x, keepdims).data, x.mean(axis=(1, 2), keepdims=keepdims))
    np.testing.assert_allclose(global_avg_pool(x[:, 0]).data, x[:, 0].mean(axis=1))
    assert nr.gradcheck(lambda a: global_max_pool(a, keepdims), x)
    assert nr.gradcheck(lambda a: global_avg_pool(a, keepdims), x)
    cf = global_avg_pool(x, keepdims, data_format="channels_first")
    np.testing.assert_allclose(cf.data, x.mean(axis=(2, 3), keepdims=keepdims))


def test_upsampling_nearest():
    x = distinct(2, 2, 3, 2)
    y = upsampling2d(x, (2, 3))
    np.testing.assert_array_equal(y.data, x.repeat(2, axis=1).repeat(3, axis=2))
    assert nr.gradcheck(lambda a: upsampling2d(a, (2, 3)), x)
    np.testing.assert_array_equal(upsampling1d(x[:, 0], 2).data, x[:, 0].repeat(2, axis=1))
    assert nr.gradcheck(lambda a: upsampling1d(a, 3), x[:, 0])


def test_upsampling_bilinear_gradcheck_and_constant():
    x = distinct(2, 3, 4, 2)
    assert nr.gradcheck(lambda a: upsampling2d(a, 2, "bilinear"), x)
    np.testing.assert_allclose(upsampling2d(np.ones((1, 3, 3, 1)), 3, "bilinear").data, 1.0)


def test_pool_errors():
    with pytest.raises(ValueError, match=r"4-D input .*got shape \(4, 4\)"):
        max_pool2d(np.zeros((4, 4)))
    with pytest.raises(ValueError, match=r"larger than the padded input \(1, 1\)"):
        max_pool2d(np.zeros((1, 1, 1, 1)), 2)
    with pytest.raises(ValueError, match="pool_size"):
        avg_pool2d(np.zeros((1, 4, 4, 1)), 0)


# ----------------------------------------------------------------------------- PyTorch


def _compare_torch(ours, theirs, x):
    torch = pytest.importorskip("torch")
    xt = torch.tensor(x.transpose(0, 3, 1, 2), requires_grad=True)
    yt = theirs(torch, xt)
    r = np.random.default_rng(1).standard_normal(tuple(yt.shape))
    (yt * torch.tensor(r)).sum().backward()
    X = nr.Tensor(x, requires_grad=True)
    y = ours(X)
    (y * nr.Tensor(r.transpose(0, 2, 3, 1))).sum().backward()
    np.testing.assert_allclose(y.data, yt.detach().numpy().transpose(0, 2, 3, 1), atol=1e-12)
    np.testing.assert_allclose(X.grad, xt.grad.numpy().transpose(0, 2, 3, 1), atol=1e-12)


@pytest.mark.parametrize("pool,s", [(2, 2), (3, 1), (3, 2)])
def test_max_pool_matches_torch(pool, s):
    x = rng.integers(0, 4, (2, 7, 8, 3)).astype(float)  # many ties: both pick the first maximum
    _compare_torch(lambda a: max_pool2d(a, pool, s), lambda t, a: t.nn.functional.max_pool2d(a, pool, s), x)


@pytest.mark.parametrize("pool,s", [(2, 2), (3, 1)])
def test_avg_pool_matches_torch(pool, s):
    x = rng.standard_normal((2, 7, 8, 3))
    _compare_torch(lambda a: avg_pool2d(a, pool, s), lambda t, a: t.nn.functional.avg_pool2d(a, pool, s), x)


def test_same_avg_pool_matches_torch_without_counting_padding():
    x = rng.standard_normal((2, 6, 6, 3))
    _compare_torch(lambda a: avg_pool2d(a, 3, 1, "same"),
                   lambda t, a: t.nn.functional.avg_pool2d(a, 3, 1, 1, count_include_pad=False), x)


def test_bilinear_upsampling_matches_torch():
    x = rng.standard_normal((2, 3, 4, 2))
    _compare_torch(lambda a: upsampling2d(a, (2, 3), "bilinear"),
                   lambda t, a: t.nn.functional.interpolate(a, scale_factor=(2, 3), mode="bilinear",
                                                            align_corners=False), x)

