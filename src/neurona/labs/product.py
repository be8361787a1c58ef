"""Lab exercise 1 of deck 001: "entrenad una red para que aprenda a multiplicar 4 números".

A product is far from linear, so this network needs hidden layers and more data than the sum: two tanh layers
of 64 units, trained with Adam on 4,000 quadruples drawn from [-1, 1).
"""

from __future__ import annotations

from typing import Any

from ..i18n import _
from . import _common as c


def run(quick: bool = False, *, report: Any = None, verbose: int = 1) -> dict[str, float]:
    from ..callbacks import EarlyStopping
    from ..datasets import synthetic
    from ..layers import Dense, Input
    from ..models import Sequential
    from ..optimizers import Adam
    from ..preprocessing import Standardizer, train_test_split

    c.start(0)
    x, t = synthetic.product4(2000 if quick else 4000, seed=0)        # t = x1 * x2 * x3 * x4
    x_train, x_test, t_train, t_test = train_test_split(x, t, test_size=0.2, seed=0)
    target = Standardizer().fit(t_train)      # products are small (std 0.11): unit scale trains far better

    model = Sequential([Input((4,)), Dense(64, activation="tanh"), Dense(64, activation="tanh"), Dense(1)])
    model.compile(loss="mse", optimizer=Adam(learning_rate=3e-3))
    epochs = 40 if quick else 200
    c.say(verbose, _("Training a 4-64-64-1 network to multiply four numbers ({n} examples, up to {epochs} "
                     "epochs)").format(n=len(x_train), epochs=epochs))
    stop = EarlyStopping(monitor="val_loss", patience=30, restore_best_weights=True)
    options = c.fit_options(epochs, verbose)
    options["callbacks"] = options.get("callbacks", []) + [stop]
    history = model.fit(x_train, target.transform(t_train), batch_size=32, epochs=epochs, validation_split=0.2,
                        **options)
    y_test = target.inverse_transform(model.predict(x_test, verbose=0))
    metrics = c.regression_metrics(t_test, y_test)
    c.say(verbose, _("Test set: E = {mse:.4f}, rho = {r:.5f}, R2 = {r2:.5f}").format(
        mse=metrics["mse"], r=metrics["pearson_r"], r2=metrics["r2"]))

    sec = c.section(report, "product")
    if sec is not None:
        c.metrics_table(sec, metrics)
        c.add_history(sec, history)
        c.add_scatter(sec, t_test, y_test, _("x1 x2 x3 x4: prediction against truth"))
    return metrics
