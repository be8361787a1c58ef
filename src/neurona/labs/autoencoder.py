"""Autoencoders on the digits (deck 002, section 6): denoising, anomaly detection and imputation.

A dense autoencoder (64 -> 128 -> 32 -> 128 -> 64) learns to give back clean digits from noisy copies; a
convolutional one does the same with Conv2D/MaxPooling2D and Conv2D/UpSampling2D. Trained on every digit but
the zeros, a smaller autoencoder reconstructs zeros badly, and a threshold on its reconstruction error, chosen
on validation digits, flags them as anomalies. The denoising network also fills in missing pixels.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..i18n import _
from . import _common as c

ANOMALY = 0  # the digit held out of training and flagged as the anomaly


def _digits(quick: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    from ..datasets import digits

    (x_train, y_train), (x_test, y_test) = digits.load_data(seed=0)
    x_train = (x_train.reshape(len(x_train), -1) / 16.0).astype(np.float32)
    x_test = (x_test.reshape(len(x_test), -1) / 16.0).astype(np.float32)
    if quick:
        x_train, y_train = x_train[:500], y_train[:500]
    return x_train, y_train, x_test, y_test


def run(quick: bool = False, *, report: Any = None, verbose: int = 1) -> dict[str, float]:
    from ..generative import autoencoders as ae
    from ..optimizers import Adam
    from ..random import get_rng

    c.start(0)
    rng = get_rng()
    x_train, y_train, x_test, y_test = _digits(quick)
    epochs = 8 if quick else 40

    # 1. denoising (two noisy copies of every training digit)
    model, _enc, _dec = ae.dense_autoencoder(64, code_size=32, hidden=(128,))
    model.compile(optimizer=Adam(0.003), loss="mse")
    clean = np.concatenate([x_train, x_train])
    c.say(verbose, _("Denoising autoencoder: {n} noisy digits -> clean digits, {epochs} epochs").format(
        n=len(clean), epochs=epochs))
    model.fit(ae.add_noise(clean, 0.3, rng), clean, batch_size=32, epochs=epochs, **c.fit_options(epochs, 0))
    noisy_test = ae.add_noise(x_test, 0.3, rng)
    denoised = model.predict(noisy_test, verbose=0)
    metrics = {"denoised_mse": float(np.mean((denoised - x_test) ** 2)),
               "noisy_mse": float(np.mean((noisy_test - x_test) ** 2))}

    conv = ae.conv_autoencoder((8, 8, 1), filters=(32, 16))
    conv.compile(optimizer=Adam(0.003), loss="mse")
    conv_epochs = 4 if quick else 20
    images = x_train.reshape(-1, 8, 8, 1)
    conv.fit(ae.add_noise(images, 0.3, rng), images, batch_size=32, epochs=conv_epochs, verbose=0)
    conv_out = conv.predict(noisy_test.reshape(-1, 8, 8, 1), verbose=0).reshape(len(x_test), -1)
    metrics["conv_denoised_mse"] = float(np.mean((conv_out - x_test) ** 2))
    c.say(verbose, _("Mean squared error to the clean test digits: noisy input {noisy:.4f}, dense autoencoder "
                     "{dense:.4f}, convolutional autoencoder {conv:.4f}").format(
        noisy=metrics["noisy_mse"], dense=metrics["denoised_mse"], conv=metrics["conv_denoised_mse"]))

    # 2. imputation: 30% of the pixels of each test digit are missing
    missing = rng.random(x_test.shape) < 0.3
    filled = ae.impute(model, x_test, missing)
    metrics["imputed_mse"] = float(np.mean((filled - x_test)[missing] ** 2))
    metrics["mean_fill_mse"] = float(np.mean((np.broadcast_to(x_train.mean(axis=0), x_test.shape) - x_test)[missing]
                                             ** 2))
    c.say(verbose, _("Missing pixels: error {imputed:.4f} when the autoencoder fills them, {mean:.4f} with the "
                     "mean image").format(imputed=metrics["imputed_mse"], mean=metrics["mean_fill_mse"]))

    # 3. anomaly detection: every digit but ANOMALY is normal
    normal = x_train[y_train != ANOMALY]
    cut = int(0.8 * len(normal))
    detector, _enc, _dec = ae.dense_autoencoder(64, code_size=8, hidden=(32,))
    detector.compile(optimizer=Adam(0.003), loss="mse")
    detector.fit(normal[:cut], normal[:cut], batch_size=32, epochs=epochs, verbose=0)
    threshold = ae.choose_threshold(ae.reconstruction_errors(detector, normal[cut:]), 0.95)
    errors = ae.reconstruction_errors(detector, x_test)
    precision, recall = ae.precision_recall(y_test == ANOMALY, errors > threshold)
    metrics.update(anomaly_precision=precision, anomaly_recall=recall, anomaly_threshold=threshold)
    c.say(verbose, _("Anomaly detection (the digit {digit} never seen in training), threshold {t:.4f} from the "
                     "validation digits: precision {p:.3f}, recall {r:.3f}").format(
        digit=ANOMALY, t=threshold, p=precision, r=recall))

    sec = c.section(report, "autoencoder")
    if sec is not None:
        from .. import plot

        c.metrics_table(sec, metrics)
        rows = np.concatenate([x_test[:8], noisy_test[:8], denoised[:8], np.where(missing[:8], 0.5, x_test[:8]),
                               filled[:8]]).reshape(-1, 8, 8)
        sec.plot(plot.images, rows, n=40, ncols=8, caption=_(
            "Rows: test digits, with noise, denoised by the autoencoder, with 30% of the pixels missing (grey), "
            "filled in by the autoencoder"))
        sec.table([_("digit"), _("mean reconstruction error"), _("flagged")],
                  [[str(d), f"{errors[y_test == d].mean():.4f}", f"{np.mean(errors[y_test == d] > threshold):.2f}"]
                   for d in range(10)], _("Anomaly detection: the held-out digit is reconstructed worst"))
    return metrics
