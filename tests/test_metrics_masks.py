"""Compiled metrics honour masks as Keras does: a mask carried by the prediction is the metric's sample weight,
so padded steps change nothing in the accuracy of a return_sequences model."""

import numpy as np
import pytest

from neurona import layers, utils
from neurona.metrics.masking import mask_as_sample_weight
from neurona.models import Sequential

VOCAB, STEPS, CLASSES = 12, 6, 3


def _data():
    rng = np.random.default_rng(5)
    ids = rng.integers(1, VOCAB, (8, STEPS))
    lengths = np.array([6, 5, 4, 3, 2, 6, 1, 4])
    for row, n in enumerate(lengths):
        ids[row, n:] = 0  # padding
    labels = rng.integers(0, CLASSES, (8, STEPS))
    return ids, np.eye(CLASSES, dtype=np.float32)[labels], ids != 0


def _model():
    utils.set_random_seed(0)
    model = Sequential([layers.Input((STEPS,), dtype="int64"), layers.Embedding(VOCAB, 4, mask_zero=True),
                        layers.LSTM(5, return_sequences=True), layers.Dense(CLASSES, activation="softmax")])
    model.compile(optimizer="sgd", loss="categorical_crossentropy", metrics=["accuracy"])
    return model


def test_accuracy_counts_only_real_steps():
    ids, y, real = _data()
    model = _model()
    probs = model.predict(ids, verbose=0)
    hits = probs.argmax(-1) == y.argmax(-1)
    expected = hits[real].mean()  # hand-computed: the padded steps are left out
    assert not np.isclose(expected, hits.mean())  # the padding would change it
    result = model.evaluate(ids, y, verbose=0, return_dict=True)
    assert result["accuracy"] == pytest.approx(expected, abs=1e-7)
    weights = np.linspace(0.5, 2.0, len(ids))  # and with sample weights: weight x mask
    model.compile(optimizer="sgd", loss="categorical_crossentropy", weighted_metrics=["accuracy"])
    result = model.evaluate(ids, y, sample_weight=weights, verbose=0, return_dict=True)
    w = weights[:, None] * real
    assert result["accuracy"] == pytest.approx((hits * w).sum() / w.sum(), abs=1e-7)
    # fit's metrics go through the same hook, traced and replayed steps alike (learning rate 0: fixed weights)
    from neurona.optimizers import SGD

    model.compile(optimizer=SGD(0.0), loss="categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(ids, y, epochs=4, batch_size=8, verbose=0, shuffle=False)
    np.testing.assert_allclose(history.history["accuracy"], expected, atol=1e-7)


def test_mask_as_sample_weight_matches_keras_rules():
    mask = np.array([[True, True, False], [True, False, False]])
    np.testing.assert_array_equal(mask_as_sample_weight(None, mask), mask.astype(float))
    np.testing.assert_array_equal(mask_as_sample_weight(np.array([2.0, 3.0]), mask), [[2, 2, 0], [3, 0, 0]])
    np.testing.assert_array_equal(mask_as_sample_weight(np.array([[2.0], [3.0]]), mask), [[2, 2, 0], [3, 0, 0]])
    assert mask_as_sample_weight("sw", None) == "sw"


def test_masked_accuracy_equals_keras(keras):
    ids, y, _ = _data()
    ours = _model()
    theirs = keras.Sequential([keras.Input((STEPS,), dtype="int64"), keras.layers.Embedding(VOCAB, 4, mask_zero=True),
                               keras.layers.LSTM(5, return_sequences=True),
                               keras.layers.Dense(CLASSES, activation="softmax")])
    theirs.compile(optimizer="sgd", loss="categorical_crossentropy", metrics=["accuracy"])
    theirs.set_weights(ours.get_weights())
    expected = theirs.evaluate(ids, y, verbose=0, return_dict=True)
    got = ours.evaluate(ids, y, verbose=0, return_dict=True)
    assert got["accuracy"] == pytest.approx(expected["accuracy"], abs=1e-6)
    assert got["loss"] == pytest.approx(expected["loss"], rel=1e-5)
