"""Convolutional layers: shapes, parameter counts, configs, errors, gradients, and Keras/PyTorch outputs."""

import os

import numpy as np
import pytest

import neurona as nr
from neurona import layers
from neurona.ops.conv import conv2d

rng = np.random.default_rng(0)


def randn(*shape, dtype="float32"):
    return rng.standard_normal(shape).astype(dtype)


def keras_or_skip():
    """Keras 3 on its PyTorch backend, or skip (TensorFlow is not installed here)."""
    os.environ.setdefault("KERAS_BACKEND", "torch")
    pytest.importorskip("torch")
    keras = pytest.importorskip("keras")
    if keras.backend.backend() != "torch":
        pytest.skip("keras is loaded with another backend")
    return keras


# ----------------------------------------------------------------------------- the slides' CNN


def slides_cnn():
    """The slides' CNN, as the CNN lab and the example build it (seed 002, section 4)."""
    from neurona.labs.cnn import build_model

    return build_model()


def test_slides_cnn_parameter_counts_and_shapes():
    model = slides_cnn()
    assert [layer.count_params() for layer in model.layers] == [832, 0, 51264, 0, 0, 10250]
    assert model.count_params() == 62346
    shapes = [layer.output_shape for layer in model.layers]
    assert shapes == [(None, 24, 24, 32), (None, 12, 12, 32), (None, 8, 8, 64), (None, 4, 4, 64), (None, 1024),
                      (None, 10)]
    assert model.predict(np.zeros((3, 28, 28, 1), "float32"), verbose=0).shape == (3, 10)


def test_slides_cnn_summary_prints_the_counts(capsys):
    slides_cnn().summary()
    out = capsys.readouterr().out
    for text in ("832", "51,264", "10,250", "62,346", "(None, 24, 24, 32)", "(None, 4, 4, 64)"):
        assert text in out


def test_slides_cnn_learns_a_small_task():
    """Bright top half vs bright bottom half: a few SGD steps of the slides' CNN separate them."""
    nr.random.set_seed(0)
    x = rng.uniform(0, 0.2, (200, 28, 28, 1)).astype("float32")
    labels = rng.integers(0, 2, 200)
    x[labels == 0, :14] += 0.8
    x[labels == 1, 14:] += 0.8
    y = np.eye(10, dtype="float32")[labels]
    model = slides_cnn()
    model.compile(optimizer="sgd", loss="categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, batch_size=20, epochs=3, verbose=0)
    assert model.evaluate(x, y, verbose=0)[1] >= 0.95


def test_cnn_with_batch_normalization_trains_and_saves_its_config():
    from neurona import models

    nr.random.set_seed(0)
    x = rng.uniform(0, 0.2, (120, 12, 12, 1)).astype("float32")
    labels = rng.integers(0, 2, 120)
    x[labels == 1, :6] += 0.8
    y = np.eye(2, dtype="float32")[labels]
    model = models.Sequential([
        layers.Conv2D(8, 3, padding="same", use_bias=False, input_shape=(12, 12, 1)),
        layers.BatchNormalization(momentum=0.8),  # few steps: moving statistics must catch up quickly
        layers.Activation("relu"),
        layers.MaxPooling2D(),
        layers.SpatialDropout2D(0.1),
        layers.Conv2D(8, 3, activation="relu"),
        layers.GlobalAveragePooling2D(),
        layers.Dense(2, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, batch_size=20, epochs=4, verbose=0)
    bn = model.layers[1]
    assert bn.count_params() == 32 and len(bn.non_trainable_weights) == 2
    assert not np.allclose(bn.moving_mean.data, 0)
    assert model.evaluate(x, y, verbose=0)[1] >= 0.9
    clone = models.Sequential.from_config(model.get_config())
    clone.set_weights(model.get_weights())
    np.testing.assert_allclose(clone.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-5, atol=1e-6)


# ----------------------------------------------------------------------------- shapes and configs

LAYERS = [
    (lambda: layers.Conv2D(4, 3), (2, 9, 8, 3)),
    (lambda: layers.Conv2D(4, (3, 2), strides=2, padding="same", use_bias=False), (2, 9, 8, 3)),
    (lambda: layers.Conv2D(4, 3, dilation_rate=2, groups=2, activation="tanh"), (2, 9, 8, 2)),
    (lambda: layers.Conv2D(4, 3, data_format="channels_first", activation="softmax"), (2, 3, 7, 6)),
    (lambda: layers.Conv1D(5, 3, padding="causal", dilation_rate=2), (2, 9, 3)),
    (lambda: layers.Conv1D(5, 4, strides=2, padding="same"), (2, 9, 3)),
    (lambda: layers.DepthwiseConv2D(3, depth_multiplier=2, padding="same"), (2, 7, 6, 3)),
    (lambda: layers.SeparableConv2D(4, 3, strides=2, depth_multiplier=2), (2, 9, 8, 3)),
    (lambda: layers.Conv2DTranspose(4, 3, strides=2, padding="same"), (2, 5, 4, 3)),
    (lambda: layers.Conv2DTranspose(4, 3, strides=2, output_padding=1), (2, 5, 4, 3)),
    (lambda: layers.Conv1DTranspose(4, 3, strides=2), (2, 5, 3)),
    (lambda: layers.MaxPooling2D(), (2, 9, 8, 3)),
    (lambda: layers.MaxPooling2D(3, strides=1, padding="same"), (2, 9, 8, 3)),
    (lambda: layers.AveragePooling2D((2, 3), data_format="channels_first"), (2, 3, 8, 9)),
    (lambda: layers.SumPooling2D(), (2, 8, 8, 3)),
    (lambda: layers.MaxPooling1D(3, 2, "same"), (2, 9, 3)),
    (lambda: layers.AveragePooling1D(), (2, 9, 3)),
    (lambda: layers.GlobalMaxPooling2D(), (2, 5, 4, 3)),
    (lambda: layers.GlobalAveragePooling2D(keepdims=True), (2, 5, 4, 3)),
    (lambda: layers.GlobalAveragePooling2D(data_format="channels_first"), (2, 3, 5, 4)),
    (lambda: layers.GlobalMaxPooling1D(), (2, 5, 3)),
    (lambda: layers.GlobalAveragePooling1D(), (2, 5, 3)),
    (lambda: layers.UpSampling2D((2, 3)), (2, 3, 4, 2)),
    (lambda: layers.UpSampling2D(2, interpolation="bilinear", data_format="channels_first"), (2, 2, 3, 4)),
    (lambda: layers.UpSampling1D(3), (2, 4, 2)),
    (lambda: layers.ZeroPadding2D(((1, 2), (0, 3))), (2, 4, 5, 2)),
    (lambda: layers.ZeroPadding1D((2, 1)), (2, 4, 2)),
    (lambda: layers.Cropping2D(((1, 0), (2, 1))), (2, 5, 6, 2)),
    (lambda: layers.Cropping1D(1), (2, 5, 2)),
    (lambda: layers.BatchNormalization(), (4, 5, 4, 3)),
    (lambda: layers.BatchNormalization(axis=1, center=False, momentum=0.9), (4, 3, 5, 4)),
    (lambda: layers.LayerNormalization(axis=(1, 2)), (4, 3, 5)),
    (lambda: layers.SpatialDropout2D(0.5), (2, 4, 4, 3)),
    (lambda: layers.SpatialDropout1D(0.5), (2, 4, 3)),
]


@pytest.mark.parametrize("make,shape", LAYERS)
def test_compute_output_shape_is_exact(make, shape):
    layer = make()
    y = layer(randn(*shape), training=True)
    assert layer.compute_output_shape(shape) == y.shape
    unknown = (None,) + shape[1:-1] + (shape[-1],)
    predicted = layer.compute_output_shape(unknown)
    assert predicted[1:] == y.shape[1:] and predicted[0] is None


@pytest.mark.parametrize("make,shape", LAYERS)
def test_config_round_trip_gives_the_same_layer(make, shape):
    layer = make()
    x = randn(*shape)
    y = layer(x)
    config = layer.get_config()
    clone = type(layer).from_config({**config, "name": config["name"] + "_clone"})
    assert {**clone.get_config(), "name": config["name"]} == config
    clone(x)
    clone.set_weights(layer.get_weights())
    np.testing.assert_allclose(clone(x).data, y.data, rtol=1e-6)
    assert layers.get(type(layer).__name__) is type(layer)


DETERMINISTIC = [item for item in LAYERS if "Dropout" not in type(item[0]()).__name__]


@pytest.mark.parametrize("make,shape", DETERMINISTIC)
def test_layer_gradients_float64(make, shape):
    layer = make()
    layer.dtype = "float64"  # weights are created in float64 at build
    x = rng.permutation(np.prod(shape)).reshape(shape) * 0.05 + 0.01  # distinct values: max pooling is smooth
    layer(x)
    names = [k for k, v in vars(layer).items() if any(v is w for w in layer.trainable_weights)]

    def with_weights(inputs, *ws):
        saved = [getattr(layer, n) for n in names]
        for n, w in zip(names, ws):
            setattr(layer, n, w)
        try:
            return layer(inputs, training=True)
        finally:
            for n, w in zip(names, saved):
                setattr(layer, n, w)

    assert nr.gradcheck(with_weights, x, *[getattr(layer, n).data for n in names])


@pytest.mark.parametrize("make,shape", [item for item in LAYERS if item[0]().__class__.__name__ in
                                        ("Conv2D", "Conv1D", "DepthwiseConv2D", "SeparableConv2D",
                                         "Conv2DTranspose", "BatchNormalization", "LayerNormalization")])
def test_weight_gradients_reach_every_weight(make, shape):
    layer = make()
    x = nr.Tensor(randn(*shape))
    (layer(x, training=True) ** 2).sum().backward()
    for w in layer.trainable_weights:
        assert w.grad is not None and w.grad.shape == w.shape and np.abs(w.grad).sum() > 0


# ----------------------------------------------------------------------------- values


def test_conv2d_layer_computes_the_op_with_its_weights():
    layer = layers.Conv2D(3, 3, padding="same", activation="relu")
    x = randn(2, 6, 5, 2)
    ref = conv2d(x, layer(x) and layer.kernel.data, layer.bias.data, padding="same").data
    np.testing.assert_allclose(layer(x).data, np.maximum(ref, 0), rtol=1e-6)


def test_conv_weights_layout_and_names():
    layer = layers.Conv2D(8, (5, 3), groups=2)
    layer(randn(1, 9, 9, 4))
    assert [w.name for w in layer.weights] == [f"{layer.name}/kernel", f"{layer.name}/bias"]
    assert layer.kernel.shape == (5, 3, 2, 8)
    sep = layers.SeparableConv2D(6, 3, depth_multiplier=2)
    sep(randn(1, 5, 5, 3))
    assert [w.shape for w in sep.weights] == [(3, 3, 3, 2), (1, 1, 6, 6), (6,)]
    assert sep.count_params() == 54 + 36 + 6


def test_pooling_layers_values():
    x = np.array([[1, 1, 2, 4], [5, 6, 7, 8], [3, 2, 1, 0], [1, 2, 3, 4]], "float32")[None, :, :, None]
    assert layers.MaxPooling2D((2, 2))(x).data[0, :, :, 0].tolist() == [[6, 8], [3, 4]]
    assert layers.AveragePooling2D((2, 2))(x).data[0, :, :, 0].tolist() == [[3.25, 5.25], [2, 2]]
    assert layers.SumPooling2D((2, 2))(x).data[0, :, :, 0].tolist() == [[13, 21], [8, 8]]
    assert layers.GlobalMaxPooling2D()(x).data.tolist() == [[8]]
    assert layers.GlobalAveragePooling2D()(x).data.tolist() == [[3.125]]


def test_padding_cropping_upsampling_values():
    x = randn(1, 3, 4, 2)
    padded = layers.ZeroPadding2D(((1, 2), (0, 3)))(x).data
    np.testing.assert_array_equal(padded, np.pad(x, ((0, 0), (1, 2), (0, 3), (0, 0))))
    np.testing.assert_array_equal(layers.ZeroPadding2D(1)(x).data, np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0))))
    np.testing.assert_array_equal(layers.Cropping2D(((1, 0), (1, 2)))(x).data, x[:, 1:, 1:2])
    np.testing.assert_array_equal(layers.UpSampling2D((2, 3))(x).data, x.repeat(2, 1).repeat(3, 2))
    np.testing.assert_array_equal(layers.Cropping1D((1, 2))(x[:, 0]).data, x[:, 0, 1:2])


def test_batch_normalization_moving_statistics_follow_keras():
    bn = layers.BatchNormalization(momentum=0.9)
    x = randn(16, 3, 3, 4) * 2 + 1
    bn(x, training=True)
    assert [w.name.split("/")[1] for w in bn.weights] == ["gamma", "beta", "moving_mean", "moving_variance"]
    assert len(bn.trainable_weights) == 2 and len(bn.non_trainable_weights) == 2
    mean, var = x.mean(axis=(0, 1, 2)), x.var(axis=(0, 1, 2))
    np.testing.assert_allclose(bn.moving_mean.data, 0.1 * mean, rtol=1e-5)
    np.testing.assert_allclose(bn.moving_variance.data, 0.9 + 0.1 * var, rtol=1e-5)
    y = bn(x, training=False).data  # inference: moving statistics, no update
    np.testing.assert_allclose(y, (x - 0.1 * mean) / np.sqrt(0.9 + 0.1 * var + 1e-3), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(bn.moving_mean.data, 0.1 * mean, rtol=1e-5)
    bn.trainable = False  # frozen (fine-tuning): inference mode even when training
    np.testing.assert_allclose(bn(x, training=True).data, y, rtol=1e-6)
    np.testing.assert_allclose(bn.moving_mean.data, 0.1 * mean, rtol=1e-5)


def test_layer_normalization_values():
    x = randn(4, 6)
    y = layers.LayerNormalization()(x).data
    ref = (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + 1e-3)
    np.testing.assert_allclose(y, ref, rtol=1e-5, atol=1e-6)


def test_spatial_dropout_drops_whole_maps():
    nr.random.set_seed(1)
    layer = layers.SpatialDropout2D(0.5)
    x = np.ones((4, 5, 5, 8), "float32")
    y = layer(x, training=True).data
    per_map = y.reshape(4, 25, 8)
    assert np.all((per_map == 0).all(axis=1) | (per_map == 2).all(axis=1))
    assert 0 < (per_map == 0).mean() < 1
    np.testing.assert_array_equal(layer(x).data, x)


# ----------------------------------------------------------------------------- errors


def test_conv2d_error_for_images_without_channels():
    with pytest.raises(ValueError, match=r"Conv2D 'c' expects 4-D inputs \(batch, height, width, channels\), got "
                                         r"shape \(None, 28, 28\).*x.reshape\(-1, 28, 28, 1\)"):
        layers.Conv2D(4, 3, name="c")(randn(2, 28, 28))


def test_conv2d_error_for_kernel_larger_than_input():
    with pytest.raises(ValueError, match=r"Conv2D 'big'.*larger than the padded input \(3, 3\)"):
        layers.Conv2D(4, 5, name="big")(randn(2, 3, 3, 1))
    with pytest.raises(ValueError, match=r"MaxPooling2D 'p'.*larger"):
        layers.MaxPooling2D(4, name="p")(randn(2, 3, 3, 1))


def test_conv2d_error_for_channel_mismatch():
    layer = layers.Conv2D(4, 3, name="c3")
    layer(randn(1, 5, 5, 3))
    with pytest.raises(ValueError, match=r"Conv2D 'c3' expects inputs with last axis 3, got shape \(1, 5, 5, 1\)"):
        layer(randn(1, 5, 5, 1))
    with pytest.raises(ValueError, match=r"c3/kernel.*\(3, 3, 3, 4\).*\(3, 3, 1, 4\)"):
        layer.set_weights([randn(3, 3, 1, 4), randn(4)])


def test_bad_arguments():
    with pytest.raises(ValueError, match="filters"):
        layers.Conv2D(0, 3)
    with pytest.raises(ValueError, match="padding"):
        layers.Conv2D(4, 3, padding="causal")
    with pytest.raises(ValueError, match="groups"):
        layers.Conv2D(4, 3, groups=3)
    with pytest.raises(ValueError, match="data_format"):
        layers.MaxPooling2D(data_format="nhwc")
    with pytest.raises(ValueError, match="cropping"):
        layers.Cropping2D(((3, 3), (0, 0)))(randn(1, 5, 5, 1))


# ----------------------------------------------------------------------------- Keras and PyTorch


# Average pooling with 'same' padding uses stride 1 here: with an odd pool the padding is symmetric. For
# asymmetric padding Keras's torch backend counts the padded zeros, TensorFlow (and neurona) does not.
KERAS_CASES = [
    ("Conv2D", dict(filters=4, kernel_size=3, strides=2, padding="same"), (2, 7, 8, 3)),
    ("Conv2D", dict(filters=4, kernel_size=(3, 2), dilation_rate=2, groups=2, activation="relu"), (2, 9, 8, 4)),
    ("Conv2D", dict(filters=3, kernel_size=2, padding="same"), (2, 6, 6, 2)),
    ("Conv1D", dict(filters=4, kernel_size=3, padding="causal", dilation_rate=2), (2, 9, 3)),
    ("DepthwiseConv2D", dict(kernel_size=3, depth_multiplier=2, padding="same"), (2, 6, 5, 3)),
    ("SeparableConv2D", dict(filters=5, kernel_size=3, depth_multiplier=2), (2, 6, 5, 3)),
    ("Conv2DTranspose", dict(filters=4, kernel_size=3, strides=2, padding="same"), (2, 4, 5, 3)),
    ("Conv2DTranspose", dict(filters=4, kernel_size=4, strides=2, padding="same"), (2, 4, 5, 3)),
    ("Conv2DTranspose", dict(filters=4, kernel_size=3, strides=2, padding="valid"), (2, 4, 5, 3)),
    ("MaxPooling2D", dict(pool_size=3, strides=2, padding="same"), (2, 7, 8, 3)),
    ("AveragePooling2D", dict(pool_size=2), (2, 7, 8, 3)),
    ("AveragePooling2D", dict(pool_size=3, strides=1, padding="same"), (2, 7, 8, 3)),
    ("GlobalAveragePooling2D", dict(), (2, 7, 8, 3)),
    ("UpSampling2D", dict(size=2, interpolation="bilinear"), (2, 3, 4, 2)),
    ("BatchNormalization", dict(), (4, 3, 3, 2)),
    ("LayerNormalization", dict(), (4, 6)),
]


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # torch tensors' __array__ lacks copy=
@pytest.mark.parametrize("name,kwargs,shape", KERAS_CASES)
def test_layer_matches_keras_with_the_same_weights(name, kwargs, shape):
    keras = keras_or_skip()
    x = randn(*shape)
    theirs = getattr(keras.layers, name)(**kwargs)
    y_ref = keras.ops.convert_to_numpy(theirs(x))
    ours = getattr(layers, name)(**kwargs)
    ours(x)
    w_ref = [np.asarray(w) for w in theirs.get_weights()]
    assert [w.shape for w in w_ref] == [w.shape for w in ours.get_weights()]
    if name in ("BatchNormalization", "LayerNormalization"):
        w_ref = [w + rng.uniform(0.1, 0.5, w.shape).astype("float32") for w in w_ref]
        theirs.set_weights(w_ref)
        y_ref = keras.ops.convert_to_numpy(theirs(x))
    ours.set_weights(w_ref)
    np.testing.assert_allclose(ours(x).data, y_ref, rtol=1e-4, atol=1e-5)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_batch_normalization_training_matches_keras():
    keras = keras_or_skip()
    x = randn(8, 3, 3, 2) * 3 + 1
    theirs, ours = keras.layers.BatchNormalization(momentum=0.8), layers.BatchNormalization(momentum=0.8)
    y_ref = keras.ops.convert_to_numpy(theirs(x, training=True))
    ours(x, training=False)
    y = ours(x, training=True)
    np.testing.assert_allclose(y.data, y_ref, rtol=1e-4, atol=1e-5)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, np.asarray(b), rtol=1e-5, atol=1e-6)


def test_conv2d_layer_channels_first_matches_torch():
    torch = pytest.importorskip("torch")
    layer = layers.Conv2D(5, 3, strides=2, padding="valid", data_format="channels_first")
    x = randn(2, 3, 9, 8)
    y = layer(x).data
    w = torch.tensor(layer.kernel.data.transpose(3, 2, 0, 1))
    ref = torch.nn.functional.conv2d(torch.tensor(x), w, torch.tensor(layer.bias.data), stride=2).numpy()
    np.testing.assert_allclose(y, ref, rtol=1e-5, atol=1e-5)


@pytest.mark.slow
def test_slides_cnn_reaches_95_percent_on_digits_in_10_epochs():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "examples" / "cnn_digits.py"
    spec = importlib.util.spec_from_file_location("cnn_digits", path)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    assert example.main(epochs=10, verbose=0) >= 0.95
