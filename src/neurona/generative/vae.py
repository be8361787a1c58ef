"""The variational autoencoder (Kingma and Welling 2014), as Keras's example writes it: an encoder giving
the mean and log-variance of a Gaussian code, the reparameterisation z = mean + exp(log_var / 2) * eps (so
gradients flow through the sampling), a decoder, and a custom `train_step` whose loss is the reconstruction
cross-entropy plus the KL divergence of the code's distribution from N(0, I)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..gradient_tape import GradientTape
from ..layers.base import Layer
from ..metrics import Mean
from ..models import Model
from ..random import get_rng
from ..tensor import Tensor


class Sampling(Layer):
    """z = z_mean + exp(0.5 * z_log_var) * eps with eps ~ N(0, I): the reparameterisation trick."""

    def call(self, inputs: Any, training: bool = False) -> Tensor:
        z_mean, z_log_var = inputs
        eps = Tensor(get_rng().standard_normal(z_mean.shape).astype(z_mean.data.dtype))
        return z_mean + (z_log_var * 0.5).exp() * eps

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape[0]


def build_encoder(input_dim: int, latent_dim: int = 2, hidden: Sequence[int] = (128,)) -> Model:
    """x -> [z_mean, z_log_var, z] (Dense layers)."""
    from ..layers import Dense, Input

    x = Input((input_dim,), name="image")
    h = x
    for units in hidden:
        h = Dense(units, activation="relu")(h)
    z_mean = Dense(latent_dim, name="z_mean")(h)
    z_log_var = Dense(latent_dim, name="z_log_var")(h)
    return Model(x, [z_mean, z_log_var, Sampling(name="z")([z_mean, z_log_var])], name="encoder")


def build_decoder(output_dim: int, latent_dim: int = 2, hidden: Sequence[int] = (128,)) -> Model:
    """z -> pixel probabilities (Dense layers, sigmoid output)."""
    from ..layers import Dense, Input

    z = Input((latent_dim,), name="z")
    h = z
    for units in reversed(tuple(hidden)):
        h = Dense(units, activation="relu")(h)
    return Model(z, Dense(output_dim, activation="sigmoid", name="pixels")(h), name="decoder")


def _bce_sum(x: np.ndarray, p: Tensor) -> Tensor:
    """Per-sample sum over pixels of the binary cross-entropy, averaged over the batch."""
    from ..ops.math import clip

    p = clip(p, 1e-7, 1 - 1e-7)
    x_t = Tensor(x)
    return -(x_t * p.log() + (1.0 - x_t) * (1.0 - p).log()).sum(axis=1).mean()


class VAE(Model):
    """encoder + decoder trained by `fit(x)` through a custom train_step (logs: loss, reconstruction, kl)."""

    def __init__(self, encoder: Model, decoder: Model, beta: float = 1.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.encoder = encoder
        self.decoder = decoder
        self.beta = float(beta)
        self.total_loss_tracker = Mean(name="loss")
        self.reconstruction_loss_tracker = Mean(name="reconstruction")
        self.kl_loss_tracker = Mean(name="kl")

    def call(self, x: Any, training: bool = False) -> Any:
        _, _, z = self.encoder(x, training=training)
        return self.decoder(z, training=training)

    def _losses(self, x: np.ndarray, training: bool) -> tuple[Tensor, Tensor, Tensor]:
        z_mean, z_log_var, z = self.encoder(x, training=training)
        reconstruction = _bce_sum(x, self.decoder(z, training=training))
        kl = (-0.5 * (1.0 + z_log_var - z_mean * z_mean - z_log_var.exp())).sum(axis=1).mean()
        return reconstruction + kl * self.beta, reconstruction, kl

    def _log(self, total: Tensor, reconstruction: Tensor, kl: Tensor) -> dict[str, Any]:
        self.total_loss_tracker.update_state(total)
        self.reconstruction_loss_tracker.update_state(reconstruction)
        self.kl_loss_tracker.update_state(kl)
        return {m.name: m.result() for m in self.metrics}

    def train_step(self, data: Any) -> dict[str, Any]:
        from ..models.custom import unpack_x_y_sample_weight

        x = np.asarray(unpack_x_y_sample_weight(data)[0], np.float32)
        with GradientTape() as tape:
            total, reconstruction, kl = self._losses(x, training=True)
        weights = self.trainable_weights
        self.optimizer.apply(tape.gradient(total, weights), weights)
        return self._log(total, reconstruction, kl)

    def test_step(self, data: Any) -> dict[str, Any]:
        from ..models.custom import unpack_x_y_sample_weight

        return self._log(*self._losses(np.asarray(unpack_x_y_sample_weight(data)[0], np.float32), training=False))

    def encode(self, x: Any) -> np.ndarray:
        """The code means of `x` (where each image sits in the latent space)."""
        return self.encoder.predict(np.asarray(x, np.float32), verbose=0)[0]

    def sample(self, n: int) -> np.ndarray:
        """`n` new images decoded from z ~ N(0, I)."""
        latent = self.decoder.input_shape[-1]
        return self.decoder.predict(get_rng().standard_normal((n, latent)).astype(np.float32), verbose=0)
