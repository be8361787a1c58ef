"""Run by tests/test_distributed_syncbn.py under `mpirun -n N`: a small CNN with BatchNormalization trained
with DataParallel(sync_batchnorm=True). Usage: mpi_syncbn_worker.py OUT_DIR (rank 0 writes syncbn.npz)."""

from __future__ import annotations

import os
import sys

import numpy as np

import neurona
from neurona import distributed, layers


def data() -> tuple[np.ndarray, np.ndarray]:
    """61 images in batches of 16: the last batch has 13 samples (7 + 6 on 2 ranks: unequal shares)."""
    rng = np.random.default_rng(11)
    x = rng.normal(size=(61, 8, 8, 1)).astype(np.float32)
    return x, (x[:, 2:6, 2:6, 0].mean(axis=(1, 2)) > 0).astype(np.int64)


def fit(distribute: object) -> neurona.Sequential:
    neurona.utils.set_random_seed(4)
    m = neurona.Sequential([layers.Input((8, 8, 1)), layers.Conv2D(4, 3), layers.BatchNormalization(),
                            layers.Activation("relu"), layers.MaxPooling2D(2), layers.Flatten(),
                            layers.Dense(6), layers.BatchNormalization(), layers.Activation("relu"),
                            layers.Dense(2, activation="softmax")])
    m.compile(optimizer=neurona.optimizers.SGD(0.1, momentum=0.9), loss="sparse_categorical_crossentropy",
              metrics=["accuracy"])
    x, y = data()
    m.fit(x, y, batch_size=16, epochs=3, verbose=0, distribute=distribute)
    return m


def main(out: str) -> None:
    distributed.init()
    m = fit(distributed.DataParallel(sync_batchnorm=True))
    saved = {f"w{i}": w for i, w in enumerate(m.get_weights())}  # moving statistics included
    saved["loss"] = np.array(m.history.history["loss"])
    unsynced = fit("mpi")
    saved.update({f"unsynced_w{i}": w for i, w in enumerate(unsynced.get_weights())})
    if distributed.rank() == 0:
        np.savez(os.path.join(out, "syncbn.npz"), **saved)


if __name__ == "__main__":
    main(sys.argv[1])
