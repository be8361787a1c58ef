"""TextVectorization: vocabulary and outputs equal Keras's on the same corpus; special tokens; configs; errors."""

import numpy as np
import pytest

from neurona.layers import Input, TextVectorization
from neurona.models import load_model

CORPUS = ["The cat sat on the mat.", "The dog ate my homework!", "A cat, a dog; and a bird?",
          "It's raining cats & dogs", "the THE The", "Mat-cat... sat"]
QUERIES = ["the cat and the zebra", "", "Dogs! dogs? DOGS. bird bird", "homework on a mat"]


def _pair(keras, **kwargs):
    ours, theirs = TextVectorization(**kwargs), keras.layers.TextVectorization(**kwargs)
    ours.adapt(CORPUS)
    theirs.adapt(CORPUS)
    return ours, theirs


@pytest.mark.parametrize("kwargs", [
    {}, {"max_tokens": 8}, {"output_sequence_length": 4}, {"output_sequence_length": 9, "max_tokens": 6},
    {"standardize": "lower"}, {"standardize": None, "split": "character", "max_tokens": 12},
    {"ngrams": 2}, {"output_mode": "multi_hot"}, {"output_mode": "count", "max_tokens": 7},
    {"output_mode": "tf_idf"}, {"output_mode": "multi_hot", "max_tokens": 10, "pad_to_max_tokens": True},
    {"output_mode": "tf_idf", "max_tokens": 5, "ngrams": (1, 2)},
])
def test_equals_keras(keras_tf, kwargs):
    keras = keras_tf
    ours, theirs = _pair(keras, **kwargs)
    assert ours.get_vocabulary() == theirs.get_vocabulary()
    got, expected = ours(QUERIES).data, keras.ops.convert_to_numpy(theirs(QUERIES))
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-6)


def test_special_tokens_and_vocabulary_round_trip():
    tv = TextVectorization()
    tv.adapt(CORPUS)
    vocab = tv.get_vocabulary()
    assert vocab[:2] == ["", "[UNK]"] and tv.vocabulary_size() == len(vocab)
    other = TextVectorization(output_sequence_length=6)
    other.set_vocabulary(vocab)  # accepted with the special tokens...
    assert other.get_vocabulary() == vocab
    other.set_vocabulary(vocab[2:])  # ...or without
    assert other.get_vocabulary() == vocab
    ids = other(["the cat zebra"]).data[0]
    assert ids.tolist() == [vocab.index("the"), vocab.index("cat"), 1, 0, 0, 0]
    hot = TextVectorization(output_mode="multi_hot", vocabulary=["cat", "dog"])
    assert hot.get_vocabulary() == ["[UNK]", "cat", "dog"]
    assert hot(["dog zebra dog"]).data.tolist() == [[1.0, 0.0, 1.0]]


def test_config_and_saved_model_round_trip(tmp_path):
    from neurona.models import Sequential

    tv = TextVectorization(max_tokens=20, output_mode="tf_idf", ngrams=2, name="tv")
    tv.adapt(CORPUS)
    clone = TextVectorization.from_config(tv.get_config())
    assert clone.get_vocabulary() == tv.get_vocabulary()
    np.testing.assert_array_equal(clone(QUERIES).data, tv(QUERIES).data)
    model = Sequential([Input((1,), dtype="str"), TextVectorization(output_sequence_length=5, vocabulary=["a", "b"])])
    model.save(tmp_path / "tv.neurona")
    x = np.array([["a b c"], ["b"]])
    np.testing.assert_array_equal(load_model(tmp_path / "tv.neurona").predict(x, verbose=0),
                                  model.predict(x, verbose=0))


def test_empty_vocabulary_and_bad_input_errors():
    with pytest.raises(ValueError, match=r"TextVectorization 'tv': adapt\(\) found no tokens in 2 text"):
        TextVectorization(name="tv").adapt(["...", "!!"])
    with pytest.raises(ValueError, match="vocabulary is empty"):
        TextVectorization().set_vocabulary([])
    with pytest.raises(ValueError, match="has no vocabulary yet"):
        TextVectorization()(["hello"])
    with pytest.raises(ValueError, match=r"shape \(batch,\) or \(batch, 1\), got shape \(1, 2\)"):
        TextVectorization(vocabulary=["a"])([["a", "b"]])
    with pytest.raises(TypeError, match="expects strings, got int"):
        TextVectorization(vocabulary=["a"])([1, 2])
    with pytest.raises(ValueError, match="output_mode must be one of"):
        TextVectorization(output_mode="onehot")
