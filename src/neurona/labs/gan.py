"""A DCGAN on 16x16 digits: a generator of transposed convolutions against a convolutional discriminator.

The GAN is a Model whose `train_step` (neurona.generative.gan.GAN) does, for every batch, one discriminator
step on real digits (label 1) and generated ones (label 0), then one generator step that asks the
discriminator to call its digits real; `fit` keeps the progress bar and the History of both losses. A
`SampleGrid` callback draws the same 36 latent points after every epoch, so the grids show the generator
learning. How good are the fakes? A classifier trained on real digits says how sure it is of each one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..i18n import _
from . import _common as c

SIZE, LATENT = 16, 32


def build_generator() -> Any:
    from .. import layers
    from ..models import Sequential

    return Sequential([
        layers.Input((LATENT,)),
        layers.Dense(4 * 4 * 64), layers.BatchNormalization(), layers.LeakyReLU(0.2),
        layers.Reshape((4, 4, 64)),
        layers.Conv2DTranspose(32, 4, strides=2, padding="same"), layers.BatchNormalization(), layers.LeakyReLU(0.2),
        layers.Conv2DTranspose(1, 4, strides=2, padding="same", activation="sigmoid"),
    ], name="generator")


def build_discriminator() -> Any:
    from .. import layers
    from ..models import Sequential

    return Sequential([
        layers.Input((SIZE, SIZE, 1)),
        layers.Conv2D(32, 4, strides=2, padding="same"), layers.LeakyReLU(0.2),
        layers.Conv2D(64, 4, strides=2, padding="same"), layers.LeakyReLU(0.2),
        layers.Flatten(), layers.Dropout(0.3), layers.Dense(1, activation="sigmoid"),
    ], name="discriminator")


def _judge(x: np.ndarray, y: np.ndarray, epochs: int) -> Any:
    """A small classifier trained on real digits, to recognise the generated ones."""
    from .. import layers
    from ..models import Sequential
    from ..optimizers import Adam

    model = Sequential([layers.Input((SIZE * SIZE,)), layers.Dense(64, activation="relu"),
                        layers.Dense(10, activation="softmax")])
    model.compile(optimizer=Adam(0.003), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x.reshape(len(x), -1), y, epochs=epochs, batch_size=64, verbose=0)
    return model


def run(quick: bool = False, *, report: Any = None, verbose: int = 1, image_dir: str | None = None) -> dict[str, float]:
    from ..datasets import digits
    from ..generative.gan import GAN
    from ..generative.images import SampleGrid, picture, save_png
    from ..optimizers import Adam
    from ..random import get_rng

    c.start(0)
    x, y = digits.load(size=SIZE)
    x = (x / 255.0).astype(np.float32)[..., None]
    if quick:
        x, y = x[:600], y[:600]
    epochs = 2 if quick else 40
    gan = GAN(build_discriminator(), build_generator(), LATENT)
    gan.compile(d_optimizer=Adam(0.0002, beta_1=0.5), g_optimizer=Adam(0.001, beta_1=0.5))
    fixed = get_rng().standard_normal((36, LATENT)).astype(np.float32)  # the same points every epoch
    directory = None if image_dir is None else Path(image_dir) / "gan_epochs"
    grids = SampleGrid(lambda n: gan.generator.predict(fixed[:n], verbose=0), n=36, directory=directory, scale=2,
                       ncols=6)
    c.say(verbose, _("Training a DCGAN on {n} digits for {epochs} epochs").format(n=len(x), epochs=epochs))
    options = c.fit_options(epochs, verbose)
    options["callbacks"] = options.get("callbacks", []) + [grids]
    history = gan.fit(x, batch_size=64, epochs=epochs, **options)
    logs = history.history
    metrics = {"d_loss": logs["d_loss"][-1], "g_loss": logs["g_loss"][-1], "d_acc": logs["d_acc"][-1]}

    judge = _judge(x, y, 10 if quick else 30)
    p = judge.predict(gan.generate(200).reshape(200, -1), verbose=0)
    metrics["judge_confidence"] = float(p.max(axis=1).mean())
    metrics["classes_generated"] = float(len(np.unique(p.argmax(axis=1))))
    real_p = judge.predict(x[:200].reshape(200, -1), verbose=0)
    metrics["judge_confidence_real"] = float(real_p.max(axis=1).mean())
    c.say(verbose, _("A classifier trained on real digits is {fake:.2f} sure of the generated ones on average "
                     "({real:.2f} for real digits); they cover {k} of the 10 classes").format(
        fake=metrics["judge_confidence"], real=metrics["judge_confidence_real"], k=int(metrics["classes_generated"])))
    if image_dir is not None:
        save_png(Path(image_dir) / "gan_samples.png", grids.grids[-1])

    sec = c.section(report, "gan")
    if sec is not None:
        from .. import plot

        c.metrics_table(sec, metrics)
        sec.plot(plot.history, history, metrics=["d_loss", "g_loss"],
                 caption=_("The discriminator's and the generator's losses per epoch"))
        shown = sorted({0, len(grids.grids) // 4, len(grids.grids) // 2, len(grids.grids) - 1})
        for i in shown:
            sec.plot(picture, grids.grids[i], 3.0,
                     caption=_("Samples of the same 36 latent points after epoch {epoch}").format(epoch=i + 1))
    return metrics
