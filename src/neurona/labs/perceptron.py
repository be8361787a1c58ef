"""The perceptron (Rosenblatt 1958, deck 001) and the neuron as logistic regression (deck 004).

The perceptron computes f(x) = 1 if w . x + b > 0 else 0 and learns with its own rule: after each example,
w += lr (t - f(x)) x. It finds a line whenever one separates the classes (AND, OR) and never otherwise (XOR).
A sigmoid neuron trained by gradient descent is the same line with a probability attached; one hidden layer
bends the line, which is what solves XOR.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..i18n import _
from . import _common as c


def train_perceptron(x: np.ndarray, t: np.ndarray, epochs: int = 20, lr: float = 1.0) -> tuple[np.ndarray, float]:
    """Rosenblatt's learning rule, one example at a time (it is that rule being shown, so a loop is right)."""
    w, b = np.zeros(x.shape[1]), 0.0
    for _epoch in range(epochs):
        for xi, ti in zip(x, t):
            error = ti - float(w @ xi + b > 0)
            w += lr * error * xi
            b += lr * error
    return w, b


def perceptron_predict(w: np.ndarray, b: float, x: np.ndarray) -> np.ndarray:
    return (x @ w + b > 0).astype(int)


def _quiet(model: Any) -> Any:
    """model.predict without a progress line, for the plots that call it on a grid of points."""
    return lambda points: model.predict(points, verbose=0)


def run(quick: bool = False, *, report: Any = None, verbose: int = 1) -> dict[str, float]:
    from ..datasets import synthetic
    from ..layers import Dense, Input
    from ..models import Sequential
    from ..optimizers import Adam

    c.start(0)
    metrics: dict[str, float] = {}
    rows = []
    for gate in ("and", "or", "xor"):
        x, t = synthetic.logic_gate(gate)
        w, b = train_perceptron(x, t)
        acc = float(np.mean(perceptron_predict(w, b, x) == t))
        metrics[f"perceptron_{gate}"] = acc
        rows.append([gate.upper(), f"{acc:.2f}", f"w = ({w[0]:g}, {w[1]:g}), b = {b:g}"])
        c.say(verbose, _("Perceptron on {gate}: {right} of 4 right, w = {w}, b = {b:g}").format(
            gate=gate.upper(), right=int(round(acc * 4)), w=np.round(w, 2).tolist(), b=b))

    epochs = 60 if quick else 200
    x, t = synthetic.blobs(200, centers=2, seed=0)
    neuron = Sequential([Input((2,)), Dense(1, activation="sigmoid")])          # one neuron: logistic regression
    neuron.compile(loss="binary_crossentropy", optimizer=Adam(learning_rate=0.05), metrics=["accuracy"])
    neuron.fit(x, t, batch_size=32, epochs=epochs, verbose=0)
    metrics["neuron_blobs"] = float(neuron.evaluate(x, t, verbose=0)[1])
    c.say(verbose, _("One sigmoid neuron on two clouds of points: accuracy {acc:.3f}").format(
        acc=metrics["neuron_blobs"]))

    xx, tx = synthetic.xor(400, noise=0.15, seed=0)
    line = Sequential([Input((2,)), Dense(1, activation="sigmoid")])
    line.compile(loss="binary_crossentropy", optimizer=Adam(learning_rate=0.05), metrics=["accuracy"])
    line.fit(xx, tx, batch_size=32, epochs=epochs, verbose=0)
    metrics["neuron_xor"] = float(line.evaluate(xx, tx, verbose=0)[1])
    mlp = Sequential([Input((2,)), Dense(8, activation="tanh"), Dense(1, activation="sigmoid")])
    mlp.compile(loss="binary_crossentropy", optimizer=Adam(learning_rate=0.05), metrics=["accuracy"])
    mlp.fit(xx, tx, batch_size=32, epochs=epochs, verbose=0)
    metrics["mlp_xor"] = float(mlp.evaluate(xx, tx, verbose=0)[1])
    c.say(verbose, _("Noisy XOR: one neuron {one:.3f}, a hidden layer of 8 tanh units {mlp:.3f}").format(
        one=metrics["neuron_xor"], mlp=metrics["mlp_xor"]))
    metrics = {"mlp_xor": metrics.pop("mlp_xor"), **metrics}

    sec = c.section(report, "perceptron")
    if sec is not None:
        from .. import plot

        sec.table([_("gate"), _("accuracy"), _("what the perceptron learned")], rows,
                  _("Rosenblatt's perceptron on the logic gates"))
        c.metrics_table(sec, metrics)
        sec.plot(plot.decision_boundary, _quiet(neuron), x, t,
                 caption=_("One sigmoid neuron: a straight line between two clouds of points"))
        sec.plot(plot.decision_boundary, _quiet(line), xx, tx, caption=_("One neuron cannot separate XOR"))
        sec.plot(plot.decision_boundary, _quiet(mlp), xx, tx, caption=_("A hidden layer of 8 tanh units can"))
    return metrics
