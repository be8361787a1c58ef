"""evaluate() and predict() (the slides' steps 5 and 6), and the single-batch variants.

Both run under `no_grad()` with `training=False` (dropout off, batch-norm statistics frozen)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..callbacks.base import CallbackList
from ..tensor import no_grad
from .data import ArrayBatches, IterableBatches, is_array_like
from .training import _positive_int, _verbose


class Inference:
    """evaluate/predict/train_on_batch/test_on_batch/predict_on_batch, mixed into Model with Trainer."""

    def _test_loop(self, data: ArrayBatches | IterableBatches, cbl: CallbackList | None) -> dict[str, float]:
        """Loss and metrics over all batches of `data` (running means, as fit reports them)."""
        if self._specs is not None and not self._ready:
            self._prepare_step()
        self._reset_metrics()
        hook_end = cbl is not None and cbl.has_batch_hook("on_test_batch_end")
        logs_end = hook_end and cbl.needs_batch_logs["on_test_batch_end"]
        if cbl is not None:
            cbl.on_test_begin()
        with no_grad():
            for step, (xb, ysb, swb) in enumerate(data.epoch()):
                if not self._ready:
                    self._prepare_step()
                    self._reset_metrics()
                if cbl is not None and cbl.has_batch_hook("on_test_batch_begin"):
                    cbl.batch_hook("on_test_batch_begin", step, None)
                loss, outs = self._forward_loss(xb, ysb, swb, False)
                self._track(ysb, outs, swb, loss)
                if hook_end:
                    cbl.batch_hook("on_test_batch_end", step, self._current_logs() if logs_end else None)
        logs = self._current_logs()
        if cbl is not None:
            cbl.on_test_end(logs)
        return logs

    def evaluate(self, x: Any = None, y: Any = None, batch_size: int | None = None, verbose: Any = "auto",
                 sample_weight: Any = None, steps: int | None = None, callbacks: Sequence[Any] | None = None,
                 return_dict: bool = False) -> Any:
        """The loss, then each metric, on the given data: `loss, acc = model.evaluate(x_test, y_test)`.

        Returns a float when there is only the loss, a list otherwise, or a dict with `return_dict=True`.
        """
        self._require_compiled("evaluate")
        verbose = _verbose(verbose)
        batch_size = _positive_int(32 if batch_size is None else batch_size, "batch_size")
        if steps is not None:
            steps = _positive_int(steps, "steps")
        if x is None:
            raise ValueError("evaluate() needs data: evaluate(x, y)")
        if self._overrides("test_step"):  # gen hook: a user's test_step runs per batch (see custom_fit)
            from .custom_fit import evaluate_with_test_step
            return evaluate_with_test_step(self, x, y, batch_size, sample_weight, steps, callbacks, verbose,
                                           return_dict)
        if not is_array_like(x) and not hasattr(x, "__len__") and steps is None:
            data: Any = _Unbounded(x, self._batch_converter(None, with_y=True))  # read until it ends
        else:
            data = self._make_batches(x, y, sample_weight, None, batch_size, False, steps, what="x")
        cbl = CallbackList(callbacks, add_progbar=verbose != 0, model=self, verbose=verbose, steps=data.steps)
        logs = self._test_loop(data, cbl)
        if return_dict:
            return logs
        values = list(logs.values())
        return values[0] if len(values) == 1 else values

    def predict(self, x: Any, batch_size: int | None = None, verbose: Any = "auto", steps: int | None = None,
                callbacks: Sequence[Any] | None = None) -> Any:
        """The model's outputs for `x`, batch by batch (an array, or a list for several outputs)."""
        verbose = _verbose(verbose)
        batch_size = _positive_int(32 if batch_size is None else batch_size, "batch_size")
        if steps is not None:
            steps = _positive_int(steps, "steps")
        if is_array_like(x):
            xs = self._prepare_x(x, check=True)
            data: Any = ArrayBatches(xs, None, None, batch_size, False, steps)
        else:
            data = IterableBatches(x, steps, self._batch_converter(None, with_y=False), "x") \
                if hasattr(x, "__len__") or steps is not None else _Unbounded(x, self._batch_converter(None, False))
        cbl = CallbackList(callbacks, add_progbar=verbose != 0, model=self, verbose=verbose,
                           steps=getattr(data, "steps", None))
        forward = self._make_forward([])
        hook_end = cbl.has_batch_hook("on_predict_batch_end")
        chunks: list[list[np.ndarray]] = []
        cbl.on_predict_begin()
        with no_grad():
            for step, (xb, _, _) in enumerate(data.epoch()):
                outs = forward(xb, False)
                chunks.append([o.data for o in outs])
                if hook_end:
                    cbl.batch_hook("on_predict_batch_end", step, {"outputs": chunks[-1]})
        cbl.on_predict_end()
        if not chunks:
            raise ValueError("predict() got no batches from its input")
        outputs = [np.concatenate([c[i] for c in chunks]) if len(chunks) > 1 else chunks[0][i]
                   for i in range(len(chunks[0]))]
        return outputs[0] if len(outputs) == 1 else outputs

    def __call_on_batch(self, x: Any, y: Any, sample_weight: Any, class_weight: Any) -> tuple[Any, Any, Any]:
        xs, ys, sw = self._prepare_arrays(x, y, sample_weight, class_weight)
        if not self._ready:
            self._prepare_step()
        self._reset_metrics()
        return (xs[0] if len(xs) == 1 else xs), ys, sw

    def _batch_result(self, return_dict: bool) -> Any:
        logs = self._current_logs()
        if return_dict:
            return logs
        values = list(logs.values())
        return values[0] if len(values) == 1 else values

    def train_on_batch(self, x: Any, y: Any = None, sample_weight: Any = None, class_weight: Any = None,
                       return_dict: bool = False) -> Any:
        """One optimizer step on this batch; returns its loss (and metrics)."""
        from ..tensor import enable_grad

        self._require_compiled("train_on_batch")
        if self._overrides("train_step"):  # gen hook: Keras's train_on_batch runs the model's train_step
            from .custom import pack_x_y_sample_weight, step_logs
            with enable_grad():
                logs = step_logs(self.train_step(pack_x_y_sample_weight(x, y, sample_weight)), "train_step")
            return logs if return_dict else (list(logs.values())[0] if len(logs) == 1 else list(logs.values()))
        xb, ys, sw = self.__call_on_batch(x, y, sample_weight, class_weight)
        with enable_grad():
            self._train_step(xb, ys, sw)
        return self._batch_result(return_dict)

    def test_on_batch(self, x: Any, y: Any = None, sample_weight: Any = None, return_dict: bool = False) -> Any:
        """Loss (and metrics) on this batch, without training."""
        self._require_compiled("test_on_batch")
        xb, ys, sw = self.__call_on_batch(x, y, sample_weight, None)
        with no_grad():
            loss, outs = self._forward_loss(xb, ys, sw, False)
            self._track(ys, outs, sw, loss)
        return self._batch_result(return_dict)

    def predict_on_batch(self, x: Any) -> Any:
        """The outputs for one batch, in one forward pass."""
        xs = self._prepare_x(x, check=True)
        with no_grad():
            outs = self._make_forward([])(xs[0] if len(xs) == 1 else xs, False)
        return outs[0].data if len(outs) == 1 else [o.data for o in outs]


class _Unbounded:
    """A finite generator of x batches for predict(), read until it ends."""

    steps = None

    def __init__(self, source: Any, convert: Any) -> None:
        self.source, self.convert = source, convert

    def epoch(self):
        for batch in self.source:
            yield self.convert(batch)
