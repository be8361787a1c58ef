"""`model.load_weights` on Keras files (told apart by content: HDF5 signature, .keras zip), and deferred
initialisation: networks built only to be filled from a file skip drawing their initial weights."""

from __future__ import annotations

import os
import shutil
import sys

import numpy as np
import pytest

from neurona import applications as apps
from neurona import initializers, layers
from neurona import random as nrandom
from neurona.applications import _weights
from neurona.layers.base import deferred_initialization
from neurona.models import Model, Sequential

DATA = os.path.join(os.path.dirname(__file__), "data", "keras")
KERAS_FILES = ["small_cnn.keras", "small_cnn.h5", "small_cnn.weights.h5"]


def expected():
    with np.load(os.path.join(DATA, "keras_expected.npz")) as f:
        return f["x"], f["y"]


def small_cnn(dense_units: int = 3) -> Model:
    """The neurona twin of tests/data/keras/make_fixtures.build, layer class for layer class."""
    inp = layers.Input((8, 8, 3))
    x = layers.Conv2D(4, 3, padding="same", name="conv")(inp)
    x = layers.BatchNormalization(name="bn")(x)
    x = layers.ReLU(6.0, name="relu6")(x)
    y = layers.DepthwiseConv2D(3, padding="same", name="depthwise")(x)
    x = layers.Add(name="add")([x, y])
    x = layers.MaxPooling2D(name="pool")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dropout(0.2, name="dropout")(x)
    return Model(inp, layers.Dense(dense_units, activation="softmax", name="dense")(x), name="small_cnn")


# ------------------------------------------------------------------------------------------ Keras files
@pytest.mark.parametrize("fname", KERAS_FILES)
def test_load_weights_reads_keras_files_like_keras(fname):
    pytest.importorskip("h5py")
    x, y = expected()
    model = small_cnn()
    model.load_weights(os.path.join(DATA, fname))
    np.testing.assert_allclose(model.predict(x, verbose=0), y, atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("fname", ["small_cnn.h5", "small_cnn.keras"])
def test_keras_files_are_recognised_by_content_not_name(fname, tmp_path):
    pytest.importorskip("h5py")
    x, y = expected()
    renamed = tmp_path / "weights.bin"
    shutil.copy(os.path.join(DATA, fname), renamed)
    model = small_cnn()
    model.load_weights(renamed)
    np.testing.assert_allclose(model.predict(x, verbose=0), y, atol=1e-6, rtol=1e-5)


def test_keras_options_by_name_and_skip_mismatch():
    pytest.importorskip("h5py")
    x, y = expected()
    h5 = os.path.join(DATA, "small_cnn.h5")
    other = small_cnn(dense_units=5)  # the classifier does not fit the file
    before = other.get_weights()
    with pytest.raises(ValueError, match="dense"):
        other.load_weights(h5)
    assert all(np.array_equal(a, b) for a, b in zip(before, other.get_weights()))  # refused: untouched
    other.load_weights(h5, skip_mismatch=True)  # everything but the classifier
    np.testing.assert_array_equal(other.get_layer("dense").get_weights()[0], before[-2])
    reference = small_cnn()
    reference.load_weights(h5)
    conv = reference.get_layer("conv").get_weights()[0]
    np.testing.assert_array_equal(other.get_layer("conv").get_weights()[0], conv)

    inp = layers.Input((8, 8, 3))  # a model holding only some of the file's layers, paired by name
    part = Model(inp, layers.BatchNormalization(name="bn")(layers.Conv2D(4, 3, padding="same", name="conv")(inp)))
    part.load_weights(h5, by_name=True)
    np.testing.assert_array_equal(part.get_layer("bn").get_weights()[2], reference.get_layer("bn").get_weights()[2])


def test_neurona_files_still_load_and_refuse_by_name(tmp_path):
    model = small_cnn()
    for suffix in ("safetensors", "neurona"):
        path = tmp_path / f"m.{suffix}"
        model.save_weights(path) if suffix == "safetensors" else model.save(path)
        again = small_cnn()
        again.load_weights(path)
        assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), again.get_weights()))
    with pytest.raises(TypeError, match="by_name=True.* applies to Keras"):
        small_cnn().load_weights(tmp_path / "m.safetensors", by_name=True)
    with pytest.raises(TypeError, match="unexpected arguments"):
        small_cnn().load_weights(tmp_path / "m.safetensors", strict=True)


def test_keras_file_without_h5py_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "h5py", None)
    with pytest.raises(ImportError, match=r"neurona\[h5\]"):
        small_cnn().load_weights(os.path.join(DATA, "small_cnn.h5"))


# ------------------------------------------------------------------------------------------ deferred initialisation
class _Counting(initializers.Initializer):
    calls = 0

    def __call__(self, shape, dtype="float32"):
        type(self).calls += 1
        return np.ones(shape, dtype)


def test_deferred_initialization_allocates_zeros_without_initializers():
    _Counting.calls = 0
    state = nrandom.get_rng().bit_generator.state
    with deferred_initialization():
        dense = layers.Dense(4, kernel_initializer=_Counting(), bias_initializer="ones")
        bn = layers.BatchNormalization()
        dense.build((None, 3))
        bn.build((None, 4))
    assert _Counting.calls == 0 and nrandom.get_rng().bit_generator.state == state
    assert all(not w.data.any() and w.data.flags.writeable for w in dense.weights + bn.weights)
    assert dense.kernel.shape == (3, 4) and dense.kernel.dtype == np.float32 and dense.kernel.requires_grad
    later = layers.Dense(2, kernel_initializer=_Counting())  # the block is over: initializers run again
    later.build((None, 3))
    assert _Counting.calls == 1 and later.kernel.data.all()


def test_deferred_initialization_ends_on_errors_and_nests():
    with pytest.raises(RuntimeError), deferred_initialization():
        with deferred_initialization():
            pass
        layer = layers.Dense(2, kernel_initializer="ones")
        layer.build((None, 2))
        assert not layer.kernel.data.any()  # still deferred after the inner block
        raise RuntimeError
    layer = layers.Dense(2, kernel_initializer="ones")
    layer.build((None, 2))
    assert layer.kernel.data.all()


def test_applications_skip_initializers_only_when_loading(tmp_path, monkeypatch):
    source = apps.MobileNet(weights=None, alpha=0.25, input_shape=(32, 32, 3), classes=4)
    for w in source.weights:
        w.data[...] = np.random.default_rng(0).random(w.shape) + 0.5
    source.save_weights(tmp_path / "m.safetensors")
    all_zero_before_loading = []
    original = _weights.load

    def spying_load(model, path):
        all_zero_before_loading.append(all(not w.data.any() for w in model.weights))
        original(model, path)

    monkeypatch.setattr(_weights, "load", spying_load)
    state = nrandom.get_rng().bit_generator.state
    loaded = apps.MobileNet(weights=tmp_path / "m.safetensors", alpha=0.25, input_shape=(32, 32, 3), classes=4)
    assert all_zero_before_loading == [True]  # built from zeros, no random draws
    assert nrandom.get_rng().bit_generator.state == state
    assert all(np.array_equal(a, b) for a, b in zip(source.get_weights(), loaded.get_weights()))
    fresh = apps.MobileNet(weights=None, alpha=0.25, input_shape=(32, 32, 3), classes=4)
    assert fresh.get_layer("conv1").kernel.data.any()  # weights=None: initialised as usual
    assert apps.MobileNet.__name__ == "MobileNet" and "alpha" in apps.MobileNet.__doc__


def test_sequential_built_in_deferred_block_then_loaded(tmp_path):
    model = Sequential([layers.Input((3,)), layers.Dense(4), layers.PReLU(alpha_initializer="ones")])
    model.save_weights(tmp_path / "w.safetensors")
    with deferred_initialization():
        twin = Sequential([layers.Input((3,)), layers.Dense(4), layers.PReLU(alpha_initializer="ones")])
    twin.load_weights(tmp_path / "w.safetensors")
    x = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)
    np.testing.assert_array_equal(twin.predict(x, verbose=0), model.predict(x, verbose=0))
