"""A variational autoencoder on 16x16 digits with a two-dimensional code (Keras's VAE example, in neurona).

The encoder gives a mean and a log-variance per code dimension, `Sampling` draws z = mean + sigma * eps, the
decoder turns z back into pixels; the custom `train_step` minimises the reconstruction cross-entropy plus the KL
divergence from N(0, I). With two code dimensions the whole latent space is a plane: the test digits are drawn
where they are encoded, and a grid of points of the plane is decoded into new digits.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..i18n import _
from . import _common as c

SIZE = 16


def latent_scatter(codes: np.ndarray, labels: np.ndarray) -> Any:
    """The test digits at their code means, one colour per digit."""
    from ..plot._base import figure

    fig = figure((5.2, 4.6))
    ax = fig.add_subplot()
    points = ax.scatter(codes[:, 0], codes[:, 1], c=labels, cmap="tab10", s=10)
    fig.colorbar(points, ax=ax, ticks=range(10))
    ax.set_xlabel("z[0]")
    ax.set_ylabel("z[1]")
    return fig


def manifold(vae: Any, n: int = 12, span: float = 2.0) -> np.ndarray:
    """Decoded images of an n x n grid of code points over [-span, span]^2, as one picture."""
    from ..generative.images import image_grid

    ticks = np.linspace(-span, span, n)
    z = np.array([[a, b] for b in ticks[::-1] for a in ticks], np.float32)
    return image_grid(vae.decoder.predict(z, verbose=0).reshape(-1, SIZE, SIZE), ncols=n, scale=2)


def run(quick: bool = False, *, report: Any = None, verbose: int = 1, image_dir: str | None = None) -> dict[str, float]:
    from ..datasets import digits
    from ..generative.images import image_grid, picture, save_png
    from ..generative.vae import VAE, build_decoder, build_encoder
    from ..optimizers import Adam

    c.start(0)
    (x_train, _y), (x_test, y_test) = digits.load_data(seed=0, size=SIZE)
    x_train = (x_train.reshape(len(x_train), -1) / 255.0).astype(np.float32)
    x_test = (x_test.reshape(len(x_test), -1) / 255.0).astype(np.float32)
    if quick:
        x_train = x_train[:500]
    epochs = 5 if quick else 60
    vae = VAE(build_encoder(SIZE * SIZE, 2, (256, 64)), build_decoder(SIZE * SIZE, 2, (256, 64)))
    vae.compile(optimizer=Adam(0.002))
    c.say(verbose, _("Training a VAE with a 2-D code on {n} digits for {epochs} epochs").format(
        n=len(x_train), epochs=epochs))
    history = vae.fit(x_train, batch_size=32, epochs=epochs, validation_data=(x_test,),
                      **c.fit_options(epochs, verbose))
    logs = vae.evaluate(x_test, batch_size=len(x_test), verbose=0, return_dict=True)
    codes = vae.encode(x_test)
    metrics = {"test_loss": logs["loss"], "test_reconstruction": logs["reconstruction"], "test_kl": logs["kl"],
               "code_std": float(codes.std())}
    c.say(verbose, _("Test loss {loss:.2f} = reconstruction {rec:.2f} + KL {kl:.2f} (nats per digit)").format(
        loss=logs["loss"], rec=logs["reconstruction"], kl=logs["kl"]))
    samples = image_grid(vae.sample(36).reshape(-1, SIZE, SIZE), ncols=6, scale=2)
    plane = manifold(vae)
    if image_dir is not None:
        save_png(Path(image_dir) / "vae_samples.png", samples)
        save_png(Path(image_dir) / "vae_manifold.png", plane)

    sec = c.section(report, "vae")
    if sec is not None:
        from .. import plot

        c.metrics_table(sec, metrics)
        sec.plot(plot.history, history, metrics=["loss", "reconstruction", "kl"],
                 caption=_("Loss, reconstruction and KL terms per epoch"))
        sec.plot(latent_scatter, codes, y_test, caption=_("The test digits in the 2-D latent space (code means)"))
        sec.plot(picture, plane, caption=_("Digits decoded from a grid of points of the latent plane"))
        sec.plot(picture, samples, caption=_("New digits decoded from random codes z ~ N(0, I)"))
    return metrics
