"""The applications added for issue 15: Xception, InceptionResNetV2, NASNetMobile (Keras's structure and
counts), GoogLeNet (table 1 of the 2014 paper) and the UNet builder.

Fast tests build the big networks inside `deferred_initialization` (zeros, no random draws) and check Keras's
published totals; the slow ones compare every layer with the installed Keras and load Keras-saved weights.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from neurona import applications as apps
from neurona import layers
from neurona.applications.inception_resnet_v2 import CustomScaleLayer
from neurona.layers.base import deferred_initialization

# keras.io/api/applications: total parameters with the top, number of layers of Keras's model; a few layers.
PUBLISHED = {
    "Xception": (22_910_480, 134, {"block1_conv1": 864, "block14_sepconv2": 3_159_552, "predictions": 2_049_000}),
    "InceptionResNetV2": (55_873_736, 782, {"conv_7b": 3_194_880, "block8_10_conv": 933_920,
                                            "predictions": 1_537_000}),
    "NASNetMobile": (5_326_716, 771, {"stem_conv1": 864, "predictions": 1_057_000}),
}


def build(name, **kwargs):
    layers.clear_session()
    with deferred_initialization():
        return getattr(apps, name)(weights=None, **kwargs)


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_parameter_counts_equal_keras(name):
    total, n_layers, per_layer = PUBLISHED[name]
    model = build(name)
    assert model.count_params() == total
    assert len(model.layers) == n_layers
    for layer_name, count in per_layer.items():
        assert model.get_layer(layer_name).count_params() == count, layer_name


def _inception_params(c_in, c1, r3, c3, r5, c5, pp):
    """Parameters of one Inception module (every convolution with a bias), from table 1's columns."""
    return (c_in * c1 + c1) + (c_in * r3 + r3) + (9 * r3 * c3 + c3) + (c_in * r5 + r5) + (25 * r5 * c5 + c5) \
        + (c_in * pp + pp)


def test_googlenet_count_is_the_papers_table_1():
    expected = (7 * 7 * 3 * 64 + 64) + (64 * 64 + 64) + (9 * 64 * 192 + 192)  # conv1, conv2 reduce, conv2
    channels = 192
    for name in ("3a", "3b", "4a", "4b", "4c", "4d", "4e", "5a", "5b"):
        c1, r3, c3, r5, c5, pp = apps.googlenet.MODULES[name]
        expected += _inception_params(channels, c1, r3, c3, r5, c5, pp)
        channels = c1 + c3 + c5 + pp
    assert channels == 1024
    expected += 1024 * 1000 + 1000  # the classifier
    model = build("GoogLeNet")
    assert model.count_params() == expected == 6_998_552
    assert model.get_layer("inception_4e_output").output.shape == (None, 14, 14, 832)
    with_aux = build("GoogLeNet", aux_logits=True)
    aux = [(c * 128 + 128) + (4 * 4 * 128 * 1024 + 1024) + (1024 * 1000 + 1000) for c in (512, 528)]
    assert with_aux.count_params() == expected + sum(aux)
    assert [tuple(o.shape) for o in with_aux.outputs] == [(None, 1000)] * 3


def test_googlenet_bad_arguments():
    with pytest.raises(ValueError, match="no published ImageNet weights"):
        apps.GoogLeNet(weights="imagenet")
    with pytest.raises(ValueError, match="include_top=True"):
        apps.GoogLeNet(include_top=False, aux_logits=True)
    with pytest.raises(ValueError, match="at least 224x224"):
        apps.GoogLeNet(input_shape=(96, 96, 3), aux_logits=True)


def _unet_params(c_in, classes, depth, f, upsampling="transpose"):
    total, c = 0, c_in
    for level in range(depth + 1):
        w = f * 2 ** level
        total += (9 * c * w + w) + (9 * w * w + w)
        c = w
    for level in reversed(range(depth)):
        w = f * 2 ** level
        total += (4 * c * w + w)  # 2x2 transposed convolution or 2x2 convolution after UpSampling2D
        total += (9 * 2 * w * w + w) + (9 * w * w + w)
        c = w
    return total + c * classes + classes


@pytest.mark.parametrize("kwargs", [dict(depth=4, filters=64, classes=2, input_shape=(64, 64, 1)),
                                    dict(depth=2, filters=8, input_shape=(32, 48, 3), upsampling="upsampling")])
def test_unet_counts_and_shapes(kwargs):
    model = build("UNet", **kwargs)
    c_in, classes = kwargs["input_shape"][-1], kwargs.get("classes", 1)
    assert model.count_params() == _unet_params(c_in, classes, kwargs["depth"], kwargs["filters"])
    assert model.output_shape == (None, *kwargs["input_shape"][:2], classes)
    assert model.layers[-1].activation.__name__ == ("softmax" if classes > 1 else "sigmoid")
    concat = model.get_layer("up1_concat").output.shape[-1]
    assert concat == 2 * kwargs["filters"]  # skip + upsampled


def test_unet_small_predicts_and_trains():
    from neurona.utils import set_random_seed

    set_random_seed(0)
    layers.clear_session()
    model = apps.UNet((16, 16, 1), depth=1, filters=4, batch_norm=True)
    x = np.random.default_rng(0).random((4, 16, 16, 1), dtype=np.float32)
    y = (x > 0.5).astype(np.float32)
    model.compile("adam", "binary_crossentropy")
    history = model.fit(x, y, epochs=3, batch_size=4, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    pred = model.predict(x, verbose=0)
    assert pred.shape == (4, 16, 16, 1) and ((pred > 0) & (pred < 1)).all()


@pytest.mark.parametrize("kwargs, message", [
    (dict(input_shape=(30, 32, 3), depth=2), "multiples of 4"),
    (dict(upsampling="bilinear"), "upsampling must be"),
    (dict(depth=0), "must be positive"),
    (dict(input_shape=(32, 32)), r"\(height, width, channels\)"),
])
def test_unet_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        apps.UNet(**kwargs)


def test_custom_scale_layer_against_numpy():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(2, 3, 3, 4)), rng.normal(size=(2, 3, 3, 4))
    out = CustomScaleLayer(0.17)([a, b])
    np.testing.assert_allclose(np.asarray(out), a + 0.17 * b, rtol=1e-6)
    assert CustomScaleLayer(0.2).get_config()["scale"] == 0.2


def test_new_families_preprocess_to_minus_one_one():
    rgb = np.array([[[[0.0, 127.5, 255.0]]]])
    for module in (apps.xception, apps.inception_resnet_v2, apps.nasnet, apps.googlenet):
        np.testing.assert_allclose(module.preprocess_input(rgb.copy())[0, 0, 0], [-1, 0, 1])


# ------------------------------------------------------------------------------------------------ against Keras
def _keras():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    return pytest.importorskip("keras")


def _rows(model):
    out = []
    for la in model.layers:
        cls = {"ReLU": "Activation", "Functional": "Model"}.get(type(la).__name__, type(la).__name__)
        out.append((la.name, cls, la.count_params(), tuple(la.output.shape)))
    return out


def _keras_model(keras, name, **kwargs):
    if name == "NASNetMobile":  # Keras refuses NASNetMobile on torch (a runtime bug); its builder is the same
        from keras.src.applications import nasnet

        shape = kwargs.pop("input_shape", None)
        if shape is None and not kwargs.get("include_top", True):
            shape = (224, 224, 3)
        return nasnet.NASNet(shape, penultimate_filters=1056, num_blocks=4, stem_block_filters=32,
                             skip_reduction=False, filter_multiplier=2, default_size=224, name="nasnet_mobile",
                             **kwargs)
    return getattr(keras.applications, name)(**kwargs)


@pytest.mark.slow
@pytest.mark.parametrize("name, kwargs", [
    ("Xception", {}), ("InceptionResNetV2", {}), ("NASNetMobile", {}),
    ("Xception", dict(include_top=False, input_shape=(71, 71, 3), pooling="avg")),
    ("NASNetMobile", dict(include_top=False, input_shape=(96, 96, 3), pooling="max")),
])
def test_every_layer_equals_keras(name, kwargs):
    keras = _keras()
    keras.backend.clear_session()
    theirs = _keras_model(keras, name, weights=None, **kwargs)
    ours = build(name, **kwargs)
    assert ours.name == theirs.name
    assert _rows(ours) == _rows(theirs)
    assert ours.count_params() == theirs.count_params()


@pytest.mark.slow
@pytest.mark.parametrize("name, kwargs, suffix", [
    ("Xception", dict(include_top=False, input_shape=(71, 71, 3), pooling="avg"), "h5"),
    ("InceptionResNetV2", dict(include_top=False, input_shape=(75, 75, 3), pooling="avg"), "h5"),
    ("NASNetMobile", dict(include_top=False, input_shape=(32, 32, 3), pooling="avg"), "h5"),
    ("Xception", dict(include_top=False, input_shape=(71, 71, 3), pooling="avg"), "keras"),
])
def test_keras_saved_weights_predict_like_keras(name, kwargs, suffix, tmp_path):
    keras = _keras()
    pytest.importorskip("h5py")
    keras.backend.clear_session()
    keras.utils.set_random_seed(0)
    theirs = _keras_model(keras, name, weights=None, **kwargs)
    rng = np.random.default_rng(0)
    for la in theirs.layers:  # moving statistics that matter
        if type(la).__name__ == "BatchNormalization":
            w = la.get_weights()
            la.set_weights(w[:-2] + [rng.normal(size=w[-2].shape) * 0.1, rng.random(w[-1].shape) + 0.5])
    theirs.save(tmp_path / f"app.{suffix}")
    x = rng.random((2, *kwargs["input_shape"]), dtype=np.float32)
    expected = keras.ops.convert_to_numpy(theirs(x, training=False))
    ours = getattr(apps, name)(weights=tmp_path / f"app.{suffix}", **kwargs)
    np.testing.assert_allclose(ours.predict(x, verbose=0), expected, atol=2e-4, rtol=1e-3)


def test_imagenet_weights_come_from_the_cache_by_keras_file_name(tmp_path, monkeypatch):
    h5py = pytest.importorskip("h5py")
    monkeypatch.setenv("NEURONA_HOME", str(tmp_path))
    monkeypatch.setenv("NEURONA_OFFLINE", "1")
    layers.clear_session()
    source = apps.NASNetMobile(weights=None, include_top=False, input_shape=(32, 32, 3))
    (tmp_path / "models").mkdir()
    published = apps.nasnet.WEIGHTS[False]
    assert published.fname == "nasnet_mobile_no_top.h5"  # Keras's cache name
    with h5py.File(tmp_path / "models" / published.fname, "w") as f:  # Keras's legacy layout, as the published files
        with_weights = [la for la in source.layers if la.weights]
        f.attrs["layer_names"] = np.array([la.name.encode() for la in with_weights])
        for la in with_weights:
            group = f.create_group(la.name)
            group.attrs["weight_names"] = np.array([f"{w.name}:0".encode() for w in la.weights])
            for w in la.weights:
                group[f"{w.name}:0"] = w.data
    unchecked = apps._weights.WeightFile(published.fname, published.url)  # the real hash is that of Keras's file
    monkeypatch.setitem(apps.nasnet.WEIGHTS, False, unchecked)
    model = apps.NASNetMobile(weights="imagenet", include_top=False, input_shape=(32, 32, 3))
    for a, b in zip(source.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_googlenet_and_unet_weights_round_trip(tmp_path):
    layers.clear_session()
    source = apps.GoogLeNet(include_top=False, input_shape=(32, 32, 3), pooling="avg")
    source.save_weights(tmp_path / "g.safetensors")
    model = apps.GoogLeNet(include_top=False, input_shape=(32, 32, 3), pooling="avg",
                           weights=tmp_path / "g.safetensors")
    for a, b in zip(source.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)
    unet = apps.UNet((16, 16, 1), depth=1, filters=2)
    unet.save_weights(tmp_path / "u.safetensors")
    again = apps.UNet((16, 16, 1), depth=1, filters=2, weights=tmp_path / "u.safetensors")
    np.testing.assert_array_equal(unet.get_weights()[0], again.get_weights()[0])
