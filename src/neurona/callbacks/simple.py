"""Small callbacks: CSVLogger (one row per epoch), TerminateOnNaN, LambdaCallback (hooks from functions)."""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Callable
from typing import Any

from ..i18n import _
from .base import Callback


class CSVLogger(Callback):
    """Write each epoch's logs as a row of a CSV file ('epoch' first, then the logged names, sorted)."""

    def __init__(self, filename: str | os.PathLike[str], separator: str = ",", append: bool = False) -> None:
        super().__init__()
        self.filename = os.fspath(filename)
        self.sep = separator
        self.append = append
        self._file: Any = None
        self._writer: Any = None
        self.keys: list[str] | None = None

    def on_train_begin(self, logs=None):
        has_rows = self.append and os.path.exists(self.filename) and os.path.getsize(self.filename) > 0
        self._file = open(self.filename, "a" if self.append else "w", newline="", encoding="utf-8")
        self._writer = None
        self.keys = None
        self._header_written = has_rows

    def on_epoch_end(self, epoch, logs=None):
        logs = dict(logs or {})
        if self.keys is None:
            self.keys = sorted(logs)
        if self._writer is None:
            self._writer = csv.DictWriter(self._file, fieldnames=["epoch"] + self.keys, delimiter=self.sep,
                                          extrasaction="ignore")
            if not self._header_written:
                self._writer.writeheader()
        row = {"epoch": epoch, **{k: logs.get(k, "NA") for k in self.keys}}
        self._writer.writerow(row)
        self._file.flush()

    def on_train_end(self, logs=None):
        if self._file is not None:
            self._file.close()
            self._file = None


class TerminateOnNaN(Callback):
    """Stop training as soon as a batch's loss is NaN or infinite."""

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            print(_("Batch {batch}: Invalid loss, terminating training").format(batch=batch))
            self.model.stop_training = True


class LambdaCallback(Callback):
    """A callback made of functions: `LambdaCallback(on_epoch_end=lambda epoch, logs: print(logs))`."""

    _HOOKS = ("on_epoch_begin", "on_epoch_end", "on_train_begin", "on_train_end", "on_train_batch_begin",
              "on_train_batch_end", "on_batch_begin", "on_batch_end", "on_test_begin", "on_test_end",
              "on_test_batch_begin", "on_test_batch_end", "on_predict_begin", "on_predict_end",
              "on_predict_batch_begin", "on_predict_batch_end")

    def __init__(self, **hooks: Callable[..., Any] | None) -> None:
        super().__init__()
        unknown = sorted(set(hooks) - set(self._HOOKS))
        if unknown:
            raise TypeError(f"LambdaCallback has no hook(s) {', '.join(unknown)}; hooks are {', '.join(self._HOOKS)}")
        for name, fn in hooks.items():
            if fn is not None:
                setattr(self, name, fn)
