"""ONNX export: onnxruntime runs the exported file and gets neurona's outputs (within 1e-5), for any batch size."""

from __future__ import annotations

import numpy as np
import pytest

from neurona import applications as apps
from neurona import export, layers
from neurona.models import Model, Sequential

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

RNG = np.random.default_rng(0)


def run_onnx(path, x):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: x})[0]


def assert_exports(model, tmp_path, sample_shape, batches=(1, 7), atol=1e-5):
    path = tmp_path / f"{model.name}.onnx"
    export.onnx(model, path)
    for n in batches:  # the batch axis is dynamic
        x = RNG.random((n,) + tuple(sample_shape), dtype=np.float32)
        np.testing.assert_allclose(run_onnx(path, x), model.predict(x, verbose=0), atol=atol, rtol=1e-5)
    return onnx.load(str(path))


def randomize_batch_norm(model):
    """Moving statistics far from (0, 1), so a wrong BatchNormalization export shows."""
    for layer in model.layers:
        if type(layer).__name__ == "BatchNormalization":
            layer.moving_mean.data[...] = RNG.normal(size=layer.moving_mean.shape) * 0.5
            layer.moving_variance.data[...] = RNG.random(layer.moving_variance.shape) + 0.5
            if layer.beta is not None:
                layer.beta.data[...] = RNG.normal(size=layer.beta.shape) * 0.1
        elif isinstance(layer, Model):
            randomize_batch_norm(layer)


def test_slide_mlp(tmp_path):
    model = Sequential([layers.Dense(10, activation="sigmoid", input_shape=(784,)),
                        layers.Dense(10, activation="softmax")])
    proto = assert_exports(model, tmp_path, (784,))
    dims = proto.graph.input[0].type.tensor_type.shape.dim
    assert dims[0].dim_param == "batch" and dims[1].dim_value == 784


def test_mlp_with_batch_normalization(tmp_path):
    model = Sequential([layers.Dense(16, input_shape=(5,)), layers.BatchNormalization(), layers.Activation("relu"),
                        layers.Dropout(0.3), layers.Dense(2)])
    randomize_batch_norm(model)
    assert_exports(model, tmp_path, (5,))


def test_sequences_conv1d(tmp_path):
    model = Sequential([layers.Conv1D(6, 3, padding="same", activation="tanh", input_shape=(12, 4)),
                        layers.MaxPooling1D(2), layers.Conv1D(4, 3, strides=2), layers.GlobalAveragePooling1D(),
                        layers.Dense(3, activation="softmax")])
    assert_exports(model, tmp_path, (12, 4))


def test_slide_cnn(tmp_path):
    model = Sequential([
        layers.Conv2D(32, (5, 5), activation="relu", input_shape=(28, 28, 1)), layers.MaxPooling2D((2, 2)),
        layers.Conv2D(64, (5, 5), activation="relu"), layers.MaxPooling2D((2, 2)),
        layers.Flatten(), layers.Dense(10, activation="softmax")])
    assert_exports(model, tmp_path, (28, 28, 1))


def residual_block_model():
    inp = layers.Input((16, 16, 8))
    x = layers.Conv2D(8, 3, padding="same", use_bias=False)(inp)
    x = layers.BatchNormalization()(x)
    x = layers.Activation("relu")(x)
    x = layers.Conv2D(8, 3, padding="same")(x)
    x = layers.BatchNormalization()(x)
    x = layers.Add()([inp, x])
    x = layers.Activation("relu")(x)
    shortcut = layers.Conv2D(16, 1, strides=2)(x)
    y = layers.Conv2D(16, 3, strides=2, padding="same", activation="relu")(x)
    x = layers.Add()([shortcut, y])
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dropout(0.5)(x)
    return Model(inp, layers.Dense(5, activation="softmax")(x), name="resnet_block")


def test_resnet_style_block(tmp_path):
    model = residual_block_model()
    randomize_batch_norm(model)
    assert_exports(model, tmp_path, (16, 16, 8))


def test_mobilenet_densenet_and_inception_building_blocks(tmp_path):
    for model, shape in [
        (apps.MobileNet(weights=None, alpha=0.25, input_shape=(32, 32, 3), classes=4), (32, 32, 3)),
        (apps.MobileNetV2(weights=None, alpha=0.35, input_shape=(32, 32, 3), include_top=False, pooling="avg"),
         (32, 32, 3)),
    ]:
        randomize_batch_norm(model)
        assert_exports(model, tmp_path, shape, batches=(2,))
    inp = layers.Input((9, 9, 4))  # DenseNet and Inception pieces: concatenation, average pooling, 1x7/7x1
    a = layers.Conv2D(3, (1, 7), padding="same")(inp)
    b = layers.Conv2D(5, (7, 1), padding="same")(inp)
    c = layers.AveragePooling2D(3, strides=1, padding="same")(inp)
    x = layers.Concatenate()([a, b, c])
    x = layers.BatchNormalization(scale=False)(x)
    x = layers.AveragePooling2D(2, strides=2)(x)
    x = layers.MaxPooling2D(3, strides=2, padding="same")(x)
    model = Model(inp, layers.Flatten()(x), name="inception_like")
    randomize_batch_norm(model)
    assert_exports(model, tmp_path, (9, 9, 4))


def test_unknown_image_size_and_strided_same_padding(tmp_path):
    inp = layers.Input((None, None, 3))
    x = layers.Conv2D(4, 3, strides=2, padding="same")(inp)
    x = layers.DepthwiseConv2D(3, strides=2, padding="same", depth_multiplier=2)(x)
    x = layers.MaxPooling2D(2, padding="same")(x)
    model = Model(inp, layers.GlobalMaxPooling2D()(x), name="any_size")
    path = tmp_path / "any.onnx"
    export.onnx(model, path)
    for hw in [(9, 9), (16, 11)]:
        x = RNG.random((2,) + hw + (3,), dtype=np.float32)
        np.testing.assert_allclose(run_onnx(path, x), model.predict(x, verbose=0), atol=1e-5)


@pytest.mark.parametrize("activation", ["relu", "relu6", "sigmoid", "tanh", "softmax", "log_softmax", "elu", "selu",
                                        "softplus", "softsign", "exponential", "leaky_relu", "hard_sigmoid", "silu",
                                        "gelu", "linear"])
def test_every_activation(activation, tmp_path):
    model = Sequential([layers.Dense(6, activation=activation, input_shape=(4,))])
    assert_exports(model, tmp_path, (4,), batches=(3,))


def test_shape_merge_and_border_layers(tmp_path):
    inp = layers.Input((6, 6, 2))
    x = layers.Rescaling(1 / 255, offset=-0.5)(inp)
    x = layers.ZeroPadding2D(((1, 2), (0, 1)))(x)
    x = layers.Cropping2D(((0, 1), (1, 0)))(x)
    conv = layers.SeparableConv2D(4, 3, padding="same", activation="relu")(x)
    pooled = layers.SumPooling2D(2)(conv)
    other = layers.Conv2D(4, 2, strides=2)(x)
    merged = [layers.Subtract()([pooled, other]), layers.Multiply()([pooled, other]),
              layers.Average()([pooled, other]), layers.Maximum()([pooled, other]), layers.Minimum()([pooled, other])]
    x = layers.Concatenate(axis=1)(merged)
    x = layers.Reshape((-1, 4))(x)
    x = layers.Permute((2, 1))(x)
    x = layers.Dense(3)(x)
    model = Model(inp, layers.Flatten()(x), name="assorted")
    assert_exports(model, tmp_path, (6, 6, 2))


def test_nested_model_as_in_transfer_learning(tmp_path):
    base = residual_block_model()
    randomize_batch_norm(base)
    base.trainable = False
    model = Sequential([layers.Input((16, 16, 8)), base, layers.Dense(2, activation="sigmoid")])
    assert_exports(model, tmp_path, (16, 16, 8))


def test_unsupported_layer_is_named_and_no_file_is_written(tmp_path):
    model = Sequential([layers.Lambda(lambda t: t * 2, input_shape=(3,)), layers.Dense(2)])
    path = tmp_path / "lambda.onnx"
    with pytest.raises(export.ExportError, match="lambda.*Lambda"):
        export.onnx(model, path)
    assert not path.exists() and list(tmp_path.iterdir()) == []


def test_bad_opset_and_unbuilt_model(tmp_path):
    model = Sequential([layers.Dense(2, input_shape=(3,))])
    with pytest.raises(ValueError, match="opset"):
        export.onnx(model, tmp_path / "m.onnx", opset=7)
    with pytest.raises(export.ExportError, match="built"):
        export.onnx(Sequential([layers.Dense(2)]), tmp_path / "m.onnx")


def test_subclassed_model_is_refused(tmp_path):
    class Net(Model):
        def __init__(self):
            super().__init__()
            self.dense = layers.Dense(2)

        def call(self, x):
            return self.dense(x)

    net = Net()
    net.build((None, 3))
    with pytest.raises(export.ExportError, match="subclassed"):
        export.onnx(net, tmp_path / "net.onnx")


def test_missing_onnx_names_the_extra(monkeypatch, tmp_path):
    import sys

    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(ImportError, match=r"neurona\[onnx\]"):
        export.onnx(Sequential([layers.Dense(2, input_shape=(3,))]), tmp_path / "m.onnx")
