"""Custom training as in Keras 3: override `train_step(data)` / `test_step(data)` and keep `fit()`.

Inside an override the model offers what Keras's does: `self(x, training=True)`, `self.compute_loss(...)`
(the compiled loss, regularizers and `add_loss` terms), `self.optimizer`, `self.metrics` (a "loss" tracker,
the compiled metrics, then every `neurona.metrics.Metric` held in an attribute, such as
`self.d_loss_tracker = metrics.Mean(name="d_loss")`; fit resets them at the start of every epoch),
`self.compute_metrics(...)` and `self.get_metrics_result()`. Gradients come from `neurona.GradientTape`.

The trainable weights a compiled model updates are fixed when `compile()` runs, as Keras documents: the
classic GAN recipe (compile the discriminator, set `discriminator.trainable = False`, compile the combined
model) then trains the discriminator through its own `train_on_batch` and only the generator through the
combined model. Calling `compile()` again takes the new flags into account.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from ..layers.base import Layer
from ..layers.forward_state import pending_losses
from ..tensor import Tensor
from .steps import pack_x_y_sample_weight, step_logs, unpack_x_y_sample_weight

__all__ = ["CustomSteps", "pack_x_y_sample_weight", "step_logs", "unpack_x_y_sample_weight"]

def _flags_as_compiled(weights: list[Tensor], others: list[Tensor]) -> bool:
    """Whether every weight trained since compile() still requires grad and no other weight does (checked every
    batch: plain loops, 3x faster than all(map(...)) on a few weights, #17)."""
    for w in weights:
        if not w.requires_grad:
            return False
    for w in others:
        if w.requires_grad:
            return False
    return True


class CustomSteps:
    """Mixed into Model before the Trainer: Keras 3's custom-training surface and compile-time trainability."""

    # ----------------------------------------------------------------- compile-time trainable state
    def compile(self, *args: Any, **kwargs: Any) -> None:
        super().compile(*args, **kwargs)  # type: ignore[misc]
        self._loss_tracker = _LossTracker(self)
        # each layer's flag now decides what this compiled model trains (Keras: "trainable at compile time")
        self._compiled_flags = {id(la): (la, la.trainable) for la in _all_layers(self)}

    def _compiled_trainable_weights(self) -> list[Tensor]:
        """The weights this model updates: those of layers trainable (with all their parents) at compile."""
        flags = getattr(self, "_compiled_flags", None)
        if flags is None:
            return self.trainable_weights  # type: ignore[attr-defined]
        out: list[Tensor] = []
        seen: set[int] = set()

        def walk(layer: Layer, on: bool) -> None:
            entry = flags.get(id(layer))
            on = on and (entry[1] if entry is not None else layer.trainable)
            if not on:
                return
            for w in layer._trainable_weights:
                if id(w) not in seen:
                    seen.add(id(w))
                    out.append(w)
            for sub in layer._sublayers():
                walk(sub, on)

        walk(self, True)  # type: ignore[arg-type]
        return out

    @contextlib.contextmanager
    def _trainable_scope(self, weights: list[Tensor], others: list[Tensor] | None = None) -> Iterator[None]:
        """Exactly `weights` require gradients inside the block (flags changed after compile are undone);
        `others` are the model's remaining weights (computed here when not given)."""
        if others is None:
            ids = {id(w) for w in weights}
            others = [w for w in self.weights if id(w) not in ids]  # type: ignore[attr-defined]
        changed = [w for w in weights if not w.requires_grad] + [w for w in others if w.requires_grad]
        for w in changed:
            w.requires_grad = not w.requires_grad
        try:
            yield
        finally:
            for w in changed:
                w.requires_grad = not w.requires_grad

    def _prepare_step(self) -> None:
        """The built-in step's preparation, then the weights as compiled: when flags changed since compile(),
        the compiled set is trained (and its regularizers kept) and the recorded replay is not used."""
        super()._prepare_step()  # type: ignore[misc]
        compiled = self._compiled_trainable_weights()
        keep = {id(w) for w in compiled}
        if keep != {id(w) for w in self._train_weights}:
            self._train_weights = compiled
            self._regs = [(r, w) for r, w in self._collect_all_regularizers() if id(w) in keep]
            specs = self._specs or []
            self._simple_loss = (len(specs) == 1 and specs[0].weight == 1.0 and specs[0].loss is not None
                                 and not self._regs)
            self._replay = None
        self._other_weights = [w for w in self.weights if id(w) not in keep]  # type: ignore[attr-defined]

    def _collect_all_regularizers(self) -> list[tuple[Any, Tensor]]:
        return [(r, w) for la in _all_layers(self) for r, w in la._regularizers]

    def _train_batch(self, x: Any, ys: list[np.ndarray], sw: Any) -> None:
        """The built-in step on the weights fixed at compile time (flags changed since are undone for the step)."""
        weights = self._train_weights
        if not weights:
            warnings.warn(f"model '{self.name}' has no trainable weights (its layers were frozen when "  # type: ignore[attr-defined]
                          f"compile() ran): train_on_batch/fit only compute the loss. Set layer.trainable = True "
                          f"and call compile() again to train them", stacklevel=3)
            loss, outs = self._forward_loss(x, ys, sw, True)  # type: ignore[attr-defined]
            self._track(ys, outs, sw, loss)  # type: ignore[attr-defined]
            return
        others = self._other_weights
        if _flags_as_compiled(weights, others):
            super()._train_batch(x, ys, sw)  # type: ignore[misc]  # the flags are as compiled: nothing to switch
            return
        self._replay = None  # flags changed after compile(): eager steps from now on (the next fit re-prepares)
        with self._trainable_scope(weights, others):
            super()._train_batch(x, ys, sw)  # type: ignore[misc]

    # ----------------------------------------------------------------- loss and metrics
    def compute_loss(self, x: Any = None, y: Any = None, y_pred: Any = None, sample_weight: Any = None,
                     training: bool = True) -> Tensor:
        """The compiled loss on (y, y_pred), plus the regularizers and the `add_loss` terms of the last call.

        Keras 3's signature; `y_pred` is what `self(x, training=True)` returned (probabilities, not logits).
        """
        from . import compile as cmp

        specs = self._build_specs() if getattr(self, "compiled", False) else []  # type: ignore[attr-defined]
        total: Tensor | None = None
        if y is not None and y_pred is not None and specs:
            preds = [y_pred] if isinstance(y_pred, Tensor) else list(y_pred)
            targets = [y] if len(specs) == 1 else list(y.values() if isinstance(y, Mapping) else y)
            if len(preds) != len(specs) or len(targets) != len(specs):
                raise ValueError(f"compute_loss: the model has {len(specs)} output(s) but got {len(preds)} "
                                 f"prediction(s) and {len(targets)} target(s)")
            sw = None if sample_weight is None else np.asarray(sample_weight, dtype=np.float32)
            for spec, t, p in zip(specs, targets, preds):
                if spec.loss is None:
                    continue
                t = cmp.prepare_targets(spec, np.asarray(t.data if isinstance(t, Tensor) else t),
                                        p.data.dtype)
                term = spec.loss(t, p, sw)
                term = term * spec.weight if spec.weight != 1.0 else term
                total = term if total is None else total + term
        trainable = {id(w) for w in self._compiled_trainable_weights()}
        for reg, w in self._collect_all_regularizers():
            if id(w) in trainable:
                total = reg(w) if total is None else total + reg(w)
        pending = pending_losses()
        for extra in pending:
            total = extra if total is None else total + extra
        pending.clear()
        if total is None:
            total = Tensor(np.zeros((), np.float32))
        return total

    @property
    def metrics(self) -> list[Any]:
        """The loss tracker, the compiled metrics, then the metrics held in attributes (Keras 3's order)."""
        from ..metrics import Metric

        out: list[Any] = []
        if getattr(self, "compiled", False) and self._specs is None and self.built:  # type: ignore[attr-defined]
            self._build_specs()  # type: ignore[attr-defined]
        tracker = getattr(self, "_loss_tracker", None)
        if tracker is not None and getattr(self, "_specs", None) is not None and any(
                s.loss is not None for s in self._specs):  # type: ignore[attr-defined]
            out.append(tracker)
        out += [m for s in getattr(self, "_specs", None) or [] for m, _, _ in s.metrics]
        for name, value in vars(self).items():
            if name.startswith("_"):
                continue
            for m in value if isinstance(value, (list, tuple)) else [value]:
                if isinstance(m, Metric) and not any(m is o for o in out):
                    out.append(m)
        return out

    def compute_metrics(self, x: Any, y: Any, y_pred: Any, sample_weight: Any = None) -> dict[str, float]:
        """Update the compiled metrics with this batch; returns `get_metrics_result()`."""
        from . import compile as cmp

        specs = self._build_specs() if getattr(self, "compiled", False) else []  # type: ignore[attr-defined]
        preds = [y_pred] if isinstance(y_pred, Tensor) or isinstance(y_pred, np.ndarray) else list(y_pred)
        targets = [y] if len(specs) == 1 else [] if y is None else \
            list(y.values() if isinstance(y, Mapping) else y)
        for spec, t, p in zip(specs, targets, preds):
            p = p.data if isinstance(p, Tensor) else np.asarray(p)
            t = cmp.prepare_targets(spec, np.asarray(t), p.dtype)
            for m, _, weighted in spec.metrics:
                m.update_state(t, p, sample_weight if weighted else None)
        return self.get_metrics_result()

    def get_metrics_result(self) -> dict[str, float]:
        """{name: result} of every metric in `self.metrics`."""
        out = {}
        for m in self.metrics:
            value = m.result()
            out[m.name] = float(value) if np.ndim(value) == 0 else value
        return out


class _LossTracker:
    """The "loss" entry of `model.metrics`: a Mean whose running sums are the ones fit's built-in step keeps
    (`model._totals`), so `model.metrics[0].result()` is the logged loss in both kinds of training."""

    direction = "down"  # EarlyStopping/ModelCheckpoint read it for mode="auto"

    def __init__(self, model: Any) -> None:
        self.name = "loss"
        self._model = model

    def update_state(self, values: Any, sample_weight: Any = None) -> None:
        """Add a batch loss (weighted by `sample_weight`, e.g. the batch size) to the running mean."""
        totals = self._model._totals
        value = float(np.mean(values.data if isinstance(values, Tensor) else values))
        weight = 1.0 if sample_weight is None else float(np.sum(sample_weight))
        totals[0] += value * weight
        totals[1] += weight

    def result(self) -> float:
        total, count = self._model._totals
        return total / count if count else 0.0

    def reset_state(self) -> None:
        totals = self._model._totals
        totals[0], totals[1] = 0.0, 0

    def __repr__(self) -> str:
        return "<LossTracker name=loss>"


def _all_layers(root: Layer) -> list[Layer]:
    out, seen, stack = [], set(), [root]
    while stack:
        layer = stack.pop()
        if id(layer) in seen:
            continue
        seen.add(id(layer))
        out.append(layer)
        stack.extend(layer._sublayers())
    return out
