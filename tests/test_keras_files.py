"""Keras's own files as first-class formats: neurona writes `.keras`, `.h5` and `.weights.h5` that Keras loads,
and reads the files Keras writes, predicting the same; hostile files are refused before anything runs."""

from __future__ import annotations

import base64
import json
import marshal
import os
import sys
import zipfile

import numpy as np
import pytest

import neurona
from neurona import layers as L
from neurona.labs.cnn import build_model
from neurona.saving import UnsafeFileError

h5py = pytest.importorskip("h5py")


def _mlp():
    return neurona.Sequential([L.Input((4,)), L.Dense(3, activation="relu"), L.Dense(2, activation="softmax")])


def _lstm():
    return neurona.Sequential([L.Input((5, 3)), L.LSTM(4, return_sequences=True), L.GRU(3),
                               L.BatchNormalization(), L.Dense(1)])


def _two_inputs():
    a, b = L.Input((3,), name="a"), L.Input((2,), name="b")
    x = L.Concatenate()([a, b])
    return neurona.Model([a, b], L.Dense(1)(L.Dense(4, activation="tanh")(x)))


def _cases():
    rng = np.random.default_rng(0)
    f = np.float32
    return {
        "mlp": (_mlp, rng.random((5, 4)).astype(f)),
        "cnn": (build_model, rng.random((2, 28, 28, 1)).astype(f)),
        "lstm": (_lstm, rng.random((2, 5, 3)).astype(f)),
        "two_inputs": (_two_inputs, [rng.random((2, 3)).astype(f), rng.random((2, 2)).astype(f)]),
    }


def _randomize(model, seed=1):
    """Non-trivial weights everywhere (biases and BatchNorm statistics included)."""
    rng = np.random.default_rng(seed)
    for w in model.weights:
        w.data[...] = rng.uniform(0.5, 1.0, w.shape) if "variance" in w.name else rng.normal(0, 0.3, w.shape)


@pytest.fixture(scope="module")
def keras():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    return pytest.importorskip("keras")


@pytest.mark.parametrize("name", ["mlp", "cnn", "lstm", "two_inputs"])
def test_neurona_files_load_in_keras_and_back(keras, tmp_path, name):
    build, x = _cases()[name]
    model = build()
    _randomize(model)
    ours = model.predict(x, verbose=0)
    for ext in ("keras", "h5"):
        path = tmp_path / f"m.{ext}"
        model.save(path)
        theirs = keras.saving.load_model(path)
        np.testing.assert_allclose(keras.ops.convert_to_numpy(theirs.predict(x, verbose=0)), ours, atol=1e-6)
        # Keras -> file -> neurona: the file Keras itself writes.
        theirs.save(tmp_path / f"k.{ext}")
        back = neurona.models.load_model(tmp_path / f"k.{ext}")
        np.testing.assert_allclose(back.predict(x, verbose=0), ours, atol=1e-6)
    model.save_weights(tmp_path / "w.weights.h5")
    fresh = keras.saving.load_model(tmp_path / "m.keras")
    for w in fresh.weights:
        w.assign(np.zeros(w.shape, dtype="float32"))
    fresh.load_weights(tmp_path / "w.weights.h5")
    np.testing.assert_allclose(keras.ops.convert_to_numpy(fresh.predict(x, verbose=0)), ours, atol=1e-6)


def test_keras_built_models_load_in_neurona(keras, tmp_path):
    rng = np.random.default_rng(2)
    a, b = keras.Input((3,), name="a"), keras.Input((6, 2), name="b")
    h = keras.layers.Concatenate()([keras.layers.Dense(5, activation="relu")(a), keras.layers.LSTM(5)(b)])
    theirs = keras.Model([a, b], keras.layers.Dense(2, activation="softmax")(h))
    x = [rng.random((4, 3)).astype("float32"), rng.random((4, 6, 2)).astype("float32")]
    expected = keras.ops.convert_to_numpy(theirs.predict(x, verbose=0))
    for ext in ("keras", "h5"):
        theirs.save(tmp_path / f"k.{ext}")
        ours = neurona.models.load_model(tmp_path / f"k.{ext}")
        np.testing.assert_allclose(ours.predict(x, verbose=0), expected, atol=1e-6)


def test_save_weights_h5_is_hdf5_not_neurona(tmp_path):
    model = _mlp()
    model.save_weights(tmp_path / "w.weights.h5")
    model.save(tmp_path / "m.keras")
    assert (tmp_path / "w.weights.h5").read_bytes()[:4] == b"\x89HDF"
    assert set(zipfile.ZipFile(tmp_path / "m.keras").namelist()) == {"config.json", "metadata.json",
                                                                    "model.weights.h5"}
    other = _mlp()
    other.load_weights(tmp_path / "w.weights.h5")
    for w, v in zip(other.weights, model.weights):
        np.testing.assert_array_equal(w.data, v.data)


def test_without_h5py_a_clear_error_and_no_file(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "h5py", None)
    for call, name in ((_mlp().save, "m.keras"), (_mlp().save, "m.h5"), (_mlp().save_weights, "w.weights.h5")):
        with pytest.raises(ImportError, match=r"neurona\[keras\]"):
            call(tmp_path / name)
    assert os.listdir(tmp_path) == []


def _archive(path, config, weights=b""):
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("config.json", json.dumps(config))
        z.writestr("metadata.json", json.dumps({"keras_version": "3.0.0"}))
        z.writestr("model.weights.h5", weights)


def _sequential_with(layer_spec):
    return {"module": "keras", "class_name": "Sequential", "config": {"name": "s", "layers": [
        {"module": "keras.layers", "class_name": "InputLayer", "config": {"batch_shape": [None, 2], "name": "in"}},
        layer_spec]}}


def _valid_weights(tmp_path):
    model = _mlp()
    model.save(tmp_path / "ok.keras")
    return zipfile.ZipFile(tmp_path / "ok.keras").read("model.weights.h5")


def test_keras_lambda_is_refused_and_its_code_never_runs(tmp_path):
    sentinel = tmp_path / "pwned"
    code = compile(f"open({str(sentinel)!r}, 'w').write('x')", "<evil>", "exec")
    function = {"class_name": "__lambda__", "config": {"code": base64.b64encode(marshal.dumps(code)).decode(),
                                                       "defaults": None, "closure": None}}
    spec = {"module": "keras.layers", "class_name": "Lambda",
            "config": {"name": "evil", "function": function, "arguments": {}}}
    path = tmp_path / "lambda.keras"
    _archive(path, _sequential_with(spec), _valid_weights(tmp_path))
    with pytest.raises(UnsafeFileError, match="'evil'.*Lambda.*safe_mode=False"):
        neurona.models.load_model(path)
    with pytest.raises(ValueError, match="never runs the code stored"):
        neurona.models.load_model(path, safe_mode=False)
    assert not sentinel.exists()


def test_keras_lambda_with_safe_mode_off_uses_the_given_function(tmp_path):
    spec = {"module": "keras.layers", "class_name": "Lambda",
            "config": {"name": "double", "function": {"class_name": "__lambda__", "config": {"code": "AAAA"}},
                       "arguments": {}}}
    path = tmp_path / "lambda.keras"
    config = _sequential_with(spec)
    config["config"]["layers"].append({"module": "keras.layers", "class_name": "Dense",
                                       "config": {"name": "dense", "units": 3, "activation": "relu"}})
    config["config"]["layers"].append({"module": "keras.layers", "class_name": "Dense",
                                       "config": {"name": "dense_1", "units": 2, "activation": "softmax"}})
    config["config"]["layers"][0]["config"]["batch_shape"] = [None, 4]
    _archive(path, config, _valid_weights(tmp_path))
    with pytest.warns(UserWarning, match="safe_mode=False"):
        model = neurona.models.load_model(path, safe_mode=False, custom_objects={"double": lambda t: t * 2})
    x = np.ones((1, 4), dtype="float32")
    reference = neurona.models.load_model(tmp_path / "ok.keras")
    np.testing.assert_allclose(model.predict(x, verbose=0), reference.predict(2 * x, verbose=0), rtol=1e-6)


def test_unknown_keras_class_is_refused(tmp_path):
    path = tmp_path / "unknown.keras"
    spec = {"module": "os", "class_name": "system", "config": {"name": "rm", "command": "rm -rf /"}}
    _archive(path, _sequential_with(spec), _valid_weights(tmp_path))
    before = sorted(os.listdir(tmp_path))
    with pytest.raises(ValueError, match="unknown layer class 'system'"):
        neurona.models.load_model(path)
    assert sorted(os.listdir(tmp_path)) == before


def test_h5_with_external_link_is_refused(tmp_path):
    model = _mlp()
    model.save(tmp_path / "m.h5")
    with h5py.File(tmp_path / "other.h5", "w") as other:
        other.create_dataset("kernel", data=np.zeros((4, 3), "float32"))
    with h5py.File(tmp_path / "m.h5", "a") as f:
        f["model_weights/extra"] = h5py.ExternalLink(str(tmp_path / "other.h5"), "/kernel")
    before = sorted(os.listdir(tmp_path))
    with pytest.raises(UnsafeFileError, match="external link"):
        neurona.models.load_model(tmp_path / "m.h5")
    assert sorted(os.listdir(tmp_path)) == before


def test_subclassed_model_cannot_be_saved_as_keras_file(tmp_path):
    class Net(neurona.Model):
        def __init__(self):
            super().__init__()
            self.dense = L.Dense(2)

        def call(self, x):
            return self.dense(x)

    net = Net()
    net(np.ones((1, 3), "float32"))
    with pytest.raises(ValueError, match="subclassed"):
        net.save(tmp_path / "n.keras")
    net.save_weights(tmp_path / "n.weights.h5")
    assert os.listdir(tmp_path) == ["n.weights.h5"]


def test_wrapper_layers_go_to_h5_and_are_refused_clearly_in_keras_archives(keras, tmp_path):
    # an explicit name: automatic names depend on which tests ran before in the same process
    model = neurona.Sequential([L.Input((5, 3)), L.Bidirectional(L.LSTM(2), name="bidirectional"), L.Dense(1)])
    _randomize(model)
    x = np.random.default_rng(5).random((2, 5, 3)).astype("float32")
    model.save(tmp_path / "b.h5")
    theirs = keras.saving.load_model(tmp_path / "b.h5")
    np.testing.assert_allclose(keras.ops.convert_to_numpy(theirs.predict(x, verbose=0)), model.predict(x, verbose=0),
                               atol=1e-6)
    with pytest.raises(ValueError, match="'bidirectional'.*sub-layers"):
        model.save(tmp_path / "b.keras")
    assert not (tmp_path / "b.keras").exists()
