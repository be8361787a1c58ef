"""Transfer learning (deck 002): reuse a network trained on one task for a new task that has little data.

The source network is the LeNet-5 neurona ships (`neurona.pretrained.load_lenet_digits()`), which knows the
handwritten digits 0-4. The new task is to tell apart the digits 5-9 from 20 images of each. Its convolutions
learned strokes, curves and corners that serve any digit, so:

1. Feature extraction: freeze the pretrained layers (`trainable = False`) and train only a new classifier.
2. Fine-tuning: unfreeze the top dense layers too and train on with a small learning rate.

A LeNet-5 trained from scratch on the same 100 images shows what the transfer is worth. On these clean,
centred digits it wins: 20 images of each are enough for so easy a task, and the pretrained features, tuned to
0-4, help less than they constrain. Transfer pays off when the new task is hard for its few labels, so the lab
then repeats the comparison on the same digits shifted by up to 4 pixels and covered in noise, 20 labelled
images of each 5-9, with a source network trained on plenty of such images of 0-4: there the fine-tuned source
network beats the network trained from scratch.
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


def harder(x: np.ndarray, rng: np.random.Generator, noise: float = 0.5, shift: int = 4) -> np.ndarray:
    """The images shifted by up to `shift` pixels each way and covered in Gaussian noise (pixels in [0, 1])."""
    out = np.empty_like(x)
    for i, (dy, dx) in enumerate(rng.integers(-shift, shift + 1, (len(x), 2))):
        out[i] = np.roll(x[i], (dy, dx), axis=(0, 1))
    return np.clip(out + rng.normal(0, noise, out.shape).astype(x.dtype), 0, 1)


def hard_task(per_class: int, seed: int = 0) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """The harder case: every training image of 0-4 (the source task, plenty of labels), `per_class` of each
    digit 5-9 and all test images of 5-9 (labels 0-4), all shifted and noisy."""
    from ..datasets import digits

    (x_train, y_train), _test = digits.load_data(size=28, seed=0)
    rng = np.random.default_rng(seed)
    source = np.flatnonzero(y_train < 5)
    x_source = harder(x_train[source].reshape(-1, 28, 28, 1).astype("float32") / 255, rng)
    (x_new, y_new), (x_test, y_test) = new_task(per_class, seed)
    return (x_source, y_train[source]), (harder(x_new, rng), y_new), (harder(x_test, rng), y_test)


def _accuracy(model: Any, x: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean(model.predict(x, verbose=0).argmax(axis=1) == y))


def hard_case(epochs: int, source_epochs: int, seed: int = 0, verbose: int = 1, per_class: int = 20
              ) -> tuple[dict[str, float], Any]:
    """Feature extraction and fine-tuning of a source network trained on noisy, shifted 0-4, against scratch,
    on `per_class` noisy, shifted images of each 5-9; returns the three test accuracies and the fine-tuning's
    history."""
    from .. import layers
    from ..applications import LeNet5
    from ..models import Model
    from ..optimizers import Adam

    (x_source, y_source), (x_few, y_few), (x_test, y_test) = hard_task(per_class, seed)
    loss = "sparse_categorical_crossentropy"
    c.say(verbose, _("4a. Source network: a LeNet-5 trained on {n} noisy, shifted images of 0-4").format(
        n=len(x_source)))
    source = LeNet5(input_shape=(28, 28, 1), classes=5, name="source")
    source.compile(optimizer=Adam(1e-3), loss=loss, metrics=["accuracy"])
    source.fit(x_source, y_source, batch_size=32, epochs=source_epochs, **c.fit_options(source_epochs, verbose))

    base = Model(source.input, source.get_layer("f6").output, name="source_base")
    base.trainable = False
    inputs = layers.Input(shape=(28, 28, 1))
    model = Model(inputs, layers.Dense(5, activation="softmax", name="new_classifier")(base(inputs)))
    model.compile(optimizer=Adam(1e-2), loss=loss, metrics=["accuracy"])
    c.say(verbose, _("4b. Feature extraction, then fine-tuning of every layer, on {n} noisy images of 5-9").format(
        n=len(x_few)))
    model.fit(x_few, y_few, batch_size=20, epochs=2 * epochs, **c.fit_options(2 * epochs, verbose))
    result = {"hard_feature_extraction": _accuracy(model, x_test, y_test)}
    base.trainable = True
    model.compile(optimizer=Adam(1e-3), loss=loss, metrics=["accuracy"])
    history = model.fit(x_few, y_few, batch_size=20, epochs=epochs, **c.fit_options(epochs, verbose))
    result["hard_fine_tuning"] = _accuracy(model, x_test, y_test)

    c.say(verbose, _("4c. The same LeNet-5 from scratch on the same {n} noisy images").format(n=len(x_few)))
    scratch = LeNet5(input_shape=(28, 28, 1), classes=5, name="hard_scratch")
    scratch.compile(optimizer=Adam(1e-3), loss=loss, metrics=["accuracy"])
    scratch.fit(x_few, y_few, batch_size=20, epochs=3 * epochs, **c.fit_options(3 * epochs, verbose))
    result["hard_from_scratch"] = _accuracy(scratch, x_test, y_test)
    return result, history


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
    why = _("Why from scratch wins here: the task is easy (small, centred, noise-free digits that look alike) "
            "and 20 labelled images of each digit are enough to learn it; the pretrained features, tuned to the "
            "digits 0-4, constrain the network more than they help. Transfer pays off when the labels are few "
            "for how hard the task is.")
    if metrics["from_scratch"] < max(metrics["feature_extraction"], metrics["fine_tuning"]):
        why = _("This time transfer did better than training from scratch even on the easy task.")
    c.say(verbose, why)

    c.say(verbose, _("4. A harder task: the digits shifted by up to 4 pixels and covered in noise, again 20 "
                     "labelled images of each 5-9"))
    hard, hard_history = hard_case(epochs, 10 if quick else 20, verbose=verbose)
    metrics.update(hard)
    hard_names = {"hard_feature_extraction": _("feature extraction (frozen source base)"),
                  "hard_fine_tuning": _("fine-tuning (every layer of the source network)"),
                  "hard_from_scratch": _("from scratch, no transfer")}
    c.say(verbose, _("Test accuracy on digits 5-9, easy task (clean digits) and harder task (noisy, shifted):"))
    for (key, value), (hard_key, hard_value) in zip(list(metrics.items())[:3], hard.items()):
        c.say(verbose, f"  {names[key]}: {value:.3f}  |  {hard_names[hard_key]}: {hard_value:.3f}")
    if hard["hard_fine_tuning"] > hard["hard_from_scratch"]:
        c.say(verbose, _("On the harder task the source network's features, learned from many noisy images, are "
                         "worth more than what 100 noisy images can teach a network from scratch."))
    else:
        c.say(verbose, _("This time fine-tuning did not beat training from scratch on the harder task either."))

    sec = c.section(report, "transfer")
    if sec is not None:
        sec.table([_("training"), _("test accuracy on digits 5-9")],
                  [[names[k], f"{v:.3f}"] for k, v in list(metrics.items())[:3]], _("Results"))
        sec.text(why)
        sec.table([_("training"), _("test accuracy on noisy, shifted digits 5-9")],
                  [[hard_names[k], f"{v:.3f}"] for k, v in hard.items()], _("The harder task"))
        c.add_history(sec, history, _("feature extraction"))
        c.add_history(sec, hard_history, _("fine-tuning on the harder task"))
    return metrics
