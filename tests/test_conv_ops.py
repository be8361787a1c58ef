"""Convolution ops: float64 gradient checks, a direct-loop reference, and PyTorch in skip-if-missing tests."""

import numpy as np
import pytest

import neurona as nr
from neurona.ops.conv import (
    conv1d,
    conv1d_transpose,
    conv2d,
    conv2d_transpose,
    depthwise_conv2d,
    padding_amounts,
)

rng = np.random.default_rng(0)


def randn(*shape):
    return rng.standard_normal(shape)


def loop_conv2d(x, w, b, strides, pads, dilation, groups):
    """Textbook convolution, one output value at a time: the independent reference."""
    n, h, wd, c = x.shape
    kh, kw, cg, f = w.shape
    (t, bt), (lf, rt) = pads
    xp = np.zeros((n, h + t + bt, wd + lf + rt, c))
    xp[:, t : t + h, lf : lf + wd] = x
    sh, sw = strides
    dh, dw = dilation
    oh = (xp.shape[1] - (kh - 1) * dh - 1) // sh + 1
    ow = (xp.shape[2] - (kw - 1) * dw - 1) // sw + 1
    fg = f // groups
    y = np.zeros((n, oh, ow, f))
    for i in range(oh):
        for j in range(ow):
            for o in range(f):
                grp = o // fg
                patch = xp[:, i * sh : i * sh + (kh - 1) * dh + 1 : dh, j * sw : j * sw + (kw - 1) * dw + 1 : dw,
                           grp * cg : (grp + 1) * cg]
                y[:, i, j, o] = (patch * w[..., o]).sum(axis=(1, 2, 3))
    return y + (0 if b is None else b)


CASES = [  # (H, W, C, F, kernel, strides, padding, dilation, groups)
    (5, 5, 2, 3, (3, 3), (1, 1), "valid", (1, 1), 1),
    (5, 6, 2, 3, (3, 2), (2, 1), "same", (1, 1), 1),
    (6, 6, 2, 2, (2, 2), (2, 2), "same", (1, 1), 1),
    (7, 5, 2, 2, (3, 3), (1, 1), "same", (2, 1), 1),
    (6, 5, 4, 4, (3, 3), (2, 2), "valid", (1, 1), 2),
    (5, 5, 4, 2, (1, 1), (1, 1), "valid", (1, 1), 1),
    (5, 4, 3, 2, (2, 3), (3, 2), ((1, 0), (2, 1)), (1, 1), 1),
    (7, 7, 2, 2, (3, 3), (2, 2), "same", (2, 2), 2),
    (6, 7, 5, 3, (3, 3), (2, 1), "same", (1, 1), 1),  # more than 4 channels: the pixel-major patch matrix
    (7, 6, 6, 4, (3, 2), (1, 1), "valid", (2, 1), 1),
]


@pytest.mark.parametrize("case", CASES)
def test_conv2d_matches_loop_reference(case):
    h, w, c, f, k, s, pad, d, g = case
    x, kern, b = randn(2, h, w, c), randn(*k, c // g, f), randn(f)
    pads = padding_amounts((h, w), k, s, d, pad)
    y = conv2d(x, kern, b, strides=s, padding=pad, dilation=d, groups=g)
    np.testing.assert_allclose(y.data, loop_conv2d(x, kern, b, s, pads, d, g), atol=1e-12)


@pytest.mark.parametrize("case", CASES)
def test_conv2d_gradcheck(case):
    h, w, c, f, k, s, pad, d, g = case
    x, kern, b = randn(2, h, w, c), randn(*k, c // g, f), randn(f)
    assert nr.gradcheck(lambda a, b_, c_: conv2d(a, b_, c_, strides=s, padding=pad, dilation=d, groups=g), x, kern, b)


@pytest.mark.parametrize("activation", ["relu", "sigmoid", "tanh", "elu"])
def test_conv2d_fused_activation_gradcheck(activation):
    x, kern, b = randn(2, 5, 5, 2), randn(3, 3, 2, 3), randn(3)
    assert nr.gradcheck(lambda a, b_, c_: conv2d(a, b_, c_, padding="same", activation=activation), x, kern, b)


def test_conv2d_without_bias_and_channels_first():
    x, kern = randn(2, 3, 5, 6), randn(3, 3, 3, 2)  # NCHW input
    y = conv2d(x, kern, padding="same", data_format="channels_first")
    ref = loop_conv2d(x.transpose(0, 2, 3, 1), kern, None, (1, 1), ((1, 1), (1, 1)), (1, 1), 1)
    np.testing.assert_allclose(y.data, ref.transpose(0, 3, 1, 2), atol=1e-12)
    assert nr.gradcheck(lambda a, b_: conv2d(a, b_, padding="same", data_format="channels_first"), x, kern)


def test_conv2d_same_padding_puts_extra_pixel_after():
    # TF/Keras: 'same' with an even kernel pads 0 before and 1 after
    assert padding_amounts((4, 5), (2, 2), (1, 1), (1, 1), "same") == ((0, 1), (0, 1))
    assert padding_amounts((5,), (3,), (2,), (1,), "same") == ((1, 1),)
    assert padding_amounts((6,), (3,), (2,), (1,), "same") == ((0, 1),)
    assert conv2d(randn(1, 7, 7, 1), randn(3, 3, 1, 1), strides=2, padding="same").shape == (1, 4, 4, 1)


def test_conv2d_skips_input_gradient_when_not_needed():
    x = nr.Tensor(randn(2, 5, 5, 2))
    kern = nr.Tensor(randn(3, 3, 2, 3), requires_grad=True)
    conv2d(x, kern).sum().backward()
    assert x.grad is None and kern.grad.shape == (3, 3, 2, 3)


@pytest.mark.parametrize("pad,s,d", [("valid", 1, 1), ("same", 2, 1), ("causal", 1, 2), ("same", 1, 3)])
def test_conv1d_gradcheck_and_reference(pad, s, d):
    x, kern, b = randn(2, 7, 3), randn(3, 3, 4), randn(4)
    y = conv1d(x, kern, b, strides=s, padding=pad, dilation=d)
    pads = ((0, 0),) + padding_amounts((7,), (3,), (s,), (d,), pad)
    ref = loop_conv2d(x[:, None], kern[None], b, (1, s), pads, (1, d), 1)[:, 0]
    np.testing.assert_allclose(y.data, ref, atol=1e-12)
    assert nr.gradcheck(lambda a, b_, c_: conv1d(a, b_, c_, strides=s, padding=pad, dilation=d), x, kern, b)


def test_conv1d_causal_output_depends_only_on_the_past():
    x, kern = randn(1, 8, 1), randn(3, 1, 1)
    later = x.copy()
    later[0, 5:] += 1.0
    y, y_later = conv1d(x, kern, padding="causal"), conv1d(later, kern, padding="causal")
    assert y.shape == (1, 8, 1)
    np.testing.assert_allclose(y.data[0, :5], y_later.data[0, :5])
    assert not np.allclose(y.data[0, 5:], y_later.data[0, 5:])


@pytest.mark.parametrize("dm,s,pad,d", [(1, 1, "valid", 1), (2, 2, "same", 1), (1, 1, "same", 2)])
def test_depthwise_conv2d_equals_grouped_conv(dm, s, pad, d):
    x, kern, b = randn(2, 6, 5, 3), randn(3, 3, 3, dm), randn(3 * dm)
    y = depthwise_conv2d(x, kern, b, strides=s, padding=pad, dilation=d)
    # output channel c*dm + m is channel c's m-th filter: a grouped conv with groups = channels
    ref = conv2d(x, kern.reshape(3, 3, 1, 3 * dm), b, strides=s, padding=pad, dilation=d, groups=3)
    np.testing.assert_allclose(y.data, ref.data, atol=1e-12)
    assert nr.gradcheck(lambda a, b_, c_: depthwise_conv2d(a, b_, c_, strides=s, padding=pad, dilation=d),
                        x, kern, b)


@pytest.mark.parametrize("k,s,pad,op,d", [
    (3, 1, "valid", None, 1), (3, 2, "same", None, 1), (2, 3, "valid", None, 1),
    (3, 2, "same", 0, 1), (3, 2, "valid", 1, 1), (3, 1, "same", None, 2), (4, 2, "same", None, 1),
])
def test_conv2d_transpose_is_the_adjoint_of_conv2d(k, s, pad, op, d):
    x, kern, b = randn(2, 3, 4, 2), randn(k, k, 3, 2), randn(3)
    y = conv2d_transpose(x, kern, b, strides=s, padding=pad, output_padding=op, dilation=d)
    # <conv_transpose(x), v> == <x, conv(v)>: conv2d's input gradient is the transposed conv
    v = nr.Tensor(randn(2, y.shape[1], y.shape[2], 3), requires_grad=True)
    out = conv2d(v, kern, strides=s, padding=pad, dilation=d)
    assert out.shape == x.shape
    (out * nr.Tensor(x)).sum().backward()
    np.testing.assert_allclose(y.data - b, v.grad, atol=1e-12)
    assert nr.gradcheck(lambda a, b_, c_: conv2d_transpose(a, b_, c_, strides=s, padding=pad, output_padding=op,
                                                           dilation=d), x, kern, b)


def test_conv_transpose_output_sizes_follow_keras():
    x = randn(1, 5, 5, 2)
    assert conv2d_transpose(x, randn(3, 3, 4, 2), strides=2, padding="same").shape == (1, 10, 10, 4)
    assert conv2d_transpose(x, randn(3, 3, 4, 2), strides=2, padding="valid").shape == (1, 11, 11, 4)
    assert conv2d_transpose(x, randn(2, 2, 4, 2), strides=3, padding="valid").shape == (1, 15, 15, 4)
    assert conv1d_transpose(randn(2, 5, 2), randn(3, 4, 2), strides=2, padding="same").shape == (2, 10, 4)


def test_conv1d_transpose_gradcheck():
    x, kern, b = randn(2, 4, 2), randn(3, 3, 2), randn(3)
    assert nr.gradcheck(lambda a, b_, c_: conv1d_transpose(a, b_, c_, strides=2, padding="same"), x, kern, b)


def test_conv_float32_stays_float32():
    x, kern = randn(2, 6, 6, 3).astype(np.float32), randn(3, 3, 3, 4).astype(np.float32)
    assert conv2d(x, kern, np.zeros(4, np.float32), activation="relu").dtype == np.float32
    assert conv2d_transpose(x, kern.transpose(0, 1, 3, 2), strides=2).dtype == np.float32


def test_conv_errors_name_the_shapes():
    with pytest.raises(ValueError, match=r"4-D input .*\(batch, height, width, channels\).*\(5, 5, 1\)"):
        conv2d(randn(5, 5, 1), randn(3, 3, 1, 2))
    with pytest.raises(ValueError, match=r"larger than the padded input \(2, 2\)"):
        conv2d(randn(1, 2, 2, 1), randn(3, 3, 1, 2))
    with pytest.raises(ValueError, match=r"expects 3 input channels, input \(1, 5, 5, 2\) has 2"):
        conv2d(randn(1, 5, 5, 2), randn(3, 3, 3, 2))
    with pytest.raises(ValueError, match="groups=3"):
        conv2d(randn(1, 5, 5, 4), randn(3, 3, 2, 2), groups=3)
    with pytest.raises(ValueError, match="padding"):
        conv2d(randn(1, 5, 5, 1), randn(3, 3, 1, 2), padding="full")
    with pytest.raises(ValueError, match="strides"):
        conv2d(randn(1, 5, 5, 1), randn(3, 3, 1, 2), strides=0)
    with pytest.raises(ValueError, match="bias shape"):
        conv2d(randn(1, 5, 5, 1), randn(3, 3, 1, 2), randn(3))


# ----------------------------------------------------------------------------- PyTorch


def _torch_grads(fn, *arrays):
    torch = pytest.importorskip("torch")
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    out = fn(*ts)
    r = np.random.default_rng(1).standard_normal(tuple(out.shape))
    (out * torch.tensor(r)).sum().backward()
    return out.detach().numpy(), [t.grad.numpy() for t in ts], r


@pytest.mark.parametrize("case", CASES)
def test_conv2d_matches_torch(case):
    torch = pytest.importorskip("torch")
    h, w, c, f, k, s, pad, d, g = case
    x, kern, b = randn(2, h, w, c), randn(*k, c // g, f), randn(f)
    (t, bt), (lf, rt) = padding_amounts((h, w), k, s, d, pad)

    def ref(xt, wt, bt_):
        xt = torch.nn.functional.pad(xt.permute(0, 3, 1, 2), (lf, rt, t, bt))
        return torch.nn.functional.conv2d(xt, wt.permute(3, 2, 0, 1), bt_, s, 0, d, g).permute(0, 2, 3, 1)

    y_ref, grads_ref, r = _torch_grads(ref, x, kern, b)
    X, K, B = (nr.Tensor(a, requires_grad=True) for a in (x, kern, b))
    y = conv2d(X, K, B, strides=s, padding=pad, dilation=d, groups=g)
    (y * nr.Tensor(r)).sum().backward()
    np.testing.assert_allclose(y.data, y_ref, atol=1e-10)
    for got, want in zip((X.grad, K.grad, B.grad), grads_ref):
        np.testing.assert_allclose(got, want, atol=1e-10)


def test_conv2d_transpose_matches_torch():
    torch = pytest.importorskip("torch")
    x, kern, b = randn(2, 4, 3, 2), randn(3, 3, 5, 2), randn(5)

    def ref(xt, wt, bt):  # torch's weight is (in, out, kh, kw)
        y = torch.nn.functional.conv_transpose2d(xt.permute(0, 3, 1, 2), wt.permute(3, 2, 0, 1), bt, stride=2,
                                                 output_padding=1)
        return y.permute(0, 2, 3, 1)

    y_ref, grads_ref, r = _torch_grads(ref, x, kern, b)
    X, K, B = (nr.Tensor(a, requires_grad=True) for a in (x, kern, b))
    y = conv2d_transpose(X, K, B, strides=2, padding="valid", output_padding=1)
    (y * nr.Tensor(r)).sum().backward()
    np.testing.assert_allclose(y.data, y_ref, atol=1e-10)
    for got, want in zip((X.grad, K.grad, B.grad), grads_ref):
        np.testing.assert_allclose(got, want, atol=1e-10)

