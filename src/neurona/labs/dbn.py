"""A deep belief network on the digits: greedy RBM pre-training, then fine-tuning by fit (Hinton et al. 2006).

Two RBMs (64 -> 128 -> 64) learn from the training digits without their labels, each from the features of
the one below; their weights become the first two sigmoid Dense layers of a classifier, fine-tuned with
backpropagation. The same network trained from scratch, with the same optimizer, is the baseline: both are
trained with every label, and again with only 10 labelled digits per class (the pre-training still sees all
the images, as unlabelled data).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..i18n import _
from . import _common as c

TARGET = 0.9  # the accuracy whose epoch of arrival is reported


def _epochs_to(curve: list[float], target: float) -> float:
    """The first epoch (1-based) whose test accuracy reaches `target`; len(curve) + 1 if none does."""
    for i, value in enumerate(curve):
        if value >= target:
            return float(i + 1)
    return float(len(curve) + 1)


def run(quick: bool = False, *, report: Any = None, verbose: int = 1) -> dict[str, float]:
    from ..datasets import digits
    from ..generative.dbn import pretrain, scratch_like, to_dense
    from ..optimizers import SGD

    c.start(0)
    (x_train, y_train), (x_test, y_test) = digits.load_data(seed=0)
    x_train = (x_train.reshape(len(x_train), -1) / 16.0).astype(np.float32)  # grey levels as probabilities
    x_test = (x_test.reshape(len(x_test), -1) / 16.0).astype(np.float32)
    if quick:
        x_train, y_train = x_train[:600], y_train[:600]
    rbm_epochs, rbm_rate, epochs = (10, 0.1, 8) if quick else (20, 0.05, 30)
    c.say(verbose, _("Pre-training two RBMs (64 -> 128 -> 64) on {n} unlabelled digits, {epochs} epochs each").format(
        n=len(x_train), epochs=rbm_epochs))
    rbms = pretrain(x_train, (128, 64), epochs=rbm_epochs, batch_size=10, learning_rate=rbm_rate, verbose=verbose)
    few = np.concatenate([np.flatnonzero(y_train == d)[:10] for d in range(10)])
    metrics: dict[str, float] = {}
    curves: dict[str, list[float]] = {}
    rows = []
    for labels, idx in (("all", np.arange(len(x_train))), ("few", few)):
        for name, model in (("dbn", to_dense(rbms, 10)), ("scratch", scratch_like(rbms, 10))):
            model.compile(optimizer=SGD(0.5), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
            n_epochs = epochs if labels == "all" else epochs * 3
            history = model.fit(x_train[idx], y_train[idx], batch_size=32 if labels == "all" else 10,
                                epochs=n_epochs, validation_data=(x_test, y_test), verbose=0)
            curve = history.history["val_accuracy"]
            key = f"{name}_{labels}"
            curves[key] = curve
            metrics[f"{key}_accuracy"] = float(curve[-1])
            metrics[f"{key}_first_epoch"] = float(curve[0])
            reached = _epochs_to(curve, TARGET)
            if reached <= len(curve):  # only reported when reached
                metrics[f"{key}_epochs_to_90"] = reached
            rows.append([key, len(idx), f"{curve[0]:.3f}", f"{curve[-1]:.3f}",
                         str(int(reached)) if reached <= len(curve) else _("more than {n}").format(n=len(curve))])
            c.say(verbose, _("{model} with {n} labels: test accuracy {first:.3f} after 1 epoch, {last:.3f} after "
                             "{epochs}; epochs to reach {target:.0%}: {reached}").format(
                model=_("pre-trained DBN") if name == "dbn" else _("from scratch"), n=len(idx), first=curve[0],
                last=curve[-1], epochs=len(curve), target=TARGET, reached=rows[-1][-1]))

    sec = c.section(report, "dbn")
    if sec is not None:
        from .. import plot

        c.metrics_table(sec, metrics)
        sec.table([_("model"), _("labels"), _("accuracy after 1 epoch"), _("final accuracy"),
                   _("epochs to reach 90%")], rows, _("Pre-trained DBN against the same network from scratch"))
        for labels in ("all", "few"):
            sec.plot(plot.history, {_("pre-trained DBN"): curves[f"dbn_{labels}"],
                                    _("from scratch"): curves[f"scratch_{labels}"]},
                     caption=_("Test accuracy per epoch ({which} labels): pre-trained vs from scratch").format(
                         which=_("all") if labels == "all" else _("10 per class")))
    return metrics
