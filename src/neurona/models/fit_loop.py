"""fit(): the epochs-and-batches loop, in named steps.

`fit` checks its arguments (`_fit_arguments`), turns the data into batch sources (`_fit_data`), builds the
callbacks, and runs `_run_epochs`; each epoch (`_run_epoch`) resets the metrics, runs one step per batch
(`_fit_batch`: the built-in `_train_batch` on prepared arrays, or a user's `train_step(data)` override called
eagerly), then validates every `validation_freq` epochs and reports. Ctrl-C stops after the batch in progress.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..callbacks.base import CallbackList, History
from ..distributed.strategy import resolve as resolve_distribution
from ..ops.conv_parts import held_blas
from ..tensor import enable_grad
from .data import is_array_like
from .steps import step_logs, unpack_x_y_sample_weight


def _verbose(verbose: Any) -> int:
    if verbose == "auto":
        return 1
    if verbose not in (0, 1, 2, True, False):
        raise ValueError(f"verbose must be 0 (silent), 1 (progress bar), 2 (one line per epoch) or 'auto', "
                         f"got {verbose!r}")
    return int(verbose)


def _positive_int(value: Any, name: str, allow_zero: bool = False) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < (0 if allow_zero else 1):
        raise ValueError(f"{name} must be a {'non-negative' if allow_zero else 'positive'} integer, got {value!r}")
    return int(value)


class _InterruptGuard:
    """While fit runs, the first Ctrl-C only asks the loop to stop after the batch in progress, so an
    update is never left half applied; a second Ctrl-C interrupts at once."""

    def __enter__(self) -> _InterruptGuard:
        self.requested = False
        self._old = None
        if threading.current_thread() is threading.main_thread() and \
                signal.getsignal(signal.SIGINT) is signal.default_int_handler:
            self._old = signal.signal(signal.SIGINT, self._handler)
        return self

    def _handler(self, signum: int, frame: Any) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def __exit__(self, *exc: Any) -> None:
        if self._old is not None:
            signal.signal(signal.SIGINT, self._old)


@dataclass
class _Run:
    """What one fit() call carries from epoch to epoch."""

    train: Any
    val: Any
    cbl: CallbackList
    epochs: int
    validation_freq: Any
    custom: bool  # a user train_step: call it with the data tuple, take its logs
    guard: Any = None
    epoch: int = 0
    step: int = -1
    logs: dict[str, Any] = field(default_factory=dict)
    batch_logs: dict[str, Any] = field(default_factory=dict)


class FitLoop:
    """Model.fit, mixed into `Trainer`."""

    def fit(self, x: Any = None, y: Any = None, batch_size: int | None = None, epochs: int = 1,
            verbose: Any = "auto", callbacks: Sequence[Any] | None = None, validation_split: float = 0.0,
            validation_data: Any = None, shuffle: bool = True, class_weight: Mapping[Any, float] | None = None,
            sample_weight: Any = None, initial_epoch: int = 0, steps_per_epoch: int | None = None,
            validation_steps: int | None = None, validation_batch_size: int | None = None,
            validation_freq: int | Sequence[int] = 1, distribute: Any = None) -> History:
        """Train for `epochs` passes over the data; returns the History of the epochs' logs.

        `distribute="mpi"` (or an active `neurona.distributed.DataParallel`) trains data-parallel on every
        rank of an MPI job, `batch_size` being the global batch (docs/distributed.md).

        Ctrl-C stops after the batch in progress and returns the History so far, keeping the weights.
        """
        self._require_compiled("fit")
        verbose, batch_size, epochs, initial_epoch, steps_per_epoch = self._fit_arguments(
            x, verbose, batch_size, epochs, initial_epoch, steps_per_epoch, validation_split)
        dist = resolve_distribution(distribute)
        custom = self._overrides("train_step")
        if custom and class_weight is not None:
            raise ValueError(f"{type(self).__name__} defines its own train_step, which receives the batches as "
                             f"they are: class_weight cannot be applied there; pass sample_weight= (one weight "
                             f"per sample) and use it in train_step")
        train, val = self._fit_data(x, y, sample_weight, class_weight, batch_size, shuffle, steps_per_epoch,
                                    validation_split, validation_data, validation_steps,
                                    validation_batch_size or batch_size, custom)
        if dist is not None:  # shard the batches, silence ranks > 0, sync weights, gradients and logs
            train, verbose, callbacks = dist.begin_fit(self, train, batch_size, verbose, callbacks)
        cbl = CallbackList(callbacks, add_history=True, add_progbar=verbose != 0, model=self, verbose=verbose,
                           epochs=epochs, steps=train.steps)
        run = _Run(train, val, cbl, epochs, validation_freq, custom)
        self.stop_training = False
        self._ready = False
        self._initial_epoch = initial_epoch
        cbl.on_train_begin()
        with held_blas():  # conv layers in parts on two threads keep BLAS at one thread for the fit (#18)
            interrupted = self._run_epochs(run, self._initial_epoch)  # a callback may move it (BackupAndRestore)
        cbl.on_train_end(run.logs)
        if interrupted:
            done = len(cbl.history.epoch) if cbl.history is not None else 0
            print(f"\nTraining interrupted (Ctrl-C) in epoch {run.epoch + 1}/{epochs} after batch {run.step + 1}: "
                  f"the weights stay as that batch left them; the history keeps the {done} finished epoch(s).")
        self.history = cbl.history
        return cbl.history

    @staticmethod
    def _fit_arguments(x: Any, verbose: Any, batch_size: Any, epochs: Any, initial_epoch: Any,
                       steps_per_epoch: Any, validation_split: Any) -> tuple[int, int, int, int, int | None]:
        """fit()'s numbers checked at the door, with errors naming the argument."""
        verbose = _verbose(verbose)
        batch_size = _positive_int(32 if batch_size is None else batch_size, "batch_size")
        epochs = _positive_int(epochs, "epochs", allow_zero=True)
        initial_epoch = _positive_int(initial_epoch, "initial_epoch", allow_zero=True)
        if steps_per_epoch is not None:
            steps_per_epoch = _positive_int(steps_per_epoch, "steps_per_epoch")
        if not isinstance(validation_split, (int, float)) or not 0 <= validation_split < 1:
            raise ValueError(f"validation_split must be a fraction in [0, 1), got {validation_split!r}")
        if x is None:
            raise ValueError("fit() needs training data: fit(x, y, ...)")
        return verbose, batch_size, epochs, initial_epoch, steps_per_epoch

    def _fit_data(self, x: Any, y: Any, sample_weight: Any, class_weight: Any, batch_size: int, shuffle: bool,
                  steps: int | None, validation_split: float, validation_data: Any, validation_steps: int | None,
                  validation_batch_size: int, custom: bool) -> tuple[Any, Any]:
        """The training batches and the validation batches (None without validation)."""
        val_x = val_y = val_sw = None
        if validation_data is not None:
            if isinstance(validation_data, tuple) and len(validation_data) in (1, 2, 3):  # (x_val,) as Keras
                val_x, val_y, val_sw = unpack_x_y_sample_weight(validation_data)
            elif isinstance(validation_data, (tuple, list)):
                raise ValueError(f"validation_data must be (x_val, y_val) or (x_val, y_val, sample_weight), got a "
                                 f"{type(validation_data).__name__} of {len(validation_data)} items")
            else:
                val_x = validation_data
        elif validation_split:
            if not is_array_like(x):
                raise ValueError("validation_split needs arrays; with a generator or dataset pass validation_data")
            x, y, sample_weight, val_x, val_y, val_sw = self._split(x, y, sample_weight, validation_split)
        # a custom train_step may learn from x alone (autoencoders)
        train = self._make_batches(x, y, sample_weight, class_weight, batch_size, shuffle, steps, custom=custom,
                                   reuse=not custom)  # the built-in step is done with a batch before the next
        val = None
        if val_x is not None:
            custom_test = self._overrides("test_step")
            val = self._make_batches(val_x, val_y, val_sw, None, validation_batch_size, False, validation_steps,
                                     what="validation_data", custom=custom_test, reuse=not custom_test)
        return train, val

    def _run_epochs(self, run: _Run, initial_epoch: int) -> bool:
        """All epochs, under Ctrl-C protection; True when interrupted."""
        run.epoch = run.step = initial_epoch
        with _InterruptGuard() as guard, enable_grad():
            run.guard = guard
            try:
                for epoch in range(initial_epoch, run.epochs):
                    run.epoch = epoch
                    self._run_epoch(run)
                    if self.stop_training:
                        break
            except KeyboardInterrupt:
                for w in self.trainable_weights:
                    w.grad = None
                return True
        return False

    def _run_epoch(self, run: _Run) -> None:
        """Reset the metrics, one step per batch, then validation and the epoch's callbacks."""
        cbl, epoch = run.cbl, run.epoch
        run.step = -1
        if self._ready or run.custom:
            self._reset_all_metrics()
        cbl.on_epoch_begin(epoch)
        hooks = (cbl.has_batch_hook("on_train_batch_begin"), cbl.has_batch_hook("on_train_batch_end"),
                 cbl.needs_batch_logs["on_train_batch_end"])
        if run.custom or hooks[0] or hooks[1]:
            for step, (xb, ysb, swb) in enumerate(run.train.epoch()):
                run.step = step
                self._fit_batch(run, step, xb, ysb, swb, hooks)
                if self.stop_training or run.guard.requested:
                    break
        else:  # no per-batch callback: the built-in step, batch after batch, logs read at the epoch's end
            guard, train = run.guard, self._train_batch
            for step, (xb, ysb, swb) in enumerate(run.train.epoch()):
                run.step = step
                if not self._ready:
                    self._prepare_step()
                    self._reset_all_metrics()
                train(xb, ysb, swb)
                if self.stop_training or guard.requested:
                    break
        if run.guard.requested:
            raise KeyboardInterrupt
        if getattr(run.train, "exhausted", False):
            self.stop_training = True
        run.logs = dict(run.batch_logs) if run.custom else self._current_logs()
        skipped = getattr(getattr(run.train, "source", None), "skipped", 0)  # disk sources with on_error="skip"
        if isinstance(skipped, int) and skipped:
            run.logs["skipped"] = skipped
        if run.val is not None and self._validate_now(epoch, run.validation_freq):
            val_logs = self._test_loop(run.val, cbl)
            run.logs.update({f"val_{k}": v for k, v in val_logs.items()})
        cbl.on_epoch_end(epoch, run.logs)

    def _fit_batch(self, run: _Run, step: int, xb: Any, ysb: Any, swb: Any, hooks: tuple[bool, bool, bool]) -> None:
        """One training step with its batch callbacks."""
        if not self._ready and not run.custom:  # a user's step prepares the built-in one if it calls it
            self._prepare_step()
            self._reset_all_metrics()
        if hooks[0]:
            run.cbl.batch_hook("on_train_batch_begin", step, None)
        if run.custom:
            run.batch_logs = step_logs(self.train_step(self._as_data(xb, ysb, swb)),
                                       f"{type(self).__name__}.train_step")
            if hooks[1]:
                run.cbl.batch_hook("on_train_batch_end", step, dict(run.batch_logs))
            return
        self._train_batch(xb, ysb, swb)
        if hooks[1]:
            run.cbl.batch_hook("on_train_batch_end", step, self._current_logs() if hooks[2] else None)

    @staticmethod
    def _validate_now(epoch: int, freq: int | Sequence[int]) -> bool:
        if isinstance(freq, int):
            return (epoch + 1) % freq == 0
        return epoch + 1 in freq
