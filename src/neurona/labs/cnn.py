"""Deck 002's convolutional network on handwritten digits, and pictures of what it learned.

The slides' model, as printed there: Conv2D(32, 5x5, relu) 832 parameters, MaxPooling2D, Conv2D(64, 5x5, relu)
51,264, MaxPooling2D, Flatten (1,024 values), Dense(10, softmax) 10,250: 62,346 in all. The slides reach about
0.97 on MNIST; on the embedded digits (28x28) it gets there in a few epochs of SGD with momentum.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..i18n import _
from . import _common as c


def build_model() -> Any:
    """The slides' code, with `keras` replaced by `neurona`."""
    from .. import layers, models

    model = models.Sequential()
    model.add(layers.Conv2D(32, (5, 5), activation="relu", input_shape=(28, 28, 1)))
    model.add(layers.MaxPooling2D((2, 2)))
    model.add(layers.Conv2D(64, (5, 5), activation="relu"))
    model.add(layers.MaxPooling2D((2, 2)))
    model.add(layers.Flatten())
    model.add(layers.Dense(10, activation="softmax"))
    return model


def run(quick: bool = False, *, report: Any = None, verbose: int = 1) -> dict[str, float]:
    from ..datasets import digits
    from ..optimizers import SGD
    from ..utils import to_categorical

    c.start(0)
    (train_images, train_labels), (test_images, test_labels) = digits.load_data(size=28, seed=0)
    if quick:
        train_images, train_labels = train_images[:600], train_labels[:600]
    train_images = train_images.reshape((len(train_images), 28, 28, 1)).astype("float32") / 255
    test_images = test_images.reshape((len(test_images), 28, 28, 1)).astype("float32") / 255

    model = build_model()
    summary: list[str] = []
    model.summary(print_fn=summary.append)
    if verbose:
        print(summary[0])
    # A learning rate of 0.05 with momentum 0.9 killed 13 of the 32 first-layer filters within three epochs
    # (dead ReLUs: their output is 0 on every image, so their feature maps are blank); 0.01 keeps them all alive.
    model.compile(loss="categorical_crossentropy", optimizer=SGD(learning_rate=0.01, momentum=0.9),
                  metrics=["accuracy"])
    epochs = 3 if quick else 12
    c.say(verbose, _("Training the slides' CNN on {n} digits for {epochs} epochs").format(
        n=len(train_images), epochs=epochs))
    history = model.fit(train_images, to_categorical(train_labels, 10), batch_size=50 if quick else 100,
                        epochs=epochs, validation_split=0.1, **c.fit_options(epochs, verbose))
    test_loss, test_acc = model.evaluate(test_images, to_categorical(test_labels, 10), verbose=0)
    predicted = model.predict(test_images, verbose=0).argmax(axis=1)
    c.say(verbose, _("Test accuracy: {acc:.4f}").format(acc=test_acc))
    metrics = {"test_accuracy": float(test_acc), "test_loss": float(test_loss)}

    sec = c.section(report, "cnn")
    if sec is not None:
        from .. import plot

        c.metrics_table(sec, metrics)
        sec.preformatted(summary[0])
        c.add_history(sec, history)
        c.add_confusion(sec, test_labels, predicted, [str(d) for d in range(10)])
        sec.plot(plot.conv_filters, model.layers[0].kernel.data,
                 caption=_("The 32 filters (5x5) the first convolution learned"))
        image = test_images[:1]
        maps = model.layers[1](model.layers[0](image)).data[0]
        sec.plot(plot.feature_maps, maps, title="",
                 caption=_("What the first convolution and pooling make of one test digit (a {digit}): its 32 "
                           "feature maps, 12x12 each").format(digit=int(test_labels[0])))
        wrong = np.flatnonzero(predicted != test_labels)
        if len(wrong):
            sec.plot(plot.images, test_images[wrong[:16], :, :, 0], test_labels[wrong[:16]], predicted[wrong[:16]],
                     caption=_("Test digits the network got wrong (true / predicted)"))
    return metrics
