"""compile() and fit(): the training loop of the slides' step 3 and 4.

One training step is: forward through the layers, the loss, backward, one `optimizer.apply` over the
cached list of trainable weights, the metric updates. Everything that does not change between batches
(the weights list, the forward plan, the regularizers, the fused losses) is prepared once per fit.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..callbacks.base import CallbackList, History
from ..layers.base import _PENDING_LOSSES
from ..tensor import Tensor, enable_grad
from . import compile as cmp
from .data import (
    ArrayBatches,
    IterableBatches,
    as_array,
    check_finite,
    is_array_like,
    num_samples,
    split_structure,
    to_float,
    unpack_batch,
)


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


class Trainer:
    """compile/fit/evaluate/predict for Model; the model supplies its graph through a few hooks."""

    def _init_trainer(self) -> None:
        self.optimizer: Any = None
        self.compiled = False
        self.stop_training = False
        self.history: History | None = None
        self._compile_args: dict[str, Any] = {}
        self._specs: list[cmp.OutputSpec] | None = None
        self._ready = False
        self._totals = [0.0, 0]  # running loss sum (weighted by batch size) and sample count
        self._out_loss_sums: list[float] = []

    # ----------------------------------------------------------------- compile
    def compile(self, optimizer: Any = "rmsprop", loss: Any = None, loss_weights: Any = None, metrics: Any = None,
                weighted_metrics: Any = None, run_eagerly: bool = False, steps_per_execution: int = 1,
                jit_compile: Any = "auto", auto_scale_loss: bool = True) -> None:
        """Choose the optimizer, the loss and the metrics (strings as in Keras, or objects).

        `run_eagerly`, `steps_per_execution`, `jit_compile` and `auto_scale_loss` are accepted for Keras
        compatibility; neurona always runs eagerly.
        """
        from .. import losses, optimizers

        self.optimizer = optimizers.get(optimizer)
        if loss is not None:  # fail now on unknown names rather than at fit
            for item in (loss.values() if isinstance(loss, Mapping) else
                         loss if isinstance(loss, (list, tuple)) else [loss]):
                if item is not None:
                    losses.get(item)
        self.loss = loss
        self._compile_args = {"loss": loss, "loss_weights": loss_weights, "metrics": metrics,
                              "weighted_metrics": weighted_metrics}
        self.compiled = True
        self._specs = None
        self._ready = False

    def _require_compiled(self, what: str) -> None:
        if not self.compiled:
            raise RuntimeError(f"the model must be compiled before {what}(): call model.compile(loss=..., "
                               f"optimizer=..., metrics=[...]) first")

    def _build_specs(self) -> list[cmp.OutputSpec]:
        """Resolve compile()'s arguments per output once the output layers and shapes are known."""
        if self._specs is not None:
            return self._specs
        info = self._output_info()
        names = [name for name, _, _, _ in info]
        args = self._compile_args
        loss_ids = cmp.per_output(args["loss"], names, "loss")
        weights = cmp.per_output(args["loss_weights"], names, "loss_weights") if args["loss_weights"] is not None \
            else [1.0] * len(names)
        metric_ids = self._per_output_metrics(args["metrics"], names)
        weighted_ids = self._per_output_metrics(args["weighted_metrics"], names)
        specs = []
        for i, (name, layer, shape, activation) in enumerate(info):
            spec = cmp.OutputSpec(name, layer, shape)
            cmp.resolve_loss(spec, loss_ids[i])
            spec.weight = 1.0 if weights[i] is None else float(weights[i])
            cmp.fuse(spec, activation)
            cmp.resolve_metrics(spec, metric_ids[i], weighted_ids[i], multi=len(names) > 1)
            specs.append(spec)
        self._specs = specs
        return specs

    @staticmethod
    def _per_output_metrics(value: Any, names: list[str]) -> list[Any]:
        if value is None:
            return [None] * len(names)
        if isinstance(value, Mapping):
            return cmp.per_output(value, names, "metrics")
        if isinstance(value, (list, tuple)) and len(names) > 1 and len(value) == len(names) and all(
                isinstance(v, (list, tuple)) or v is None for v in value):
            return list(value)  # one list of metrics per output
        return [value] * len(names)

    @property
    def metrics(self) -> list[Any]:
        """The compiled metric objects (after the first fit/evaluate)."""
        return [m for s in self._specs or [] for m, _, _ in s.metrics]

    @property
    def metrics_names(self) -> list[str]:
        """Names of the values evaluate() returns: 'loss', then per-output losses and metrics."""
        return list(self._log_names())

    def _log_names(self) -> list[str]:
        specs = self._specs or []
        names = ["loss"]
        if len(specs) > 1:
            names += [f"{s.name}_loss" for s in specs if s.loss is not None]
        names += [name for s in specs for _, name, _ in s.metrics]
        return names

    # ----------------------------------------------------------------- per-fit preparation
    def _prepare_step(self) -> None:
        """Cache what every batch needs: weights, forward plans, regularizers."""
        specs = self._build_specs()
        fused = [i for i, s in enumerate(specs) if s.fused]
        self._train_forward = self._make_forward(fused)
        self._predict_forward = self._make_forward([])
        self._train_weights = self.trainable_weights
        self._regs = self._collect_regularizers()
        self._multi_loss = len(specs) > 1
        self._simple_loss = (len(specs) == 1 and specs[0].weight == 1.0 and specs[0].loss is not None
                             and not self._regs)
        self._ready = True

    def _collect_regularizers(self) -> list[tuple[Any, Tensor]]:
        out, seen = [], set()
        trainable = {id(w) for w in self.trainable_weights}
        stack = [self]
        while stack:
            layer = stack.pop()
            if id(layer) in seen:
                continue
            seen.add(id(layer))
            out += [(r, w) for r, w in layer._regularizers if id(w) in trainable]
            stack.extend(reversed(list(layer._sublayers())))
        return out

    def _dtype(self) -> np.dtype:
        for w in self.weights:
            if w.dtype.kind == "f":
                return w.dtype
        return np.dtype(self.dtype)

    # ----------------------------------------------------------------- data preparation
    def _prepare_x(self, x: Any, check: bool, label: str = "x") -> list[np.ndarray]:
        xs = [as_array(a, label) for a in split_structure(x, self.input_names, label)]
        if not self.built:
            self._build_from_data(xs)
        dtype = self._dtype()
        xs = [to_float(a, dtype) for a in xs]
        if check:
            names = [label] if len(xs) == 1 else [f"{label}[{i}]" for i in range(len(xs))]
            for a, name in zip(xs, names):
                check_finite(a, name)
            self._check_input_arrays(xs)
        return xs

    def _prepare_y(self, y: Any, check: bool, label: str = "y") -> list[np.ndarray]:
        specs = self._build_specs()
        raw = [as_array(a, label) for a in split_structure(y, [s.name for s in specs], label)]
        dtype = self._dtype()
        ys = []
        for i, (spec, a) in enumerate(zip(specs, raw)):
            name = label if len(specs) == 1 else f"{label}[{i}]"
            if check:
                check_finite(a, name)
            a = cmp.prepare_targets(spec, a, dtype)
            if check:
                cmp.check_targets(spec, a, name)
            ys.append(a)
        return ys

    def _prepare_weights(self, n: int, ys: list[np.ndarray] | None, sample_weight: Any, class_weight: Any,
                         label: str = "sample_weight") -> np.ndarray | None:
        sw = None
        if sample_weight is not None:
            sw = as_array(sample_weight, label).astype(np.float32).reshape(len(sample_weight), -1)[:, 0] \
                if np.ndim(sample_weight) > 1 else as_array(sample_weight, label).astype(np.float32)
            if sw.ndim != 1 or len(sw) != n:
                raise ValueError(f"{label} must hold one weight per sample ({n}), got shape {np.shape(sample_weight)}")
            check_finite(sw, label)
        if class_weight is not None:
            if not isinstance(class_weight, Mapping):
                raise TypeError(f"class_weight must be a dict {{class: weight}}, got {type(class_weight).__name__}")
            if ys is None or len(ys) != 1:
                raise ValueError("class_weight needs a model with one output and labels y")
            cw = cmp.class_weights_to_sample_weights(ys[0], class_weight, self._build_specs()[0])
            sw = cw if sw is None else sw * cw
        return sw

    def _prepare_arrays(self, x: Any, y: Any, sample_weight: Any = None, class_weight: Any = None,
                        check: bool = True, prefix: str = "") -> tuple[list[np.ndarray], Any, Any]:
        xs = self._prepare_x(x, check, f"{prefix}x")
        ys = None if y is None else self._prepare_y(y, check, f"{prefix}y")
        names = [f"{prefix}x"] if len(xs) == 1 else [f"{prefix}x[{i}]" for i in range(len(xs))]
        arrays = xs + (ys or [])
        names += [f"{prefix}y"] if ys and len(ys) == 1 else [f"{prefix}y[{i}]" for i in range(len(ys or []))]
        n = num_samples(arrays, names)
        sw = self._prepare_weights(n, ys, sample_weight, class_weight, f"{prefix}sample_weight")
        return xs, ys, sw

    def _batch_converter(self, class_weight: Any, with_y: bool) -> Any:
        state = {"first": True}

        def convert(batch: Any) -> tuple[Any, Any, Any]:
            x, y, sw = unpack_batch(batch)
            check = state["first"]
            state["first"] = False
            if with_y and y is None:
                raise ValueError("the data yields only x: training and evaluation need (x, y) batches")
            xs, ys, sw = self._prepare_arrays(x, y if with_y else None, sw, class_weight, check=check)
            return (xs[0] if len(xs) == 1 else xs), ys, sw

        return convert

    def _make_batches(self, x: Any, y: Any, sample_weight: Any, class_weight: Any, batch_size: int, shuffle: bool,
                      steps: int | None, with_y: bool = True, what: str = "x") -> ArrayBatches | IterableBatches:
        if is_array_like(x):
            if with_y and y is None:
                raise ValueError(f"{what}: y (the targets) is missing; pass fit(x, y, ...) or a data source that "
                                 f"yields (x, y) batches")
            xs, ys, sw = self._prepare_arrays(x, y if with_y else None, sample_weight, class_weight)
            return ArrayBatches(xs, ys, sw, batch_size, shuffle, steps)
        if y is not None:
            raise ValueError(f"{what} is a generator/dataset, which yields (x, y) batches itself: do not pass y")
        if sample_weight is not None:
            raise ValueError("sample_weight cannot be combined with a generator/dataset: yield (x, y, "
                             "sample_weight) batches instead")
        if not hasattr(x, "__iter__") and not hasattr(x, "__next__"):
            raise TypeError(f"cannot use {type(x).__name__} as data: pass arrays, or an iterable of batches")
        return IterableBatches(x, steps, self._batch_converter(class_weight, with_y), what)

    # ----------------------------------------------------------------- one step
    def _forward_loss(self, x: Any, ys: list[np.ndarray], sw: Any, training: bool) -> tuple[Tensor, list[Tensor]]:
        if _PENDING_LOSSES:
            _PENDING_LOSSES.clear()
        outs = self._train_forward(x, training)
        specs = self._specs
        if self._simple_loss:
            loss = specs[0].loss_fn(ys[0], outs[0], sw)
        else:
            loss = None
            for i, spec in enumerate(specs):
                if spec.loss is None:
                    continue
                term = spec.loss_fn(ys[i], outs[i], sw)
                if self._multi_loss:
                    self._out_loss_sums[i] += float(term.data) * len(ys[i])
                if spec.weight != 1.0:
                    term = term * spec.weight
                loss = term if loss is None else loss + term
            for reg, w in self._regs:
                loss = reg(w) if loss is None else loss + reg(w)
        if _PENDING_LOSSES:
            for extra in _PENDING_LOSSES:
                loss = extra if loss is None else loss + extra
            _PENDING_LOSSES.clear()
        if loss is None:
            raise ValueError("the model has no loss to minimise: pass compile(loss='categorical_crossentropy', "
                             "'mse', ...), or add losses from layers with add_loss()")
        return loss, outs

    def _track(self, ys: list[np.ndarray], outs: list[Tensor], sw: Any, loss: Tensor) -> None:
        n = len(ys[0])
        totals = self._totals  # mutated in place: no attribute assignment on the model per batch
        totals[0] += float(loss.data) * n
        totals[1] += n
        for spec, y, out in zip(self._specs, ys, outs):
            if spec.metrics:
                p = spec.probabilities(out.data)
                for m, _, weighted in spec.metrics:
                    m.update_state(y, p, sw if weighted else None)

    def _train_step(self, x: Any, ys: list[np.ndarray], sw: Any) -> None:
        loss, outs = self._forward_loss(x, ys, sw, True)
        loss.backward()
        weights = self._train_weights
        self.optimizer.apply([w.grad for w in weights], weights)
        for w in weights:
            w.grad = None
        self._track(ys, outs, sw, loss)

    def _reset_metrics(self) -> None:
        self._totals = [0.0, 0]
        self._out_loss_sums = [0.0] * len(self._specs or [])
        for spec in self._specs or []:
            for m, _, _ in spec.metrics:
                m.reset_state()

    def reset_metrics(self) -> None:
        """Forget the running loss and metric values."""
        self._reset_metrics()

    def _current_logs(self) -> dict[str, float]:
        """Running means of the loss and the metrics since the last reset (what the progress bar shows)."""
        total, count = self._totals
        logs = {"loss": total / count if count else 0.0}
        specs = self._specs or []
        if len(specs) > 1:
            for spec, out_total in zip(specs, self._out_loss_sums):
                if spec.loss is not None:
                    logs[f"{spec.name}_loss"] = out_total / count if count else 0.0
        for spec in specs:
            for m, name, _ in spec.metrics:
                value = m.result()
                logs[name] = float(value) if np.ndim(value) == 0 else value
        return logs

    # ----------------------------------------------------------------- fit
    def fit(self, x: Any = None, y: Any = None, batch_size: int | None = None, epochs: int = 1,
            verbose: Any = "auto", callbacks: Sequence[Any] | None = None, validation_split: float = 0.0,
            validation_data: Any = None, shuffle: bool = True, class_weight: Mapping[Any, float] | None = None,
            sample_weight: Any = None, initial_epoch: int = 0, steps_per_epoch: int | None = None,
            validation_steps: int | None = None, validation_batch_size: int | None = None,
            validation_freq: int | Sequence[int] = 1) -> History:
        """Train for `epochs` passes over the data; returns the History of the epochs' logs.

        Ctrl-C stops after the batch in progress and returns the History so far, keeping the weights.
        """
        self._require_compiled("fit")
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
        if self._overrides("train_step"):  # gen hook: a user's train_step runs eagerly per batch (see custom_fit)
            from .custom_fit import custom_fit
            return custom_fit(self, x, y, batch_size, epochs, verbose, callbacks, validation_split, validation_data,
                              shuffle, sample_weight, initial_epoch, steps_per_epoch, validation_steps,
                              validation_batch_size, class_weight, validation_freq)
        val_x = val_y = val_sw = None
        if validation_data is not None:
            if isinstance(validation_data, tuple) and len(validation_data) in (2, 3):
                val_x, val_y = validation_data[0], validation_data[1]
                val_sw = validation_data[2] if len(validation_data) == 3 else None
            elif isinstance(validation_data, (tuple, list)):
                raise ValueError(f"validation_data must be (x_val, y_val) or (x_val, y_val, sample_weight), got a "
                                 f"{type(validation_data).__name__} of {len(validation_data)} items")
            else:
                val_x = validation_data
        elif validation_split:
            if not is_array_like(x):
                raise ValueError("validation_split needs arrays; with a generator or dataset pass validation_data")
            x, y, sample_weight, val_x, val_y, val_sw = self._split(x, y, sample_weight, validation_split)

        train = self._make_batches(x, y, sample_weight, class_weight, batch_size, shuffle, steps_per_epoch)
        val = None
        if val_x is not None:
            val = self._make_batches(val_x, val_y, val_sw, None, validation_batch_size or batch_size, False,
                                     validation_steps, what="validation_data")
        cbl = CallbackList(callbacks, add_history=True, add_progbar=verbose != 0, model=self, verbose=verbose,
                           epochs=epochs, steps=train.steps)
        self.stop_training = False
        self._ready = False
        hook_begin = cbl.has_batch_hook("on_train_batch_begin")
        hook_end = cbl.has_batch_hook("on_train_batch_end")
        logs_end = cbl.needs_batch_logs["on_train_batch_end"]
        logs: dict[str, Any] = {}
        interrupted = False
        self._initial_epoch = initial_epoch
        cbl.on_train_begin()
        initial_epoch = self._initial_epoch  # a callback may move it (BackupAndRestore resuming a run)
        epoch = step = initial_epoch
        with _InterruptGuard() as guard, enable_grad():
            try:
                for epoch in range(initial_epoch, epochs):
                    step = -1
                    if self._ready:
                        self._reset_metrics()
                    cbl.on_epoch_begin(epoch)
                    for step, (xb, ysb, swb) in enumerate(train.epoch()):
                        if not self._ready:
                            self._prepare_step()
                            self._reset_metrics()
                        if hook_begin:
                            cbl.batch_hook("on_train_batch_begin", step, None)
                        self._train_step(xb, ysb, swb)
                        if hook_end:
                            cbl.batch_hook("on_train_batch_end", step, self._current_logs() if logs_end else None)
                        if self.stop_training or guard.requested:
                            break
                    if guard.requested:
                        raise KeyboardInterrupt
                    if getattr(train, "exhausted", False):
                        self.stop_training = True
                    logs = self._current_logs()
                    if val is not None and self._validate_now(epoch, validation_freq):
                        val_logs = self._test_loop(val, cbl)
                        logs.update({f"val_{k}": v for k, v in val_logs.items()})
                    cbl.on_epoch_end(epoch, logs)
                    if self.stop_training:
                        break
            except KeyboardInterrupt:
                interrupted = True
                for w in self.trainable_weights:
                    w.grad = None
        cbl.on_train_end(logs)
        if interrupted:
            done = len(cbl.history.epoch) if cbl.history is not None else 0
            print(f"\nTraining interrupted (Ctrl-C) in epoch {epoch + 1}/{epochs} after batch {step + 1}: the "
                  f"weights stay as that batch left them; the history keeps the {done} finished epoch(s).")
        self.history = cbl.history
        return cbl.history

    @staticmethod
    def _validate_now(epoch: int, freq: int | Sequence[int]) -> bool:
        if isinstance(freq, int):
            return (epoch + 1) % freq == 0
        return epoch + 1 in freq

    def _split(self, x: Any, y: Any, sw: Any, fraction: float) -> tuple[Any, ...]:
        """Keep the last `fraction` of the samples for validation, before shuffling (as Keras)."""
        xs = split_structure(x, self.input_names, "x")
        n = len(as_array(xs[0], "x"))
        split_at = int(np.floor(n * (1.0 - fraction)))
        if split_at in (0, n):
            raise ValueError(f"validation_split={fraction} leaves {'no training' if split_at == 0 else 'no validation'}"
                             f" samples out of {n}")

        def cut(v: Any, part: slice, multi: bool) -> Any:
            if v is None:
                return None
            if isinstance(v, Mapping):
                return {k: as_array(a, "data")[part] for k, a in v.items()}
            if multi:
                return [as_array(a, "data")[part] for a in v]
            return as_array(v, "data")[part]

        head, tail = slice(0, split_at), slice(split_at, None)
        mx, my = len(self.input_names) > 1, len(self.output_names) > 1
        return (cut(x, head, mx), cut(y, head, my), cut(sw, head, False),
                cut(x, tail, mx), cut(y, tail, my), cut(sw, tail, False))
