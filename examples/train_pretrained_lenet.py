"""Train the LeNet-5 that neurona ships (`neurona.pretrained.load_lenet_digits()`), reproducibly.

It learns digits 0-4 of the embedded digits data (1,797 handwritten digits, upscaled to MNIST's 28x28),
the source task of examples/transfer_learning.py, which transfers it to digits 5-9. Run from the
repository root to rewrite the shipped files:

    python examples/train_pretrained_lenet.py
"""

from __future__ import annotations

import json
import os
import sys

import numpy as np

import neurona
from neurona.applications import LeNet5
from neurona.datasets import digits
from neurona.optimizers import Adam

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src", "neurona", "pretrained")
CLASSES = [0, 1, 2, 3, 4]


def load_split(classes: list[int]) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Images (n, 28, 28, 1) scaled to [0, 1] and labels 0..len(classes)-1 of the chosen digits."""
    (x_train, y_train), (x_test, y_test) = digits.load_data(size=28, seed=0)

    def pick(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        keep = np.isin(y, classes)
        labels = np.searchsorted(classes, y[keep])
        return x[keep].reshape(-1, 28, 28, 1).astype("float32") / 255.0, labels

    return pick(x_train, y_train), pick(x_test, y_test)


def main(out_dir: str = OUT, epochs: int = 15) -> float:
    neurona.utils.set_random_seed(0)
    (x_train, y_train), (x_test, y_test) = load_split(CLASSES)
    model = LeNet5(input_shape=(28, 28, 1), classes=len(CLASSES), name="lenet5_digits")
    model.compile(optimizer=Adam(1e-3), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x_train, y_train, batch_size=32, epochs=epochs, verbose=2, shuffle=True)
    _, accuracy = model.evaluate(x_test, y_test, verbose=0)
    print(f"test accuracy on digits {CLASSES}: {accuracy:.4f}")
    info = {
        "model": json.loads(model.to_json()),
        "classes": CLASSES,
        "trained_on": "neurona.datasets.digits.load_data(size=28, seed=0), digits 0-4, pixels / 255",
        "test_accuracy": round(float(accuracy), 4),
        "script": "examples/train_pretrained_lenet.py",
    }
    with open(os.path.join(out_dir, "lenet_digits.json"), "w", encoding="utf-8") as f:
        json.dump(info, f, indent=1)
        f.write("\n")
    model.save_weights(os.path.join(out_dir, "lenet_digits.safetensors"))
    return float(accuracy)


if __name__ == "__main__":
    main(*(sys.argv[1:2] or [OUT]))
