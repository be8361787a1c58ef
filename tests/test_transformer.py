"""Positional embeddings and transformer blocks: values against the paper's formula and torch's
nn.TransformerEncoderLayer / nn.TransformerDecoderLayer given the same weights, float64 gradients with
padding and causal masks, masks that make padding irrelevant, and save/load round trips."""

import math

import numpy as np
import pytest

from neurona import gradcheck
from neurona.layers import (
    Dense,
    GlobalAveragePooling1D,
    Input,
    PositionEmbedding,
    SinePositionEncoding,
    TokenAndPositionEmbedding,
    TransformerDecoder,
    TransformerEncoder,
)
from neurona.models import Model, Sequential, load_model

RNG = np.random.default_rng(3)


def test_sine_position_encoding_is_the_papers_formula():
    t, d = 7, 6
    got = SinePositionEncoding()(np.zeros((2, t, d), "float32")).data
    for pos in range(t):
        for i in range(d // 2):
            angle = pos / 10000 ** (2 * i / d)
            assert got[1, pos, 2 * i] == pytest.approx(math.sin(angle), abs=1e-6)
            assert got[1, pos, 2 * i + 1] == pytest.approx(math.cos(angle), abs=1e-6)


def test_position_embeddings_add_learned_rows():
    pe = PositionEmbedding(6)
    x = np.zeros((2, 4, 3), "float32")
    out = pe(x).data
    np.testing.assert_array_equal(out[1], pe.position_embeddings.data[:4])
    tp = TokenAndPositionEmbedding(10, 6, 3, mask_zero=True)
    ids = np.array([[1, 2, 0, 0]])
    np.testing.assert_allclose(tp(ids).data[0], tp.token_embedding.embeddings.data[[1, 2, 0, 0]]
                               + tp.position_embedding.position_embeddings.data[:4])
    np.testing.assert_array_equal(tp.compute_mask(ids), ids != 0)
    with pytest.raises(ValueError, match=r"PositionEmbedding 'pe' holds 6 positions.*\(1, 8, 3\)"):
        PositionEmbedding(6, name="pe")(np.zeros((1, 8, 3), "float32"))


def _torch_mha_weights(mha, e, h):
    w_in, b_in = mha.in_proj_weight.detach().numpy(), mha.in_proj_bias.detach().numpy()
    out = []
    for i in range(3):
        out += [w_in[i * e:(i + 1) * e].T.reshape(e, h, e // h), b_in[i * e:(i + 1) * e].reshape(h, e // h)]
    return out + [mha.out_proj.weight.detach().numpy().T.reshape(h, e // h, e), mha.out_proj.bias.detach().numpy()]


def _torch_dense(lin):
    return [lin.weight.detach().numpy().T, lin.bias.detach().numpy()]


def _torch_norm(ln):
    return [ln.weight.detach().numpy(), ln.bias.detach().numpy()]


def _randomize_torch(module, torch):
    with torch.no_grad():
        for p in module.parameters():
            p.add_(0.1 * torch.randn(p.shape))


@pytest.mark.parametrize("normalize_first", [False, True])
def test_encoder_equals_torch(normalize_first):
    torch = pytest.importorskip("torch")
    e, h, f = 8, 2, 16
    theirs = torch.nn.TransformerEncoderLayer(e, h, f, dropout=0.0, batch_first=True, norm_first=normalize_first)
    _randomize_torch(theirs, torch)
    ours = TransformerEncoder(f, h, normalize_first=normalize_first)
    x = RNG.standard_normal((2, 5, e)).astype("float32")
    pad = np.array([[1, 1, 1, 1, 0], [1, 1, 1, 1, 1]], bool)
    ours(x)
    ours.set_weights(_torch_mha_weights(theirs.self_attn, e, h) + _torch_norm(theirs.norm1)
                     + _torch_dense(theirs.linear1) + _torch_dense(theirs.linear2) + _torch_norm(theirs.norm2))
    theirs.eval()
    with torch.no_grad():
        exp = theirs(torch.tensor(x), src_key_padding_mask=torch.tensor(~pad)).numpy()
    got = ours(x, padding_mask=pad).data
    np.testing.assert_allclose(got[pad], exp[pad], rtol=1e-4, atol=1e-5)  # torch leaves padded rows undefined


def test_decoder_equals_torch():
    torch = pytest.importorskip("torch")
    e, h, f = 8, 4, 12
    theirs = torch.nn.TransformerDecoderLayer(e, h, f, dropout=0.0, batch_first=True)
    _randomize_torch(theirs, torch)
    ours = TransformerDecoder(f, h)
    y, mem = RNG.standard_normal((2, 4, e)).astype("float32"), RNG.standard_normal((2, 6, e)).astype("float32")
    ours(y, mem)
    ours.set_weights(_torch_mha_weights(theirs.self_attn, e, h) + _torch_norm(theirs.norm1)
                     + _torch_mha_weights(theirs.multihead_attn, e, h) + _torch_norm(theirs.norm2)
                     + _torch_dense(theirs.linear1) + _torch_dense(theirs.linear2) + _torch_norm(theirs.norm3))
    theirs.eval()
    causal = torch.triu(torch.ones(4, 4, dtype=torch.bool), 1)
    with torch.no_grad():
        exp = theirs(torch.tensor(y), torch.tensor(mem), tgt_mask=causal).numpy()
    np.testing.assert_allclose(ours(y, mem).data, exp, rtol=1e-4, atol=1e-5)


def test_encoder_gradcheck_with_padding_mask():
    enc = TransformerEncoder(6, 2, dtype="float64")
    x = RNG.standard_normal((2, 3, 4))
    enc(x)
    pad = np.array([[1, 1, 0], [1, 1, 1]], bool)
    gradcheck(lambda x: enc(x, padding_mask=pad), x, rtol=1e-5)


def test_decoder_gradcheck_causal_and_cross():
    dec = TransformerDecoder(6, 2, dtype="float64", normalize_first=True)
    y, mem = RNG.standard_normal((2, 3, 4)), RNG.standard_normal((2, 5, 4))
    dec(y, mem)
    enc_pad = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], bool)
    gradcheck(lambda y, m: dec(y, m, encoder_padding_mask=enc_pad), y, mem, rtol=1e-5)


def test_padding_and_the_future_do_not_leak():
    enc = TransformerEncoder(8, 2)
    x = RNG.standard_normal((1, 5, 4)).astype("float32")
    pad = np.array([[1, 1, 1, 0, 0]], bool)
    x2 = x.copy()
    x2[:, 3:] = 100.0
    np.testing.assert_allclose(enc(x, padding_mask=pad).data[:, :3], enc(x2, padding_mask=pad).data[:, :3], atol=1e-5)
    dec = TransformerDecoder(8, 2)
    np.testing.assert_allclose(dec(x).data[:, :3], dec(x2).data[:, :3], atol=1e-5)  # causal: step 2 ignores 3, 4


def test_functional_transformer_saves_and_loads(tmp_path):
    src, tgt = Input((6,), dtype="int64"), Input((4,), dtype="int64")
    enc = TransformerEncoder(16, 2)(TokenAndPositionEmbedding(20, 6, 8)(src))
    dec = TransformerDecoder(16, 2, dropout=0.1)(TokenAndPositionEmbedding(20, 4, 8)(tgt), enc)
    model = Model([src, tgt], Dense(20)(dec))
    xs = [RNG.integers(0, 20, (3, 6)), RNG.integers(0, 20, (3, 4))]
    model.save(tmp_path / "t.neurona")
    loaded = load_model(tmp_path / "t.neurona")
    np.testing.assert_array_equal(loaded.predict(xs, verbose=0), model.predict(xs, verbose=0))
    assert loaded.get_config() == model.get_config()


def test_sequential_encoder_trains_and_round_trips(tmp_path):
    model = Sequential([Input((5, 8)), TransformerEncoder(16, 2), GlobalAveragePooling1D(), Dense(1, "sigmoid")])
    x = RNG.standard_normal((32, 5, 8)).astype("float32")
    y = (x[:, :, 0].mean(1) > 0).astype("float32")
    model.compile("adam", "binary_crossentropy")
    hist = model.fit(x, y, epochs=5, batch_size=8, verbose=0)
    assert hist.history["loss"][-1] < hist.history["loss"][0]
    model.save(tmp_path / "s.neurona")
    np.testing.assert_array_equal(load_model(tmp_path / "s.neurona").predict(x, verbose=0), model.predict(x, verbose=0))


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match=r"TransformerEncoder 'enc'.*divisible by num_heads=3"):
        TransformerEncoder(8, 3, name="enc")(np.zeros((1, 2, 8), "float32"))
    with pytest.raises(ValueError, match="dropout must be in"):
        TransformerDecoder(8, 2, dropout=1.5)
