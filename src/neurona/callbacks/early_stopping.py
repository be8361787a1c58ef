"""Callbacks that watch a logged quantity (val_loss, val_accuracy, ...) and act when it stops improving."""

from __future__ import annotations

import warnings
from typing import Any

from ..i18n import _
from .base import Callback

# Substrings that say a quantity should grow; everything loss-like should shrink.
_UP = ("acc", "auc", "precision", "recall", "f1", "r2", "iou", "dice", "correlation", "pearson")
_DOWN = ("loss", "error", "mse", "mae", "mape", "msle", "crossentropy", "hinge", "divergence", "poisson")


class MonitorCallback(Callback):
    """Base of EarlyStopping, ReduceLROnPlateau and ModelCheckpoint: is a new value an improvement?"""

    def __init__(self, monitor: str = "val_loss", mode: str = "auto", baseline: float | None = None,
                 min_delta: float = 0.0) -> None:
        super().__init__()
        if mode not in ("auto", "min", "max"):
            warnings.warn(f"{type(self).__name__}: mode {mode!r} is unknown, using 'auto'", stacklevel=3)
            mode = "auto"
        self.monitor = monitor
        self.mode = mode
        self.best = baseline
        self.min_delta = abs(min_delta)
        self._sign: int | None = None  # +1: larger is better, -1: smaller is better

    def _direction(self) -> int:
        if self.mode != "auto":
            return 1 if self.mode == "max" else -1
        name = self.monitor.removeprefix("val_").lower()
        for m in getattr(self.model, "metrics", None) or []:
            d = getattr(m, "direction", None) or getattr(m, "_direction", None)
            if getattr(m, "name", None) == name and d in ("up", "down"):
                return 1 if d == "up" else -1
        if any(s in name for s in _DOWN):
            return -1
        if any(s in name for s in _UP):
            return 1
        raise ValueError(f"{type(self).__name__} cannot tell whether {self.monitor!r} should go up or down: "
                         f"pass mode='max' or mode='min'")

    def _is_improvement(self, value: float, reference: float | None) -> bool:
        if self._sign is None:
            self._sign = self._direction()
        if reference is None:
            return True
        if self._sign > 0:
            return value - self.min_delta > reference
        return value + self.min_delta < reference

    def _get(self, logs: dict[str, Any] | None) -> float | None:
        value = (logs or {}).get(self.monitor)
        if value is None:
            warnings.warn(f"{type(self).__name__} is watching {self.monitor!r}, which is not in the logs; "
                          f"available: {', '.join(logs or {}) or 'none'} (validation values need "
                          f"validation_data or validation_split)", stacklevel=3)
            return None
        return float(value)


class EarlyStopping(MonitorCallback):
    """Stop training when `monitor` has not improved by `min_delta` for `patience` epochs.

    With `restore_best_weights=True` the model ends with the weights of its best epoch. Epochs before
    `start_from_epoch` are not watched (warm-up).
    """

    def __init__(self, monitor: str = "val_loss", min_delta: float = 0.0, patience: int = 0, verbose: int = 0,
                 mode: str = "auto", baseline: float | None = None, restore_best_weights: bool = False,
                 start_from_epoch: int = 0) -> None:
        super().__init__(monitor, mode, None, min_delta)
        self.patience = int(patience)
        self.verbose = verbose
        self.baseline = baseline
        self.restore_best_weights = restore_best_weights
        self.start_from_epoch = int(start_from_epoch)
        self.wait = 0
        self.stopped_epoch = 0
        self.best_weights: list[Any] | None = None
        self.best_epoch = 0

    def on_train_begin(self, logs=None):
        self.wait = 0
        self.stopped_epoch = 0
        self.best = None
        self.best_weights = None
        self.best_epoch = 0

    def on_epoch_end(self, epoch, logs=None):
        current = self._get(logs)
        if current is None or epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights = self.model.get_weights()
            self.best_epoch = epoch
        self.wait += 1
        if self._is_improvement(current, self.best):
            self.best = current
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            if self.baseline is None or self._is_improvement(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose > 0:
            print(_("Epoch {epoch}: early stopping").format(epoch=self.stopped_epoch + 1))
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                print(_("Restoring model weights from the end of the best epoch: {epoch}.").format(
                    epoch=self.best_epoch + 1))
            self.model.set_weights(self.best_weights)
