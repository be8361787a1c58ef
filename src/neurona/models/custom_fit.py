"""The fit/evaluate loops used when a model overrides `train_step` / `test_step`.

They call the override eagerly once per batch with the batch as Keras packs it (`x` alone when there are
no targets, else `(x, y)` or `(x, y, sample_weight)`), keep callbacks, the progress bar and History, and reset
every metric in `model.metrics` at the start of each epoch.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from ..callbacks.base import CallbackList, History
from ..random import get_rng
from ..tensor import enable_grad, no_grad
from .custom import pack_x_y_sample_weight, step_logs, unpack_x_y_sample_weight


def _array(v: Any) -> Any:
    if v is None:
        return None
    if isinstance(v, Mapping):
        return {k: _array(a) for k, a in v.items()}
    if isinstance(v, (list, tuple)):
        return [_array(a) for a in v]
    a = np.asarray(v)
    return a.astype(np.float32) if a.dtype == np.float64 else a


def _first(v: Any) -> np.ndarray:
    if isinstance(v, Mapping):
        return _first(next(iter(v.values())))
    if isinstance(v, list):
        return _first(v[0])
    return v


def _take(v: Any, idx: Any) -> Any:
    if v is None:
        return None
    if isinstance(v, Mapping):
        return {k: _take(a, idx) for k, a in v.items()}
    if isinstance(v, list):
        return [_take(a, idx) for a in v]
    return v[idx]


class _Source:
    """Batches (already packed for the step) from arrays or from an iterable of batches."""

    def __init__(self, x: Any, y: Any, sw: Any, batch_size: int, shuffle: bool, steps: int | None) -> None:
        self.arrays = not (hasattr(x, "__next__") or (hasattr(x, "__iter__") and not isinstance(
            x, (np.ndarray, list, tuple, Mapping))))
        if self.arrays:
            self.x, self.y, self.sw = _array(x), _array(y), _array(sw)
            self.n = len(_first(self.x))
            self.batch_size, self.shuffle = batch_size, shuffle
            self.steps = steps or math.ceil(self.n / batch_size)
        else:
            if steps is None and not hasattr(x, "__len__"):
                raise ValueError("a generator without a length needs steps_per_epoch= (validation_steps=)")
            self.source, self.steps = x, steps or len(x)
            self._it: Iterator[Any] | None = None

    def epoch(self) -> Iterator[Any]:
        if not self.arrays:
            if self._it is None or not hasattr(self.source, "__len__"):
                self._it = iter(self.source)
            for _ in range(self.steps):
                try:
                    batch = next(self._it)
                except StopIteration:
                    self._it = iter(self.source)
                    return
                x, y, sw = unpack_x_y_sample_weight(batch)
                yield pack_x_y_sample_weight(_array(x), _array(y), _array(sw))
            return
        order = get_rng().permutation(self.n) if self.shuffle else np.arange(self.n)
        for step in range(self.steps):
            start = (step * self.batch_size) % self.n
            idx = order[start:start + self.batch_size]
            yield pack_x_y_sample_weight(_take(self.x, idx), _take(self.y, idx), _take(self.sw, idx))


def _split(x: Any, y: Any, sw: Any, fraction: float) -> tuple[Any, Any]:
    x, y, sw = _array(x), _array(y), _array(sw)
    n = len(_first(x))
    cut = int(np.floor(n * (1 - fraction)))
    if cut in (0, n):
        raise ValueError(f"validation_split={fraction} leaves no {'training' if cut == 0 else 'validation'} samples")
    head, tail = slice(0, cut), slice(cut, None)
    return (_take(x, head), _take(y, head), _take(sw, head)), (_take(x, tail), _take(y, tail), _take(sw, tail))


def _reset(model: Any) -> None:
    for m in model.metrics:
        m.reset_state()


def custom_fit(model: Any, x: Any, y: Any, batch_size: int, epochs: int, verbose: int,
               callbacks: Sequence[Any] | None, validation_split: float, validation_data: Any, shuffle: bool,
               sample_weight: Any, initial_epoch: int, steps_per_epoch: int | None,
               validation_steps: int | None, validation_batch_size: int | None, class_weight: Any = None,
               validation_freq: Any = 1) -> History:
    """fit() around a user's `train_step`: callbacks, progress, History, per-epoch metric resets."""
    if class_weight is not None:
        raise ValueError(f"{type(model).__name__} defines its own train_step, which receives the batches as they are: "
                         f"class_weight cannot be applied there; pass sample_weight= (one weight per sample) "
                         f"and use it in train_step")
    val = None
    if validation_data is not None:
        vx, vy, vsw = unpack_x_y_sample_weight(validation_data if isinstance(validation_data, tuple)
                                               else (validation_data,))
        val = _Source(vx, vy, vsw, validation_batch_size or batch_size, False, validation_steps)
    elif validation_split:
        (x, y, sample_weight), (vx, vy, vsw) = _split(x, y, sample_weight, validation_split)
        val = _Source(vx, vy, vsw, validation_batch_size or batch_size, False, validation_steps)
    train = _Source(x, y, sample_weight, batch_size, shuffle, steps_per_epoch)
    cbl = CallbackList(callbacks, add_history=True, add_progbar=verbose != 0, model=model, verbose=verbose,
                       epochs=epochs, steps=train.steps)
    model.stop_training = False
    logs: dict[str, float] = {}
    cbl.on_train_begin()
    with enable_grad():
        for epoch in range(initial_epoch, epochs):
            _reset(model)
            cbl.on_epoch_begin(epoch)
            for step, batch in enumerate(train.epoch()):
                cbl.batch_hook("on_train_batch_begin", step, None)
                logs = step_logs(model.train_step(batch), f"{type(model).__name__}.train_step")
                model._custom_logs = logs
                cbl.batch_hook("on_train_batch_end", step, logs)
                if model.stop_training:
                    break
            logs = dict(logs)
            due = (epoch + 1) % validation_freq == 0 if isinstance(validation_freq, int) else \
                epoch + 1 in validation_freq
            if val is not None and due:
                logs.update({f"val_{k}": v for k, v in custom_evaluate(model, val, cbl).items()})
            cbl.on_epoch_end(epoch, logs)
            if model.stop_training:
                break
    cbl.on_train_end(logs)
    model.history = cbl.history
    return cbl.history


def custom_evaluate(model: Any, data: Any, cbl: CallbackList | None = None) -> dict[str, float]:
    """Run `test_step` over every batch of `data` (a _Source); the last batch's logs (running means)."""
    _reset(model)
    logs: dict[str, float] = {}
    if cbl is not None:
        cbl.on_test_begin()
    with no_grad():
        for step, batch in enumerate(data.epoch()):
            logs = step_logs(model.test_step(batch), f"{type(model).__name__}.test_step")
            if cbl is not None:
                cbl.batch_hook("on_test_batch_end", step, logs)
    if cbl is not None:
        cbl.on_test_end(logs)
    return logs


def evaluate_with_test_step(model: Any, x: Any, y: Any, batch_size: int, sample_weight: Any, steps: int | None,
                            callbacks: Sequence[Any] | None, verbose: int, return_dict: bool) -> Any:
    """evaluate() around a user's `test_step`."""
    data = _Source(x, y, sample_weight, batch_size, False, steps)
    cbl = CallbackList(callbacks, add_progbar=verbose != 0, model=model, verbose=verbose, steps=data.steps)
    logs = custom_evaluate(model, data, cbl)
    if return_dict:
        return logs
    values = list(logs.values())
    return values[0] if len(values) == 1 else values
