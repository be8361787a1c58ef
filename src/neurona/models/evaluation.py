"""evaluate() and predict() (the slides' steps 5 and 6), and the single-batch variants.

Both run under `no_grad()` with `training=False` (dropout off, batch-norm statistics frozen)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..callbacks.base import CallbackList
from ..heap import keep_freed_memory
from ..ops.conv_parts import held_blas
from ..tensor import no_grad
from .data import ArrayBatches, IterableBatches, is_array_like
from .steps import step_logs
from .training import _positive_int, _verbose


class Inference:
    """evaluate/predict/train_on_batch/test_on_batch/predict_on_batch, mixed into Model with Trainer."""

    def _test_loop(self, data: ArrayBatches | IterableBatches, cbl: CallbackList | None) -> dict[str, float]:
        """Loss and metrics over all batches of `data` (running means, as fit reports them)."""
        custom = self._overrides("test_step")  # a user's step prepares the built-in one if it calls it
        if self._specs is not None and not self._ready and not custom:
            self._prepare_step()
        self._reset_all_metrics()
        hook_end = cbl is not None and cbl.has_batch_hook("on_test_batch_end")
        logs_end = hook_end and cbl.needs_batch_logs["on_test_batch_end"]
        logs: dict[str, Any] = {}
        if cbl is not None:
            cbl.on_test_begin()
        with no_grad():
            for step, (xb, ysb, swb) in enumerate(data.epoch()):
                if not self._ready and not custom:
                    self._prepare_step()
                    self._reset_all_metrics()
                if cbl is not None and cbl.has_batch_hook("on_test_batch_begin"):
                    cbl.batch_hook("on_test_batch_begin", step, None)
                if custom:
                    logs = step_logs(self.test_step(self._as_data(xb, ysb, swb)), f"{type(self).__name__}.test_step")
                else:
                    self._test_batch(xb, ysb, swb)
                if hook_end:
                    cbl.batch_hook("on_test_batch_end", step, (dict(logs) if custom else self._current_logs())
                                   if logs_end else None)
        logs = logs if custom else self._current_logs()
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
        if not is_array_like(x) and not hasattr(x, "__len__") and steps is None:
            data: Any = _Unbounded(x, self._batch_converter(None, True, self._overrides("test_step")))  # to its end
        else:
            data = self._make_batches(x, y, sample_weight, None, batch_size, False, steps, what="x",
                                      custom=self._overrides("test_step"), reuse=not self._overrides("test_step"))
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
            xs = self._prepare_x(x, check=True, convert=False)
            data: Any = ArrayBatches(xs, None, None, batch_size, False, steps, dtype=self._dtype())
        else:
            data = IterableBatches(x, steps, self._batch_converter(None, with_y=False), "x") \
                if hasattr(x, "__len__") or steps is not None else _Unbounded(x, self._batch_converter(None, False))
        cbl = CallbackList(callbacks, add_progbar=verbose != 0, model=self, verbose=verbose,
                           steps=getattr(data, "steps", None))
        custom = self._overrides("predict_step")
        run = None if custom else self._predict_plan()[2]  # the replayed inference plan when the model allows it
        hook_end = cbl.has_batch_hook("on_predict_batch_end")
        chunks: list[list[np.ndarray]] = []
        cbl.on_predict_begin()
        keep_freed_memory()  # every batch frees its activations and the next allocates them again (neurona/heap.py)
        with no_grad(), held_blas():  # conv layers in parts: BLAS at one thread for the whole predict (#18)
            for step, (xb, _, _) in enumerate(data.epoch()):
                if custom:
                    out = self.predict_step(self._as_data(xb, None, None))
                    chunks.append([np.asarray(getattr(o, "data", o)) for o in (out if isinstance(out, (list, tuple))
                                                                               else [out])])
                else:
                    chunks.append(run(xb))
                if hook_end:
                    cbl.batch_hook("on_predict_batch_end", step, {"outputs": chunks[-1]})
        cbl.on_predict_end()
        if not chunks:
            raise ValueError("predict() got no batches from its input")
        outputs = [np.concatenate([c[i] for c in chunks]) if len(chunks) > 1 else chunks[0][i]
                   for i in range(len(chunks[0]))]
        return outputs[0] if len(outputs) == 1 else outputs

    def __call_on_batch(self, x: Any, y: Any, sample_weight: Any, class_weight: Any,
                        custom: bool) -> tuple[Any, Any, Any]:
        if custom and class_weight is not None:
            raise ValueError(f"{type(self).__name__} defines its own train_step, which receives the batch as it "
                             f"is: class_weight cannot be applied there; pass sample_weight= and use it in train_step")
        xs, ys, sw = self._prepare_arrays(x, y, sample_weight, class_weight, custom=custom)
        if not self._ready and not custom:  # a user's step prepares the built-in one if it calls it
            self._prepare_step()
        self._reset_metrics()
        return (xs[0] if len(xs) == 1 else xs), ys, sw

    def _batch_result(self, return_dict: bool, logs: dict[str, Any] | None = None) -> Any:
        logs = self._current_logs() if logs is None else logs
        if return_dict:
            return logs
        values = list(logs.values())
        return values[0] if len(values) == 1 else values

    def train_on_batch(self, x: Any, y: Any = None, sample_weight: Any = None, class_weight: Any = None,
                       return_dict: bool = False) -> Any:
        """One optimizer step on this batch (the model's train_step when overridden); returns its loss (and
        metrics)."""
        from ..tensor import enable_grad

        self._require_compiled("train_on_batch")
        custom = self._overrides("train_step")
        xb, ys, sw = self.__call_on_batch(x, y, sample_weight, class_weight, custom)
        with enable_grad():
            if custom:
                return self._batch_result(return_dict, step_logs(self.train_step(self._as_data(xb, ys, sw)),
                                                                 f"{type(self).__name__}.train_step"))
            self._train_batch(xb, ys, sw)
        return self._batch_result(return_dict)

    def test_on_batch(self, x: Any, y: Any = None, sample_weight: Any = None, return_dict: bool = False) -> Any:
        """Loss (and metrics) on this batch, without training (the model's test_step when overridden)."""
        self._require_compiled("test_on_batch")
        custom = self._overrides("test_step")
        xb, ys, sw = self.__call_on_batch(x, y, sample_weight, None, custom)
        with no_grad():
            if custom:
                return self._batch_result(return_dict, step_logs(self.test_step(self._as_data(xb, ys, sw)),
                                                                 f"{type(self).__name__}.test_step"))
            self._test_batch(xb, ys, sw)
        return self._batch_result(return_dict)

    def predict_on_batch(self, x: Any) -> Any:
        """The outputs for one batch, in one forward pass."""
        outs = self._predict_fast(x)
        if outs is not None:
            return outs[0] if len(outs) == 1 else outs
        xs = self._prepare_x(x, check=True)
        with no_grad():
            outs = self._predict_batch(xs[0] if len(xs) == 1 else xs)
        self._remember_fast(x, xs)
        return outs[0] if len(outs) == 1 else outs


class _Unbounded:
    """A finite generator of x batches for predict(), read until it ends."""

    steps = None

    def __init__(self, source: Any, convert: Any) -> None:
        self.source, self.convert = source, convert

    def epoch(self):
        for batch in self.source:
            yield self.convert(batch)
