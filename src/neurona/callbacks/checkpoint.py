"""ModelCheckpoint: save the model (or its weights) during training, every epoch or only when it improves.

It calls `model.save` / `model.save_weights`, which write to a temporary file and rename it into place,
so an interrupted save never leaves a broken checkpoint.
"""

from __future__ import annotations

import os
import warnings
from typing import Any

from ..i18n import _
from .early_stopping import MonitorCallback


class ModelCheckpoint(MonitorCallback):
    """Save to `filepath`, which may name logged values: 'weights.{epoch:02d}-{val_loss:.2f}.neurona'.

    `save_best_only=True` keeps only models whose `monitor` improved; `save_freq` is 'epoch' or a
    number of batches.
    """

    def __init__(self, filepath: str | os.PathLike[str], monitor: str = "val_loss", verbose: int = 0,
                 save_best_only: bool = False, save_weights_only: bool = False, mode: str = "auto",
                 save_freq: str | int = "epoch", initial_value_threshold: float | None = None) -> None:
        super().__init__(monitor, mode, initial_value_threshold)
        self.filepath = os.fspath(filepath)
        self.verbose = verbose
        self.save_best_only = save_best_only
        self.save_weights_only = save_weights_only
        if save_freq != "epoch" and (not isinstance(save_freq, int) or save_freq <= 0):
            raise ValueError(f"ModelCheckpoint: save_freq must be 'epoch' or a positive number of batches, "
                             f"got {save_freq!r}")
        self.save_freq = save_freq
        self._batches = 0
        self._epoch = 0

    def _path(self, epoch: int, batch: int | None, logs: dict[str, Any]) -> str:
        try:
            if batch is None:
                return self.filepath.format(epoch=epoch + 1, **logs)
            return self.filepath.format(epoch=epoch + 1, batch=batch + 1, **logs)
        except KeyError as e:
            raise KeyError(f"ModelCheckpoint filepath {self.filepath!r} names {e.args[0]!r}, which is not in the "
                           f"logs ({', '.join(logs)})") from None

    def _save(self, epoch: int, batch: int | None, logs: dict[str, Any] | None) -> None:
        logs = dict(logs or {})
        path = self._path(epoch, batch, logs)
        if self.save_best_only:
            current = logs.get(self.monitor)
            if current is None:
                warnings.warn(f"ModelCheckpoint can save the best model only when {self.monitor!r} is logged; "
                              f"saving every time", stacklevel=3)
            elif self._is_improvement(float(current), self.best):
                if self.verbose > 0:
                    best = "None" if self.best is None else f"{self.best:.5f}"
                    print("\n" + _("Epoch {epoch}: {monitor} improved from {best} to {current:.5f}, saving model to "
                                   "{path}").format(epoch=epoch + 1, monitor=self.monitor, best=best,
                                                    current=float(current), path=path))
                self.best = float(current)
            else:
                if self.verbose > 0:
                    print("\n" + _("Epoch {epoch}: {monitor} did not improve from {best:.5f}").format(
                        epoch=epoch + 1, monitor=self.monitor, best=self.best))
                return
        elif self.verbose > 0:
            print("\n" + _("Epoch {epoch}: saving model to {path}").format(epoch=epoch + 1, path=path))
        if os.path.isdir(path):
            raise IsADirectoryError(f"ModelCheckpoint filepath {path!r} is a directory: give a file name")
        folder = os.path.dirname(path)
        if folder:
            os.makedirs(folder, exist_ok=True)
        if self.save_weights_only:
            self.model.save_weights(path, overwrite=True)
        else:
            self.model.save(path, overwrite=True)

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.save_freq == "epoch":
            return
        self._batches += 1
        if self._batches >= self.save_freq:
            self._batches = 0
            self._save(self._epoch, batch, logs)

    def on_epoch_end(self, epoch, logs=None):
        if self.save_freq == "epoch":
            self._save(epoch, None, logs)
