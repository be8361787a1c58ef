"""Run by tests/test_distributed.py under `mpirun -n N`: trains the test models with distribute="mpi".

Usage: mpi_worker.py MODE OUT_DIR, MODE one of
  train     fit the MLP and the CNN for 3 epochs, then `fit_variants`; rank 0 writes the weights and histories
  raise     rank 1 raises in epoch 2 (the others wait in the allreduce): the job must end with the error
  kill      rank 1 kills itself (SIGKILL) in epoch 2
  mismatch  rank 1 builds a wider MLP: the broadcast must refuse it
  resume    fit with BackupAndRestore in OUT_DIR/backup; rank 0 is killed in epoch 2 unless OUT_DIR/resumed exists
"""

from __future__ import annotations

import os
import signal
import sys

import numpy as np

import neurona
from neurona import distributed, layers
from neurona.callbacks import BackupAndRestore, Callback


def data(kind: str) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    if kind == "mlp":  # 161 samples in batches of 32: the last batch has 1 sample, so rank 1 gets none of it
        x = rng.normal(size=(161, 12)).astype(np.float32)
        return x, (x[:, 0] + x[:, 1] > 0).astype(np.int64) + (x[:, 2] > 1)
    x = rng.normal(size=(70, 8, 8, 1)).astype(np.float32)  # batches of 16: the last has 6 (3 + 3); sample weights
    return x, (x[:, 2:6, 2:6, 0].mean(axis=(1, 2)) > 0).astype(np.int64)


def model(kind: str, width: int = 16) -> neurona.Sequential:
    neurona.utils.set_random_seed(3)
    if kind == "mlp":
        m = neurona.Sequential([layers.Input((12,)), layers.Dense(width, activation="relu"),
                                layers.Dense(3, activation="softmax")])
        m.compile(optimizer=neurona.optimizers.SGD(0.1, momentum=0.9), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    else:
        m = neurona.Sequential([layers.Input((8, 8, 1)), layers.Conv2D(4, 3, activation="relu"),
                                layers.MaxPooling2D(2), layers.Flatten(), layers.Dense(2, activation="softmax")])
        m.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return m


def fit(kind: str, callbacks: list | None = None, distribute: object = "mpi", width: int = 16) -> neurona.Sequential:
    m = model(kind, width)
    x, y = data(kind)
    weights = None if kind == "mlp" else np.linspace(0.5, 2.0, len(x)).astype(np.float32)  # per-sample weights
    m.fit(x, y, batch_size=32 if kind == "mlp" else 16, epochs=3, verbose=0, callbacks=callbacks,
          sample_weight=weights, distribute=distribute)
    return m


class CustomStep(neurona.Sequential):
    """A user train_step that calls optimizer.apply itself: the gradients must still be averaged."""

    def train_step(self, data):
        xb, yb = data
        loss = self.loss_fn(yb, self(xb, training=True))
        loss.backward()
        weights = self.trainable_weights
        self.optimizer.apply([v.grad for v in weights], weights)
        for v in weights:
            v.grad = None
        return {"loss": loss}


def batches(x: np.ndarray, y: np.ndarray):
    """A repeating generator of batches of 32 (the last of each pass has 1 sample)."""
    while True:
        for s in range(0, len(x), 32):
            yield x[s:s + 32], y[s:s + 32]


def fit_variants(distribute: object = "mpi") -> dict[str, np.ndarray]:
    """A generator with validation and EarlyStopping, and a custom train_step: final weights and logs."""
    from neurona.callbacks import EarlyStopping

    x, y = data("mlp")
    out = {}
    m = model("mlp")
    m.fit(batches(x, y), steps_per_epoch=6, epochs=3, verbose=0, validation_data=(x[:50], y[:50]),
          callbacks=[EarlyStopping(monitor="loss", patience=1)], distribute=distribute)
    out.update({f"gen_w{i}": w for i, w in enumerate(m.get_weights())})
    out["gen_loss"] = np.array(m.history.history["loss"])
    out["gen_val_loss"] = np.array(m.history.history["val_loss"])
    neurona.utils.set_random_seed(3)
    c = CustomStep([layers.Input((12,)), layers.Dense(16, activation="relu"), layers.Dense(3, activation="softmax")])
    c.compile(optimizer=neurona.optimizers.SGD(0.1))
    c.loss_fn = neurona.losses.get("sparse_categorical_crossentropy")
    c.fit(x, y, batch_size=32, epochs=3, verbose=0, distribute=distribute)
    out.update({f"custom_w{i}": w for i, w in enumerate(c.get_weights())})
    return out


class Fail(Callback):
    def __init__(self, how: str, rank: int) -> None:
        super().__init__()
        self.how, self.rank = how, rank

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == 1 and distributed.rank() == self.rank:
            if self.how == "raise":
                raise RuntimeError(f"rank {self.rank} failed on purpose")
            os.kill(os.getpid(), signal.SIGKILL)


def main(mode: str, out: str) -> None:
    distributed.init()
    if mode == "train":
        saved = {}
        for kind in ("mlp", "cnn"):
            m = fit(kind)
            for i, w in enumerate(m.get_weights()):
                saved[f"{kind}_w{i}"] = w
            saved[f"{kind}_loss"] = np.array(m.history.history["loss"])
        saved.update(fit_variants())
        if distributed.rank() == 0:
            np.savez(os.path.join(out, "weights.npz"), **saved)
    elif mode in ("raise", "kill"):
        fit("mlp", callbacks=[Fail(mode, 1)])
    elif mode == "mismatch":
        fit("mlp", width=16 if distributed.rank() == 0 else 20)
    elif mode == "resume":
        backup = BackupAndRestore(os.path.join(out, "backup"), delete_checkpoint=False)
        first = not os.path.exists(os.path.join(out, "resumed"))
        m = fit("mlp", callbacks=[backup] + ([Fail("kill", 0)] if first else []))
        if distributed.rank() == 0:
            np.savez(os.path.join(out, "weights.npz"), **{f"mlp_w{i}": w for i, w in enumerate(m.get_weights())})
    else:
        raise SystemExit(f"unknown mode {mode!r}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
