"""Deck 002's Keras workflow on handwritten digits: load, define, compile, fit, evaluate, predict.

The slides train `Dense(10, sigmoid, input_shape=(784,))` + `Dense(10, softmax)` on MNIST with SGD, batches of
100, 5 epochs (about 0.90 test accuracy). Offline, neurona's embedded digits (1,797 images upscaled to MNIST's
28x28) stand in for MNIST: 40 times fewer images, so this lab runs more epochs with a larger learning rate
(0.5 instead of SGD's default 0.01) to take a comparable number of steps.

It also trains the softmax regression (784 inputs straight into 10 softmax units) whose weights, drawn as
28x28 pictures, are the slides' "evidence" for each digit: blue where ink speaks for the digit, red against.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..i18n import _
from . import _common as c


def load(quick: bool) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Flattened images in [0, 1] and one-hot labels, prepared as the slides prepare MNIST."""
    from ..datasets import digits
    from ..utils import to_categorical

    (x_train, y_train), (x_test, y_test) = digits.load_data(size=28, seed=0)
    if quick:
        x_train, y_train = x_train[:600], y_train[:600]
    x_train = x_train.reshape(len(x_train), 784).astype("float32") / 255
    x_test = x_test.reshape(len(x_test), 784).astype("float32") / 255
    return (x_train, to_categorical(y_train, 10)), (x_test, to_categorical(y_test, 10))


def run(quick: bool = False, *, report: Any = None, verbose: int = 1) -> dict[str, float]:
    from ..layers import Dense
    from ..models import Sequential
    from ..optimizers import SGD

    c.start(0)
    (x_train, y_train), (x_test, y_test) = load(quick)

    model = Sequential()
    model.add(Dense(10, activation="sigmoid", input_shape=(784,)))
    model.add(Dense(10, activation="softmax"))
    summary: list[str] = []
    model.summary(print_fn=summary.append)
    if verbose:
        print(summary[0])
    model.compile(loss="categorical_crossentropy", optimizer=SGD(learning_rate=0.5), metrics=["accuracy"])
    epochs = 15 if quick else 40
    c.say(verbose, _("Training the slides' 784-10-10 network on {n} digits for {epochs} epochs").format(
        n=len(x_train), epochs=epochs))
    history = model.fit(x_train, y_train, batch_size=100, epochs=epochs, validation_split=0.1,
                        **c.fit_options(epochs, verbose))
    test_loss, test_acc = model.evaluate(x_test, y_test, verbose=0)
    predicted = model.predict(x_test, verbose=0).argmax(axis=1)
    c.say(verbose, _("Test accuracy: {acc:.4f}").format(acc=test_acc))

    evidence = Sequential([Dense(10, activation="softmax", input_shape=(784,))])
    evidence.compile(loss="categorical_crossentropy", optimizer=SGD(learning_rate=0.5), metrics=["accuracy"])
    evidence.fit(x_train, y_train, batch_size=100, epochs=epochs, verbose=0)
    _loss, evidence_acc = evidence.evaluate(x_test, y_test, verbose=0)
    c.say(verbose, _("Softmax regression (784-10), whose weights are the evidence pictures: test accuracy "
                     "{acc:.4f}").format(acc=evidence_acc))

    metrics = {"test_accuracy": float(test_acc), "test_loss": float(test_loss),
               "softmax_regression_accuracy": float(evidence_acc)}
    sec = c.section(report, "mnist-mlp")
    if sec is not None:
        from .. import plot

        c.metrics_table(sec, metrics)
        sec.preformatted(summary[0])
        c.add_history(sec, history)
        c.add_confusion(sec, y_test.argmax(axis=1), predicted, [str(d) for d in range(10)])
        sec.plot(plot.dense_weights_as_images, evidence.layers[0].kernel.data, shape=(28, 28),
                 class_names=[str(d) for d in range(10)],
                 caption=_("The evidence for each digit: the softmax regression's weights as 28x28 pictures, "
                           "blue where ink is evidence for the digit, red where it is evidence against it"))
    return metrics
