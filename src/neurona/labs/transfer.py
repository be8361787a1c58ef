"""Transfer learning (deck 002): reuse a network trained on one task for a new task that has little data.

The source network is the LeNet-5 neurona ships (`neurona.pretrained.load_lenet_digits()`), which knows the
handwritten digits 0-4. The new task is to tell apart the digits 5-9 from 20 images of each. Its convolutions
learned strokes, curves and corners that serve any digit, so:

1. Feature extraction: freeze the pretrained layers (`trainable = False`) and train only a new classifier.
2. Fine-tuning: unfreeze the top dense layers too and train on with a small learning rate.

A LeNet-5 trained from scratch on the same 100 images shows what the transfer is worth.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..i18n import _
from . import _common as c

NEW_CLASSES = [5, 6, 7, 8, 9]


def new_task(per_class: int, seed: int = 0) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """`per_class` training images of each digit 5-9 (drawn with `seed`) and all the test images of them;
    labels 0-4."""
    from ..datasets import digits

    (x_train, y_train), (x_test, y_test) = digits.load_data(size=28, seed=0)
    rng = np.random.default_rng(seed)
    train = np.concatenate([rng.choice(np.flatnonzero(y_train == k), per_class, replace=False) for k in NEW_CLASSES])
    test = np.flatnonzero(np.isin(y_test, NEW_CLASSES))

    def prepare(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return x.reshape(-1, 28, 28, 1).astype("float32") / 255, np.searchsorted(NEW_CLASSES, y)

    return prepare(x_train[train], y_train[train]), prepare(x_test[test], y_test[test])


def _accuracy(model: Any, x: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean(model.predict(x, verbose=0).argmax(axis=1) == y))


def run(quick: bool = False, *, report: Any = None, verbose: int = 1) -> dict[str, float]:
    from .. import layers
    from ..applications import LeNet5
    from ..models import Model
    from ..optimizers import Adam
    from ..pretrained import lenet_digits_info, load_lenet_digits

    c.start(0)
    (x_train, y_train), (x_test, y_test) = new_task(per_class=20)
    epochs = 6 if quick else 30
    pretrained = load_lenet_digits()
    c.say(verbose, _("Pretrained LeNet-5: digits 0-4, test accuracy {acc:.3f} on its own task").format(
        acc=lenet_digits_info()["test_accuracy"]))
    base = Model(pretrained.input, pretrained.get_layer("f6").output, name="lenet_base")  # its 84 features

    base.trainable = False
    inputs = layers.Input(shape=(28, 28, 1))
    outputs = layers.Dense(len(NEW_CLASSES), activation="softmax", name="new_classifier")(base(inputs))
    model = Model(inputs, outputs, name="transfer")
    model.compile(optimizer=Adam(1e-2), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    c.say(verbose, _("1. Feature extraction: base frozen, a new classifier trained on {n} images of 5-9").format(
        n=len(x_train)))
    history = model.fit(x_train, y_train, batch_size=20, epochs=epochs, **c.fit_options(epochs, verbose))
    metrics = {"feature_extraction": _accuracy(model, x_test, y_test)}

    base.trainable = True
    for layer in base.layers:
        layer.trainable = layer.name in ("c5", "f6")
    model.compile(optimizer=Adam(1e-3), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    c.say(verbose, _("2. Fine-tuning: the base's dense layers c5 and f6 unfrozen, small learning rate"))
    model.fit(x_train, y_train, batch_size=20, epochs=epochs, **c.fit_options(epochs, verbose))
    metrics["fine_tuning"] = _accuracy(model, x_test, y_test)

    c.say(verbose, _("3. For comparison: the same LeNet-5 trained from scratch on the same images"))
    scratch = LeNet5(input_shape=(28, 28, 1), classes=len(NEW_CLASSES), name="scratch")
    scratch.compile(optimizer=Adam(1e-3), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    scratch.fit(x_train, y_train, batch_size=20, epochs=2 * epochs, **c.fit_options(2 * epochs, verbose))
    metrics["from_scratch"] = _accuracy(scratch, x_test, y_test)

    names = {"feature_extraction": _("feature extraction (frozen base)"),
             "fine_tuning": _("fine-tuning (top of the base unfrozen)"),
             "from_scratch": _("from scratch, no transfer")}
    for key, value in metrics.items():
        c.say(verbose, _("{what}: test accuracy {acc:.3f}").format(what=names[key], acc=value))
    sec = c.section(report, "transfer")
    if sec is not None:
        sec.table([_("training"), _("test accuracy on digits 5-9")],
                  [[names[k], f"{v:.3f}"] for k, v in metrics.items()], _("Results"))
        c.add_history(sec, history, _("feature extraction"))
    return metrics
