"""neurona.applications: Keras's architectures layer for layer, their parameter counts, the weight cache.

Totals are Keras's published numbers (keras.io/api/applications); the per-layer numbers are those of
Keras's own models. The slow tests build every application with the installed Keras and compare each
layer's name, class, parameter count and output shape, and load Keras-saved weights into neurona's twin.
"""

from __future__ import annotations

import hashlib
import json
import os

import numpy as np
import pytest

from neurona import applications as apps
from neurona import layers
from neurona.applications import _weights, imagenet_utils

# Keras's published totals, and a few per-layer counts of Keras's models (layer name -> parameters).
PUBLISHED = {
    "ResNet50": (25_636_712, 177, {"conv1_conv": 9_472, "conv1_bn": 256, "conv2_block1_0_conv": 16_640,
                                   "conv5_block3_3_conv": 1_050_624, "predictions": 2_049_000}),
    "MobileNet": (4_253_864, 91, {"conv1": 864, "conv_dw_1": 288, "conv_pw_13": 1_048_576, "conv_pw_13_bn": 4_096,
                                  "conv_preds": 1_025_000}),
    "MobileNetV2": (3_538_984, 156, {"Conv1": 864, "expanded_conv_depthwise": 288, "block_16_project": 307_200,
                                     "Conv_1": 409_600, "predictions": 1_281_000}),
    "DenseNet121": (8_062_504, 429, {"conv1_conv": 9_408, "conv2_block1_1_conv": 8_192, "pool4_conv": 524_288,
                                     "bn": 4_096, "predictions": 1_025_000}),
    "InceptionV3": (23_851_784, 313, {"conv2d": 864, "batch_normalization": 96, "conv2d_93": 393_216,
                                      "predictions": 2_049_000}),
}


def build(name, **kwargs):
    layers.clear_session()  # automatic names from 'conv2d', as in a fresh Keras session
    return getattr(apps, name)(weights=None, **kwargs)


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_parameter_counts_equal_keras(name):
    total, n_layers, per_layer = PUBLISHED[name]
    model = build(name)
    assert model.count_params() == total
    assert len(model.layers) == n_layers
    for layer_name, count in per_layer.items():
        assert model.get_layer(layer_name).count_params() == count, layer_name


def test_vgg_convolutional_bases_equal_keras():
    vgg16 = build("VGG16", include_top=False, input_shape=(32, 32, 3))
    assert vgg16.count_params() == 14_714_688  # Keras's VGG16(include_top=False)
    assert vgg16.get_layer("block1_conv1").count_params() == 1_792
    assert vgg16.get_layer("block5_conv3").count_params() == 2_359_808
    assert vgg16.output_shape == (None, 1, 1, 512)
    assert build("VGG19", include_top=False, input_shape=(32, 32, 3), pooling="avg").count_params() == 20_024_384


@pytest.mark.slow
@pytest.mark.parametrize("name, total, fc1", [("VGG16", 138_357_544, 102_764_544), ("VGG19", 143_667_240, 102_764_544)])
def test_vgg_full_counts_equal_keras(name, total, fc1):
    model = build(name)
    assert model.count_params() == total
    assert model.get_layer("fc1").count_params() == fc1
    assert model.get_layer("predictions").count_params() == 4_097_000


def test_lenet_and_alexnet_counts():
    assert build("LeNet5").count_params() == 61_706  # LeCun et al. 1998
    lenet28 = build("LeNet5", input_shape=(28, 28, 1))
    assert lenet28.count_params() == 61_706
    assert lenet28.get_layer("c3").output.shape == (None, 10, 10, 16)
    alexnet_base = build("AlexNet", include_top=False, input_shape=(227, 227, 3))
    assert alexnet_base.count_params() == 3_747_200
    assert alexnet_base.output_shape == (None, 6, 6, 256)


@pytest.mark.slow
def test_alexnet_full_count():
    assert build("AlexNet").count_params() == 62_378_344


def test_include_top_false_pooling_and_input_tensor():
    model = build("ResNet50", include_top=False, input_shape=(64, 64, 3), pooling="avg")
    assert model.output_shape == (None, 2048)
    assert build("MobileNetV2", include_top=False, pooling="max").output_shape == (None, 1280)
    assert build("MobileNet", include_top=False).input_shape == (None, None, None, 3)
    inp = layers.Input((96, 96, 3))
    model = apps.MobileNetV2(weights=None, input_tensor=inp, include_top=False, alpha=0.35)
    assert model.input is inp and model.output_shape == (None, 3, 3, 1280)
    model = build("DenseNet121", include_top=True, classes=7, classifier_activation=None)
    assert model.output_shape == (None, 7) and model.get_layer("predictions").count_params() == 1024 * 7 + 7


def test_small_network_predicts_probabilities():
    model = build("MobileNet", input_shape=(32, 32, 3), alpha=0.25, classes=4)
    probs = model.predict(np.random.default_rng(0).random((2, 32, 32, 3), dtype=np.float32), verbose=0)
    assert probs.shape == (2, 4)
    np.testing.assert_allclose(probs.sum(axis=1), 1, rtol=1e-5)


@pytest.mark.parametrize("kwargs, message", [
    (dict(weights="imagenet", classes=10), "classes must be 1000"),
    (dict(weights="imagenet", input_shape=(100, 100, 3)), r"input_shape must be \(224, 224, 3\)"),
    (dict(include_top=False, input_shape=(16, 16, 3)), "at least 32x32"),
    (dict(weights=None, input_shape=(None, None, 3)), "input size must be known"),
    (dict(weights="imagenet", classifier_activation="sigmoid"), "softmax"),
    (dict(weights=3), "weights must be None"),
    (dict(weights="/no/such/file.h5"), "neither None"),
])
def test_bad_arguments_are_clear(kwargs, message, tmp_path, monkeypatch):
    monkeypatch.setenv("NEURONA_HOME", str(tmp_path))
    monkeypatch.setenv("NEURONA_OFFLINE", "1")
    with pytest.raises((ValueError, FileNotFoundError), match=message):
        apps.VGG16(**kwargs)


def test_offline_imagenet_says_which_file_and_where(tmp_path, monkeypatch):
    monkeypatch.setenv("NEURONA_HOME", str(tmp_path))
    monkeypatch.setenv("NEURONA_OFFLINE", "1")
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.keras/models either
    with pytest.raises(_weights.WeightsUnavailableError) as info:
        apps.ResNet50(weights="imagenet")
    message = str(info.value)
    assert "resnet50_weights_tf_dim_ordering_tf_kernels.h5" in message
    assert str(tmp_path / "models") in message
    assert "https://storage.googleapis.com/tensorflow/keras-applications/resnet/" in message


def write_legacy_h5(model, path):
    """Write `model`'s weights the way Keras's published files are laid out (legacy HDF5)."""
    h5py = pytest.importorskip("h5py")
    with h5py.File(path, "w") as f:
        with_weights = [la for la in model.layers if la.weights]
        f.attrs["layer_names"] = np.array([la.name.encode() for la in with_weights])
        for la in with_weights:
            group = f.create_group(la.name)
            group.attrs["weight_names"] = np.array([f"{w.name}:0".encode() for w in la.weights])
            for w in la.weights:
                group[f"{w.name}:0"] = w.data


def test_imagenet_weights_come_from_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("NEURONA_HOME", str(tmp_path))
    monkeypatch.setenv("NEURONA_OFFLINE", "1")
    source = build("MobileNet", alpha=0.25, input_shape=(128, 128, 3), include_top=False)
    (tmp_path / "models").mkdir()
    write_legacy_h5(source, tmp_path / "models" / "mobilenet_2_5_128_tf_no_top.h5")
    model = apps.MobileNet(alpha=0.25, input_shape=(128, 128, 3), include_top=False, weights="imagenet")
    for a, b in zip(source.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_cached_file_with_wrong_hash_is_reported(tmp_path, monkeypatch):
    monkeypatch.setenv("NEURONA_HOME", str(tmp_path))
    monkeypatch.setenv("NEURONA_OFFLINE", "1")
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5").write_bytes(b"not the weights")
    with pytest.raises(ValueError, match="published hash"):
        apps.VGG16(include_top=False, weights="imagenet")


def test_weights_from_a_neurona_file(tmp_path):
    source = build("LeNet5")
    source.save_weights(tmp_path / "lenet.safetensors")
    model = apps.LeNet5(weights=tmp_path / "lenet.safetensors")
    for a, b in zip(source.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_download_into_the_cache_checks_the_hash(tmp_path, monkeypatch):
    monkeypatch.setenv("NEURONA_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("NEURONA_OFFLINE", raising=False)
    source = tmp_path / "published.h5"
    source.write_bytes(b"weights")
    good = _weights.WeightFile("w.h5", source.as_uri(), hashlib.md5(b"weights").hexdigest())
    path = _weights.get_file(good)
    assert path == tmp_path / "home" / "models" / "w.h5" and path.read_bytes() == b"weights"
    bad = _weights.WeightFile("v.h5", source.as_uri(), "0" * 32)
    with pytest.raises(ValueError, match="deleted"):
        _weights.get_file(bad)
    assert sorted(p.name for p in (tmp_path / "home" / "models").iterdir()) == ["w.h5"]  # no partial file left


def test_file_hashes_md5_and_sha256(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(b"abc")
    assert _weights.file_matches(path, hashlib.md5(b"abc").hexdigest())
    assert _weights.file_matches(path, hashlib.sha256(b"abc").hexdigest())
    assert not _weights.file_matches(path, "0" * 64)


# ------------------------------------------------------------------------------------------------ imagenet_utils
def test_preprocess_input_modes():
    rgb = np.array([[[[10.0, 20.0, 30.0]]]])
    caffe = apps.vgg16.preprocess_input(rgb.copy())
    np.testing.assert_allclose(caffe[0, 0, 0], [30 - 103.939, 20 - 116.779, 10 - 123.68])
    np.testing.assert_allclose(apps.mobilenet_v2.preprocess_input(rgb.copy())[0, 0, 0],
                               np.array([10, 20, 30]) / 127.5 - 1)
    torch_mode = imagenet_utils.preprocess_input(rgb.copy(), mode="torch")
    np.testing.assert_allclose(torch_mode[0, 0, 0], (np.array([10, 20, 30]) / 255 - [0.485, 0.456, 0.406]) /
                               [0.229, 0.224, 0.225])
    first = imagenet_utils.preprocess_input(rgb.transpose(0, 3, 1, 2).copy(), data_format="channels_first")
    np.testing.assert_allclose(first[0, :, 0, 0], caffe[0, 0, 0])
    assert imagenet_utils.preprocess_input(np.full((1, 2, 2, 3), 255, np.uint8), mode="tf").dtype == np.float32
    with pytest.raises(ValueError, match="3 channels"):
        imagenet_utils.preprocess_input(np.zeros((1, 2, 2, 4)))


def test_decode_predictions_with_cached_index(tmp_path, monkeypatch):
    monkeypatch.setenv("NEURONA_HOME", str(tmp_path))
    (tmp_path / "models").mkdir()
    index = {str(i): [f"n{i:08d}", f"class_{i}"] for i in range(1000)}
    (tmp_path / "models" / "imagenet_class_index.json").write_text(json.dumps(index))
    monkeypatch.setattr(imagenet_utils, "CLASS_INDEX_FILE", _weights.WeightFile("imagenet_class_index.json", "x"))
    monkeypatch.setattr(imagenet_utils, "_CLASS_INDEX", None)
    preds = np.zeros((2, 1000))
    preds[0, 7], preds[0, 3], preds[1, 999] = 0.9, 0.1, 1.0
    top = imagenet_utils.decode_predictions(preds, top=2)
    assert top[0] == [("n00000007", "class_7", 0.9), ("n00000003", "class_3", 0.1)]
    assert top[1][0][1] == "class_999"
    with pytest.raises(ValueError, match="1000"):
        imagenet_utils.decode_predictions(np.zeros((1, 10)))


def test_correct_pad_matches_keras_rule():
    assert imagenet_utils.correct_pad((None, 224, 224, 3), 3) == ((0, 1), (0, 1))
    assert imagenet_utils.correct_pad((None, 225, 225, 3), 3) == ((1, 1), (1, 1))
    assert imagenet_utils.correct_pad((None, None, None, 3), 3) == ((0, 1), (0, 1))


# ------------------------------------------------------------------------------------------------ against Keras
def _keras():
    os.environ.setdefault("KERAS_BACKEND", "torch")  # Keras 3 without TensorFlow
    return pytest.importorskip("keras")


def _rows(model):
    out = []
    for la in model.layers:
        cls = {"ReLU": "Activation", "Functional": "Model"}.get(type(la).__name__, type(la).__name__)
        out.append((la.name, cls, la.count_params(), tuple(la.output.shape)))
    return out


@pytest.mark.slow
@pytest.mark.parametrize("name, kwargs", [
    ("VGG16", {}), ("VGG19", {}), ("ResNet50", {}), ("MobileNet", {}), ("MobileNetV2", {}), ("DenseNet121", {}),
    ("InceptionV3", {}), ("MobileNet", dict(include_top=False, alpha=0.5, input_shape=(None, None, 3))),
    ("MobileNetV2", dict(include_top=False, alpha=1.3, input_shape=(96, 96, 3), pooling="max")),
    ("ResNet50", dict(include_top=False, input_shape=(75, 99, 3), pooling="avg")),
])
def test_every_layer_equals_keras(name, kwargs):
    keras = _keras()
    keras.backend.clear_session()
    theirs = getattr(keras.applications, name)(weights=None, **kwargs)
    ours = build(name, **kwargs)
    assert ours.name == theirs.name
    assert _rows(ours) == _rows(theirs)
    assert ours.count_params() == theirs.count_params()


@pytest.mark.slow
@pytest.mark.parametrize("name, kwargs, shape", [
    ("MobileNetV2", dict(alpha=0.35, input_shape=(96, 96, 3)), (2, 96, 96, 3)),
    ("InceptionV3", dict(include_top=False, input_shape=(75, 75, 3), pooling="avg"), (2, 75, 75, 3)),
    ("DenseNet121", dict(include_top=False, input_shape=(32, 32, 3), pooling="avg"), (2, 32, 32, 3)),
])
def test_keras_saved_application_weights_predict_like_keras(name, kwargs, shape, tmp_path):
    keras = _keras()
    pytest.importorskip("h5py")
    keras.backend.clear_session()
    keras.utils.set_random_seed(0)
    theirs = getattr(keras.applications, name)(weights=None, **kwargs)
    rng = np.random.default_rng(0)
    for la in theirs.layers:  # moving statistics that matter
        if type(la).__name__ == "BatchNormalization":
            w = la.get_weights()
            la.set_weights(w[:-2] + [rng.normal(size=w[-2].shape) * 0.1, rng.random(w[-1].shape) + 0.5])
    theirs.save(tmp_path / "app.h5")  # legacy HDF5, the layout of the published files
    x = rng.random(shape, dtype=np.float32)
    expected = theirs.predict(x, verbose=0)
    ours = getattr(apps, name)(weights=tmp_path / "app.h5", **kwargs)  # other session names: paired in order
    np.testing.assert_allclose(ours.predict(x, verbose=0), expected, atol=2e-5, rtol=1e-4)
