"""Forecasting a seasonal series (deck 003, "Redes Recurrentes"): an LSTM against a dense window model and
the last-value baseline.

The series has a trend, a 24-step season, a 7-step season and noise. Each model sees the recent past and
predicts the value `HORIZON` steps ahead. Inputs are the window minus its last value and the target is the
change from that value, so the trend does not push the test inputs outside what training saw. The LSTM
reads the last `WINDOW` values step by step; the dense window model is a small MLP on the last `SHORT`
values (a fixed window, as in TensorFlow's time-series tutorial); the baseline repeats the last value.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..i18n import _
from . import _common as c

WINDOW, SHORT, HORIZON = 36, 12, 4


def make_series(n: int, seed: int = 0) -> np.ndarray:
    """Trend + two seasons + Gaussian noise (sd 0.3)."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    return (0.002 * t + np.sin(2 * np.pi * t / 24) + 0.5 * np.sin(2 * np.pi * t / 7)
            + rng.normal(0, 0.3, n)).astype(np.float32)


def make_windows(y: np.ndarray, window: int = WINDOW, horizon: int = HORIZON
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(windows minus their last value, change `horizon` steps after the window, the last values)."""
    idx = np.arange(window)[None] + np.arange(len(y) - window - horizon + 1)[:, None]
    x = y[idx]
    last = x[:, -1]
    return x - last[:, None], y[idx[:, -1] + horizon] - last, last


def build_lstm(units: int = 32) -> Any:
    from .. import layers, models

    return models.Sequential([layers.Input((WINDOW, 1)), layers.LSTM(units), layers.Dense(1)])


def build_dense(units: int = 32) -> Any:
    from .. import layers, models

    return models.Sequential([layers.Input((SHORT,)), layers.Dense(units, activation="relu"), layers.Dense(1)])


def _forecast_plot(truth: np.ndarray, lstm: np.ndarray, dense: np.ndarray, last: np.ndarray) -> Any:
    from ..plot._base import figure

    fig = figure((7.5, 3.6))
    ax = fig.add_subplot()
    steps = np.arange(len(truth))
    ax.plot(steps, truth, color="black", linewidth=1.2, label=_("truth"))
    ax.plot(steps, lstm, label="LSTM")
    ax.plot(steps, dense, label=_("dense window model"), alpha=0.8)
    ax.plot(steps, last, label=_("last value"), alpha=0.6, linestyle=":")
    ax.set_xlabel(_("test step"))
    ax.legend(loc="upper right", fontsize=8)
    return fig


def run(quick: bool = False, *, report: Any = None, verbose: int = 1) -> dict[str, float]:
    from ..optimizers import Adam

    c.start(0)
    n, epochs = (900, 6) if quick else (2400, 25)
    x, d, last = make_windows(make_series(n))
    split = int(len(x) * 0.8)
    x_tr, d_tr, x_te, d_te = x[:split], d[:split], x[split:], d[split:]
    c.say(verbose, _("{n} windows of {w} steps, predicting {h} steps ahead; {m} for testing").format(
        n=len(x), w=WINDOW, h=HORIZON, m=len(x_te)))

    lstm = build_lstm()
    lstm.compile(optimizer=Adam(0.005), loss="mse")
    c.say(verbose, _("Training the LSTM for {epochs} epochs").format(epochs=epochs))
    history = lstm.fit(x_tr[..., None], d_tr, batch_size=64, epochs=epochs, **c.fit_options(epochs, verbose))
    dense = build_dense()
    dense.compile(optimizer=Adam(0.005), loss="mse")
    c.say(verbose, _("Training the dense window model (last {k} values) for {epochs} epochs").format(
        k=SHORT, epochs=10 * epochs))
    dense.fit(x_tr[:, -SHORT:], d_tr, batch_size=64, epochs=10 * epochs, verbose=0)

    p_lstm = lstm.predict(x_te[..., None], verbose=0)[:, 0]
    p_dense = dense.predict(x_te[:, -SHORT:], verbose=0)[:, 0]
    mse = {"lstm_mse": float(np.mean((p_lstm - d_te) ** 2)), "dense_mse": float(np.mean((p_dense - d_te) ** 2)),
           "last_value_mse": float(np.mean(d_te ** 2))}
    metrics = {"lstm_vs_last_value": mse["last_value_mse"] / mse["lstm_mse"], **mse}
    c.say(verbose, _("Test MSE: LSTM {a:.4f}, dense window model {b:.4f}, last value {c:.4f} "
                     "(the LSTM is {r:.1f}x better than the last value)").format(
        a=mse["lstm_mse"], b=mse["dense_mse"], c=mse["last_value_mse"], r=metrics["lstm_vs_last_value"]))

    sec = c.section(report, "forecast")
    if sec is not None:
        c.metrics_table(sec, metrics)
        c.add_history(sec, history)
        show = slice(0, min(200, len(d_te)))
        truth, base = (d_te + last[split:])[show], last[split:][show]
        sec.plot(_forecast_plot, truth, p_lstm[show] + base, p_dense[show] + base, base,
                 caption=_("Forecasts {h} steps ahead against the true series on the test set").format(h=HORIZON))
    return metrics
