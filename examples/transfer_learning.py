"""Transfer learning, the two ways of slide 002: reuse a network trained on one task for a new task that
has little data.

The source network is neurona's pretrained LeNet-5, which knows the handwritten digits 0-4. The new task
is to tell apart the digits 5-9 from only 5 examples of each. The convolution layers learned strokes,
curves and corners that serve any digit, so:

1. Feature extraction: keep the convolutional base (convolutions and pooling, up to Flatten), freeze it
   (`trainable = False`) and train only a new classifier on top of its 400 features.
2. Fine-tuning: then also unfreeze the top convolution of the base and train on with a 10 times smaller
   learning rate, so it adapts to the new digits without forgetting what it knew.

A LeNet trained from scratch on the same 25 images, for as many epochs as both phases together, is printed
for comparison: on digits this regular it catches up with the transferred network; the gap opens with
fewer examples, harder images or bigger networks (VGG16 on your own photos, say).

    python examples/transfer_learning.py
"""

from __future__ import annotations

import numpy as np

import neurona
from neurona import layers
from neurona.applications import LeNet5
from neurona.labs.transfer import NEW_CLASSES, new_task  # digits 5-9: few training images, every test one
from neurona.models import Model
from neurona.optimizers import Adam
from neurona.pretrained import load_lenet_digits


def accuracy(model: Model, x: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean(model.predict(x, verbose=0).argmax(axis=1) == y))


def main(per_class: int = 5, epochs: int = 30, verbose: int = 0) -> dict[str, float]:
    neurona.utils.set_random_seed(0)
    (x_train, y_train), (x_test, y_test) = new_task(per_class)

    # The pretrained network's convolutional base: everything up to Flatten (400 features per image).
    pretrained = load_lenet_digits()
    base = Model(pretrained.input, pretrained.get_layer("flatten").output, name="lenet_base")

    # 1. Feature extraction: the base is frozen, only the new classifier learns.
    base.trainable = False
    inputs = layers.Input(shape=(28, 28, 1))
    outputs = layers.Dense(len(NEW_CLASSES), activation="softmax", name="new_classifier")(base(inputs))
    model = Model(inputs, outputs, name="transfer")
    model.compile(optimizer=Adam(3e-3), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x_train, y_train, batch_size=20, epochs=epochs, verbose=verbose)
    results = {"feature_extraction": accuracy(model, x_test, y_test)}
    print(f"feature extraction (frozen base, new classifier):  test accuracy {results['feature_extraction']:.3f}")

    # 2. Fine-tuning: unfreeze the top of the base (its last convolution, c3), train on gently.
    base.trainable = True
    for layer in base.layers:
        layer.trainable = layer.name == "c3"
    model.compile(optimizer=Adam(3e-4), loss="sparse_categorical_crossentropy", metrics=["accuracy"])  # again,
    model.fit(x_train, y_train, batch_size=20, epochs=epochs, verbose=verbose)  # so the change takes effect
    results["fine_tuning"] = accuracy(model, x_test, y_test)
    print(f"fine-tuning (top convolution unfrozen too):        test accuracy {results['fine_tuning']:.3f}")

    # For comparison: the same network trained from scratch on the same few images.
    scratch = LeNet5(input_shape=(28, 28, 1), classes=len(NEW_CLASSES), name="scratch")
    scratch.compile(optimizer=Adam(3e-3), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    scratch.fit(x_train, y_train, batch_size=20, epochs=2 * epochs, verbose=verbose)
    results["from_scratch"] = accuracy(scratch, x_test, y_test)
    print(f"from scratch (no transfer), same {len(x_train)} images:         test accuracy "
          f"{results['from_scratch']:.3f}")
    return results


if __name__ == "__main__":
    main()
