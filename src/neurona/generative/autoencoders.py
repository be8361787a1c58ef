"""Autoencoders: compress an image to a short code and decompress it back, trained to copy their input.

What the slides use them for, each a few lines on top of the Keras workflow:
- denoising: train on (noisy, clean) pairs, so the network learns to remove the noise;
- anomaly detection: an autoencoder trained on normal data reconstructs it well and anything else badly,
  so the reconstruction error, against a threshold chosen on validation data, flags anomalies;
- imputation: fill missing pixels with the reconstruction, a few times over, keeping the known pixels.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def dense_autoencoder(input_dim: int, code_size: int = 16, hidden: Sequence[int] = (64,),
                      output_activation: str = "sigmoid") -> tuple[Any, Any, Any]:
    """(autoencoder, encoder, decoder): Dense layers input_dim -> hidden -> code -> reversed hidden -> input_dim."""
    from ..layers import Dense, Input
    from ..models import Model

    x = Input((input_dim,), name="image")
    h = x
    for units in hidden:
        h = Dense(units, activation="relu")(h)
    code = Dense(code_size, activation="relu", name="code")(h)
    encoder = Model(x, code, name="encoder")
    z = Input((code_size,), name="code_in")
    h = z
    for units in reversed(tuple(hidden)):
        h = Dense(units, activation="relu")(h)
    decoder = Model(z, Dense(input_dim, activation=output_activation, name="reconstruction")(h), name="decoder")
    autoencoder = Model(x, decoder(encoder(x)), name="autoencoder")
    return autoencoder, encoder, decoder


def conv_autoencoder(shape: tuple[int, int, int] = (16, 16, 1), filters: Sequence[int] = (16, 8)) -> Any:
    """A convolutional autoencoder: Conv2D + MaxPooling2D down, Conv2D + UpSampling2D back up."""
    from ..layers import Conv2D, Input, MaxPooling2D, UpSampling2D
    from ..models import Model

    x = Input(shape, name="image")
    h = x
    for f in filters:
        h = Conv2D(f, 3, padding="same", activation="relu")(h)
        h = MaxPooling2D(2, padding="same")(h)
    for f in reversed(tuple(filters)):
        h = Conv2D(f, 3, padding="same", activation="relu")(h)
        h = UpSampling2D(2)(h)
    out = Conv2D(shape[-1], 3, padding="same", activation="sigmoid", name="reconstruction")(h)
    return Model(x, out, name="conv_autoencoder")


def add_noise(x: np.ndarray, stddev: float = 0.3, rng: np.random.Generator | None = None) -> np.ndarray:
    """Gaussian noise, clipped back to [0, 1] (the corrupted inputs of a denoising autoencoder)."""
    from ..random import get_rng

    rng = rng or get_rng()
    return np.clip(x + rng.normal(0.0, stddev, x.shape), 0.0, 1.0).astype(np.float32)


def reconstruction_errors(model: Any, x: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """Mean squared error of each sample's reconstruction (the anomaly score)."""
    rec = model.predict(x, batch_size=batch_size, verbose=0)
    return np.mean((rec.reshape(len(x), -1) - x.reshape(len(x), -1)) ** 2, axis=1)


def choose_threshold(normal_errors: np.ndarray, quantile: float = 0.95) -> float:
    """The error below which `quantile` of the normal validation samples fall."""
    if not 0 < quantile < 1:
        raise ValueError(f"quantile must be in (0, 1), got {quantile!r}")
    return float(np.quantile(normal_errors, quantile))


def precision_recall(is_anomaly: np.ndarray, flagged: np.ndarray) -> tuple[float, float]:
    """Precision and recall of the flagged samples against the true anomalies."""
    is_anomaly, flagged = np.asarray(is_anomaly, bool), np.asarray(flagged, bool)
    tp = int(np.sum(is_anomaly & flagged))
    precision = tp / max(int(flagged.sum()), 1)
    recall = tp / max(int(is_anomaly.sum()), 1)
    return precision, recall


def impute(model: Any, x: np.ndarray, missing: np.ndarray, iterations: int = 5) -> np.ndarray:
    """Fill the pixels where `missing` is True with the autoencoder's reconstruction, `iterations` times,
    keeping the known pixels as they are."""
    x = np.asarray(x, np.float32)
    missing = np.asarray(missing, bool)
    if missing.shape != x.shape:
        raise ValueError(f"impute: the mask has shape {missing.shape} but the images have shape {x.shape}")
    filled = np.where(missing, 0.5, x).astype(np.float32)
    for _ in range(iterations):
        rec = model.predict(filled, verbose=0).reshape(x.shape)
        filled = np.where(missing, rec, x).astype(np.float32)
    return filled
