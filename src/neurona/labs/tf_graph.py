"""Deck 003's TensorFlow program: build the dataflow graph, then run it in a session.

`deck_program(tf, ...)` is the slides' code line for line (softmax regression trained by minibatch gradient
descent, as in the Udacity notebook the deck comes from), written against a module `tf`. The lab passes
`neurona.compat.v1`; the parity test passes TensorFlow's own `tf.compat.v1` and compares the accuracies.
Data: the embedded 8x8 digits (64 pixels, 10 labels) instead of notMNIST/MNIST.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..i18n import _
from . import _common as c

FLATTENED_SIZE = 64
NUM_LABELS = 10


def digits_data(valid: int = 240) -> dict[str, np.ndarray]:
    """Train / valid / test arrays of flattened digits in [0, 1] with one-hot labels (float32)."""
    from ..datasets import digits

    (x, y), (xt, yt) = digits.load_data()
    flat = lambda a: (a.reshape(len(a), -1) / 16.0).astype(np.float32)  # noqa: E731
    onehot = lambda t: np.eye(NUM_LABELS, dtype=np.float32)[t]  # noqa: E731
    return {"train_dataset": flat(x[:-valid]), "train_labels": onehot(y[:-valid]),
            "valid_dataset": flat(x[-valid:]), "valid_labels": onehot(y[-valid:]),
            "test_dataset": flat(xt), "test_labels": onehot(yt)}


def accuracy(predictions: np.ndarray, labels: np.ndarray) -> float:
    return 100.0 * np.sum(np.argmax(predictions, 1) == np.argmax(labels, 1)) / predictions.shape[0]


def deck_program(tf: Any, data: dict[str, np.ndarray], num_steps: int = 801, batch_size: int = 128,
                 initial_weights: np.ndarray | None = None, log: Any = None) -> dict[str, Any]:
    """Deck 003's code with `tf` as given; returns the minibatch/validation/test accuracies and the graph."""
    train_dataset, train_labels = data["train_dataset"], data["train_labels"]
    graph = tf.Graph()
    with graph.as_default():
        tf_train_dataset = tf.placeholder(tf.float32, shape=(None, FLATTENED_SIZE))
        tf_train_labels = tf.placeholder(tf.float32, shape=(None, NUM_LABELS))
        tf_valid_dataset = tf.constant(data["valid_dataset"])
        tf_test_dataset = tf.constant(data["test_dataset"])

        w0 = tf.truncated_normal([FLATTENED_SIZE, NUM_LABELS]) if initial_weights is None else initial_weights
        weights = tf.Variable(w0, name='w')
        biases = tf.Variable(tf.zeros([NUM_LABELS]), name='b')

        logits = tf.matmul(tf_train_dataset, weights) + biases
        loss = tf.reduce_mean(
            tf.nn.softmax_cross_entropy_with_logits(labels=tf_train_labels, logits=logits))

        optimizer = tf.train.GradientDescentOptimizer(0.5).minimize(loss)

        train_prediction = tf.nn.softmax(logits)
        valid_prediction = tf.nn.softmax(tf.matmul(tf_valid_dataset, weights) + biases)
        test_prediction = tf.nn.softmax(tf.matmul(tf_test_dataset, weights) + biases)

    figures: dict[str, Any] = {"steps": []}
    with tf.Session(graph=graph) as session:
        tf.global_variables_initializer().run()
        for step in range(num_steps):
            offset = (step * batch_size) % (train_labels.shape[0] - batch_size)
            batch_data = train_dataset[offset:(offset + batch_size), :]
            batch_labels = train_labels[offset:(offset + batch_size), :]
            feed_dict = {tf_train_dataset: batch_data, tf_train_labels: batch_labels}
            _, l, predictions = session.run([optimizer, loss, train_prediction], feed_dict=feed_dict)
            if step % 200 == 0 or step == num_steps - 1:
                row = (step, float(l), accuracy(predictions, batch_labels),
                       accuracy(valid_prediction.eval(), data["valid_labels"]))
                figures["steps"].append(row)
                if log:
                    log(f"Minibatch loss at step {row[0]}: {row[1]:f}\nMinibatch accuracy: {row[2]:.1f}%\n"
                        f"Validation accuracy: {row[3]:.1f}%")
        figures["test_accuracy"] = accuracy(test_prediction.eval(), data["test_labels"])
        figures["test_predictions"] = test_prediction.eval()
        if log:
            log(f"Test accuracy: {figures['test_accuracy']:.1f}%")
    figures["graph"] = graph
    figures["fetches"] = [optimizer, loss, train_prediction]
    return figures


def run(quick: bool = False, *, report: Any = None, verbose: int = 1) -> dict[str, float]:
    import neurona.compat.v1 as tf

    c.start(0)
    tf.set_random_seed(0)
    figures = deck_program(tf, digits_data(), num_steps=201 if quick else 801,
                           log=(lambda m: print(m, flush=True)) if verbose else None)
    graph = figures["graph"]
    last = figures["steps"][-1]
    metrics = {"test_accuracy": float(figures["test_accuracy"]) / 100, "valid_accuracy": float(last[3]) / 100,
               "minibatch_loss": last[1], "graph_nodes": float(len(graph.nodes))}
    c.say(verbose, _("The graph has {n} nodes; its DOT text starts:").format(n=len(graph.nodes)))
    c.say(verbose, graph.to_dot(figures["fetches"]).split("\n", 3)[2])
    sec = c.section(report, "tf-graph")
    if sec is not None:
        sec.table([_("step"), _("minibatch loss"), _("minibatch accuracy %"), _("validation accuracy %")],
                  [[s, c.fmt(lo), f"{a:.1f}", f"{v:.1f}"] for s, lo, a, v in figures["steps"]],
                  _("Deck 003's program run on neurona.compat.v1"))
        c.metrics_table(sec, metrics)
        sec.plot(graph.plot, figures["fetches"], caption=_("The dataflow graph the program built"))
    return metrics
