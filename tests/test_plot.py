"""neurona.plot: every function renders a non-trivial PNG with the Agg backend and returns its Figure."""

import sys

import numpy as np
import pytest

import neurona as nr
from neurona import ops

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.image import imread  # noqa: E402
from matplotlib.text import Annotation  # noqa: E402

from neurona import plot  # noqa: E402


def boxes(fig):
    """The text boxes of a graph drawing (its arrows are annotations, also texts to matplotlib)."""
    return [t.get_text() for t in fig.axes[0].texts if not isinstance(t, Annotation)]


def check_png(fig, path, min_bytes=3000):
    """The call returned a Figure and wrote a real picture: a few KB, many colours, not one flat tone."""
    assert isinstance(fig, Figure)
    assert path.stat().st_size > min_bytes
    pixels = imread(path)[..., :3]
    assert pixels.shape[0] > 100 and pixels.shape[1] > 100
    assert pixels.std() > 0.02
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 20


@pytest.fixture()
def rng():
    return np.random.default_rng(0)


class FakeHistory:
    def __init__(self, history):
        self.history = history
        self.epoch = list(range(len(history["loss"])))


def test_history_from_dict_and_history_object(tmp_path):
    logs = {"loss": [1.0, 0.7, 0.5, 0.45, 0.4], "val_loss": [1.1, 0.8, 0.7, 0.75, 0.9],
            "accuracy": [0.5, 0.6, 0.7, 0.8, 0.85], "val_accuracy": [0.5, 0.55, 0.65, 0.6, 0.6]}
    check_png(plot.history(logs, path=tmp_path / "a.png"), tmp_path / "a.png")
    fig = plot.history(FakeHistory(logs), metrics=["accuracy"])
    assert len(fig.axes) == 1
    # best epoch marked on the validation curve: the lowest val_loss is epoch 3
    fig = plot.history(logs)
    assert any("best epoch 3" in t.get_text() for t in fig.axes[0].get_legend().get_texts())
    assert any("best epoch 3" in t.get_text() for t in fig.axes[1].get_legend().get_texts())
    assert len(plot.history({"loss": [3.0, 2.0, 1.5]}).axes) == 1
    with pytest.raises(ValueError, match="no \\['f1'\\]"):
        plot.history(logs, metrics=["f1"])
    with pytest.raises(ValueError, match="non-empty dict"):
        plot.history({})


def test_confusion_matrix_counts_and_normalised(tmp_path, rng):
    t = rng.integers(0, 4, 200)
    p = np.where(rng.random(200) < 0.6, t, rng.integers(0, 4, 200))
    fig = plot.confusion_matrix(t, np.eye(4)[p], display_labels=["a", "b", "c", "d"], path=tmp_path / "cm.png")
    check_png(fig, tmp_path / "cm.png")
    assert len([ax for ax in fig.axes if ax.get_title()]) == 2  # counts and normalised
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert str(int(np.sum((t == 0) & (p == 0)))) in texts
    for normalize in (None, "pred"):
        assert len(plot.confusion_matrix(t, p, normalize=normalize).axes) == 2  # the matrix and its colour bar
    check_png(plot.confusion_matrix(matrix=[[5, 1], [2, 7]], path=tmp_path / "m.png"), tmp_path / "m.png")
    with pytest.raises(ValueError, match="give y_true and y_pred"):
        plot.confusion_matrix(t)
    with pytest.raises(ValueError, match="normalize='rows'"):
        plot.confusion_matrix(t, p, normalize="rows")


def test_images_grid_with_misclassified_highlighted(tmp_path, rng):
    x = rng.random((30, 64)).astype(np.float32)  # flat 8x8 rows
    t = rng.integers(0, 3, 30)
    p = t.copy()
    p[:5] = (p[:5] + 1) % 3
    fig = plot.images(x, t, p, class_names=["cero", "uno", "dos"], n=12, path=tmp_path / "i.png")
    check_png(fig, tmp_path / "i.png")
    red = [ax for ax in fig.axes if ax.title.get_color() == "tab:red"]
    assert len(red) == 5
    fig = plot.images(x.reshape(30, 8, 8, 1), t, p, only_errors=True, path=tmp_path / "e.png")
    check_png(fig, tmp_path / "e.png")
    assert len(fig.axes) == 5
    assert len(plot.images(rng.random((6, 10, 10, 3))).axes) == 6
    with pytest.raises(ValueError, match="not square images; pass shape"):
        plot.images(rng.random((4, 10)))
    with pytest.raises(ValueError, match="x has 30 images but y_pred has 29"):
        plot.images(x, t, p[:29])


class FakeDense:
    def __init__(self, kernel):
        self.kernel = kernel

    def get_weights(self):
        return [self.kernel, np.zeros(self.kernel.shape[1])]


def test_dense_weights_as_images_symmetric_red_blue(tmp_path, rng):
    w = rng.normal(size=(784, 10)).astype(np.float32)
    w[:, 3] *= 3
    fig = plot.dense_weights_as_images(FakeDense(w), path=tmp_path / "w.png")
    check_png(fig, tmp_path / "w.png")
    images = [ax.get_images()[0] for ax in fig.axes if ax.get_images()]
    assert len(images) == 10
    m = np.abs(w).max()
    assert all(im.get_clim() == pytest.approx((-m, m)) for im in images)  # one symmetric scale
    assert images[0].get_cmap().name == "RdBu"
    assert len(plot.dense_weights_as_images(w[:196, :4], shape=(14, 14)).axes) == 5  # 4 maps, 1 colour bar
    with pytest.raises(ValueError, match="not square images"):
        plot.dense_weights_as_images(rng.normal(size=(13, 3)))


def test_conv_filters_and_feature_maps(tmp_path, rng):
    check_png(plot.conv_filters(rng.normal(size=(5, 5, 3, 16)), path=tmp_path / "rgb.png"), tmp_path / "rgb.png")
    assert len(plot.conv_filters(rng.normal(size=(3, 3, 1, 8))).axes) == 8
    assert len(plot.conv_filters(rng.normal(size=(3, 3, 6, 8)), channel=2).axes) == 8
    acts = rng.random((1, 12, 12, 10)).astype(np.float32)
    check_png(plot.feature_maps(acts, title="conv2d_1", path=tmp_path / "f.png"), tmp_path / "f.png")
    fig = plot.feature_maps(acts[0], max_maps=4)
    assert len(fig.axes) == 4
    with pytest.raises(ValueError, match="channel=7 is out of range"):
        plot.conv_filters(rng.normal(size=(3, 3, 6, 8)), channel=7)
    with pytest.raises(ValueError, match="\\(h, w, channels\\) for one image"):
        plot.feature_maps(rng.random((2, 4, 4, 3)))


class Perceptron:
    def predict(self, x):
        return (x @ np.array([1.0, -1.0]) > 0).astype(np.int64)


def test_decision_boundary_probabilities_labels_and_classes(tmp_path, rng):
    x = rng.normal(size=(80, 2))
    y = (x[:, 0] - x[:, 1] > 0).astype(int)

    def sigmoid_net(points):
        return 1 / (1 + np.exp(-3 * (points[:, :1] - points[:, 1:])))

    check_png(plot.decision_boundary(sigmoid_net, x, y, path=tmp_path / "p.png"), tmp_path / "p.png")
    assert isinstance(plot.decision_boundary(Perceptron(), x, y), Figure)

    def softmax_net(points):
        z = np.c_[points[:, 0], points[:, 1], -points.sum(1)]
        return np.exp(z) / np.exp(z).sum(1, keepdims=True)

    y3 = softmax_net(x).argmax(1)
    check_png(plot.decision_boundary(softmax_net, x, np.eye(3)[y3], class_names=["a", "b", "c"],
                                     path=tmp_path / "s.png"), tmp_path / "s.png")
    with pytest.raises(ValueError, match="x must have shape \\(n, 2\\), got \\(80, 3\\)"):
        plot.decision_boundary(softmax_net, rng.normal(size=(80, 3)))


class Layer:
    def __init__(self, name, shape, params, inbound=None):
        self.name, self.output_shape, self._params = name, shape, params
        if inbound is not None:
            self.inbound_layers = inbound

    def count_params(self):
        return self._params


class Dense(Layer):
    pass


class InputLayer(Layer):
    pass


class Concatenate(Layer):
    pass


def test_model_drawing_sequential_and_functional(tmp_path):
    seq = type("Sequential", (), {"name": "slides_mnist", "layers": [
        Dense("dense_1", (None, 10), 7850), Dense("dense_2", (None, 10), 110)]})()
    fig = plot.model(seq)
    texts = boxes(fig)
    assert "dense_1\nDense\noutput (None, 10)\n7,850 params" in texts
    a, b = InputLayer("in_a", (None, 4), 0, []), InputLayer("in_b", (None, 3), 0, [])
    da, db = Dense("dense_a", (None, 8), 40, [a]), Dense("dense_b", (None, 8), 32, [b])
    cat = Concatenate("concat", (None, 16), 0, [da, db])
    out = Dense("out", (None, 1), 17, [cat])
    functional = type("Model", (), {"layers": [a, b, da, db, cat, out]})()
    fig = plot.model(functional, path=tmp_path / "fn.png")
    check_png(fig, tmp_path / "fn.png")
    assert len(boxes(fig)) == 6
    assert len(fig.axes[0].texts) - 6 == 5  # arrows: a->dense_a, b->dense_b, both->concat, concat->out
    with pytest.raises(ValueError, match="no layers"):
        plot.model(object())


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_model_drawing_of_a_keras_functional_model(tmp_path):
    import os

    os.environ.setdefault("KERAS_BACKEND", "torch")
    keras = pytest.importorskip("keras")
    a, b = keras.Input((4,), name="a"), keras.Input((3,), name="b")
    h = keras.layers.Concatenate()([keras.layers.Dense(8)(a), keras.layers.Dense(8)(b)])
    model = keras.Model([a, b], keras.layers.Dense(1)(h))
    fig = plot.model(model, path=tmp_path / "k.png")
    check_png(fig, tmp_path / "k.png")
    assert len(boxes(fig)) == len(model.layers)
    assert len(fig.axes[0].texts) - len(model.layers) == 5


def test_graph_of_traced_ops(tmp_path):
    w = nr.Tensor(np.ones((3, 2)), requires_grad=True, name="W")
    graph = nr.trace(lambda x: ops.relu(x @ w + 1.0).sum(), np.ones((4, 3)))
    fig = plot.graph(graph, title="relu(x W + 1)", path=tmp_path / "g.png")
    check_png(fig, tmp_path / "g.png")
    texts = boxes(fig)
    assert {"MatMul", "Add", "ReLU", "Sum", "W\n3x2", "input 0\n4x3"} <= set(texts)
    with pytest.raises(TypeError, match="neurona Graph"):
        plot.graph([1, 2])


def test_missing_matplotlib_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(ImportError, match=r"pip install 'neurona\[plot\]'"):
        plot.history({"loss": [1.0, 0.5]})


def test_model_drawing_of_a_neurona_functional_model(tmp_path):
    models = pytest.importorskip("neurona.models")
    layers = pytest.importorskip("neurona.layers")
    a, b = layers.Input((4,), name="a"), layers.Input((3,), name="b")
    h = layers.Concatenate()([layers.Dense(8)(a), layers.Dense(8)(b)])
    model = models.Model([a, b], layers.Dense(1)(h))
    fig = plot.model(model)
    assert len(boxes(fig)) == len(model.layers) == 6
    assert len(fig.axes[0].texts) - 6 == 5  # one arrow per connection
