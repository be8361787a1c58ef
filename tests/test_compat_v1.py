"""neurona.compat.v1: deck 003's graph-and-session program, TF1's errors, the Saver, the drawn graph."""

import numpy as np
import pytest

import neurona.compat.v1 as tf
from neurona.labs.tf_graph import FLATTENED_SIZE, NUM_LABELS, deck_program, digits_data


@pytest.fixture(scope="module")
def data():
    return digits_data()


def _small_graph():
    graph = tf.Graph()
    with graph.as_default():
        x = tf.placeholder(tf.float32, shape=(None, 3), name="x")
        w = tf.Variable(np.arange(6, dtype=np.float32).reshape(3, 2), name="w")
        y = tf.matmul(x, w, name="y")
    return graph, x, w, y


def test_deck_program_learns_digits(data):
    figures = deck_program(tf, data, num_steps=201)
    assert figures["steps"][-1][1] < figures["steps"][0][1]
    assert figures["test_accuracy"] > 85.0


TF_SCRIPT = """
import json, sys
import numpy as np
import tensorflow as tf
from neurona.labs.tf_graph import deck_program, digits_data
w0 = np.load(sys.argv[1])
figures = deck_program(tf.compat.v1, digits_data(), num_steps=401, initial_weights=w0)
json.dump({"steps": figures["steps"], "test_accuracy": figures["test_accuracy"],
           "test_predictions": figures["test_predictions"].tolist()}, sys.stdout)
"""


def test_deck_program_matches_tensorflow(data, tmp_path):
    """The same program on TensorFlow's tf.compat.v1, in a subprocess (importing TensorFlow changes Keras)."""
    import importlib.util
    import json
    import os
    import subprocess
    import sys

    if importlib.util.find_spec("tensorflow") is None:
        pytest.skip("tensorflow is not installed")
    w0 = np.random.default_rng(0).standard_normal((FLATTENED_SIZE, NUM_LABELS)).clip(-2, 2).astype(np.float32)
    np.save(tmp_path / "w0.npy", w0)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""}
    done = subprocess.run([sys.executable, "-c", TF_SCRIPT, str(tmp_path / "w0.npy")], capture_output=True,
                          text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    theirs = json.loads(done.stdout)
    ours = deck_program(tf, data, num_steps=401, initial_weights=w0)
    for a, b in zip(ours["steps"], theirs["steps"]):
        assert a[0] == b[0]
        assert abs(a[1] - b[1]) < 1e-4 * max(1.0, abs(b[1]))  # minibatch loss
        assert abs(a[2] - b[2]) < 1e-4 and abs(a[3] - b[3]) < 1e-4  # minibatch and validation accuracy
    assert abs(ours["test_accuracy"] - theirs["test_accuracy"]) < 1e-4
    np.testing.assert_allclose(ours["test_predictions"], np.array(theirs["test_predictions"]), atol=1e-4)


def test_session_runs_nested_fetches_and_names():
    graph, x, w, y = _small_graph()
    with tf.Session(graph=graph) as sess:
        sess.run(tf.variables_initializer([w]))
        feed = {x: np.ones((2, 3), np.float32)}
        out = sess.run({"y": y, "pair": [w, (y,)]}, feed_dict=feed)
        np.testing.assert_array_equal(out["y"], np.ones((2, 3)) @ w_value(sess, w))
        np.testing.assert_array_equal(out["pair"][1][0], out["y"])
        np.testing.assert_array_equal(sess.run("y:0", {"x:0": np.ones((1, 3))}), out["y"][:1])


def w_value(sess, w):
    return sess.run(w)


def test_unfed_placeholder_is_invalid_argument():
    graph, x, w, y = _small_graph()
    with tf.Session(graph=graph) as sess:
        sess.run(w.initializer)
        with pytest.raises(tf.errors.InvalidArgumentError, match="must feed a value for placeholder tensor 'x'"):
            sess.run(y)


def test_wrong_feed_shape_and_dtype():
    graph, x, w, y = _small_graph()
    with graph.as_default():
        labels = tf.placeholder(tf.int32, shape=(None,), name="labels")
    with tf.Session(graph=graph) as sess:
        sess.run(w.initializer)
        with pytest.raises(ValueError, match=r"Cannot feed value of shape \(2, 4\) for Tensor 'x:0', which has "
                                             r"shape '\(\?, 3\)'"):
            sess.run(y, {x: np.ones((2, 4))})
        with pytest.raises(TypeError, match="fractional values for Tensor 'labels:0'"):
            sess.run(labels, {labels: [0.5, 1.0]})
        with pytest.raises(TypeError, match="Cannot feed value of dtype <U"):
            sess.run(y, {x: [["a", "b", "c"]]})


def test_ops_from_another_graph():
    graph, x, w, y = _small_graph()
    other = tf.Graph()
    with other.as_default():
        z = tf.placeholder(tf.float32, shape=(3, 2), name="z")
        with pytest.raises(ValueError, match="must be from the same graph"):
            tf.matmul(x, z)
    with tf.Session(graph=graph) as sess, pytest.raises(ValueError, match="is not an element of this graph"):
        sess.run(z, {z: np.ones((3, 2))})


def test_unknown_fetch():
    graph, x, w, y = _small_graph()
    with tf.Session(graph=graph) as sess:
        with pytest.raises(ValueError, match="'nothing:0' refers to a Tensor which does not exist"):
            sess.run("nothing:0")
        with pytest.raises(TypeError, match="Fetch argument 3 has invalid type"):
            sess.run(3)


def test_variable_used_before_initialisation():
    graph, x, w, y = _small_graph()
    with tf.Session(graph=graph) as sess, pytest.raises(tf.errors.FailedPreconditionError,
                                                       match="Attempting to use uninitialized value w"):
        sess.run(y, {x: np.ones((1, 3))})


def test_static_shape_errors():
    with tf.Graph().as_default():
        a = tf.placeholder(tf.float32, shape=(None, 3))
        b = tf.Variable(tf.zeros([4, 2]))
        with pytest.raises(ValueError, match=r"Dimensions must be equal, but are 3 and 4 for 'MatMul'"):
            tf.matmul(a, b)
        assert tf.matmul(a, tf.zeros([3, 5])).get_shape().as_list() == [None, 5]


def test_optimizers_match_their_update_rules():
    """One step of each optimiser on loss = sum(w * c) (gradient c), against the TF1 formulas."""
    c = np.array([1.0, -2.0, 3.0], np.float32)
    optimizers = [("sgd", tf.train.GradientDescentOptimizer(0.1)), ("momentum", tf.train.MomentumOptimizer(0.1, 0.9)),
                  ("adam", tf.train.AdamOptimizer(0.1))]
    for name, opt in optimizers:
        with tf.Graph().as_default():
            w = tf.Variable(np.zeros(3, np.float32), name="w")
            step = opt.minimize(tf.reduce_sum(w * c))
            with tf.Session() as sess:
                tf.global_variables_initializer().run()
                sess.run(step)
                sess.run(step)
                got = sess.run(w)
        if name == "sgd":
            np.testing.assert_allclose(got, -0.2 * c, rtol=1e-6)
        elif name == "momentum":
            np.testing.assert_allclose(got, -0.1 * c - 0.1 * (0.9 * c + c), rtol=1e-6)
        else:  # Adam with a constant gradient moves each weight by about lr per step
            np.testing.assert_allclose(got, -0.2 * np.sign(c), rtol=1e-4)


def test_gradients_are_the_engines(data):
    """minimize() through conv2d, max_pool, relu and the sparse cross-entropy lowers the loss."""
    x_img = data["train_dataset"][:64].reshape(-1, 8, 8, 1)
    labels = data["train_labels"][:64].argmax(1)
    with tf.Graph().as_default():
        tf.set_random_seed(1)
        x = tf.placeholder(tf.float32, (None, 8, 8, 1))
        y = tf.placeholder(tf.int64, (None,))
        k = tf.Variable(tf.truncated_normal([3, 3, 1, 4], stddev=0.3))
        h = tf.nn.max_pool(tf.nn.relu(tf.nn.conv2d(x, k, strides=[1, 1, 1, 1], padding="SAME")),
                           ksize=[1, 2, 2, 1], strides=[1, 2, 2, 1], padding="SAME")
        assert h.get_shape().as_list() == [None, 4, 4, 4]
        flat = tf.reshape(h, [-1, 64])
        w = tf.Variable(tf.truncated_normal([64, 10], stddev=0.1))
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=tf.matmul(flat, w)))
        step = tf.train.AdamOptimizer(0.01).minimize(loss)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            first = sess.run(loss, {x: x_img, y: labels})
            for _ in range(30):
                sess.run(step, {x: x_img, y: labels})
            assert sess.run(loss, {x: x_img, y: labels}) < 0.7 * first


def test_saver_round_trip_is_safetensors(tmp_path):
    graph, x, w, y = _small_graph()
    with tf.Session(graph=graph) as sess:
        sess.run(w.initializer)
        w.load(np.full((3, 2), 7.0), sess)
        path = tf.train.Saver().save(sess, str(tmp_path / "model.ckpt"))
    assert open(path, "rb").read(8) != b"\x80\x04\x95"  # not a pickle
    from neurona.saving.safetensors_io import load_file

    assert set(load_file(path)[0]) == {"w"}
    with tf.Session(graph=graph) as sess:
        tf.train.Saver().restore(sess, path)
        np.testing.assert_array_equal(sess.run(w), np.full((3, 2), 7.0))
        with pytest.raises(tf.errors.NotFoundError):
            tf.train.Saver().restore(sess, str(tmp_path / "missing"))


def test_graph_as_dot_and_picture(data, tmp_path):
    figures = deck_program(tf, data, num_steps=1)
    dot = figures["graph"].to_dot(figures["fetches"])
    assert dot.startswith("digraph") and 'label="w\\nVariableV2\\n64x10"' in dot and "?x64" in dot
    assert "MatMul" in dot and "GradientDescent" in dot
    pytest.importorskip("matplotlib")
    figures["graph"].plot(figures["fetches"], path=tmp_path / "graph.png")
    assert (tmp_path / "graph.png").stat().st_size > 1000


def _example(name):
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "examples" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_classic_tf1_examples_learn(capsys):
    assert _example("tf1_softmax_regression").main(steps=150) > 0.85
    assert _example("tf1_two_layer").main(num_steps=151) > 85.0
    assert "test accuracy" in capsys.readouterr().out
    assert tf.get_default_session() is None  # the InteractiveSession was closed

