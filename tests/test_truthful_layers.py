"""The four bugs of issue #22, each pinned by a test: a user class named like one of neurona's must not
replace it, a replaced activation must be the one applied, a Tensor attribute is a weight, and the CLI
must not predict on unscaled data when the preprocessing sidecar is missing."""

from __future__ import annotations

import numpy as np

import neurona
from neurona import activations, layers, registry
from neurona.layers import Conv2D, Dense, Input, Layer
from neurona.models import Sequential, load_model


def test_user_class_named_dense_does_not_replace_neuronas(tmp_path):
    class Dense(Layer):  # noqa: F811 - the point: same name as neurona's
        def get_config(self):
            return super().get_config()

    assert layers.get("Dense") is layers.core.Dense
    assert layers.get("neurona>Dense") is layers.core.Dense
    assert layers.get(f"{__name__.split('.')[0]}>Dense") is Dense
    model = Sequential([Input((3,)), layers.core.Dense(2)])
    model.save(tmp_path / "m.neurona")
    loaded = load_model(tmp_path / "m.neurona")
    assert type(loaded.layers[-1]) is layers.core.Dense
    assert registry.registered_name(Dense) != "Dense"  # saved under its package-qualified name


def test_replaced_activation_is_applied_by_dense():
    layer = Dense(3, activation="softmax")
    x = np.random.default_rng(0).normal(size=(4, 5)).astype("float32")
    layer(x)
    layer.activation = activations.linear
    logits = x @ layer.kernel.data + layer.bias.data
    np.testing.assert_allclose(layer(x).data, logits, rtol=1e-6)
    assert layer.get_config()["activation"] == "linear"
    layer.activation = "relu"
    np.testing.assert_allclose(layer(x).data, np.maximum(logits, 0), rtol=1e-6)


def test_replaced_activation_is_applied_by_conv2d():
    layer = Conv2D(2, 1, activation="relu")
    x = np.random.default_rng(1).normal(size=(1, 3, 3, 2)).astype("float32")
    layer(x)
    layer.activation = activations.linear
    expected = x @ layer.kernel.data[0, 0] + layer.bias.data
    np.testing.assert_allclose(layer(x).data, expected, rtol=1e-5, atol=1e-6)
    assert layer.get_config()["activation"] == "linear"


class _Scale(Layer):
    def build(self, input_shape):
        self.scale = neurona.Tensor(np.full(input_shape[-1:], 2.0, "float32"), requires_grad=True)
        self.offset = neurona.Tensor(np.zeros(input_shape[-1:], "float32"))

    def call(self, inputs, training=False):
        return inputs * self.scale + self.offset


def test_tensor_attribute_is_a_weight(tmp_path):
    layer = _Scale()
    layer(np.ones((2, 3), "float32"))
    assert [w is layer.scale for w in layer.trainable_weights] == [True]
    assert [w is layer.offset for w in layer.non_trainable_weights] == [True]
    assert layer.scale.name.endswith("/scale")
    model = Sequential([Input((3,)), _Scale()])
    model.compile("sgd", "mse")
    before = model.layers[-1].scale.data.copy()
    model.fit(np.ones((4, 3), "float32"), np.zeros((4, 3), "float32"), epochs=1, verbose=0)
    assert not np.array_equal(model.layers[-1].scale.data, before)  # trained
    model.layers[-1].trainable = False
    assert model.trainable_weights == []


def _wine_table(path):
    from neurona.datasets import wine

    x, y = wine.load(dtype="float64")
    lines = [",".join(["Cultivator"] + [f"f{i}" for i in range(x.shape[1])])]
    lines += [",".join([str(k + 1)] + [f"{v:g}" for v in row]) for row, k in zip(x, y)]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_cli_predict_without_sidecar_uses_the_archives_preprocessing(tmp_path, capsys, monkeypatch):
    from neurona.cli import main, tabular
    from neurona.saving import save_model

    for var in ("NEURONA_LANG", "LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(var, raising=False)
    data, model = _wine_table(tmp_path / "wine.csv"), tmp_path / "copied" / "wine.neurona"
    assert main(["train", str(data), "--target", "Cultivator", "--epochs", "30", "--model", str(model),
                 "--report", ""]) == 0
    assert not tabular.sidecar_path(model).exists()  # nothing beside the file: the archive carries it
    assert main(["predict", str(model), str(data), "--out", str(tmp_path / "p.csv")]) == 0
    out = capsys.readouterr().out
    accuracy = float(out.split("accuracy")[-1].split()[0])
    assert accuracy > 0.9, out  # scaled inputs (unscaled ones give about 0.33)

    # An old file (no preprocessing section) of a table-trained model, copied without its sidecar: refuse.
    old = tmp_path / "old.neurona"
    save_model(load_model(model), old)
    assert main(["predict", str(old), str(data)]) == 2
    err = capsys.readouterr().err
    assert "preprocessing" in err and "old.preprocessing.json" in err and len(err.strip().splitlines()) == 1


class _KeepsScores(Layer):
    def call(self, inputs, training=False):
        self.scores = neurona.ops.relu(inputs)  # a value kept for inspection, not a weight
        return self.scores


def test_values_kept_by_call_are_not_weights():
    layer = _KeepsScores()
    x = np.ones((2, 3), "float32")
    with neurona.no_grad():
        layer(x)
        layer(x)
    layer(neurona.Tensor(x))
    assert layer.weights == []
