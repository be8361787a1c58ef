"""Core and merge layers: outputs against NumPy (and torch where installed), float64 gradient checks,
configs, names, weights and the errors users meet."""

import numpy as np
import pytest

import neurona as nr
from neurona import layers
from neurona.layers import (
    Activation,
    Add,
    Average,
    Concatenate,
    Dense,
    Dot,
    Dropout,
    Flatten,
    Input,
    InputLayer,
    Lambda,
    Maximum,
    Minimum,
    Multiply,
    Permute,
    RepeatVector,
    Reshape,
    Subtract,
)
from neurona.layers.base import Layer, clear_session

rng = np.random.default_rng(0)


@pytest.fixture(autouse=True)
def _fresh_names():
    clear_session()


def np_act(name, z):
    if name == "relu":
        return np.maximum(z, 0)
    if name == "sigmoid":
        return 1 / (1 + np.exp(-z))
    if name == "tanh":
        return np.tanh(z)
    if name == "softmax":
        e = np.exp(z - z.max(-1, keepdims=True))
        return e / e.sum(-1, keepdims=True)
    if name == "elu":
        return np.where(z > 0, z, np.expm1(z))
    return z


# ----------------------------------------------------------------------------- Dense
@pytest.mark.parametrize("activation", [None, "linear", "relu", "sigmoid", "tanh", "softmax", "elu"])
def test_dense_matches_numpy(activation):
    x = rng.standard_normal((5, 7)).astype(np.float32)
    layer = Dense(4, activation=activation)
    y = layer(x)
    w, b = layer.get_weights()
    assert w.shape == (7, 4) and b.shape == (4,)
    np.testing.assert_allclose(y.data, np_act(activation, x @ w + b), rtol=1e-5, atol=1e-6)
    assert y.dtype == np.float32


def test_dense_slide_000_worked_example():
    # inputs 1,5,3,2 with a bias+weights matrix give -3 and 6; ReLU gives 0 and 6 (slide 000)
    layer = Dense(2, activation="relu")
    layer.build((None, 4))
    layer.set_weights([np.array([[1, 1], [-1, 1], [0, 0], [0, 0]], np.float32), np.array([1, 0], np.float32)])
    assert layer.call_logits(nr.Tensor(np.array([[1, 5, 3, 2]], np.float32))).tolist() == [[-3.0, 6.0]]
    assert layer(np.array([[1, 5, 3, 2]], np.float32)).tolist() == [[0.0, 6.0]]


def test_dense_without_bias_and_on_3d_inputs():
    x = rng.standard_normal((2, 3, 5)).astype(np.float32)
    layer = Dense(6, use_bias=False)
    y = layer(x)
    assert len(layer.weights) == 1 and y.shape == (2, 3, 6)
    np.testing.assert_allclose(y.data, x @ layer.kernel.data, rtol=1e-5, atol=1e-6)
    assert layer.compute_output_shape((None, 3, 5)) == (None, 3, 6)


@pytest.mark.parametrize("activation", ["linear", "relu", "sigmoid", "tanh", "softmax", "elu"])
def test_dense_gradcheck(activation):
    layer = Dense(3, activation=activation, dtype="float64")
    layer.build((None, 4))
    x = rng.standard_normal((5, 4))
    if activation == "relu":
        x = np.abs(x) + 0.1  # keep pre-activations away from the kink
        layer.kernel.data[...] = np.abs(layer.kernel.data) + 0.1

    def f(x, w, b):
        layer.kernel, layer.bias = w, b
        return layer.call(x)

    nr.gradcheck(f, x, layer.kernel.data.copy(), layer.bias.data.copy())


def test_dense_against_torch():
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((6, 5)).astype(np.float32)
    layer = Dense(3, activation="tanh")
    y = layer(x).data
    w, b = layer.get_weights()
    lin = torch.nn.Linear(5, 3)
    with torch.no_grad():
        lin.weight.copy_(torch.from_numpy(w.T.copy()))
        lin.bias.copy_(torch.from_numpy(b))
        ref = torch.tanh(lin(torch.from_numpy(x))).numpy()
    np.testing.assert_allclose(y, ref, rtol=1e-5, atol=1e-6)


def test_dense_call_logits_is_the_preactivation():
    layer = Dense(4, activation="softmax")
    x = rng.standard_normal((3, 2)).astype(np.float32)
    layer(x)
    w, b = layer.get_weights()
    np.testing.assert_allclose(layer.call_logits(nr.Tensor(x)).data, x @ w + b, rtol=1e-6, atol=1e-6)


def test_dense_input_width_error_names_layer_and_shapes():
    layer = Dense(10, input_shape=(784,))
    with pytest.raises(ValueError, match=r"Dense 'dense' expects inputs with last axis 784, got shape \(32, 28, 28\)"):
        layer(np.zeros((32, 28, 28), np.float32))
    built = Dense(3)
    built(np.zeros((2, 4), np.float32))
    with pytest.raises(ValueError, match=r"Dense 'dense_1' expects inputs with last axis 4, got shape \(2, 5\)"):
        built(np.zeros((2, 5), np.float32))


@pytest.mark.parametrize("units", [0, -3, 2.5, "10", True])
def test_dense_rejects_bad_units(units):
    with pytest.raises(ValueError, match="units must be a positive integer"):
        Dense(units)


def test_unknown_keyword_is_refused():
    with pytest.raises(TypeError, match="unexpected keyword argument.*activaton"):
        Dense(3, activaton="relu")


def test_regularizer_loss_and_trainable_weights():
    from neurona import regularizers

    layer = Dense(2, kernel_regularizer=regularizers.l2(0.01))
    layer.build((None, 3))
    (penalty,) = layer.losses
    w = layer.kernel.data.astype(np.float64)
    assert penalty.item() == pytest.approx(0.01 * (w ** 2).sum(), rel=1e-5)
    layer.trainable = False
    assert layer.trainable_weights == [] and len(layer.non_trainable_weights) == 2
    assert not layer.kernel.requires_grad and layer.losses == []
    layer.trainable = True
    assert len(layer.trainable_weights) == 2 and layer.kernel.requires_grad


def test_weights_names_and_set_weights_checks():
    layer = Dense(3, name="hidden")
    layer.build((None, 2))
    assert [w.name for w in layer.weights] == ["hidden/kernel", "hidden/bias"]
    with pytest.raises(ValueError, match=r"weight 'hidden/kernel' of Dense 'hidden' has shape \(2, 3\), got an "
                                         r"array of shape \(3, 2\)"):
        layer.set_weights([np.zeros((3, 2)), np.zeros(3)])
    with pytest.raises(ValueError, match="has 2 weights .* got 1 arrays"):
        layer.set_weights([np.zeros((2, 3))])
    kernel = layer.kernel
    layer.set_weights([np.ones((2, 3)), np.zeros(3)])
    assert layer.kernel is kernel and kernel.data.sum() == 6  # written in place
    assert layer.count_params() == 9
    with pytest.raises(ValueError, match="not built yet"):
        Dense(2).count_params()


def test_automatic_names_follow_keras3():
    assert [Dense(1).name, Dense(1).name, Dense(1).name] == ["dense", "dense_1", "dense_2"]
    assert Dropout(0.1).name == "dropout"
    assert layers.base.to_snake_case("MaxPooling2D") == "max_pooling2d"
    assert layers.base.to_snake_case("Conv2D") == "conv2d"
    assert InputLayer(shape=(3,)).name == "input_layer"
    clear_session()
    assert Dense(1).name == "dense"


# ----------------------------------------------------------------------------- simple layers
def test_activation_layer():
    x = rng.standard_normal((4, 3)).astype(np.float32)
    np.testing.assert_allclose(Activation("tanh")(x).data, np.tanh(x), rtol=1e-6)
    np.testing.assert_allclose(Activation("softmax")(x).data, np_act("softmax", x), rtol=1e-5)
    assert Activation("relu").get_config()["activation"] == "relu"


def test_dropout_is_identity_at_inference_and_inverted_in_training():
    x = np.ones((200, 50), np.float32)
    layer = Dropout(0.4)
    assert layer(x).data is not None and np.array_equal(layer(x).data, x)
    nr.random.set_seed(1)
    y = layer(x, training=True).data
    kept = y != 0
    assert 0.55 < kept.mean() < 0.65
    np.testing.assert_allclose(y[kept], 1 / 0.6, rtol=1e-6)
    t = nr.Tensor(x, requires_grad=True)
    out = layer(t, training=True)
    out.sum().backward()
    np.testing.assert_array_equal(t.grad, out.data)  # gradient = the same scaled mask
    with pytest.raises(ValueError, match=r"rate must be in \[0, 1\)"):
        Dropout(1.0)


def test_dropout_noise_shape_shares_the_mask():
    x = np.ones((4, 6, 3), np.float32)
    y = Dropout(0.5, noise_shape=(None, 1, 3), seed=3)(x, training=True).data
    assert np.all(y == y[:, :1, :])


def test_flatten_reshape_permute_repeat_match_numpy():
    x = rng.standard_normal((2, 3, 4, 5)).astype(np.float32)
    np.testing.assert_array_equal(Flatten()(x).data, x.reshape(2, -1))
    np.testing.assert_array_equal(Flatten(data_format="channels_first")(x).data,
                                  x.transpose(0, 2, 3, 1).reshape(2, -1))
    np.testing.assert_array_equal(Reshape((12, -1))(x).data, x.reshape(2, 12, 5))
    np.testing.assert_array_equal(Permute((3, 1, 2))(x).data, x.transpose(0, 3, 1, 2))
    v = rng.standard_normal((2, 3)).astype(np.float32)
    np.testing.assert_array_equal(RepeatVector(4)(v).data, np.repeat(v[:, None, :], 4, axis=1))
    assert Flatten().compute_output_shape((None, 3, 4, 5)) == (None, 60)
    assert Reshape((-1, 2)).compute_output_shape((None, 3, 4)) == (None, 6, 2)
    assert Permute((2, 1)).compute_output_shape((None, 3, 4)) == (None, 4, 3)


@pytest.mark.parametrize("make", [
    lambda: Flatten(), lambda: Reshape((6, 2)), lambda: Permute((2, 1)), lambda: Activation("tanh"),
    lambda: Lambda(lambda t: t * t + 1.0),
])
def test_shape_layers_gradcheck(make):
    layer = make()
    nr.gradcheck(lambda x: layer.call(x), rng.standard_normal((2, 3, 4)))


def test_repeat_vector_gradcheck():
    layer = RepeatVector(3)
    nr.gradcheck(lambda x: layer.call(x), rng.standard_normal((2, 4)))


def test_reshape_error_names_layer():
    with pytest.raises(ValueError, match=r"Reshape 'reshape' cannot reshape inputs of shape \(None, 784\) "
                                         r"\(784 values per sample\) into \(28, 27\)"):
        Reshape((28, 27))(Input((784,)))


def test_lambda_layer_and_its_config():
    layer = Lambda(lambda t, k: t * k, arguments={"k": 3.0}, name="triple")
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    np.testing.assert_array_equal(layer(x).data, x * 3)
    assert layer(Input((3,))).shape == (None, 3)

    def double(t):
        return t * 2.0

    cfg = Lambda(double).get_config()
    with pytest.raises(ValueError, match="custom_objects"):
        Lambda.from_config(cfg)
    again = Lambda.from_config(cfg, custom_objects={"double": double})
    np.testing.assert_array_equal(again(x).data, x * 2)


# ----------------------------------------------------------------------------- merge layers
def _pair(shape=(3, 4)):
    return rng.standard_normal(shape), rng.standard_normal(shape)


@pytest.mark.parametrize("cls,ref", [
    (Add, lambda a, b: a + b), (Subtract, lambda a, b: a - b), (Multiply, lambda a, b: a * b),
    (Average, lambda a, b: (a + b) / 2), (Maximum, np.maximum), (Minimum, np.minimum),
    (Concatenate, lambda a, b: np.concatenate([a, b], -1)),
])
def test_merge_layers_match_numpy_and_gradcheck(cls, ref):
    a, b = _pair()
    layer = cls(dtype="float64")
    np.testing.assert_allclose(layer([a, b]).data, ref(a, b), rtol=1e-12)
    nr.gradcheck(lambda p, q: layer.call([p, q]), a, b)


def test_add_of_three_and_concatenate_axis():
    a, b, c = (rng.standard_normal((2, 3, 4)).astype(np.float32) for _ in range(3))
    np.testing.assert_allclose(Add()([a, b, c]).data, a + b + c, rtol=1e-6)
    np.testing.assert_array_equal(Concatenate(axis=1)([a, b]).data, np.concatenate([a, b], 1))
    assert Concatenate(axis=1).compute_output_shape([(None, 3, 4), (None, 5, 4)]) == (None, 8, 4)


@pytest.mark.parametrize("shapes,axes,ref", [
    (((4, 5), (4, 5)), 1, lambda a, b: (a * b).sum(1, keepdims=True)),
    (((4, 3, 5), (4, 6, 5)), 2, lambda a, b: a @ b.transpose(0, 2, 1)),
    (((4, 3, 5), (4, 5, 2)), (2, 1), lambda a, b: a @ b),
    (((4, 5), (4, 5, 2)), (1, 1), lambda a, b: np.einsum("bi,bij->bj", a, b)),
])
def test_dot_matches_numpy_and_gradcheck(shapes, axes, ref):
    a, b = rng.standard_normal(shapes[0]), rng.standard_normal(shapes[1])
    layer = Dot(axes=axes, dtype="float64")
    np.testing.assert_allclose(layer([a, b]).data, ref(a, b), rtol=1e-10)
    assert layer.compute_output_shape([(None,) + a.shape[1:], (None,) + b.shape[1:]]) == (None,) + ref(a, b).shape[1:]
    nr.gradcheck(lambda p, q: layer.call([p, q]), a, b)


def test_dot_normalize_is_cosine_similarity():
    a, b = _pair((5, 4))
    cos = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    out = Dot(axes=1, normalize=True, dtype="float64")([a, b]).data
    np.testing.assert_allclose(out[:, 0], cos, rtol=1e-10)


def test_merge_errors():
    with pytest.raises(ValueError, match="Add 'add' needs inputs of the same shape"):
        Add()([Input((3,)), Input((4,))])
    with pytest.raises(ValueError, match="Subtract 'subtract' needs a list of exactly 2 inputs, got 3 inputs"):
        Subtract()([Input((3,))] * 3)
    with pytest.raises(ValueError, match="Concatenate 'concatenate'.*other axes match"):
        Concatenate(axis=1)([Input((3, 4)), Input((3, 5))])
    with pytest.raises(ValueError, match="needs a list"):
        Add()(Input((3,)))


def test_merge_functional_helpers():
    a, b = Input((3,)), Input((3,))
    assert layers.add([a, b]).shape == (None, 3)
    assert layers.concatenate([a, b]).shape == (None, 6)
    assert layers.dot([a, b], axes=1).shape == (None, 1)


# ----------------------------------------------------------------------------- symbolic calls, configs
def test_input_and_symbolic_call_record_nodes():
    x = Input(shape=(28, 28), name="image")
    assert x.shape == (None, 28, 28) and x.layer.name == "image"
    flat = Flatten()
    h = flat(x)
    assert h.shape == (None, 784)
    node = flat._inbound_nodes[0]
    assert node.inputs is x and node.outputs is h and h.node is node
    with pytest.raises(TypeError, match="no values"):
        np.asarray(h)
    assert Input(5).shape == (None, 5)


@pytest.mark.parametrize("layer", [
    Dense(3, activation="relu", use_bias=False, kernel_initializer="he_normal", kernel_regularizer="l2"),
    Activation("sigmoid"), Dropout(0.3, noise_shape=(None, 1), seed=2), Flatten(), Reshape((2, -1)),
    Permute((2, 1)), RepeatVector(3), Add(), Concatenate(axis=1), Dot(axes=(1, 1), normalize=True),
    InputLayer(shape=(4,)),
], ids=lambda la: type(la).__name__)
def test_config_round_trip(layer):
    import json

    cfg = json.loads(json.dumps(layer.get_config()))  # configs are plain JSON
    cls = layers.get(type(layer).__name__)
    clone = cls.from_config(cfg)
    assert type(clone) is type(layer) and clone.get_config() == layer.get_config()


def test_registry_refuses_unknown_names():
    with pytest.raises(ValueError, match="unknown layer class 'Evil'"):
        layers.get("Evil")

    class MyLayer(Layer):
        pass

    assert layers.get("MyLayer") is MyLayer


def test_input_shape_argument_is_checked_when_called_eagerly():
    layer = Dense(2, input_shape=(3,))
    with pytest.raises(ValueError, match=r"Dense 'dense' expects inputs with last axis 3, got shape \(4, 5\)"):
        layer(np.zeros((4, 5), np.float32))
    flat = Flatten(input_shape=(2, 3))
    with pytest.raises(ValueError, match=r"Flatten 'flatten' expects inputs of shape \(None, 2, 3\), got shape "
                                         r"\(4, 3, 2\)"):
        flat(np.zeros((4, 3, 2), np.float32))
