"""A GAN whose training is a custom `train_step` (Keras 3's "DCGAN overriding train_step" example).

`GAN(discriminator, generator, latent_dim)` is compiled with one optimizer per player and a loss;
`fit(real_images)` then alternates, every batch, one discriminator step on real (label 1) and generated
(label 0) samples and one generator step that asks the discriminator to call its samples real.
The logs hold `d_loss`, `g_loss` and `d_acc` (the discriminator's accuracy on the batch it trained on).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..gradient_tape import GradientTape
from ..metrics import Mean
from ..models import Model
from ..random import get_rng


class GAN(Model):
    """A generator against a discriminator, trained by `fit` through an overridden `train_step`.

    With `num_classes`, the GAN is conditional: `fit(images, labels)` gives both players the one-hot label
    (the generator's input is [z, one_hot], the discriminator's [image, one_hot]).
    """

    def __init__(self, discriminator: Model, generator: Model, latent_dim: int, num_classes: int | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.discriminator = discriminator
        self.generator = generator
        self.latent_dim = int(latent_dim)
        self.num_classes = num_classes
        self.d_loss_tracker = Mean(name="d_loss")
        self.g_loss_tracker = Mean(name="g_loss")
        self.d_acc_tracker = Mean(name="d_acc")

    def compile(self, d_optimizer: Any = "adam", g_optimizer: Any = "adam", loss_fn: Any = "binary_crossentropy",
                **kwargs: Any) -> None:
        from .. import losses, optimizers

        super().compile(**kwargs)
        self.d_optimizer = optimizers.get(d_optimizer)
        self.g_optimizer = optimizers.get(g_optimizer)
        self.loss_fn = losses.get(loss_fn)

    def call(self, z: Any, training: bool = False) -> Any:
        return self.generator(z, training=training)

    def _latent(self, n: int, one_hot: np.ndarray | None) -> np.ndarray:
        z = get_rng().standard_normal((n, self.latent_dim)).astype(np.float32)
        return z if one_hot is None else np.concatenate([z, one_hot], axis=1)

    def _disc_input(self, images: Any, one_hot: np.ndarray | None) -> Any:
        return images if one_hot is None else [images, one_hot]

    def generate(self, n: int, labels: Any = None) -> np.ndarray:
        """`n` samples from the generator (for a conditional GAN, of the given class labels)."""
        one_hot = None
        if self.num_classes is not None:
            labels = np.resize(np.arange(self.num_classes) if labels is None else np.asarray(labels), n)
            one_hot = np.eye(self.num_classes, dtype=np.float32)[labels]
        return self.generator.predict(self._latent(n, one_hot), verbose=0)

    def train_step(self, data: Any) -> dict[str, Any]:
        from ..models.custom import unpack_x_y_sample_weight

        real, labels, _ = unpack_x_y_sample_weight(data)
        real = np.asarray(real, dtype=np.float32)
        n = len(real)
        one_hot = None
        if self.num_classes is not None:
            if labels is None:
                raise ValueError("a conditional GAN (num_classes set) is trained with fit(images, labels)")
            one_hot = np.eye(self.num_classes, dtype=np.float32)[np.asarray(labels).astype(int).reshape(-1)]
        fake = self.generator(self._latent(n, one_hot), training=False).data
        images = np.concatenate([real, fake])
        targets = np.concatenate([np.ones((n, 1)), np.zeros((n, 1))]).astype(np.float32)
        cond = None if one_hot is None else np.concatenate([one_hot, one_hot])
        d_weights = self.discriminator.trainable_weights
        with GradientTape() as tape:
            pred = self.discriminator(self._disc_input(images, cond), training=True)
            d_loss = self.loss_fn(targets, pred)
        self.d_optimizer.apply(tape.gradient(d_loss, d_weights), d_weights)

        g_weights = self.generator.trainable_weights
        misleading = np.ones((n, 1), np.float32)
        with GradientTape() as tape:
            pred_fake = self.discriminator(self._disc_input(self.generator(self._latent(n, one_hot), training=True),
                                                            one_hot), training=True)
            g_loss = self.loss_fn(misleading, pred_fake)
        self.g_optimizer.apply(tape.gradient(g_loss, g_weights), g_weights)

        self.d_loss_tracker.update_state(d_loss)
        self.g_loss_tracker.update_state(g_loss)
        self.d_acc_tracker.update_state((pred.data > 0.5) == (targets > 0.5))
        return {m.name: m.result() for m in self.metrics}
