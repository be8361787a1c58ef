"""Lab "aprender a sumar 2 números" (deck 001): a regression network learns x1 + x2 from examples.

The slides' training set is rows (x1, x2, t) such as (10, -2, 8); the network fits t by least squares and is
judged on a test set by the error E = mean (t - y)^2 and Pearson's rho between targets and predictions.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..i18n import _
from ..i18n.numbers import number
from . import _common as c


def run(quick: bool = False, *, report: Any = None, verbose: int = 1) -> dict[str, float]:
    from ..datasets import synthetic
    from ..layers import Dense, Input
    from ..models import Sequential
    from ..optimizers import Adam
    from ..preprocessing import Standardizer, train_test_split

    c.start(0)
    x, t = synthetic.sum_pairs(400 if quick else 1000, seed=0)          # integers in -10..20, t = x1 + x2
    x_train, x_test, t_train, t_test = train_test_split(x, t, test_size=0.2, seed=0)
    scaler = Standardizer().fit(x_train)                                 # the slides' (x - mean) / std

    model = Sequential([Input((2,)), Dense(10, activation="relu"), Dense(1)])
    model.compile(loss="mse", optimizer=Adam(learning_rate=0.02))
    epochs = 40 if quick else 150
    c.say(verbose, _("Training a 2-10-1 network to add two numbers ({n} examples, {epochs} epochs)").format(
        n=len(x_train), epochs=epochs))
    history = model.fit(scaler.transform(x_train), t_train, batch_size=32, epochs=epochs, validation_split=0.2,
                        **c.fit_options(epochs, verbose))
    y_test = model.predict(scaler.transform(x_test), verbose=0)
    metrics = c.regression_metrics(t_test, y_test)

    pairs = np.array([[3, 4], [10, -2], [15, 15]], dtype="float32")
    answers = model.predict(scaler.transform(pairs), verbose=0).ravel()
    examples = [f"{number(a, 'g')} + {number(b, 'g')} = {number(y, '.2f')}" for (a, b), y in zip(pairs, answers)]
    c.say(verbose, _("Test set: E = {mse:.4f}, rho = {r:.5f}, R2 = {r2:.5f}").format(
        mse=metrics["mse"], r=metrics["pearson_r"], r2=metrics["r2"]))
    c.say(verbose, _("The network's answers: {examples}").format(examples=", ".join(examples)))

    sec = c.section(report, "sum")
    if sec is not None:
        c.metrics_table(sec, metrics)
        sec.table([_("question"), _("network's answer")], [e.split(" = ") for e in examples])
        from .. import plot

        sec.plot(plot.history, history, logy=True,
                 caption=_("Learning curves (training and validation), the loss on a logarithmic scale"))
        c.add_scatter(sec, t_test, y_test, _("x1 + x2: prediction against truth"))
    return metrics
