"""Attention, AdditiveAttention, MultiHeadAttention: fused-op gradients (float64, with masks and causal
masks), outputs against plain NumPy, Keras and torch given the same weights, errors, configs, graphs."""

import numpy as np
import pytest

from neurona import Tensor, gradcheck
from neurona.layers import AdditiveAttention, Attention, Input, MultiHeadAttention
from neurona.models import Model, load_model
from neurona.ops import attention as aops

RNG = np.random.default_rng(0)
B, TQ, TK, D = 2, 3, 4, 4


def _x(*shape):
    return RNG.standard_normal(shape)


def _np_softmax(s, mask=None):
    if mask is not None:
        s = np.where(mask, s, -1e30)
    e = np.exp(s - s.max(-1, keepdims=True))
    if mask is not None:
        e = e * mask
    tot = e.sum(-1, keepdims=True)
    return e / np.where(tot == 0, 1, tot)


# ----------------------------------------------------------------------------- fused ops
@pytest.mark.parametrize("heads", [1, 2])
@pytest.mark.parametrize("masked", ["none", "value", "causal", "full_row"])
def test_dot_attention_gradcheck(heads, masked):
    q, k, v = _x(B, TQ, 2 * heads), _x(B, TK, 2 * heads), _x(B, TK, 3 * heads)
    mask = None
    if masked == "value":
        mask = np.array([[1, 1, 0, 1], [1, 0, 0, 0]], bool)[:, None, None, :]
    elif masked == "causal":
        mask = aops.causal_mask(TQ, TK)[None, None]
    elif masked == "full_row":  # a query with nothing to attend to gets zero weights, gradients stay finite
        mask = np.ones((B, 1, TQ, TK), bool)
        mask[0, 0, 1] = False
    keep = (RNG.random((B, heads, TQ, TK)) > 0.3) / 0.7
    r = Tensor(_x(B, heads, TQ, TK))  # the weights output gets a gradient of its own

    def fn(q, k, v):
        out, w = aops.dot_product_attention(q, k, v, num_heads=heads, scale=0.7, mask=mask, keep=keep,
                                                return_weights=True)
        return out + (w * r).sum()

    gradcheck(fn, q, k, v)


def test_dot_attention_gradcheck_trainable_scale_and_query_mask():
    q, k, v, s = _x(B, TQ, D), _x(B, TK, D), _x(B, TK, D), np.array(1.3)
    qm = np.array([[1, 1, 0], [1, 0, 0]], float)
    gradcheck(lambda q, k, v, s: aops.dot_product_attention(q, k, v, scale_weight=s, query_mask=qm), q, k, v, s)


@pytest.mark.parametrize("scales", ["none", "inner", "both"])
def test_additive_attention_gradcheck(scales):
    q, k, v, w = _x(B, TQ, D), _x(B, TK, D), _x(B, TK, 3), _x(D)
    b, c = np.array(0.8), np.array(1.4)
    mask = np.array([[1, 1, 0, 1], [0, 1, 1, 1]], bool)[:, None, :] & aops.causal_mask(TQ, TK)[None]
    keep = (RNG.random((B, TQ, TK)) > 0.2) / 0.8
    r = Tensor(_x(B, TQ, TK))

    def fn(q, k, v, w, b, c):
        kw = {"inner_scale": b if scales != "none" else None, "outer_scale": c if scales == "both" else None}
        out, p = aops.additive_attention(q, k, v, w, mask=mask, keep=keep, **kw)
        return out + (p * r).sum()

    gradcheck(fn, q, k, v, w, b, c)


def test_dot_attention_equals_numpy():
    q, k, v = _x(B, TQ, 4), _x(B, TK, 4), _x(B, TK, 6)
    mask = aops.causal_mask(TQ, TK)[None, None]
    out, w = aops.dot_product_attention(Tensor(q), Tensor(k), Tensor(v), num_heads=2, scale=0.5, mask=mask,
                                            return_weights=True)
    qh, kh, vh = (a.reshape(B, a.shape[1], 2, -1).transpose(0, 2, 1, 3) for a in (q, k, v))
    p = _np_softmax(0.5 * qh @ kh.transpose(0, 1, 3, 2), mask)
    ref = (p @ vh).transpose(0, 2, 1, 3).reshape(B, TQ, 6)
    np.testing.assert_allclose(w.data, p, atol=1e-12)
    np.testing.assert_allclose(out.data, ref, atol=1e-12)


# ----------------------------------------------------------------------------- layers vs Keras
def _k(keras, x):
    return keras.ops.convert_to_numpy(x)


@pytest.mark.parametrize("kwargs", [{}, {"use_scale": True}, {"score_mode": "concat"},
                                    {"score_mode": "concat", "use_scale": True}])
@pytest.mark.parametrize("causal", [False, True])
def test_attention_equals_keras(keras, kwargs, causal):
    q, v, k = (_x(B, TQ, D).astype("float32"), _x(B, TK, D).astype("float32"), _x(B, TK, D).astype("float32"))
    qm = np.array([[1, 1, 0], [1, 1, 1]], bool)
    vm = np.array([[1, 1, 0, 1], [1, 1, 1, 0]], bool)
    ours, theirs = Attention(**kwargs), keras.layers.Attention(**kwargs)
    theirs([q, v, k])
    ours([q, v, k])
    weights = [w * 1.7 for w in theirs.get_weights()]  # not the initial ones, so scales matter
    theirs.set_weights(weights)
    ours.set_weights(weights)
    got = ours([q, v, k], mask=[qm, vm], return_attention_scores=True, use_causal_mask=causal)
    exp = theirs([q, v, k], mask=[qm, vm], return_attention_scores=True, use_causal_mask=causal)
    np.testing.assert_allclose(got[0].data, _k(keras, exp[0]), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got[1].data, _k(keras, exp[1]), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("use_scale", [True, False])
def test_additive_attention_equals_keras(keras, use_scale):
    q, v = _x(B, TQ, D).astype("float32"), _x(B, TK, D).astype("float32")
    vm = np.array([[1, 1, 0, 1], [1, 0, 1, 1]], bool)
    ours, theirs = AdditiveAttention(use_scale=use_scale), keras.layers.AdditiveAttention(use_scale=use_scale)
    theirs([q, v])
    ours([q, v])
    ours.set_weights(theirs.get_weights())
    got = ours([q, v], mask=[None, vm], return_attention_scores=True)
    exp = theirs([q, v], mask=[None, vm], return_attention_scores=True)
    np.testing.assert_allclose(got[0].data, _k(keras, exp[0]), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got[1].data, _k(keras, exp[1]), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kwargs", [{}, {"value_dim": 3, "output_shape": 5}, {"use_bias": False}])
@pytest.mark.parametrize("with_key", [False, True])
def test_multi_head_attention_equals_keras(keras, kwargs, with_key):
    q, v, k = _x(B, TQ, 6).astype("float32"), _x(B, TK, 5).astype("float32"), _x(B, TK, 7).astype("float32")
    key = k if with_key else None
    am = RNG.random((B, TQ, TK)) > 0.3
    am[:, :, 0] = True
    ours, theirs = MultiHeadAttention(2, 4, **kwargs), keras.layers.MultiHeadAttention(2, 4, **kwargs)
    exp = theirs(q, v, key, attention_mask=am, return_attention_scores=True, use_causal_mask=True)
    ours(q, v, key)
    ours.set_weights([w + 0.1 * RNG.standard_normal(w.shape) for w in theirs.get_weights()])
    theirs.set_weights(ours.get_weights())
    exp = theirs(q, v, key, attention_mask=am, return_attention_scores=True, use_causal_mask=True)
    got = ours(q, v, key, attention_mask=am, return_attention_scores=True, use_causal_mask=True)
    np.testing.assert_allclose(got[0].data, _k(keras, exp[0]), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(got[1].data, _k(keras, exp[1]), rtol=1e-4, atol=1e-5)
    assert [w.shape for w in ours.weights] == [tuple(w.shape) for w in theirs.weights]


def test_multi_head_attention_query_and_value_masks_equal_keras(keras):
    x = _x(B, TK, 6).astype("float32")
    mask = np.array([[1, 1, 1, 0], [1, 1, 0, 0]], bool)
    ours, theirs = MultiHeadAttention(3, 2), keras.layers.MultiHeadAttention(3, 2)
    theirs(x, x)
    ours(x, x)
    ours.set_weights([w + 0.1 for w in theirs.get_weights()])
    theirs.set_weights(ours.get_weights())
    exp = _k(keras, theirs(x, x, value_mask=mask))
    got = ours(x, x, query_mask=mask, value_mask=mask).data
    np.testing.assert_allclose(got[mask], exp[mask], rtol=1e-4, atol=1e-5)
    # a padded query attends to nothing: zero weights, so its output is the output projection's bias
    np.testing.assert_allclose(got[~mask], np.broadcast_to(ours.weights[-1].data, got[~mask].shape), atol=1e-6)


def test_multi_head_attention_equals_torch():
    torch = pytest.importorskip("torch")
    e, h, t = 8, 2, 5
    x = _x(B, t, e).astype("float32")
    theirs = torch.nn.MultiheadAttention(e, h, batch_first=True)
    ours = MultiHeadAttention(h, e // h)
    ours(x, x)
    w_in, b_in = theirs.in_proj_weight.detach().numpy(), theirs.in_proj_bias.detach().numpy()
    b_in = b_in + 0.1 * RNG.standard_normal(b_in.shape).astype("float32")
    w_out, b_out = theirs.out_proj.weight.detach().numpy(), theirs.out_proj.bias.detach().numpy() + 0.2
    mapped = []
    for i in range(3):  # torch stacks q, k, v rows: (3e, e); ours is (e, heads, head_dim) per projection
        mapped += [w_in[i * e:(i + 1) * e].T.reshape(e, h, e // h), b_in[i * e:(i + 1) * e].reshape(h, e // h)]
    mapped[2:4], mapped[4:6] = mapped[2:4], mapped[4:6]
    mapped += [w_out.T.reshape(h, e // h, e), b_out]
    ours.set_weights(mapped)
    with torch.no_grad():
        theirs.in_proj_bias.copy_(torch.tensor(b_in))
        theirs.out_proj.bias.copy_(torch.tensor(b_out))
        causal = torch.triu(torch.ones(t, t, dtype=torch.bool), 1)  # torch: True = may NOT attend
        exp, w = theirs(*(torch.tensor(x),) * 3, attn_mask=causal, average_attn_weights=False)
    got, scores = ours(x, x, use_causal_mask=True, return_attention_scores=True)
    np.testing.assert_allclose(got.data, exp.numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(scores.data, w.numpy(), rtol=1e-4, atol=1e-5)


# ----------------------------------------------------------------------------- errors
def test_attention_mismatched_shapes_name_the_layer():
    with pytest.raises(ValueError, match=r"Attention 'att'.*query \(None, 3, 4\) and key \(None, 4, 5\)"):
        Attention(name="att")([np.zeros((2, 3, 4)), np.zeros((2, 4, 5))])
    with pytest.raises(ValueError, match="list"):
        Attention()(np.zeros((2, 3, 4)))
    with pytest.raises(ValueError, match=r"MultiHeadAttention 'mha'.*value \(None, 4, 4\), key \(None, 5, 4\)"):
        MultiHeadAttention(2, 2, name="mha")(np.zeros((2, 3, 4)), np.zeros((2, 4, 4)), np.zeros((2, 5, 4)))


def test_wrong_mask_shape_names_the_layer_and_shapes():
    x = np.zeros((2, 3, 4), "float32")
    with pytest.raises(ValueError, match=r"'mha': attention_mask must have shape \(2, 3, 3\).*got shape \(2, 3\)"):
        MultiHeadAttention(2, 2, name="mha")(x, x, attention_mask=np.ones((2, 3), bool))
    with pytest.raises(ValueError, match=r"'att': value_mask must have shape \(2, 3\).*got shape \(2, 4\)"):
        Attention(name="att")([x, x], mask=[None, np.ones((2, 4), bool)])


def test_multi_head_attention_feature_change_after_build():
    mha = MultiHeadAttention(2, 2, name="m2")
    mha(np.zeros((1, 3, 4), "float32"), np.zeros((1, 3, 4), "float32"))
    with pytest.raises(ValueError, match=r"'m2' was built for a query with 4 features"):
        mha(np.zeros((1, 3, 5), "float32"), np.zeros((1, 3, 4), "float32"))


# ----------------------------------------------------------------------------- graphs, configs, training
def test_functional_attention_save_load_round_trip(tmp_path):
    inp = Input((5, 8))
    mask_in = Input((5, 5))
    out, scores = MultiHeadAttention(2, 4, name="mha")(inp, inp, attention_mask=mask_in, return_attention_scores=True,
                                                        use_causal_mask=True)
    ctx = Attention(use_scale=True)([out, inp])
    model = Model([inp, mask_in], [ctx, scores])
    assert model.output_shape == [(None, 5, 8), (None, 2, 5, 5)]
    x, m = _x(3, 5, 8).astype("float32"), np.ones((3, 5, 5), "float32")
    y, s = model.predict([x, m], verbose=0)
    model.save(tmp_path / "att.neurona")
    clone = load_model(tmp_path / "att.neurona")
    assert clone.get_config() == model.get_config()
    y2, s2 = clone.predict([x, m], verbose=0)
    np.testing.assert_array_equal(y2, y)
    np.testing.assert_array_equal(s2, s)
    assert np.allclose(np.triu(s[0, 0], 1), 0)


def test_layer_configs_round_trip():
    for layer in (Attention(use_scale=True, score_mode="concat", dropout=0.1), AdditiveAttention(use_scale=False),
                  MultiHeadAttention(4, 8, value_dim=6, dropout=0.2, output_shape=10, use_bias=False)):
        cfg = layer.get_config()
        assert type(layer).from_config(cfg).get_config() == cfg


def test_attention_dropout_only_in_training():
    x = _x(2, 6, 4).astype("float32")
    mha = MultiHeadAttention(2, 2, dropout=0.5, seed=1)
    a = mha(x, x).data
    np.testing.assert_array_equal(a, mha(x, x, training=False).data)
    assert not np.allclose(a, mha(x, x, training=True).data)


def test_packed_self_attention_equals_separate_projections_and_gradchecks():
    x = _x(2, 5, 6)
    mha = MultiHeadAttention(2, 3, dtype="float64")
    xt = Tensor(x)
    packed = mha(xt, xt, use_causal_mask=True).data  # the same tensor three times: one packed projection
    separate = mha(xt, Tensor(x.copy()), use_causal_mask=True).data
    np.testing.assert_allclose(packed, separate, rtol=1e-12, atol=1e-12)
    mask = aops.causal_mask(5, 5)[None, None]
    gradcheck(lambda qkv: aops.packed_self_attention(qkv, 6, num_heads=2, scale=0.5, mask=mask), _x(2, 5, 16))


@pytest.mark.parametrize("scale", [1.0, 200.0])
def test_masked_softmax_large_and_small_scores(scale):
    s = (_x(3, 4, 6) * scale).astype("float32")
    mask = RNG.random((3, 4, 6)) > 0.3
    mask[0, 0] = False  # a row with nothing to attend to
    got = aops.masked_softmax(s, mask)
    np.testing.assert_allclose(got, _np_softmax(s.astype(np.float64), mask), rtol=1e-5, atol=1e-6)
    assert np.all(np.isfinite(got)) and np.all(got[0, 0] == 0)
