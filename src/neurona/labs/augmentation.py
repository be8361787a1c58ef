"""Data augmentation (deck 002): more training images made from the ones we have, by small random changes.

`ImageDataGenerator` shifts, rotates and zooms every training batch anew, so the network never sees the same
image twice and learns what a digit is rather than where its pixels happen to sit. Two copies of the same
network are trained on the same few digits, with and without augmentation, and tested on the untouched test
digits and on a copy of them moved and turned at random (as handwriting in the wild would be).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..i18n import _
from . import _common as c


def _network() -> Any:
    from ..layers import Dense, Flatten, Input
    from ..models import Sequential
    from ..optimizers import Adam

    model = Sequential([Input((28, 28, 1)), Flatten(), Dense(128, activation="relu"), Dense(10, activation="softmax")])
    model.compile(loss="sparse_categorical_crossentropy", optimizer=Adam(learning_rate=2e-3), metrics=["accuracy"])
    return model


def _accuracy(model: Any, x: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean(model.predict(x, verbose=0).argmax(axis=1) == y))


def run(quick: bool = False, *, report: Any = None, verbose: int = 1) -> dict[str, float]:
    from ..datasets import digits
    from ..preprocessing.image import ImageDataGenerator

    c.start(0)
    (x_train, y_train), (x_test, y_test) = digits.load_data(size=28, seed=0)
    n = 300 if quick else 600
    x_train = x_train[:n].reshape(-1, 28, 28, 1).astype("float32") / 255
    y_train = y_train[:n]
    x_test = x_test.reshape(-1, 28, 28, 1).astype("float32") / 255

    augment = ImageDataGenerator(rotation_range=20, width_shift_range=0.15, height_shift_range=0.15,
                                 zoom_range=0.1, fill_mode="constant", cval=0.0)
    x_moved = next(augment.flow(x_test, y_test, batch_size=len(x_test), shuffle=False, seed=123))[0]

    epochs = 6 if quick else 30
    c.say(verbose, _("Training on {n} original digits for {epochs} epochs").format(n=n, epochs=epochs))
    plain = _network()
    plain.fit(x_train, y_train, batch_size=32, epochs=epochs, **c.fit_options(epochs, verbose))
    c.say(verbose, _("Training the same network on augmented digits (new random changes every batch)"))
    augmented = _network()
    batches = augment.flow(x_train, y_train, batch_size=32, seed=0)
    history = augmented.fit(batches, steps_per_epoch=len(batches), epochs=epochs, **c.fit_options(epochs, verbose))

    metrics = {"augmented_on_moved": _accuracy(augmented, x_moved, y_test),
               "plain_on_moved": _accuracy(plain, x_moved, y_test),
               "augmented_on_original": _accuracy(augmented, x_test, y_test),
               "plain_on_original": _accuracy(plain, x_test, y_test)}
    rows = [[_("without augmentation"), f"{metrics['plain_on_original']:.3f}", f"{metrics['plain_on_moved']:.3f}"],
            [_("with augmentation"), f"{metrics['augmented_on_original']:.3f}",
             f"{metrics['augmented_on_moved']:.3f}"]]
    header = [_("training"), _("test accuracy, original digits"), _("test accuracy, moved and turned digits")]
    if verbose:
        width = max(len(r[0]) for r in rows)
        print(f"{'':{width}}  {header[1]:>32}  {header[2]:>40}")
        for name, a, b in rows:
            print(f"{name:{width}}  {a:>32}  {b:>40}")

    sec = c.section(report, "augmentation")
    if sec is not None:
        from .. import plot

        sec.table(header, rows, _("Results"))
        c.add_history(sec, history, _("with augmentation"))
        sample_x, sample_y = next(augment.flow(x_train[:16], y_train[:16], batch_size=16, shuffle=False, seed=1))
        sec.plot(plot.images, sample_x[..., 0], sample_y, n=16,
                 caption=_("Augmented training digits: each batch gets new random shifts, turns and zooms"))
        sec.plot(plot.images, x_moved[:16, :, :, 0], y_test[:16], augmented.predict(x_moved[:16], verbose=0), n=16,
                 caption=_("Moved and turned test digits, with what the augmented network reads"))
    return metrics
