"""What `compile()` sets up, resolved per model output: the loss (fused with the output's softmax or
sigmoid when it can be), its weight, the metrics, and the checks of the labels against the output."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .. import numerics
from ..layers.base import Layer

_ACCURACY = ("accuracy", "acc")
_CATEGORICAL = ("CategoricalCrossentropy",)
_SPARSE = ("SparseCategoricalCrossentropy",)
_BINARY = ("BinaryCrossentropy",)
# Losses that compare y and the output value by value, so their shapes must agree.
_ELEMENTWISE = _CATEGORICAL + _BINARY + (
    "MeanSquaredError", "MeanAbsoluteError", "MeanAbsolutePercentageError", "MeanSquaredLogarithmicError", "Huber",
    "LogCosh", "KLDivergence", "Poisson", "Hinge", "SquaredHinge", "CategoricalHinge", "CosineSimilarity")


_np_softmax = numerics.softmax
_np_sigmoid = numerics.sigmoid


_PROBS = {"softmax": _np_softmax, "sigmoid": _np_sigmoid}
# Metrics that only compare argmaxes give the same values on logits as on softmax probabilities.
_ARGMAX_METRICS = ("CategoricalAccuracy", "SparseCategoricalAccuracy", "TopKCategoricalAccuracy",
                   "SparseTopKCategoricalAccuracy")


class OutputSpec:
    """One model output as compile() configured it."""

    def __init__(self, name: str, layer: Layer | None, shape: tuple[int | None, ...] | None) -> None:
        self.name = name
        self.layer = layer  # the layer that computes it (for messages and fusion), None if unknown
        self.shape = shape
        self.loss: Any = None
        self.loss_fn: Any = None  # what the step calls: the loss, or its fused form on logits
        self.weight = 1.0
        self.fused: str | None = None  # 'softmax'/'sigmoid' when the step works on logits
        self.metrics: list[tuple[Any, str, bool]] = []  # (metric, logged name, uses sample weights)
        self.metrics_need_probs = False

    @property
    def loss_kind(self) -> str:
        return type(self.loss).__name__ if self.loss is not None else ""

    def probabilities(self, out: np.ndarray) -> np.ndarray:
        """What the metrics see: the output as the un-fused model computes it."""
        if self.fused is None or not self.metrics_need_probs:
            return out
        return _PROBS[self.fused](out)

    def who(self) -> str:
        if self.layer is None:
            return f"the output '{self.name}'"
        return f"the last layer {type(self.layer).__name__} '{self.layer.name}'"


def check_loss_weights(value: Any) -> None:
    """Refuse at compile() what per_output would turn into a wrong or NaN loss: a number, None, or a
    list/tuple/dict of them, each finite."""
    if value is None:
        return
    items = list(value.values()) if isinstance(value, Mapping) else \
        list(value) if isinstance(value, (list, tuple)) else [value]
    for w in items:
        if w is None:
            continue
        ok = isinstance(w, (int, float, np.integer, np.floating)) and not isinstance(w, bool)
        if not ok or not math.isfinite(w):
            raise ValueError(f"compile(loss_weights={value!r:.80}): each weight must be a finite number "
                             f"(one for every output, or a list or dict by output name), got {w!r:.40}")


def per_output(value: Any, names: Sequence[str], what: str) -> list[Any]:
    """A single value for every output, a list in output order, or a dict by output name."""
    n = len(names)
    if isinstance(value, Mapping):
        unknown = sorted(set(value) - set(names))
        if unknown:
            raise ValueError(f"compile({what}=...) names {unknown}, which are not outputs of the model; outputs: "
                             f"{list(names)}")
        return [value.get(k) for k in names]
    if isinstance(value, (list, tuple)) and what != "metrics":
        if len(value) != n:
            raise ValueError(f"compile({what}=...) got {len(value)} values for a model with {n} outputs {list(names)}")
        return list(value)
    return [value] * n


def resolve_loss(spec: OutputSpec, identifier: Any) -> None:
    from .. import losses

    spec.loss = losses.get(identifier) if identifier is not None else None
    spec.loss_fn = spec.loss
    spec.fused = None


def fuse(spec: OutputSpec, activation_name: str | None) -> None:
    """Compute this output's loss on logits when its final activation and the loss combine."""
    from .. import losses

    if spec.loss is None or activation_name not in _PROBS:
        return
    fused = losses.fused(spec.loss, activation_name)
    if fused is not None:
        spec.loss_fn = _unfused_when_masked(fused, spec.loss, activation_name)
        spec.fused = activation_name


def _unfused_when_masked(fused: Any, loss: Any, activation_name: str) -> Any:
    """The fused loss, except on logits that carry a Keras mask: then the activation and the (masked) loss."""
    from .. import activations

    def loss_fn(y_true: Any, logits: Any, sample_weight: Any = None) -> Any:
        mask = getattr(logits, "_keras_mask", None)
        if mask is None:
            return fused(y_true, logits, sample_weight)
        probs = activations.get(activation_name)(logits)
        probs._keras_mask = mask
        return loss(y_true, probs, sample_weight)

    return loss_fn


def make_metric(identifier: Any, spec: OutputSpec) -> Any:
    """A metric object; 'accuracy'/'acc' become binary/categorical/sparse accuracy from the loss."""
    from .. import metrics

    if isinstance(identifier, str) and identifier in _ACCURACY:
        kind = spec.loss_kind
        if kind in _BINARY:
            return metrics.BinaryAccuracy(name=identifier)
        if kind in _CATEGORICAL:
            return metrics.CategoricalAccuracy(name=identifier)
        if kind in _SPARSE:
            return metrics.SparseCategoricalAccuracy(name=identifier)
    return metrics.get(identifier)


def check_metric_names(ids: Any) -> None:
    """Resolve every metric given by name in compile()'s `metrics` (a name, a list, a dict or a list of lists),
    so that a typo fails at compile() with a suggestion instead of at fit()."""
    from .. import metrics

    if isinstance(ids, str):
        if ids not in _ACCURACY:
            metrics.get(ids)
    elif isinstance(ids, Mapping):
        for value in ids.values():
            check_metric_names(value)
    elif isinstance(ids, (list, tuple)):
        for value in ids:
            check_metric_names(value)


def resolve_metrics(spec: OutputSpec, ids: Any, weighted_ids: Any, multi: bool) -> None:
    spec.metrics = []
    for group, weighted in ((ids, False), (weighted_ids, True)):
        if group is None:
            continue
        if not isinstance(group, (list, tuple)):
            group = [group]
        for identifier in group:
            m = make_metric(identifier, spec)
            name = identifier if isinstance(identifier, str) else m.name
            if weighted and not isinstance(identifier, str):
                name = f"weighted_{name}"
            spec.metrics.append((m, f"{spec.name}_{name}" if multi else name, weighted))
    spec.metrics_need_probs = any(type(m).__name__ not in _ARGMAX_METRICS or spec.fused != "softmax"
                                  for m, _, _ in spec.metrics)


# ----------------------------------------------------------------------------- label checks
def prepare_targets(spec: OutputSpec, y: np.ndarray, dtype: Any) -> np.ndarray:
    """Targets in the form the loss and metrics expect, converted once: (n,) -> (n, 1) for one-unit
    outputs, integer labels kept as integers for sparse losses (`dtype=None`: no float conversion here)."""
    y = np.asarray(y)
    out_nd = len(spec.shape) if spec.shape is not None else None
    if spec.loss_kind in _SPARSE:
        if out_nd is not None and y.ndim == out_nd and y.shape[-1] == 1:
            y = y[..., 0]
        if y.dtype.kind == "f" and np.all(np.mod(y, 1) == 0):
            y = y.astype(np.int64)
        return y
    if out_nd is not None and y.ndim == out_nd - 1 and spec.shape[-1] == 1:
        y = y[..., None]
    if dtype is not None and y.dtype.kind in "biuf" and y.dtype != dtype:  # None: converted per batch later
        y = y.astype(dtype)
    return y


def check_targets(spec: OutputSpec, y: np.ndarray, label: str = "y") -> None:
    """Clear errors for labels that do not fit the loss and the output layer."""
    kind, shape = spec.loss_kind, spec.shape
    if shape is None or spec.loss is None:
        return
    units = shape[-1]
    if y.dtype.kind not in "biuf":
        raise ValueError(f"{label} has dtype {y.dtype}: labels must be numbers")
    if kind in _CATEGORICAL:
        if units is not None and units > 1 and (y.ndim == len(shape) - 1 or y.shape[-1] == 1):
            lo, hi = (int(y.min()), int(y.max())) if y.size else (0, 0)
            raise ValueError(
                f"categorical_crossentropy needs one-hot labels of shape (n, {units}) for {spec.who()} with "
                f"{units} units, but {label} has shape {y.shape} (class numbers {lo}..{hi}). Use "
                f"loss='sparse_categorical_crossentropy' for integer labels, or one-hot encode them with "
                f"neurona.utils.to_categorical({label}, num_classes={units}).")
        if units is not None and y.shape[-1] != units:
            raise ValueError(f"{label} has {y.shape[-1]} columns but {spec.who()} has {units} units: the one-hot "
                             f"labels need one column per unit")
    elif kind in _SPARSE:
        if units is not None and y.ndim == len(shape) and y.shape[-1] == units and units > 1:
            raise ValueError(f"sparse_categorical_crossentropy needs integer class labels, but {label} has shape "
                             f"{y.shape} (one-hot rows?). Use loss='categorical_crossentropy', or pass "
                             f"{label}.argmax(axis=-1).")
        if y.size and y.dtype.kind == "f" and not np.all(np.mod(y, 1) == 0):
            raise ValueError(f"sparse_categorical_crossentropy needs integer class labels, but {label} has "
                             f"non-integer values such as {y.reshape(-1)[np.flatnonzero(np.mod(y, 1))[0]]}")
        if y.size and units is not None:
            lo, hi = y.min(), y.max()
            if lo < 0 or hi >= units:
                bad = lo if lo < 0 else hi
                raise ValueError(f"label {int(bad)} in {label} is outside [0, {units}): {spec.who()} has {units} "
                                 f"units, one per class. Give the last layer as many units as there are classes "
                                 f"(labels 0..{int(hi)} need {int(hi) + 1}).")
    elif kind in _BINARY and y.size:
        lo, hi = float(y.min()), float(y.max())
        if lo < 0 or hi > 1:
            hint = ""
            if units is not None and units > 1 or hi > 1:
                hint = (" For several classes use a softmax output with one unit per class and "
                        "loss='sparse_categorical_crossentropy'.")
            raise ValueError(f"binary_crossentropy needs labels in [0, 1], but {label} has values from {lo:g} to "
                             f"{hi:g}.{hint}")
    if kind not in _ELEMENTWISE:
        return
    if y.ndim == len(shape) and None not in shape[1:] and tuple(y.shape[1:]) != shape[1:]:
        raise ValueError(f"{label} has per-sample shape {tuple(y.shape[1:])}, but {spec.who()} outputs "
                         f"{tuple(shape[1:])} per sample")
    if y.ndim != len(shape):
        raise ValueError(f"{label} has shape {y.shape}, which does not match {spec.who()}'s output shape "
                         f"{shape}")


def class_weights_to_sample_weights(y: np.ndarray, class_weight: Mapping[Any, float], spec: OutputSpec) -> np.ndarray:
    """One weight per sample from its class (argmax of one-hot rows, or the integer label)."""
    if y.ndim >= 2 and y.shape[-1] > 1:
        labels = y.argmax(axis=-1)
    else:
        labels = np.rint(y.reshape(len(y), -1)[:, 0]).astype(np.int64)
    labels = labels.reshape(len(y), -1)[:, 0]
    keys = {int(k): float(v) for k, v in class_weight.items()}
    present = np.unique(labels)
    missing = [int(c) for c in present if int(c) not in keys]
    if missing:
        raise ValueError(f"class_weight has no weight for class(es) {missing} found in the labels; give a weight "
                         f"for every class (classes present: {present.tolist()})")
    table = np.zeros(int(max(max(keys), present.max())) + 1, np.float32)
    for k, v in keys.items():
        if k >= 0:
            table[k] = v
    return table[labels]
