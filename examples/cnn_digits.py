"""The slides' convolutional network (deck 002, section 4) trained on handwritten digits.

Conv2D(32, 5x5, relu) -> MaxPooling2D(2x2) -> Conv2D(64, 5x5, relu) -> MaxPooling2D(2x2) -> Flatten ->
Dense(10, softmax), whose summary the slides print: 832 / 0 / 51,264 / 0 / 0 / 10,250 = 62,346 parameters.

Offline it trains on the 1,797 digits embedded in neurona, upscaled from 8x8 to MNIST's 28x28
(`neurona.datasets.digits.load_data(size=28)`); `--mnist` uses MNIST itself (downloaded once and cached).
`--plot DIR` saves what the network learned, as slide 002 shows: the first layer's 32 filters and the
feature maps one test image produces (needs matplotlib: pip install 'neurona[plot]').

Run: python examples/cnn_digits.py [--epochs 10] [--mnist] [--plot out/]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import neurona
from neurona import models, optimizers
from neurona.labs.cnn import build_model  # the slides' code, with `keras` replaced by `neurona`
from neurona.utils import to_categorical


def load(mnist: bool):
    """Images as float32 (n, 28, 28, 1) in [0, 1] and one-hot labels, as the slides prepare MNIST."""
    if mnist:
        from neurona.datasets import mnist as source

        (x_train, y_train), (x_test, y_test) = source.load_data()
    else:
        from neurona.datasets import digits

        (x_train, y_train), (x_test, y_test) = digits.load_data(size=28)
    prepare = lambda x: (x.reshape(-1, 28, 28, 1) / 255.0).astype("float32")  # noqa: E731
    return (prepare(x_train), to_categorical(y_train, 10)), (prepare(x_test), to_categorical(y_test, 10))


def plot(model: models.Sequential, image: np.ndarray, folder: str) -> None:
    """Save the first layer's filters and the feature maps of both convolutions for one image."""
    import os

    from neurona import plot as nplot

    os.makedirs(folder, exist_ok=True)
    nplot.conv_filters(model.layers[0].kernel.data, path=os.path.join(folder, "filters.png"))
    for i in (0, 2):  # the outputs of both convolutions for this image
        x = image[None]
        for layer in model.layers[: i + 1]:
            x = layer(x)
        name = model.layers[i].name
        nplot.feature_maps(x.data, title=f"{name} feature maps", path=os.path.join(folder, f"feature_maps_{name}.png"))
    print(f"plots saved in {folder}/")


def main(epochs: int = 10, batch_size: int = 100, lr: float = 0.02, mnist: bool = False, seed: int = 0,
         plot_dir: str | None = None, verbose: int = 2) -> float:
    """Train and return the test accuracy."""
    neurona.utils.set_random_seed(seed)
    (x_train, y_train), (x_test, y_test) = load(mnist)
    model = build_model()
    model.summary()
    model.compile(optimizer=optimizers.SGD(learning_rate=lr, momentum=0.9),
                  loss="categorical_crossentropy", metrics=["accuracy"])
    start = time.perf_counter()
    model.fit(x_train, y_train, batch_size=batch_size, epochs=epochs, verbose=verbose)
    seconds = time.perf_counter() - start
    loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
    print(f"test accuracy {accuracy:.4f} (loss {loss:.4f}) after {epochs} epochs, {seconds:.1f} s of training")
    if plot_dir:
        plot(model, x_test[0], plot_dir)
    return accuracy


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--lr", type=float, default=0.02)
    parser.add_argument("--mnist", action="store_true", help="train on MNIST (downloaded once) instead of digits")
    parser.add_argument("--plot", metavar="DIR", help="save filters and feature maps as PNG files in DIR")
    args = parser.parse_args()
    main(args.epochs, args.batch_size, args.lr, args.mnist, plot_dir=args.plot)
