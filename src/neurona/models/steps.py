"""One batch of training, evaluation or prediction: the default `train_step` / `test_step` / `predict_step`.

The training-step contract (docs/contracts.md): `fit` calls `train_step(data)` once per batch with `data`
packed as Keras 3 packs it (`pack_x_y_sample_weight`): `(x, y)`, `(x, y, sample_weight)`, or `x` alone when
there are no targets (`(x,)` when x is itself a list or tuple), and uses the returned dict as the batch
logs; `evaluate` calls `test_step`, `predict` calls `predict_step`. A subclass that overrides one of them is
called eagerly with that data each batch. When none is overridden, the loops call the built-in step directly
on the prepared arrays (`_train_batch`, `_test_batch`, `_predict_batch`), which is what the public defaults
run too, and read the logs only when something (a callback, the epoch's end) needs them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ..function import Plan, TracedFunction
from ..layers.forward_state import pending_losses
from ..metrics.masking import mask_as_sample_weight
from ..tensor import Tensor, no_grad
from .checked import check_finite_once
from .dense_step import DenseStep, dense_chain
from .fast_paths import fast_metric_update, plain_tracker
from .parallel import Halves, mean_loss
from .replay import replayable, traced_predict_forward, traced_train_forward


class Steps:
    """The per-batch work of Model's loops; mixed into `Trainer`."""

    # ----------------------------------------------------------------- per-fit preparation
    def _prepare_step(self) -> None:
        """Cache what every batch needs: weights, the forward plan, regularizers."""
        specs = self._build_specs()
        fused = [i for i, s in enumerate(specs) if s.fused]
        self._train_forward = self._make_forward(fused)
        self._train_weights = self.trainable_weights
        self._regs = self._collect_regularizers()
        self._multi_loss = len(specs) > 1
        self._simple_loss = (len(specs) == 1 and specs[0].weight == 1.0 and specs[0].loss is not None
                             and not self._regs)
        self._replay = self._recorded_step() if replayable(self) else None
        self._plain_track = plain_tracker(specs) if self._replay is not None else None
        self._halves = self._recorded_halves() if self._replay is not None and mean_loss(self) else None
        self._dense_steps: dict[Any, DenseStep | None] | None = {} if self._replay is not None else None
        self._ready = True

    def _recorded_step(self) -> Any:
        """The traced training step, kept from one fit call to the next while nothing it recorded can differ: the
        same compiled specs, layers, trainable weight Tensors and layer configurations (fit(epochs=1) in a loop
        then traces once, not twice per call)."""
        return self._kept("_recorded", traced_train_forward)

    def _recorded_halves(self) -> Halves:
        """The two half-batch replicas of the traced step (models/parallel.py), kept like the step itself."""
        return self._kept("_recorded_pair", Halves)

    def _kept(self, name: str, make: Any) -> Any:
        try:
            key = (id(self._specs), *map(id, self._layers), *map(id, self._train_weights),
                   repr([layer.get_config() for layer in self._layers]))
        except Exception:  # a configuration that cannot be read: trace anew, as before  # noqa: BLE001
            return make(self)
        cached = self.__dict__.get(name)
        if cached is None or cached[0] != key:
            cached = self.__dict__[name] = (key, make(self))
        return cached[1]

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

    # ----------------------------------------------------------------- the built-in steps, on prepared arrays
    def _forward_loss(self, x: Any, ys: list[np.ndarray], sw: Any, training: bool) -> tuple[Tensor, list[Tensor]]:
        pending = pending_losses()
        if pending:
            pending.clear()
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
        if pending:
            for extra in pending:
                loss = extra if loss is None else loss + extra
            pending.clear()
        if loss is None:
            raise ValueError("the model has no loss to minimise: pass compile(loss='categorical_crossentropy', "
                             "'mse', ...), or add losses from layers with add_loss()")
        return loss, outs

    def _track(self, ys: list[np.ndarray], outs: list[Tensor], sw: Any, loss: Tensor) -> None:
        masks = [getattr(o, "_keras_mask", None) for o in outs]
        self._track_arrays(ys, [o.data for o in outs], sw, loss.data, masks)

    def _track_arrays(self, ys: list[np.ndarray], outs: list[np.ndarray], sw: Any, loss: np.ndarray,
                      masks: list[Any] | None = None) -> None:
        """The running loss total and the metric updates of one batch (a few array ops, no Tensors); `masks`:
        the outputs' propagated masks, which weigh padded steps 0 in the metrics, as in Keras."""
        n = len(ys[0])
        totals = self._totals  # mutated in place: no attribute assignment on the model per batch
        totals[0] += float(loss) * n
        totals[1] += n
        for i, (spec, y, out) in enumerate(zip(self._specs, ys, outs)):
            if spec.metrics:
                p = spec.probabilities(out)
                mask = masks[i] if masks else None
                for m, _, weighted in spec.metrics:
                    w = mask_as_sample_weight(sw if weighted else None, mask)
                    if not fast_metric_update(m, y, p, w):
                        m.update_state(y, p, w)

    def _train_batch(self, x: Any, ys: list[np.ndarray], sw: Any) -> None:
        """Forward, loss, backward (replayed when recorded), one optimizer update, metric updates."""
        replay = self._replay
        masks = None
        if replay is not None and self._halves is not None and self._halves.wanted(len(ys[0])):
            self._train_halves(x, ys[0], sw)
            return
        if replay is not None:
            y, known, dense = ys[0], self._dense_steps, None
            if sw is None and known is not None and type(x) is np.ndarray and type(y) is np.ndarray:
                key = (x.shape, x.dtype, y.shape, y.dtype)
                dense = known.get(key, False)  # a signature seen before: one dict look-up (#17)
                if dense is False:
                    dense = self._dense_step(key, x, y)
            if dense is not None:  # the recorded step as straight-line code: same arithmetic, less Python (#17)
                loss, out, grads = dense(x, y)
                replay.replayed = True  # the recorded plan's arithmetic ran, not a trace
                self.optimizer.apply(grads, self._train_weights)
                track = self._plain_track  # `_track_step` written out: x, y and out are 2-D arrays here
                if track is None or not track(self._totals, y, out, loss):
                    self._track_arrays(ys, [out], None, loss)
                return
            loss, *outs = replay.arrays(x, ys[0], sw)
            replay.backward()
        else:
            loss_t, outs_t = self._forward_loss(x, ys, sw, True)
            loss_t.backward()
            loss, outs = loss_t.data, [o.data for o in outs_t]
            masks = [getattr(o, "_keras_mask", None) for o in outs_t]
        weights = self._train_weights
        self.optimizer.apply([w.grad for w in weights], weights)
        for w in weights:
            w.grad = None
        self._track_step(ys, outs, sw, loss, masks)

    def _dense_step(self, key: tuple, x: np.ndarray, y: np.ndarray) -> DenseStep | None:
        """The `DenseStep` of the confirmed recorded plan for a batch signature `key` not yet in `_dense_steps`
        (models/dense_step.py), or None: not a Dense chain, or not confirmed yet (the plan is traced on a
        signature's first two calls)."""
        split = TracedFunction._split_fast((x, y, None))
        plan = self._replay._plans.get(split[1]) if split is not None else None
        if not isinstance(plan, Plan):
            return None  # traced eagerly, or not confirmed yet: ask again on the next batch
        self._dense_steps[key] = step = dense_chain(plan, self._train_weights) if x.ndim == 2 and y.ndim == 2 else None
        return step

    def _track_step(self, ys: list[np.ndarray], outs: list[np.ndarray], sw: Any, loss: np.ndarray,
                    masks: list[Any] | None = None) -> None:
        """`_track_arrays` after a training step: the plain accuracy tracker when it applies (#17)."""
        track = self._plain_track  # replayed steps only: their outputs carry no masks
        if track is None or sw is not None or not track(self._totals, ys[0], outs[0], loss):
            self._track_arrays(ys, outs, sw, loss, masks)

    def _train_halves(self, x: Any, y: np.ndarray, sw: Any) -> None:
        """The replayed step as two half-batch replicas on two threads, one optimizer update (models/parallel.py)."""
        weights = self._train_weights
        grads, halves = self._halves.step(x, y, sw, weights)
        self.optimizer.apply(grads, weights)
        for yh, outs, swh, loss in halves:
            self._track_step([yh], outs, swh, loss)

    def _test_batch(self, x: Any, ys: list[np.ndarray], sw: Any) -> None:
        loss, outs = self._forward_loss(x, ys, sw, False)
        self._track(ys, outs, sw, loss)

    def _predict_batch(self, x: Any) -> list[np.ndarray]:
        """Outputs of the inference forward, whose plan is kept while the model's layers stay the same."""
        return self._predict_plan()[2](x)

    def _predict_key(self) -> tuple[int, ...]:
        """What the inference plan depends on: the layers, and the weight Tensors they hold (a weight replaced
        by another Tensor needs a new plan). Replayed models hold their weights in their own layers."""
        layers = self._layers
        return (*map(id, layers), *[id(w) for layer in layers for w in layer._trainable_weights])

    def _predict_plan(self) -> Any:
        """(key, traced function or eager forward, a function of x returning the output arrays), kept per model."""
        key = self._predict_key() if self.__dict__.get("_predict_replays") else \
            (*map(id, self._layers), *map(id, self.weights))
        cached = self.__dict__.get("_predict_cache")
        if cached is None or cached[0] != key:
            replays = replayable(self, for_training=False)
            self.__dict__["_predict_replays"] = replays
            if replays:
                key = self._predict_key()
                traced = traced_predict_forward(self)
                cached = (key, traced, traced.arrays)
            else:
                forward = self._make_forward([])
                run = lambda xb: [o.data for o in forward(xb, False)]  # noqa: E731
                cached = (key, run, run)
            self.__dict__["_predict_cache"] = cached
        return cached

    def _predict_fast(self, x: Any) -> list[np.ndarray] | None:
        """predict_on_batch's short path: an array of a signature already validated (same trailing shape and
        dtype, no conversion needed) goes straight to the replayed plan after the NaN/inf check; None
        otherwise (the full path runs, and remembers the signature when it qualifies)."""
        sig = self.__dict__.get("_fast_x")
        if sig is None or type(x) is not np.ndarray or x.dtype != sig[1] or x.shape[1:] != sig[0] or not x.ndim:
            return None
        cached = self.__dict__.get("_predict_cache")
        if cached is None or cached[0] is not sig[2] or cached[0] != self._predict_key():
            return None  # the layers or their weights changed since: the full path checks x again
        if x.size <= 65536:
            if not np.isfinite(x).all():
                return None  # the full path names the bad value
        else:
            check_finite_once(x, "x", x.dtype)
        return cached[2](x)

    def _remember_fast(self, x: Any, xs: list[np.ndarray]) -> None:
        """After the full path accepted `x` unchanged, its signature may take the short path next time."""
        if len(xs) == 1 and xs[0] is x and type(x) is np.ndarray and x.ndim and x.dtype.kind == "f":
            cached = self.__dict__.get("_predict_cache")
            if cached is not None and self.__dict__.get("_predict_replays"):
                self.__dict__["_fast_x"] = (x.shape[1:], x.dtype, cached[0])

    # ----------------------------------------------------------------- running values
    def _reset_metrics(self) -> None:
        self._totals = [0.0, 0]
        self._out_loss_sums = [0.0] * len(self._specs or [])
        for spec in self._specs or []:
            for m, _, _ in spec.metrics:
                m.reset_state()

    def reset_metrics(self) -> None:
        """Forget the running loss and metric values."""
        self._reset_metrics()

    def _reset_all_metrics(self) -> None:
        """The compiled running values and every metric in `model.metrics` (user trackers included)."""
        self._reset_metrics()
        for m in self.metrics:
            if hasattr(m, "reset_state"):
                m.reset_state()

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

    # ----------------------------------------------------------------- the public steps (the contract)
    def _overrides(self, name: str) -> bool:
        """True when the model's class replaces the built-in `train_step`/`test_step`/`predict_step`."""
        return getattr(type(self), name) is not getattr(Steps, name)

    @staticmethod
    def _as_data(x: Any, ys: list[np.ndarray] | None, sw: Any) -> Any:
        """A prepared batch as the public steps receive it (Keras's `pack_x_y_sample_weight`)."""
        return pack_x_y_sample_weight(x, None if ys is None else ys[0] if len(ys) == 1 else list(ys), sw)

    def _from_data(self, data: Any, what: str) -> tuple[Any, list[np.ndarray] | None, Any]:
        """(x, ys, sample_weight) as the built-in step needs them, from data in any of the packed forms
        (already prepared by fit, or given by a caller: converted again without the NaN scan)."""
        x, y, sw = unpack_x_y_sample_weight(data)
        self._require_compiled(what)
        xs, ys, sw = self._prepare_arrays(x, y, sw, check=False)
        self._ensure_ready()
        return (xs[0] if len(xs) == 1 else xs), ys, sw

    def _ensure_ready(self) -> None:
        if not self._ready:
            self._prepare_step()

    def train_step(self, data: Any) -> dict[str, Any]:
        """One optimizer step on `data` = (x, y) or (x, y, sample_weight); returns the running logs.

        Override it to write your own training step: `fit` then calls yours with every batch."""
        x, ys, sw = self._from_data(data, "train_step")
        if ys is None:
            raise ValueError("the built-in train_step needs (x, y) batches: pass y, or override train_step")
        self._train_batch(x, ys, sw)
        return self._current_logs()

    def test_step(self, data: Any) -> dict[str, Any]:
        """Loss and metric updates on `data` = (x, y) or (x, y, sample_weight); returns the running logs."""
        x, ys, sw = self._from_data(data, "test_step")
        if ys is None:
            raise ValueError("the built-in test_step needs (x, y) batches: pass y, or override test_step")
        with no_grad():
            self._test_batch(x, ys, sw)
        return self._current_logs()

    def predict_step(self, data: Any) -> Any:
        """The model's outputs for `data` = x (an array, or a list for several outputs)."""
        x, _, _ = unpack_x_y_sample_weight(data)
        outs = self._predict_batch(x)
        return outs[0] if len(outs) == 1 else outs


def unpack_x_y_sample_weight(data: Any) -> tuple[Any, Any, Any]:
    """`(x, y, sample_weight)` from a batch: `x`, `(x,)`, `(x, y)` or `(x, y, sample_weight)` (Keras's helper)."""
    if isinstance(data, tuple):
        if len(data) == 1:
            return data[0], None, None
        if len(data) == 2:
            return data[0], data[1], None
        if len(data) == 3:
            return data
        raise ValueError(f"a batch must be x, (x,), (x, y) or (x, y, sample_weight), got a tuple of {len(data)} items")
    return data, None, None


def pack_x_y_sample_weight(x: Any, y: Any = None, sample_weight: Any = None) -> Any:
    """The batch a step receives: `x` alone when there are no targets (`(x,)` for a list/tuple x), else a tuple."""
    if y is None:
        return (x,) if isinstance(x, (list, tuple)) else x
    return (x, y) if sample_weight is None else (x, y, sample_weight)


def _as_float(value: Any, key: str, where: str) -> float:
    if isinstance(value, Tensor):
        value = value.data
    if isinstance(value, (bool, str)) or np.ndim(value) != 0:
        shape = f"shape {np.shape(value)}" if hasattr(value, "shape") else type(value).__name__
        raise TypeError(f"{where} must return a dict of scalars (name -> float, 0-d array or scalar Tensor), but "
                        f"its value for {key!r} is a {shape}; reduce it (e.g. loss.mean()) or use a metric tracker's "
                        f"result()")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{where} must return a dict of scalars, but its value for {key!r} is a "
                        f"{type(value).__name__}") from None


def step_logs(result: Any, where: str) -> dict[str, float]:
    """The batch logs from what a user's train_step/test_step returned, with a clear error for anything else."""
    if not isinstance(result, Mapping):
        raise TypeError(f"{where} must return a dict of scalars such as {{'loss': loss, 'accuracy': acc}} (Keras "
                        f"returns {{m.name: m.result() for m in self.metrics}}), got {type(result).__name__}")
    return {str(k): _as_float(v, k, where) for k, v in result.items()}
