"""Regenerate the Keras-made files that tests/test_interop.py loads (run with Keras installed):

    KERAS_BACKEND=torch python tests/data/keras/make_fixtures.py

A small CNN with every layer kind neurona reads from Keras (Conv2D, BatchNormalization with non-trivial
statistics, ReLU(6), DepthwiseConv2D, Add, pooling, Flatten, Dropout, Dense), saved three ways (.keras,
legacy .h5, .weights.h5), plus inputs and Keras's predictions in keras_expected.npz.
"""

from __future__ import annotations

import os

import numpy as np

os.environ.setdefault("KERAS_BACKEND", "torch")

HERE = os.path.dirname(os.path.abspath(__file__))


def build(keras):
    inp = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(4, 3, padding="same", name="conv")(inp)
    x = keras.layers.BatchNormalization(name="bn")(x)
    x = keras.layers.ReLU(6.0, name="relu6")(x)
    y = keras.layers.DepthwiseConv2D(3, padding="same", name="depthwise")(x)
    x = keras.layers.Add(name="add")([x, y])
    x = keras.layers.MaxPooling2D(name="pool")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    x = keras.layers.Dropout(0.2, name="dropout")(x)
    out = keras.layers.Dense(3, activation="softmax", name="dense")(x)
    return keras.Model(inp, out, name="small_cnn")


def main(out_dir: str = HERE) -> None:
    import keras

    keras.utils.set_random_seed(0)
    model = build(keras)
    rng = np.random.default_rng(0)
    bn = model.get_layer("bn")
    bn.set_weights([rng.random(4) + 0.5, rng.random(4), rng.random(4), rng.random(4) + 0.5])
    x = rng.random((5, 8, 8, 3)).astype("float32")
    np.savez(os.path.join(out_dir, "keras_expected.npz"), x=x, y=model.predict(x, verbose=0))
    model.save(os.path.join(out_dir, "small_cnn.keras"))
    model.save(os.path.join(out_dir, "small_cnn.h5"))
    model.save_weights(os.path.join(out_dir, "small_cnn.weights.h5"))


if __name__ == "__main__":
    main()
