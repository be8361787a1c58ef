"""Data augmentation against a small training set (slides 002, section 5, `ImageDataGenerator`).

A small CNN is trained twice on the same 200 digit images (28x28, shipped with neurona): once on the
images as they are, once on batches that `ImageDataGenerator` shifts, rotates, shears and zooms anew
every epoch. Both are tested on all the held-out digits, and the script prints the two accuracies. With
matplotlib installed it also saves a grid of augmented samples to `augmented_digits.png`.

Run: python examples/augmentation.py
"""

from __future__ import annotations

import numpy as np

from neurona.datasets import digits
from neurona.layers import Conv2D, Dense, Flatten, MaxPooling2D
from neurona.models import Sequential
from neurona.preprocessing.image import ImageDataGenerator
from neurona.utils import set_random_seed


def small_cnn() -> Sequential:
    model = Sequential([
        Conv2D(16, (5, 5), activation="relu", input_shape=(28, 28, 1)),
        MaxPooling2D((2, 2)),
        Conv2D(32, (5, 5), activation="relu"),
        MaxPooling2D((2, 2)),
        Flatten(),
        Dense(10, activation="softmax"),
    ])
    model.compile(loss="sparse_categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    return model


def main(n_train: int = 200, epochs: int = 30, grid: str | None = "augmented_digits.png") -> dict[str, float]:
    (x_train, y_train), (x_test, y_test) = digits.load_data(size=28, test_size=0.3, seed=0)
    x_train = x_train[:n_train, ..., None].astype("float32") / 255
    y_train = y_train[:n_train]
    x_test = x_test[..., None].astype("float32") / 255

    set_random_seed(0)
    plain = small_cnn()
    plain.fit(x_train, y_train, batch_size=20, epochs=epochs, verbose=0)
    acc_plain = plain.evaluate(x_test, y_test, verbose=0)[1]

    set_random_seed(0)
    generator = ImageDataGenerator(rotation_range=15, width_shift_range=0.1, height_shift_range=0.1,
                                   shear_range=0.1, zoom_range=0.1, fill_mode="nearest")
    augmented = small_cnn()
    flow = generator.flow(x_train, y_train, batch_size=20, seed=0)
    augmented.fit(flow, steps_per_epoch=len(flow), epochs=epochs, verbose=0)
    acc_aug = augmented.evaluate(x_test, y_test, verbose=0)[1]

    print(f"{n_train} training images, {len(x_test)} test images, {epochs} epochs")
    print(f"test accuracy without augmentation: {acc_plain:.4f}")
    print(f"test accuracy with augmentation:    {acc_aug:.4f}")
    if grid:
        try:
            from neurona import plot

            batch_x, batch_y = next(generator.flow(x_train[:8], y_train[:8], batch_size=8, shuffle=False, seed=1))
            plot.images(np.concatenate([x_train[:8], batch_x[:8]]), np.concatenate([y_train[:8], batch_y[:8]]),
                        n=16, ncols=8, path=grid)
            print(f"first row: original images; second row: the same images augmented -> {grid}")
        except ImportError:
            print("(pip install 'neurona[plot]' to save the grid of augmented samples)")
    return {"plain": acc_plain, "augmented": acc_aug}


if __name__ == "__main__":
    main()
