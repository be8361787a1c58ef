"""Lab exercise 2 of deck 001: "clasificar vino según su cultivador".

178 Italian wines, 13 chemical measurements each, three cultivators. The slides standardise the features and
train `MLPClassifier(hidden_layer_sizes=(13, 13, 13))`; here the same network is written the Keras way, then
judged with `confusion_matrix` and `classification_report` as in the slides.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..i18n import _
from . import _common as c


def run(quick: bool = False, *, report: Any = None, verbose: int = 1) -> dict[str, float]:
    from ..datasets import wine
    from ..layers import Dense, Input
    from ..metrics import f1_score
    from ..models import Sequential
    from ..optimizers import Adam
    from ..preprocessing import Standardizer
    from ..report.classification import classification_report_text

    c.start(0)
    (x_train, y_train), (x_test, y_test) = wine.load_data(test_size=0.2, seed=0)   # 142 / 36 wines, stratified
    scaler = Standardizer().fit(x_train)
    x_train, x_test = scaler.transform(x_train), scaler.transform(x_test)

    model = Sequential([Input((13,)), Dense(13, activation="relu"), Dense(13, activation="relu"),
                        Dense(13, activation="relu"), Dense(3, activation="softmax")])
    model.compile(loss="sparse_categorical_crossentropy", optimizer=Adam(learning_rate=0.003), metrics=["accuracy"])
    epochs = 20 if quick else 60
    c.say(verbose, _("Training a 13-13-13-13-3 network on {n} wines for {epochs} epochs").format(
        n=len(x_train), epochs=epochs))
    history = model.fit(x_train, y_train, batch_size=16, epochs=epochs, validation_split=0.15,
                        **c.fit_options(epochs, verbose))
    predicted = model.predict(x_test, verbose=0).argmax(axis=1)
    names = [_("cultivator {k}").format(k=k + 1) for k in range(3)]
    metrics = {"test_accuracy": float(np.mean(predicted == y_test)),
               "macro_f1": float(f1_score(y_test, predicted, average="macro"))}
    text = classification_report_text(y_test, predicted, target_names=names, zero_division=0)
    c.say(verbose, _("Test accuracy {acc:.3f} on {n} wines").format(acc=metrics["test_accuracy"], n=len(y_test)))
    c.say(verbose, text)

    sec = c.section(report, "wine")
    if sec is not None:
        c.metrics_table(sec, metrics)
        sec.preformatted(text)
        c.add_history(sec, history)
        c.add_confusion(sec, y_test, predicted, names)
    return metrics
