"""The Optimizer base: learning rate (float or schedule), clipping, weight decay, one `apply` per step.

Subclasses only say which state arrays a weight needs (`_make_slots`), how many scratch arrays its update
writes to (`_n_scratch`) and how one weight moves (`_update`); everything is done in place on
`variable.data` and on preallocated buffers, and the gradients passed in are never written to (they may
alias other arrays). Updates are elementwise, so a large weight is updated in cache-sized pieces: the
scratch is one shared piece-sized buffer, not a copy of every weight, and is not optimizer state (never
saved, never broadcast).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from .. import heap, registry
from ..tensor import Tensor
from . import schedules

_KERAS_ONLY = {"use_ema": False, "ema_momentum": 0.99, "ema_overwrite_frequency": None, "loss_scale_factor": None,
               "gradient_accumulation_steps": None}
_counts: dict[str, int] = {}
_CHUNK = 65536  # elements per piece of a large update (256 KB of float32 per array): the passes stay in L2


def _auto_name(cls_name: str) -> str:
    base = re.sub(r"(?<!^)(?=[A-Z])", "_", cls_name).lower()
    n = _counts.get(base, 0)
    _counts[base] = n + 1
    return base if n == 0 else f"{base}_{n}"


def _check_positive(value: Any, name: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)) or not value > 0:
        raise ValueError(f"{name} must be a positive number or None, got {value!r}")
    return float(value)


class Optimizer:
    """Base class of all optimizers (Keras's keyword arguments).

    `learning_rate` is a float, a `LearningRateSchedule` or a callable with no arguments (`lr` is accepted
    as its old name). `decay` is the legacy Keras 2 time decay, lr / (1 + decay * iterations). At most one
    of `clipnorm` (per gradient), `global_clipnorm` (all gradients together) and `clipvalue` may be set.
    `weight_decay` shrinks every weight by lr * weight_decay * w before the update (decoupled, as Keras 3).
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        registry.register_subclass("optimizer", cls)  # "neurona>Name" (or your package's): see neurona.registry
        if not cls.__name__.startswith("_"):
            registry.alias("optimizer", cls.__name__.lower(), cls)  # optimizers.get("rmsprop")

    def __init__(self, learning_rate: Any = 0.001, weight_decay: float | None = None, clipnorm: float | None = None,
                 clipvalue: float | None = None, global_clipnorm: float | None = None, name: str | None = None,
                 decay: float = 0.0, **kwargs: Any) -> None:
        if "lr" in kwargs:
            learning_rate = kwargs.pop("lr")
        if kwargs:
            raise TypeError(f"{type(self).__name__} got unexpected arguments {sorted(kwargs)}")
        if sum(c is not None for c in (clipnorm, clipvalue, global_clipnorm)) > 1:
            raise ValueError(f"only one of clipnorm, clipvalue and global_clipnorm can be set, got clipnorm="
                             f"{clipnorm}, clipvalue={clipvalue}, global_clipnorm={global_clipnorm}")
        if not isinstance(decay, (int, float)) or decay < 0:
            raise ValueError(f"decay must be a non-negative number, got {decay!r}")
        if weight_decay is not None and (not isinstance(weight_decay, (int, float)) or weight_decay < 0):
            raise ValueError(f"weight_decay must be a non-negative number or None, got {weight_decay!r}")
        self.name = name or _auto_name(type(self).__name__)
        self.clipnorm = _check_positive(clipnorm, "clipnorm")
        self.clipvalue = _check_positive(clipvalue, "clipvalue")
        self.global_clipnorm = _check_positive(global_clipnorm, "global_clipnorm")
        self.weight_decay = None if weight_decay is None else float(weight_decay)
        self.decay = float(decay)
        self.iterations = 0
        self._learning_rate: Any = None
        self.learning_rate = learning_rate
        self._slots: dict[int, tuple[Tensor, tuple[np.ndarray, ...]]] = {}
        self._scratch: dict[np.dtype, np.ndarray] = {}  # (n_scratch, piece) per dtype, shared by all weights
        # id(variable) -> (its slots entry, state + scratch views or None when updated in pieces, the pieces or None)
        self._parts: dict[int, tuple[Any, tuple[np.ndarray, ...] | None, Any]] = {}
        # `apply`'s remembered list for the common case (`_remember`); dropped whenever `_parts` changes, so it is
        # never used stale (not a number: saved files and distributed syncs copy the int/float attributes)
        self._known: tuple[Any, ...] | None = None
        self._variables: list[Tensor] = []
        self._no_decay_ids: set[int] = set()
        self._no_decay_names: re.Pattern[str] | None = None

    # ------------------------------------------------------------------ learning rate
    @property
    def learning_rate(self) -> float:
        """The learning rate of the next update (a schedule is evaluated at `iterations`)."""
        lr = self._learning_rate
        if isinstance(lr, schedules.LearningRateSchedule):
            return float(lr(self.iterations))
        return float(lr()) if callable(lr) else lr

    @learning_rate.setter
    def learning_rate(self, value: Any) -> None:
        if isinstance(value, schedules.LearningRateSchedule) or callable(value):
            self._learning_rate = value
            return
        if isinstance(self._learning_rate, schedules.LearningRateSchedule):
            raise TypeError(f"{self.name} was created with a LearningRateSchedule, so its learning rate cannot be "
                            f"set to {value!r}; create the optimizer with a float learning_rate instead")
        if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)) \
                or not math.isfinite(value) or value < 0:
            raise ValueError(f"learning_rate must be a non-negative float, a LearningRateSchedule or a callable, "
                             f"got {value!r}")
        self._learning_rate = float(value)

    lr = learning_rate  # the Keras 2 name, still used in many tutorials

    def _current_lr(self) -> float:
        lr = self.learning_rate
        return lr / (1.0 + self.decay * self.iterations) if self.decay else lr

    # ------------------------------------------------------------------ variables
    def build(self, variables: Sequence[Tensor]) -> None:
        """Create the slots of `variables` now (otherwise they are created at their first update)."""
        self._variables = list(variables)
        for v in self._variables:
            self._add_slots(v)

    @property
    def variables(self) -> list[Tensor]:
        return list(self._variables)

    def _add_slots(self, variable: Tensor) -> tuple[Tensor, tuple[np.ndarray, ...]]:
        if not isinstance(variable, Tensor):
            raise TypeError(f"{self.name}: optimizers update Tensors in place, got a {type(variable).__name__}")
        heap.keep_freed_memory()  # training starts: keep each step's freed arrays for the next (neurona/heap.py)
        # the variable is kept in the entry so its id cannot be reused by another array while we hold slots
        entry = (variable, self._make_slots(variable.data))
        self._slots[id(variable)] = entry
        self._parts.pop(id(variable), None)
        self._known = None
        return entry

    _n_scratch = 1  # scratch arrays `_update` receives after the state arrays (transient, not state)

    def _make_slots(self, w: np.ndarray) -> tuple[np.ndarray, ...]:
        """The state arrays one weight needs (momentum, moments, ...), saved with the optimizer."""
        return ()

    def _scratch_rows(self, n: int, dtype: np.dtype) -> np.ndarray:
        """`_n_scratch` rows of at least `n` elements (n <= _CHUNK); grown, never per weight."""
        buf = self._scratch.get(dtype)
        if buf is None or buf.shape[1] < n:
            buf = self._scratch[dtype] = np.empty((self._n_scratch, n), dtype)
            self._parts.clear()  # views into the old buffer
            self._known = None
        return buf

    def _update_weight(self, v: Tensor, w: np.ndarray, g: np.ndarray, entry: tuple[Tensor, tuple[np.ndarray, ...]],
                       lr: float) -> None:
        state = entry[1]
        known = self._parts.get(id(v))
        # C order, or Fortran order (narrow Dense kernels, stored as the products want them): the scratch views
        # and the flat pieces follow the weight's own layout, so every pass runs along contiguous memory
        order = "C" if w.flags.c_contiguous else "F" if w.flags.f_contiguous else None
        if known is None or known[0] is not entry:
            known = (entry, None, None)
            contiguous = order is not None and all(a.flags[f"{order}_CONTIGUOUS"] for a in state)
            if w.size <= _CHUNK or not contiguous:
                n = w.size
                if order is not None and n <= _CHUNK:
                    rows = self._scratch_rows(n, w.dtype)
                    known = (entry, (*state, *(r[:n].reshape(w.shape, order=order) for r in rows)), None)
                else:  # a non-contiguous large weight (rare): whole-array scratch for this step only
                    scratch = tuple(np.empty_like(w) for _ in range(self._n_scratch))
                    self._update(w, g, (*state, *scratch), lr)
                    return
            self._parts[id(v)] = known
            self._known = None
        if known[1] is not None:
            self._update(w, g, known[1], lr)
            return
        # cache-sized pieces: the three or four passes of the update run while a piece is still in L2
        # (1.25x faster on a 784x512 kernel, docs/performance.md); elementwise, so the same bits. The pieces of
        # the weight, its state and the scratch are cut once and kept (only the gradient's are cut per step:
        # 402 -> 372 us per update of the wide MLP's six weights); a new array in v.data cuts them anew
        pieces = known[2]
        if pieces is None or pieces[0] is not w:
            pieces = (w, order, self._pieces(w, state, order))
            self._parts[id(v)] = (entry, None, pieces)
            self._known = None
        flat_g = g.reshape(-1, order=pieces[1])  # a view, or a transient copy when g's layout differs from w's
        update = self._update
        for i, j, piece, rest in pieces[2]:
            update(piece, flat_g[i:j], rest, lr)

    def _pieces(self, w: np.ndarray, state: tuple[np.ndarray, ...], order: str) -> tuple[tuple[Any, ...], ...]:
        """(start, stop, piece of w, pieces of the state and the scratch) of each _CHUNK-sized piece of w."""
        rows = self._scratch_rows(_CHUNK, w.dtype)  # first: growing the buffer clears the views kept so far
        flat_w = w.reshape(-1, order=order)
        flat_s = [a.reshape(-1, order=order) for a in state]
        out = []
        for i in range(0, w.size, _CHUNK):
            j = min(i + _CHUNK, w.size)
            out.append((i, j, flat_w[i:j], (*[a[i:j] for a in flat_s], *[r[:j - i] for r in rows])))
        return tuple(out)

    def exclude_from_weight_decay(self, var_list: Iterable[Tensor] | None = None,
                                  var_names: Iterable[str] | None = None) -> None:
        """Skip weight decay for these variables, or for those whose name contains one of `var_names`."""
        self._no_decay_ids = {id(v) for v in var_list or ()}
        names = list(var_names or ())
        self._no_decay_names = re.compile("|".join(map(re.escape, names))) if names else None

    def _decays(self, v: Tensor) -> bool:
        if id(v) in self._no_decay_ids:
            return False
        return not (self._no_decay_names and v.name and self._no_decay_names.search(v.name))

    # ------------------------------------------------------------------ one step
    def apply(self, grads: Sequence[np.ndarray | None], variables: Sequence[Tensor] | None = None) -> None:
        """Update `variables` in place from `grads` (None gradients are skipped); advance `iterations`."""
        if variables is None:
            if not self._variables:
                raise ValueError(f"{self.name}: pass the variables with the gradients, or call build(variables) "
                                 f"first")
            variables = self._variables
        if len(grads) != len(variables):
            raise ValueError(f"{self.name}: got {len(grads)} gradients for {len(variables)} variables")
        if not self._variables:
            self._variables = list(variables)
        lr = self._current_lr()
        if self.clipnorm or self.global_clipnorm or self.clipvalue:
            grads = self._clip(grads)
        self._begin_step()
        wd = self.weight_decay
        known = self._known
        if (known is not None and known[0] is variables and not wd and known[1] == len(self._slots)
                and len(known[2]) == len(grads)):
            # the common case (#17): the same variables as the last call, each small weight's array and state +
            # scratch views read from the list made then, instead of two dict look-ups per weight
            update = self._update
            for g, v, (kv, w, views) in zip(grads, variables, known[2]):
                if g is None:
                    continue
                if views is not None and v is kv and v.data is w and g.shape == w.shape:
                    update(w, g, views, lr)
                    continue
                if views is not None:
                    self._known = None  # a small weight's Tensor or array changed: remember the list anew next call
                self._apply_one(g, v, lr, wd)
        else:
            for g, v in zip(grads, variables):
                if g is not None:
                    self._apply_one(g, v, lr, wd)
            self._known = self._remember(variables)
        self.iterations += 1

    def _apply_one(self, g: np.ndarray, v: Tensor, lr: float, wd: float | None) -> None:
        """One weight's update, with every check (slots created on first sight, shapes, weight decay)."""
        entry = self._slots.get(id(v))
        w = v.data
        known = self._parts.get(id(v))  # (entry, state + scratch views) of a small weight seen before
        if known is not None and known[0] is entry and known[1] is not None and g.shape == w.shape and not wd:
            self._update(w, g, known[1], lr)
            return
        entry = entry or self._add_slots(v)
        if g.shape != w.shape:
            raise ValueError(f"{self.name}: gradient of shape {g.shape} for variable {v.name or ''} of shape "
                             f"{w.shape}")
        if wd and self._decays(v):
            w *= 1.0 - lr * wd
        self._update_weight(v, w, g, entry, lr)

    def _remember(self, variables: Sequence[Tensor]) -> tuple[Any, ...]:
        """(variables, slot count, per variable (it, its array, state + scratch views or None)) for the next
        call's common case: views only where `_apply_one` would take its first branch."""
        items = []
        for v in variables:
            known = self._parts.get(id(v))
            ok = known is not None and known[0] is self._slots.get(id(v)) and known[1] is not None
            items.append((v, v.data, known[1] if ok else None))
        return variables, len(self._slots), tuple(items)

    def apply_gradients(self, grads_and_vars: Iterable[tuple[np.ndarray | None, Tensor]]) -> int:
        """Keras's older entry point: `apply_gradients(zip(grads, variables))`; returns `iterations`."""
        pairs = list(grads_and_vars)
        self.apply([g for g, _ in pairs], [v for _, v in pairs])
        return self.iterations

    def _begin_step(self) -> None:
        """Per-step work shared by all weights (bias corrections); runs before the first `_update`."""

    def _update(self, w: np.ndarray, g: np.ndarray, slots: tuple[np.ndarray, ...], lr: float) -> None:
        """Move `w` (a weight or a piece of one) given `g`: `slots` is the state, then `_n_scratch` scratch."""
        raise NotImplementedError

    def _clip(self, grads: Sequence[np.ndarray | None]) -> list[np.ndarray | None]:
        """Clipped copies of the gradients (the originals are left untouched)."""
        if self.clipvalue:
            c = self.clipvalue
            return [None if g is None else np.clip(g, -c, c) for g in grads]
        if self.clipnorm:
            c = self.clipnorm
            out = []
            for g in grads:
                norm = None if g is None else math.sqrt(float(np.vdot(g, g)))
                out.append(g * (c / norm) if norm is not None and norm > c else g)
            return out
        norm = math.sqrt(sum(float(np.vdot(g, g)) for g in grads if g is not None))
        if norm <= self.global_clipnorm:
            return list(grads)
        # as Keras: a non-finite norm makes every gradient NaN, so TerminateOnNaN can see it
        scale = self.global_clipnorm / norm if math.isfinite(norm) else math.nan
        return [None if g is None else g * scale for g in grads]

    # ------------------------------------------------------------------ config
    def get_config(self) -> dict[str, Any]:
        lr = self._learning_rate
        if isinstance(lr, schedules.LearningRateSchedule):
            lr = schedules.serialize(lr)
        elif callable(lr):
            lr = float(lr())
        config = {"name": self.name, "learning_rate": lr, "weight_decay": self.weight_decay,
                  "clipnorm": self.clipnorm, "global_clipnorm": self.global_clipnorm, "clipvalue": self.clipvalue}
        if self.decay:
            config["decay"] = self.decay
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: dict[str, Any] | None = None) -> Optimizer:
        """Rebuild from `get_config()` (Keras's configs too: options neurona lacks must be at their defaults)."""
        config = dict(config)
        for key, default in _KERAS_ONLY.items():
            value = config.pop(key, default)
            if value != default:
                raise ValueError(f"{cls.__name__}: option {key}={value!r} is not supported by neurona")
        if isinstance(config.get("learning_rate"), dict):
            config["learning_rate"] = schedules.deserialize(config["learning_rate"], custom_objects)
        return cls(**config)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, learning_rate={self._learning_rate!r})"

