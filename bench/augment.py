"""Data augmentation throughput: the slides' ImageDataGenerator settings, images per second.

Run: python -m bench.augment
Times ``next(flow(...))`` (random parameters, the batch's affine resampling, rescale) for batches of
32 images of 28x28x1 and 150x150x3, next to Keras's legacy ImageDataGenerator (scipy, one image at a
time) when Keras is installed, and next to one training step of a small model on the same batch, so
you can see whether augmentation can keep up with training.
"""

from __future__ import annotations

import os

import numpy as np

from neurona.preprocessing.image import ImageDataGenerator

from ._timing import interleaved

SLIDES = dict(rescale=1.0 / 255, rotation_range=40, width_shift_range=0.2, height_shift_range=0.2,
              shear_range=0.2, zoom_range=0.2, horizontal_flip=True, fill_mode="nearest")
BATCH = 32
SHAPES = ((28, 28, 1), (150, 150, 3))


def neurona_flow(x: np.ndarray, y: np.ndarray):
    it = ImageDataGenerator(**SLIDES).flow(x, y, batch_size=BATCH, seed=0)
    return lambda: next(it)


def keras_flow(x: np.ndarray, y: np.ndarray):
    os.environ.setdefault("KERAS_BACKEND", "torch")
    try:
        import keras  # noqa: F401
        from keras.src.legacy.preprocessing.image import ImageDataGenerator as KerasGenerator
    except Exception:  # not installed, or no usable backend
        return None
    it = KerasGenerator(**SLIDES).flow(x, y, batch_size=BATCH, seed=0)
    return lambda: next(it)


def training_step(shape: tuple[int, ...], x: np.ndarray, y: np.ndarray):
    """One train_on_batch of the slides' small model for this input size, if neurona's models are there."""
    try:
        from neurona import layers, models

        model = models.Sequential([layers.Input(shape), layers.Flatten(), layers.Dense(10, activation="sigmoid"),
                                   layers.Dense(10, activation="softmax")])
        model.compile(loss="sparse_categorical_crossentropy", optimizer="sgd")
        xb, yb = x[:BATCH].astype(np.float32) / 255, y[:BATCH]
        model.train_on_batch(xb, yb)
    except Exception as exc:  # the training loop is another issue's work; report instead of failing
        print(f"  (training step not timed: {type(exc).__name__}: {exc})")
        return None
    return lambda: model.train_on_batch(xb, yb)


def main() -> None:
    print(f"batches of {BATCH}, settings {SLIDES}")
    for shape in SHAPES:
        rng = np.random.default_rng(0)
        x = rng.integers(0, 256, size=(10 * BATCH, *shape), dtype=np.uint8)
        y = rng.integers(0, 10, size=10 * BATCH)
        fns = {"neurona": neurona_flow(x, y)}
        for name, make in (("keras (legacy, scipy)", keras_flow), ("train step (MLP)", None)):
            fn = make(x, y) if make else training_step(shape, x, y)
            if fn is not None:
                fns[name] = fn
        times = interleaved(fns, repeats=5, min_time=0.3)
        print(f"{shape}:")
        for name, t in times.items():
            if name == "neurona":
                ratio = ""
            elif "keras" in name:
                ratio = f"   neurona is {t / times['neurona']:.1f}x faster"
            else:
                ratio = f"   (augmenting a batch takes {times['neurona'] / t:.1f}x a training step)"
            print(f"  {name:<22s} {t * 1e3:8.2f} ms/batch   {BATCH / t:10.0f} images/s{ratio}")


if __name__ == "__main__":
    main()
