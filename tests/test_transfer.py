"""Transfer learning: frozen layers, frozen BatchNormalization, summary counts, the shipped LeNet and the example."""

from __future__ import annotations

import importlib.util
import os

import numpy as np
import pytest

import neurona
from neurona import layers
from neurona.datasets import digits
from neurona.models import Model, Sequential
from neurona.pretrained import lenet_digits_info, load_lenet_digits

ROOT = os.path.join(os.path.dirname(__file__), "..")
RNG = np.random.default_rng(0)


def data(n=64, d=6, classes=3):
    x = RNG.normal(size=(n, d)).astype("float32")
    return x, RNG.integers(0, classes, n)


def test_frozen_layer_weights_do_not_change_in_fit():
    neurona.utils.set_random_seed(0)
    model = Sequential([layers.Dense(8, activation="relu", input_shape=(6,)), layers.Dense(3, activation="softmax")])
    model.layers[0].trainable = False
    frozen, head = model.layers[0].get_weights(), model.layers[1].get_weights()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(*data(), epochs=2, batch_size=16, verbose=0)
    for a, b in zip(frozen, model.layers[0].get_weights()):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(head[0], model.layers[1].get_weights()[0])
    assert len(model.trainable_weights) == 2 and len(model.non_trainable_weights) == 2


def test_freezing_a_nested_base_model():
    neurona.utils.set_random_seed(0)
    inp = layers.Input((6,))
    base = Model(inp, layers.Dense(4, activation="tanh")(layers.Dense(8, activation="relu")(inp)), name="base")
    base.trainable = False
    assert all(not la.trainable for la in base.layers if la.weights)
    model = Sequential([layers.Input((6,)), base, layers.Dense(3, activation="softmax")])
    before = base.get_weights()
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    model.fit(*data(), epochs=1, batch_size=16, verbose=0)
    for a, b in zip(before, base.get_weights()):
        np.testing.assert_array_equal(a, b)
    base.trainable = True  # unfreezing reaches the inner layers again
    assert len(model.trainable_weights) == 6


def summary_lines(model):
    lines = []
    model.summary(print_fn=lambda text, **kw: lines.extend(text.splitlines()))
    return {k.strip(): v for k, v in (ln.split(":", 1) for ln in lines if "params:" in ln)}


def test_summary_counts_trainable_and_non_trainable():
    model = Sequential([layers.Dense(8, input_shape=(6,)), layers.BatchNormalization(), layers.Dense(3)])
    counts = summary_lines(model)  # BatchNormalization's moving mean and variance never train
    assert counts["Total params"].startswith(" 115 ")  # 56 + 32 + 27
    assert counts["Trainable params"].startswith(" 99 ")
    assert counts["Non-trainable params"].startswith(" 16 ")
    model.layers[0].trainable = False
    counts = summary_lines(model)
    assert counts["Trainable params"].startswith(" 43 ")
    assert counts["Non-trainable params"].startswith(" 72 ")
    model.trainable = False
    assert summary_lines(model)["Trainable params"].startswith(" 0 ")


def test_frozen_batch_normalization_runs_in_inference_mode():
    bn = layers.BatchNormalization(epsilon=1e-3)
    x = RNG.normal(3.0, 2.0, size=(32, 5)).astype("float32")
    bn(x)
    bn.moving_mean.data[...] = RNG.normal(size=5)
    bn.moving_variance.data[...] = RNG.random(5) + 0.5
    bn.gamma.data[...] = RNG.random(5) + 0.5
    bn.beta.data[...] = RNG.normal(size=5)
    stats = [bn.moving_mean.data.copy(), bn.moving_variance.data.copy()]
    expected = (x - stats[0]) / np.sqrt(stats[1] + 1e-3) * bn.gamma.data + bn.beta.data  # Keras's inference formula
    bn.trainable = False
    np.testing.assert_allclose(bn(x, training=True).data, expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(bn.moving_mean.data, stats[0])  # no statistics update either
    np.testing.assert_array_equal(bn.moving_variance.data, stats[1])
    bn.trainable = True  # trainable again: training mode uses the batch's statistics and updates the moving ones
    out = bn(x, training=True).data
    np.testing.assert_allclose(out.mean(axis=0), bn.beta.data, atol=1e-4)
    assert not np.array_equal(bn.moving_mean.data, stats[0])


def test_frozen_batch_normalization_stays_put_during_fit():
    model = Sequential([layers.Dense(4, input_shape=(6,)), layers.BatchNormalization(), layers.Dense(3)])
    bn = model.layers[1]
    bn.trainable = False
    before = bn.get_weights()
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    model.fit(*data(), epochs=1, batch_size=16, verbose=0)
    for a, b in zip(before, bn.get_weights()):
        np.testing.assert_array_equal(a, b)


# ------------------------------------------------------------------------------------------------ shipped LeNet
def test_shipped_lenet_is_small_and_accurate():
    here = os.path.dirname(neurona.pretrained.__file__)
    assert os.path.getsize(os.path.join(here, "lenet_digits.safetensors")) < 300_000
    info = lenet_digits_info()
    model = load_lenet_digits()
    assert model.output_shape == (None, 5) and model.count_params() == 61_281
    (_, _), (x, y) = digits.load_data(size=28, seed=0)
    keep = y < 5
    probs = model.predict(x[keep].reshape(-1, 28, 28, 1).astype("float32") / 255, verbose=0)
    accuracy = float(np.mean(probs.argmax(axis=1) == y[keep]))
    assert accuracy == pytest.approx(info["test_accuracy"], abs=1e-4) and accuracy > 0.95


def _example(name):
    spec = importlib.util.spec_from_file_location(name, os.path.join(ROOT, "examples", f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_transfer_example_runs_both_ways(capsys):
    results = _example("transfer_learning").main(epochs=2)
    assert set(results) == {"feature_extraction", "fine_tuning", "from_scratch"}
    assert all(0 <= v <= 1 for v in results.values())
    out = capsys.readouterr().out
    assert "feature extraction" in out and "fine-tuning" in out


@pytest.mark.slow
def test_transfer_example_learns_the_new_digits():
    results = _example("transfer_learning").main()
    assert results["feature_extraction"] > 0.8 and results["fine_tuning"] > 0.8


@pytest.mark.slow
def test_training_script_reproduces_the_shipped_weights(tmp_path):
    from neurona.saving.safetensors_io import load_file

    _example("train_pretrained_lenet").main(str(tmp_path))
    here = os.path.dirname(neurona.pretrained.__file__)
    ours, _ = load_file(tmp_path / "lenet_digits.safetensors")
    shipped, _ = load_file(os.path.join(here, "lenet_digits.safetensors"))
    assert sorted(ours) == sorted(shipped)
    for name in ours:  # equal up to the rounding of multi-threaded BLAS sums
        np.testing.assert_allclose(ours[name], shipped[name], rtol=1e-4, atol=1e-5)
