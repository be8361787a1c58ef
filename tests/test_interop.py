"""Weights from other frameworks: Keras files (.keras, legacy .h5, .weights.h5) and PyTorch state_dicts.

The Keras files in tests/data/keras were built and saved by real Keras 3 (make_fixtures.py there); a slow
test rebuilds them with the installed Keras. Hostile HDF5 and .keras files must be refused untouched.
"""

from __future__ import annotations

import os
import sys
import zipfile

import numpy as np
import pytest

from neurona import layers
from neurona.interop import load_keras_model, load_keras_weights, load_torch_weights, lstm_from_torch
from neurona.interop.keras_config import model_from_keras_config
from neurona.models import Model, Sequential
from neurona.saving import UnsafeFileError

h5py = pytest.importorskip("h5py")

DATA = os.path.join(os.path.dirname(__file__), "data", "keras")


def expected():
    with np.load(os.path.join(DATA, "keras_expected.npz")) as f:
        return f["x"], f["y"]


def small_cnn() -> Model:
    """The neurona twin of make_fixtures.build (Keras's ReLU(6.0) is Activation('relu6') here)."""
    inp = layers.Input((8, 8, 3))
    x = layers.Conv2D(4, 3, padding="same", name="conv")(inp)
    x = layers.BatchNormalization(name="bn")(x)
    x = layers.Activation("relu6", name="relu6")(x)
    y = layers.DepthwiseConv2D(3, padding="same", name="depthwise")(x)
    x = layers.Add(name="add")([x, y])
    x = layers.MaxPooling2D(name="pool")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dropout(0.2, name="dropout")(x)
    return Model(inp, layers.Dense(3, activation="softmax", name="dense")(x), name="small_cnn")


# ------------------------------------------------------------------------------------------------ Keras files
@pytest.mark.parametrize("fname", ["small_cnn.keras", "small_cnn.h5"])
def test_keras_saved_model_loads_and_predicts_like_keras(fname):
    x, y = expected()
    model = load_keras_model(os.path.join(DATA, fname))
    assert [la.name for la in model.layers if la.weights] == ["conv", "bn", "depthwise", "dense"]
    np.testing.assert_allclose(model.predict(x, verbose=0), y, atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("fname", ["small_cnn.keras", "small_cnn.h5", "small_cnn.weights.h5"])
def test_keras_weights_load_into_a_neurona_model(fname):
    x, y = expected()
    model = small_cnn()
    load_keras_weights(model, os.path.join(DATA, fname))
    np.testing.assert_allclose(model.predict(x, verbose=0), y, atol=1e-6, rtol=1e-5)


def test_keras_weights_pair_in_order_when_names_differ():
    x, y = expected()
    model = small_cnn()
    renamed = Model.from_config({**model.get_config(), "layers": [
        {**spec, "name": spec["name"] + "_x", "config": {**spec["config"], "name": spec["name"] + "_x"},
         "inbound_nodes": [{"args": _rename(n["args"]), "kwargs": n["kwargs"]} for n in spec["inbound_nodes"]]}
        for spec in model.get_config()["layers"]],
        "input_layers": _rename(model.get_config()["input_layers"]),
        "output_layers": _rename(model.get_config()["output_layers"])})
    load_keras_weights(renamed, os.path.join(DATA, "small_cnn.h5"))
    np.testing.assert_allclose(renamed.predict(x, verbose=0), y, atol=1e-6, rtol=1e-5)


def _rename(refs):
    if isinstance(refs, list) and len(refs) == 3 and isinstance(refs[0], str):
        return [refs[0] + "_x", refs[1], refs[2]]
    return [_rename(r) for r in refs]


def test_wrong_architecture_is_refused_and_model_untouched():
    model = Sequential([layers.Dense(3, input_shape=(4,)), layers.Dense(2)])
    before = model.get_weights()
    with pytest.raises(ValueError, match="layers with weights|not the same architecture"):
        load_keras_weights(model, os.path.join(DATA, "small_cnn.h5"))
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_shape_mismatch_names_the_weight_and_leaves_model_untouched(tmp_path):
    model = small_cnn()
    path = tmp_path / "bad.h5"
    with h5py.File(os.path.join(DATA, "small_cnn.h5")) as src, h5py.File(path, "w") as dst:
        src.copy(src["model_weights"], dst, "model_weights")
        for k, v in src.attrs.items():
            dst.attrs[k] = v
        grp = dst["model_weights/dense"]
        wname = [n.decode() if isinstance(n, bytes) else n for n in grp.attrs["weight_names"]][0]
        del grp[wname]
        grp[wname] = np.zeros((5, 3), "float32")
    before = model.get_weights()
    with pytest.raises(ValueError, match="dense/kernel"):
        load_keras_weights(model, path)
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_weights_only_file_is_not_a_model():
    with pytest.raises(ValueError, match="only weights"):
        load_keras_model(os.path.join(DATA, "small_cnn.weights.h5"))


def test_missing_h5py_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "h5py", None)
    with pytest.raises(ImportError, match=r"neurona\[h5\]"):
        load_keras_weights(small_cnn(), os.path.join(DATA, "small_cnn.h5"))


# ------------------------------------------------------------------------------------------------ hostile files
def _legacy_file(path, tweak):
    """A legacy weights file for Dense(2) on 3 inputs, with `tweak(h5)` applied."""
    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = np.array([b"dense"])
        g = f.create_group("dense")
        g.attrs["weight_names"] = np.array([b"dense/kernel", b"dense/bias"])
        g["dense/kernel"] = np.ones((3, 2), "float32")
        g["dense/bias"] = np.ones(2, "float32")
        tweak(f)
    return path


def _soft(f):
    del f["dense/dense/bias"]
    f["dense/dense/bias"] = h5py.SoftLink("/dense/dense/kernel")


def _external(f):
    f["dense/extra"] = h5py.ExternalLink("/etc/passwd", "/x")


def _virtual(f):
    layout = h5py.VirtualLayout(shape=(2,), dtype="f4")
    layout[:] = h5py.VirtualSource("other.h5", "data", shape=(2,))
    del f["dense/dense/bias"]
    f.create_virtual_dataset("dense/dense/bias", layout)


def _external_storage(f):
    del f["dense/dense/bias"]
    f.create_dataset("dense/dense/bias", shape=(2,), dtype="f4", external=[("raw.bin", 0, 8)])


def _strings(f):
    f["dense/note"] = np.array([b"not", b"numbers"])


@pytest.mark.parametrize("tweak, message", [(_soft, "soft link"), (_external, "external link"),
                                            (_virtual, "virtual dataset"), (_external_storage, "external files"),
                                            (_strings, "not numbers")])
def test_hostile_hdf5_features_are_refused(tmp_path, tweak, message):
    path = _legacy_file(tmp_path / "w.h5", tweak)
    model = Sequential([layers.Dense(2, input_shape=(3,), name="dense")])
    before = model.get_weights()
    with pytest.raises(UnsafeFileError, match=message):
        load_keras_weights(model, path)
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert sorted(os.listdir(tmp_path)) == ["w.h5"]  # nothing created next to it


def test_clean_legacy_file_loads(tmp_path):
    model = Sequential([layers.Dense(2, input_shape=(3,), name="dense")])
    load_keras_weights(model, _legacy_file(tmp_path / "w.h5", lambda f: None))
    np.testing.assert_array_equal(model.get_weights()[0], np.ones((3, 2)))


def _zip(path, members):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return path


def test_hostile_keras_archives_are_refused(tmp_path):
    with open(os.path.join(DATA, "small_cnn.keras"), "rb") as f, zipfile.ZipFile(f) as z:
        good = {n: z.read(n) for n in z.namelist()}
    with pytest.raises(UnsafeFileError, match=r"'\.\.'"):
        load_keras_model(_zip(tmp_path / "a.keras", {**good, "../evil.txt": b"x"}))
    with pytest.raises(UnsafeFileError, match="absolute"):
        load_keras_model(_zip(tmp_path / "b.keras", {**good, "/etc/evil": b"x"}))
    with pytest.raises(UnsafeFileError, match="zip bomb"):
        load_keras_model(_zip(tmp_path / "c.keras", {**good, "config.json": b" " * (8 * 2**20)}))
    with pytest.raises(UnsafeFileError, match="no model.weights.h5"):
        load_keras_model(_zip(tmp_path / "d.keras", {"config.json": good["config.json"]}))
    with pytest.raises(UnsafeFileError, match="not valid JSON"):
        load_keras_model(_zip(tmp_path / "e.keras", {**good, "config.json": b"{nope"}))


def test_keras_config_naming_code_is_refused():
    spec = {"class_name": "Sequential", "config": {"name": "s", "layers": [
        {"class_name": "InputLayer", "config": {"batch_shape": [None, 3], "name": "in"}},
        {"module": "os", "class_name": "system", "config": {"name": "x"}, "registered_name": None}]}}
    with pytest.raises(ValueError, match="unknown layer class 'system'"):
        model_from_keras_config(spec)
    spec["config"]["layers"][1] = {"class_name": "Dense", "config": {"name": "d", "units": 2},
                                   "registered_name": "my_pkg>MyDense"}
    with pytest.raises(ValueError, match="custom object"):
        model_from_keras_config(spec)


def test_keras_2_config_format():
    """tf.keras 2 writes batch_input_shape and inbound nodes as [[name, node, index, kwargs], ...]."""
    spec = {"class_name": "Model", "config": {"name": "m", "layers": [
        {"class_name": "InputLayer", "name": "input_1", "inbound_nodes": [],
         "config": {"batch_input_shape": [None, 4], "dtype": "float32", "sparse": False, "ragged": False,
                    "name": "input_1"}},
        {"class_name": "Dense", "name": "dense", "inbound_nodes": [[["input_1", 0, 0, {}]]],
         "config": {"name": "dense", "trainable": True, "dtype": "float32", "units": 3, "activation": "relu",
                    "use_bias": True, "kernel_initializer": {"class_name": "GlorotUniform", "config": {"seed": None}},
                    "bias_initializer": {"class_name": "Zeros", "config": {}}, "kernel_regularizer": None,
                    "bias_regularizer": None, "activity_regularizer": None, "kernel_constraint": None,
                    "bias_constraint": None}},
        {"class_name": "Dense", "name": "dense_1", "inbound_nodes": [[["dense", 0, 0, {}]]],
         "config": {"name": "dense_1", "units": 2}},
        {"class_name": "Add", "name": "add", "inbound_nodes": [[["dense_1", 0, 0, {}], ["dense_1", 0, 0, {}]]],
         "config": {"name": "add"}}],
        "input_layers": [["input_1", 0, 0]], "output_layers": [["add", 0, 0]]}}
    model = model_from_keras_config(spec)
    assert [la.name for la in model.layers] == ["input_1", "dense", "dense_1", "add"]
    assert model.output_shape == (None, 2) and model.count_params() == 15 + 8


def test_keras_setting_without_equivalent_is_named():
    spec = {"class_name": "Sequential", "config": {"name": "s", "layers": [
        {"class_name": "InputLayer", "config": {"batch_shape": [None, 3], "name": "in"}},
        {"class_name": "Dense", "config": {"name": "d", "units": 2, "kernel_constraint": {"class_name": "NonNeg"}}}]}}
    with pytest.raises(ValueError, match="kernel_constraint"):
        model_from_keras_config(spec)


# ------------------------------------------------------------------------------------------------ live Keras
@pytest.mark.slow
def test_fixtures_rebuilt_by_installed_keras_still_load(tmp_path):
    os.environ.setdefault("KERAS_BACKEND", "torch")  # Keras 3 without TensorFlow
    pytest.importorskip("keras")
    sys.path.insert(0, DATA)
    try:
        import make_fixtures
    finally:
        sys.path.remove(DATA)
    make_fixtures.main(str(tmp_path))
    with np.load(tmp_path / "keras_expected.npz") as f:
        x, y = f["x"], f["y"]
    for fname in ("small_cnn.keras", "small_cnn.h5"):
        np.testing.assert_allclose(load_keras_model(tmp_path / fname).predict(x, verbose=0), y, atol=1e-6, rtol=1e-5)


# ------------------------------------------------------------------------------------------------ PyTorch
def _torch_pair(torch):
    """A PyTorch CNN and its neurona twin (BatchNorm epsilon set to PyTorch's 1e-5)."""
    net = torch.nn.Sequential(
        torch.nn.Conv2d(3, 6, 3, padding=1), torch.nn.BatchNorm2d(6), torch.nn.ReLU(),
        torch.nn.Conv2d(6, 6, 3, padding=1, groups=6), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(6, 4, 1, groups=2), torch.nn.Flatten(), torch.nn.Linear(4 * 4 * 4, 5), torch.nn.Tanh(),
        torch.nn.Linear(5, 3))
    with torch.no_grad():  # non-trivial running statistics
        net[1].running_mean.uniform_(-1, 1)
        net[1].running_var.uniform_(0.5, 2)
    net.eval()
    twin = Sequential([
        layers.Conv2D(6, 3, padding="same", input_shape=(8, 8, 3)), layers.BatchNormalization(epsilon=1e-5),
        layers.Activation("relu"), layers.DepthwiseConv2D(3, padding="same", activation="relu"),
        layers.MaxPooling2D(2), layers.Conv2D(4, 1, groups=2), layers.Flatten(), layers.Dense(5, activation="tanh"),
        layers.Dense(3)])
    return net, twin


def test_torch_state_dict_through_safetensors_predicts_like_torch(tmp_path):
    torch = pytest.importorskip("torch")
    st = pytest.importorskip("safetensors.torch")
    torch.manual_seed(0)
    net, twin = _torch_pair(torch)
    path = tmp_path / "net.safetensors"
    st.save_file(net.state_dict(), str(path))
    load_torch_weights(twin, path)
    x = np.random.default_rng(0).random((4, 8, 8, 3), dtype=np.float32)
    with torch.no_grad():
        ref = net(torch.from_numpy(x.transpose(0, 3, 1, 2).copy())).numpy()
    np.testing.assert_allclose(twin.predict(x, verbose=0), ref, atol=1e-5, rtol=1e-5)


def test_torch_state_dict_mapping_and_mismatch():
    torch = pytest.importorskip("torch")
    net = torch.nn.Sequential()
    net.add_module("head", torch.nn.Linear(3, 2))  # sorts before "stem": needs a mapping
    net.add_module("stem", torch.nn.Linear(4, 3))
    twin = Sequential([layers.Dense(3, input_shape=(4,), name="stem_d"), layers.Dense(2, name="head_d")])
    before = twin.get_weights()
    with pytest.raises(ValueError, match="mapping"):
        load_torch_weights(twin, net.state_dict())
    for a, b in zip(before, twin.get_weights()):
        np.testing.assert_array_equal(a, b)
    load_torch_weights(twin, net.state_dict(), mapping={"stem": "stem_d", "head": "head_d"})
    x = np.random.default_rng(1).random((2, 4), dtype=np.float32)
    with torch.no_grad():
        ref = net.head(net.stem(torch.from_numpy(x))).numpy()
    np.testing.assert_allclose(twin.predict(x, verbose=0), ref, atol=1e-6)


def test_lstm_layout_matches_torch():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(3, 4, batch_first=True)
    sd = {k: v.detach().numpy().astype(np.float64) for k, v in lstm.state_dict().items()}
    kernel, recurrent, bias = lstm_from_torch(sd["weight_ih_l0"], sd["weight_hh_l0"], sd["bias_ih_l0"],
                                              sd["bias_hh_l0"])
    assert kernel.shape == (3, 16) and recurrent.shape == (4, 16) and bias.shape == (16,)
    x = np.random.default_rng(0).random((2, 5, 3))
    h = c = np.zeros((2, 4))
    sig = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    for t in range(5):  # Keras's LSTM step, gates i, f, c, o
        z = x[:, t] @ kernel + h @ recurrent + bias
        i, f, g, o = np.split(z, 4, axis=1)
        c = sig(f) * c + sig(i) * np.tanh(g)
        h = sig(o) * np.tanh(c)
    with torch.no_grad():
        ref = lstm.double()(torch.from_numpy(x))[0][:, -1].numpy()
    np.testing.assert_allclose(h, ref, atol=1e-12)
