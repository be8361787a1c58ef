"""compile() and fit(): the training loop of the slides' step 3 and 4.

One training step is: forward through the layers, the loss, backward, one `optimizer.apply` over the
cached list of trainable weights, the metric updates. Everything that does not change between batches
(the weights list, the forward plan, the regularizers, the fused losses) is prepared once per fit.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ..callbacks.base import History
from . import compile as cmp
from .checked import check_finite_once
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
from .fit_loop import FitLoop, _positive_int, _verbose
from .frames import FrameColumns, is_frame
from .leniency import adjust_input_rank
from .steps import Steps

__all__ = ["Trainer", "_positive_int", "_verbose"]


class Trainer(Steps, FitLoop):
    """compile/fit/evaluate/predict for Model; the model supplies its graph through a few hooks."""

    def _init_trainer(self) -> None:
        self.optimizer: Any = None
        self.compiled = False
        self.stop_training = False
        self.history: History | None = None
        self._compile_args: dict[str, Any] = {}
        self._specs: list[cmp.OutputSpec] | None = None
        self._ready = False
        self._jit = False
        self._totals = [0.0, 0]  # running loss sum (weighted by batch size) and sample count
        self._out_loss_sums: list[float] = []

    # ----------------------------------------------------------------- compile
    def compile(self, optimizer: Any = "rmsprop", loss: Any = None, loss_weights: Any = None, metrics: Any = None,
                weighted_metrics: Any = None, run_eagerly: bool = False, steps_per_execution: int = 1,
                jit_compile: Any = "auto", auto_scale_loss: bool = True) -> None:
        """Choose the optimizer, the loss and the metrics (strings as in Keras, or objects).

        `jit_compile` ("auto" or True) lets fit record its default training step once per batch shape and
        replay it (`neurona.function`, bit-identical to eager); `run_eagerly=True` or `jit_compile=False`
        runs every step eagerly. `steps_per_execution` and `auto_scale_loss` are accepted for Keras
        compatibility.
        """
        from .. import losses, optimizers

        self.optimizer = optimizers.get(optimizer)
        if loss is not None:  # fail now on unknown names rather than at fit
            for item in (loss.values() if isinstance(loss, Mapping) else
                         loss if isinstance(loss, (list, tuple)) else [loss]):
                if item is not None:
                    losses.get(item)
        for group in (metrics, weighted_metrics):  # likewise unknown metric names ('acuracy')
            cmp.check_metric_names(group)
        self.loss = loss
        cmp.check_loss_weights(loss_weights)
        self._compile_args = {"loss": loss, "loss_weights": loss_weights, "metrics": metrics,
                              "weighted_metrics": weighted_metrics}
        self.compiled = True
        self._jit = not run_eagerly and jit_compile in ("auto", True)
        self.run_eagerly = bool(run_eagerly)
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

    def _dtype(self) -> np.dtype:
        if type(self).__module__.startswith("neurona.models"):  # no weights of its own: the first layer's
            key = tuple(map(id, self._layers))
            cached = self.__dict__.get("_dtype_of_layers")
            if cached is not None and cached[0] == key:
                return cached[1]
            for layer in self._layers:
                for w in layer.weights:
                    if w.dtype.kind == "f":
                        self.__dict__["_dtype_of_layers"] = (key, w.dtype)
                        return w.dtype
        for w in self.weights:
            if w.dtype.kind == "f":
                return w.dtype
        return np.dtype(self.dtype)

    # ----------------------------------------------------------------- data preparation
    def _prepare_x(self, x: Any, check: bool, label: str = "x", convert: bool = True) -> list[np.ndarray]:
        """x as arrays, checked; `convert=False` leaves the dtype to the batches (converted per batch)."""
        xs = [FrameColumns.of(a, label) if is_frame(a) else as_array(a, label)  # frames: gathered per batch
              for a in split_structure(x, self.input_names, label)]
        xs = adjust_input_rank(self._input_shapes(), xs)  # Keras: (N, 28, 28) for Input((28, 28, 1))
        self._refuse_text(xs, label)
        if not self.built:
            self._build_from_data(xs)
        if convert:
            dtype = self._dtype()
            xs = [to_float(a, dtype) for a in xs]
        if check:
            names = [label] if len(xs) == 1 else [f"{label}[{i}]" for i in range(len(xs))]
            for a, name in zip(xs, names):
                check_finite_once(a, name, self._dtype())
            self._check_input_arrays(xs)
        return xs

    def _refuse_text(self, xs: list[np.ndarray], label: str) -> None:
        """Strings reach only an input declared for them (Input(dtype="str") before TextVectorization)."""
        if getattr(self, "_graph", None) is None:
            return  # a subclassed model may turn text into numbers itself
        for i, (a, t) in enumerate(zip(xs, self.inputs)):
            if a.dtype.kind in "US" and np.dtype(t.dtype).kind not in "USO":
                name = label if len(xs) == 1 else f"{label}[{i}]"
                raise TypeError(f"{name} holds text (dtype {a.dtype}) but the model's input {t.name!r} expects numbers "
                                f"({t.dtype}): convert the data to numbers, or start the model with "
                                f"Input(dtype='str') and a TextVectorization or StringLookup layer")

    def _prepare_y(self, y: Any, check: bool, label: str = "y", convert: bool = True) -> list[np.ndarray]:
        specs = self._build_specs()
        raw = [as_array(a, label) for a in split_structure(y, [s.name for s in specs], label)]
        dtype = self._dtype() if convert else None
        ys = []
        for i, (spec, a) in enumerate(zip(specs, raw)):
            name = label if len(specs) == 1 else f"{label}[{i}]"
            if check:
                check_finite_once(a, name, dtype)
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
                        check: bool = True, prefix: str = "",
                        convert: bool = True, custom: bool = False) -> tuple[list[np.ndarray], Any, Any]:
        """x, y and the sample weights as the built-in step needs them; `custom=True`: as a user's step gets
        them (Keras 3: not fitted to the model's inputs and outputs; floats in the model's dtype). `convert=False`
        leaves the dtype conversion to the batches."""
        if custom:
            xs, ys = self._custom_arrays(x, check, f"{prefix}x", convert), None
            if y is not None:
                ys = self._custom_arrays(y, check, f"{prefix}y", convert)
        else:
            xs = self._prepare_x(x, check, f"{prefix}x", convert)
            ys = None if y is None else self._prepare_y(y, check, f"{prefix}y", convert)
        names = [f"{prefix}x"] if len(xs) == 1 else [f"{prefix}x[{i}]" for i in range(len(xs))]
        arrays = xs + (ys or [])
        names += [f"{prefix}y"] if ys and len(ys) == 1 else [f"{prefix}y[{i}]" for i in range(len(ys or []))]
        n = num_samples(arrays, names)
        sw = self._prepare_weights(n, ys, sample_weight, class_weight, f"{prefix}sample_weight")
        return xs, ys, sw

    def _custom_arrays(self, value: Any, check: bool, label: str, convert: bool = True) -> list[np.ndarray]:
        if isinstance(value, Mapping):
            raise ValueError(f"{label} is a dict: a model with its own train_step/test_step receives arrays or "
                             f"lists of arrays; pass a list (or a generator yielding dict batches)")
        parts = list(value) if isinstance(value, (list, tuple)) else [value]
        dtype = self._dtype()
        out = []
        for i, a in enumerate(parts):
            a = as_array(a, label if len(parts) == 1 else f"{label}[{i}]")
            if convert and a.dtype.kind == "f" and a.dtype != dtype:
                a = a.astype(dtype)
            if check:
                check_finite_once(a, label if len(parts) == 1 else f"{label}[{i}]", dtype)
            out.append(a)
        return out

    def _batch_converter(self, class_weight: Any, with_y: bool, custom: bool = False) -> Any:
        state = {"first": True}

        def convert(batch: Any) -> tuple[Any, Any, Any]:
            x, y, sw = unpack_batch(batch)
            check = state["first"]
            state["first"] = False
            if custom and (isinstance(x, Mapping) or isinstance(y, Mapping)):
                return x, (None if y is None else [y]), sw  # a user's step takes the batch as it comes
            if with_y and not custom and y is None:
                raise ValueError("the data yields only x: training and evaluation need (x, y) batches")
            xs, ys, sw = self._prepare_arrays(x, y if with_y else None, sw, class_weight, check=check, custom=custom)
            return (xs[0] if len(xs) == 1 else xs), ys, sw

        return convert

    def _make_batches(self, x: Any, y: Any, sample_weight: Any, class_weight: Any, batch_size: int, shuffle: bool,
                      steps: int | None, with_y: bool = True, what: str = "x",
                      custom: bool = False, reuse: bool = False) -> ArrayBatches | IterableBatches:
        """Batches of prepared arrays; `custom=True`: for a user's train_step/test_step (x alone allowed).

        Arrays are gathered per batch in O(batch) (x converted per batch); `reuse=True` gathers into one
        buffer per input, for loops that are done with a batch before drawing the next."""
        if is_array_like(x):
            if with_y and not custom and y is None:
                raise ValueError(f"{what}: y (the targets) is missing; pass fit(x, y, ...) or a data source that "
                                 f"yields (x, y) batches")
            xs, ys, sw = self._prepare_arrays(x, y if with_y else None, sample_weight, class_weight, convert=False,
                                              custom=custom)
            if custom:  # a user's step: float arrays in the model's dtype, the others (ids, labels) as they are
                x_dtypes: Any = [self._dtype() if a.dtype.kind == "f" else None for a in xs]
                y_dtypes = None if ys is None else [self._dtype() if a.dtype.kind == "f" else None for a in ys]
            else:
                x_dtypes = self._dtype()
                y_dtypes = None if ys is None else [None if s.loss_kind in cmp._SPARSE else self._dtype()
                                                    for s in self._build_specs()]
            return ArrayBatches(xs, ys, sw, batch_size, shuffle, steps, dtype=x_dtypes, reuse=reuse,
                                y_dtypes=y_dtypes)
        if y is not None:
            raise ValueError(f"{what} is a generator/dataset, which yields (x, y) batches itself: do not pass y")
        if sample_weight is not None:
            raise ValueError("sample_weight cannot be combined with a generator/dataset: yield (x, y, "
                             "sample_weight) batches instead")
        if not hasattr(x, "__iter__") and not hasattr(x, "__next__"):
            raise TypeError(f"cannot use {type(x).__name__} as data: pass arrays, or an iterable of batches")
        return IterableBatches(x, steps, self._batch_converter(class_weight, with_y, custom), what)

    def _split(self, x: Any, y: Any, sw: Any, fraction: float) -> tuple[Any, ...]:
        """Keep the last `fraction` of the samples for validation, before shuffling (as Keras)."""
        xs = split_structure(x, self.input_names, "x")
        n = len(xs[0]) if is_frame(xs[0]) else len(as_array(xs[0], "x"))
        split_at = int(np.floor(n * (1.0 - fraction)))
        if split_at in (0, n):
            raise ValueError(f"validation_split={fraction} leaves {'no training' if split_at == 0 else 'no validation'}"
                             f" samples out of {n}")

        def cut(v: Any, part: slice, multi: bool) -> Any:
            if v is None:
                return None
            if is_frame(v):  # a view of the frame's rows, not a copy of it
                return v.iloc[part]
            if isinstance(v, Mapping):
                return {k: as_array(a, "data")[part] for k, a in v.items()}
            if multi:
                return [as_array(a, "data")[part] for a in v]
            return as_array(v, "data")[part]

        head, tail = slice(0, split_at), slice(split_at, None)
        mx, my = len(self.input_names) > 1, len(self.output_names) > 1
        return (cut(x, head, mx), cut(y, head, my), cut(sw, head, False),
                cut(x, tail, mx), cut(y, tail, my), cut(sw, tail, False))
