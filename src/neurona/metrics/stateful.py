"""Stateful metrics for `compile(metrics=[...])`: they accumulate over batches and report on everything seen.

The contract is Keras's: `update_state(y_true, y_pred, sample_weight=None)` once per batch (ndarrays),
`result()` for the value so far, `reset_state()` at the start of each epoch. Values and names equal Keras 3's;
the state is kept in float64 so that the accumulated value equals the whole-array function.
"""

from __future__ import annotations

import re

import numpy as np

from .. import registry
from ..numerics import log_softmax, sigmoid_cross_entropy_values
from .variables import MetricState

EPSILON = 1e-7  # Keras's backend.epsilon(), used where Keras uses it so values agree


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z][a-z])", "_", name).lower()


def squeeze_or_expand(x1: np.ndarray, x2: np.ndarray, expand_rank_1: bool = True):
    """Make ranks equal when they differ by a trailing axis of size 1 (Keras's rule for (n,) vs (n, 1))."""
    if x1.ndim == x2.ndim + 1 and x1.shape[-1] == 1:
        if x2.ndim == 1 and expand_rank_1:
            x2 = x2[:, None]
        else:
            x1 = x1[..., 0]
    elif x2.ndim == x1.ndim + 1 and x2.shape[-1] == 1:
        if x1.ndim == 1 and expand_rank_1:
            x1 = x1[:, None]
        else:
            x2 = x2[..., 0]
    return x1, x2


class Metric(MetricState):
    """Base of the stateful metrics: subclasses implement update_state, result and reset_state.

    `direction` is "up" when larger is better, "down" otherwise (EarlyStopping's mode="auto" uses it).
    """

    direction = "up"

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        registry.register_subclass("metric", cls)  # "neurona>Name" (or your package's): see neurona.registry

    def __init__(self, name: str | None = None, dtype: str = "float32"):
        self.name = name or _snake(type(self).__name__)
        self.dtype = dtype
        if type(self).reset_state.__module__.startswith("neurona."):
            # neurona's metrics create their state in reset_state; a user's override (Keras 3 style) resets
            # variables that its own __init__ has not made yet, and Keras never calls it from __init__.
            self.reset_state()

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        raise NotImplementedError

    def result(self):
        raise NotImplementedError


    def __call__(self, *args, **kwargs):
        """Update with one batch and return the result so far (as calling a Keras metric does)."""
        self.update_state(*args, **kwargs)
        return self.result()

    def get_config(self) -> dict:
        return {"name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config: dict) -> Metric:
        return cls(**config)

    def _pair(self, y_true, y_pred):
        t, p = np.asarray(y_true), np.asarray(y_pred)
        if t.ndim and p.ndim and t.shape[0] != p.shape[0]:
            raise ValueError(f"metric '{self.name}': y_true has {t.shape[0]} samples but y_pred has {p.shape[0]}")
        return t, p

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name}>"


def _to_samplewise(values: np.ndarray, sample_weight, reduce=np.mean):
    """Per-sample values and weights, as Keras's reduce_to_samplewise_values."""
    values = np.asarray(values, dtype=np.float64)
    if sample_weight is not None:
        sw = np.asarray(sample_weight, dtype=np.float64)
        values, sw = squeeze_or_expand(values, sw)
        if values.ndim > sw.ndim:
            values = reduce(values, axis=tuple(range(sw.ndim, values.ndim)))
        sw = np.broadcast_to(sw, values.shape)
        values = values * sw
        if sw.ndim > 1:
            sw = reduce(sw, axis=tuple(range(1, sw.ndim)))
        sample_weight = sw
    if values.ndim > 1:
        values = reduce(values, axis=tuple(range(1, values.ndim)))
    return values, sample_weight


class Sum(Metric):
    """The (weighted) sum of the values given to update_state(values, sample_weight=None)."""

    def update_state(self, values, sample_weight=None) -> None:
        values, _ = _to_samplewise(values, sample_weight, reduce=np.sum)
        self.total += float(np.sum(values))

    def reset_state(self) -> None:
        self.total = 0.0

    def result(self) -> float:
        return self.total


class Mean(Metric):
    """The (weighted) mean of the values given to update_state(values, sample_weight=None).

    The training loop tracks the loss with it: `update_state(batch_loss, sample_weight=batch_size)`.
    """

    def update_state(self, values, sample_weight=None) -> None:
        # called every batch: the common cases (one value per sample, or a batch loss weighted by batch size)
        # skip the general reduction below
        if sample_weight is None:
            values = np.asarray(values)
            per_sample = values[0].size if values.ndim > 1 else 1  # each sample's value is the mean of its row
            total = np.count_nonzero(values) if values.dtype == bool else np.sum(values, dtype=np.float64)
            self.total += float(total) / per_sample
            self.count += values.shape[0] if values.ndim else 1
            return
        if np.ndim(values) == 0 and np.ndim(sample_weight) == 0:
            self.total += float(values) * float(sample_weight)
            self.count += float(sample_weight)
            return
        values, sw = _to_samplewise(values, sample_weight)
        self.total += float(np.sum(values))
        if sw is not None:
            self.count += float(np.sum(sw))
        else:
            self.count += values.shape[0] if values.ndim >= 1 else 1

    def reset_state(self) -> None:
        self.total = 0.0
        self.count = 0.0

    def result(self) -> float:
        return self.total / self.count if self.count else 0.0


class MeanMetricWrapper(Mean):
    """Mean over samples of `fn(y_true, y_pred, **kwargs)`, a function returning one value per sample."""

    def __init__(self, fn, name: str | None = None, dtype: str = "float32", **kwargs):
        self._fn = fn
        self._fn_kwargs = kwargs
        super().__init__(name=name or getattr(fn, "__name__", None), dtype=dtype)

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        t, p = self._pair(y_true, y_pred)
        try:
            values = self._fn(t, p, **self._fn_kwargs)
        except (ValueError, IndexError) as e:
            raise ValueError(f"metric '{self.name}' cannot compare y_true of shape {t.shape} with y_pred of shape "
                             f"{p.shape}: {e}") from e
        super().update_state(values, sample_weight=sample_weight)

    def get_config(self) -> dict:
        return {**super().get_config(), **self._fn_kwargs}


# Per-sample functions, each equal to its Keras namesake.

def accuracy_values(y_true, y_pred):
    """True where y_pred equals y_true exactly (labels against labels)."""
    t, p = squeeze_or_expand(np.asarray(y_true), np.asarray(y_pred))
    return t == p


def binary_accuracy_values(y_true, y_pred, threshold=0.5):
    """True where (y_pred > threshold) equals the 0/1 label."""
    t, p = squeeze_or_expand(np.asarray(y_true), np.asarray(y_pred))
    return t == (p > threshold)


def categorical_accuracy_values(y_true, y_pred):
    """True where the argmax of the one-hot row equals the argmax of the prediction."""
    return np.argmax(y_true, axis=-1) == np.argmax(y_pred, axis=-1)


def sparse_categorical_accuracy_values(y_true, y_pred):
    """True where the integer label equals the argmax of the prediction."""
    t, p = np.asarray(y_true), np.asarray(y_pred)
    if t.ndim == p.ndim and t.shape[-1] == 1:
        t = t[..., 0]
    return t == np.argmax(p, axis=-1)


def _in_top_k(labels: np.ndarray, y_pred: np.ndarray, k: int) -> np.ndarray:
    p = y_pred.reshape(-1, y_pred.shape[-1])
    labels = labels.reshape(-1).astype(np.int64)
    target = p[np.arange(len(p)), labels]
    # in the top k when fewer than k scores beat it: ties with the k-th score count as hits, as in Keras
    return np.count_nonzero(p > target[:, None], axis=1) < k


def top_k_categorical_accuracy_values(y_true, y_pred, k=5):
    """True where the one-hot class is among the k highest predictions."""
    return _in_top_k(np.argmax(y_true, axis=-1), np.asarray(y_pred), k)


def sparse_top_k_categorical_accuracy_values(y_true, y_pred, k=5):
    """True where the integer label is among the k highest predictions."""
    return _in_top_k(np.asarray(y_true), np.asarray(y_pred), k)


def squared_error_values(y_true, y_pred):
    """(y_true - y_pred)^2 per entry; Mean averages each sample's row (Keras's mean over the last axis)."""
    d = np.subtract(*squeeze_or_expand(np.asarray(y_true), np.asarray(y_pred)), dtype=np.float64)
    return d * d


def absolute_error_values(y_true, y_pred):
    """|y_true - y_pred| per entry; Mean averages each sample's row."""
    return np.abs(np.subtract(*squeeze_or_expand(np.asarray(y_true), np.asarray(y_pred)), dtype=np.float64))


def binary_crossentropy_values(y_true, y_pred, from_logits=False):
    t, p = squeeze_or_expand(np.asarray(y_true, dtype=np.float64), np.asarray(y_pred, dtype=np.float64))
    if from_logits:
        values = sigmoid_cross_entropy_values(p, t)  # log(1 + exp(-|z|)) form: never overflows
    else:
        p = np.clip(p, EPSILON, 1 - EPSILON)
        values = -(t * np.log(p) + (1 - t) * np.log(1 - p))
    return np.mean(values, axis=-1) if values.ndim > 1 else values


def _log_probs(y_pred, from_logits):
    p = np.asarray(y_pred, dtype=np.float64)
    if from_logits:
        return log_softmax(p)
    return np.log(np.clip(p / p.sum(axis=-1, keepdims=True), EPSILON, 1 - EPSILON))


def categorical_crossentropy_values(y_true, y_pred, from_logits=False):
    return -np.sum(np.asarray(y_true, dtype=np.float64) * _log_probs(y_pred, from_logits), axis=-1)


def sparse_categorical_crossentropy_values(y_true, y_pred, from_logits=False):
    logp = _log_probs(y_pred, from_logits)
    t = np.asarray(y_true).reshape(logp.shape[:-1]).astype(np.int64)
    return -np.take_along_axis(logp, t[..., None], axis=-1)[..., 0]


class Accuracy(MeanMetricWrapper):
    """Fraction of predictions equal to the labels (labels against labels)."""

    def __init__(self, name: str | None = "accuracy", dtype: str = "float32"):
        super().__init__(accuracy_values, name=name, dtype=dtype)


class BinaryAccuracy(MeanMetricWrapper):
    """Fraction of (y_pred > threshold) equal to the 0/1 labels."""

    def __init__(self, name: str | None = "binary_accuracy", dtype: str = "float32", threshold: float = 0.5):
        super().__init__(binary_accuracy_values, name=name, dtype=dtype, threshold=threshold)
        self.threshold = threshold


class CategoricalAccuracy(MeanMetricWrapper):
    """Fraction of samples whose predicted argmax is the one-hot class."""

    def __init__(self, name: str | None = "categorical_accuracy", dtype: str = "float32"):
        super().__init__(categorical_accuracy_values, name=name, dtype=dtype)


class SparseCategoricalAccuracy(MeanMetricWrapper):
    """Fraction of samples whose predicted argmax is the integer label."""

    def __init__(self, name: str | None = "sparse_categorical_accuracy", dtype: str = "float32"):
        super().__init__(sparse_categorical_accuracy_values, name=name, dtype=dtype)


class TopKCategoricalAccuracy(MeanMetricWrapper):
    """Fraction of samples whose one-hot class is among the k highest predictions."""

    def __init__(self, k: int = 5, name: str | None = "top_k_categorical_accuracy", dtype: str = "float32"):
        super().__init__(top_k_categorical_accuracy_values, name=name, dtype=dtype, k=k)
        self.k = k


class SparseTopKCategoricalAccuracy(MeanMetricWrapper):
    """Fraction of samples whose integer label is among the k highest predictions."""

    def __init__(self, k: int = 5, name: str | None = "sparse_top_k_categorical_accuracy", dtype: str = "float32"):
        super().__init__(sparse_top_k_categorical_accuracy_values, name=name, dtype=dtype, k=k)
        self.k = k


class MeanSquaredError(MeanMetricWrapper):
    """Mean of (y_true - y_pred)^2 over everything seen."""

    direction = "down"

    def __init__(self, name: str | None = "mean_squared_error", dtype: str = "float32"):
        super().__init__(squared_error_values, name=name, dtype=dtype)


class MeanAbsoluteError(MeanMetricWrapper):
    """Mean of |y_true - y_pred| over everything seen."""

    direction = "down"

    def __init__(self, name: str | None = "mean_absolute_error", dtype: str = "float32"):
        super().__init__(absolute_error_values, name=name, dtype=dtype)


class BinaryCrossentropy(MeanMetricWrapper):
    """Mean binary cross-entropy of probabilities (or logits with from_logits=True) against 0/1 labels."""

    direction = "down"

    def __init__(self, name: str | None = "binary_crossentropy", dtype: str = "float32", from_logits: bool = False):
        super().__init__(binary_crossentropy_values, name=name, dtype=dtype, from_logits=from_logits)
        self.from_logits = from_logits


class CategoricalCrossentropy(MeanMetricWrapper):
    """Mean categorical cross-entropy against one-hot labels."""

    direction = "down"

    def __init__(self, name: str | None = "categorical_crossentropy", dtype: str = "float32",
                 from_logits: bool = False):
        super().__init__(categorical_crossentropy_values, name=name, dtype=dtype, from_logits=from_logits)
        self.from_logits = from_logits


class SparseCategoricalCrossentropy(MeanMetricWrapper):
    """Mean categorical cross-entropy against integer labels."""

    direction = "down"

    def __init__(self, name: str | None = "sparse_categorical_crossentropy", dtype: str = "float32",
                 from_logits: bool = False):
        super().__init__(sparse_categorical_crossentropy_values, name=name, dtype=dtype, from_logits=from_logits)
        self.from_logits = from_logits


class RootMeanSquaredError(Mean):
    """Square root of the mean squared error over everything seen."""

    direction = "down"

    def __init__(self, name: str | None = "root_mean_squared_error", dtype: str = "float32"):
        super().__init__(name=name, dtype=dtype)

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        t, p = self._pair(y_true, y_pred)
        t, p = squeeze_or_expand(t.astype(np.float64), p.astype(np.float64))
        super().update_state((p - t) ** 2, sample_weight=sample_weight)

    def result(self) -> float:
        return float(np.sqrt(super().result()))


class R2Score(Metric):
    """Coefficient of determination over everything seen, from running sums (Keras's R2Score).

    class_aggregation: "uniform_average" (default), "variance_weighted_average" or None (one per output).
    """

    def __init__(self, class_aggregation: str | None = "uniform_average", num_regressors: int = 0,
                 name: str | None = "r2_score", dtype: str = "float32"):
        if class_aggregation not in (None, "uniform_average", "variance_weighted_average"):
            raise ValueError(f"class_aggregation={class_aggregation!r} is not supported; use None, "
                             "'uniform_average' or 'variance_weighted_average'")
        if num_regressors < 0:
            raise ValueError(f"num_regressors must be >= 0, got {num_regressors}")
        self.class_aggregation = class_aggregation
        self.num_regressors = num_regressors
        super().__init__(name=name, dtype=dtype)

    def reset_state(self) -> None:
        self.sum = self.squared_sum = self.residual = self.count = 0.0
        self.num_samples = 0

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        t, p = self._pair(y_true, y_pred)
        t, p = squeeze_or_expand(t.astype(np.float64), p.astype(np.float64))
        t, p = t.reshape(len(t), -1), p.reshape(len(p), -1)
        w = np.ones(1) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
        w = np.broadcast_to(w[:, None] if w.ndim == 1 and w.shape[0] == len(t) else w, t.shape)
        self.sum = self.sum + np.sum(t * w, axis=0)
        self.squared_sum = self.squared_sum + np.sum(t * t * w, axis=0)
        self.residual = self.residual + np.sum((t - p) ** 2 * w, axis=0)
        self.count = self.count + np.sum(w, axis=0)
        self.num_samples += t.size

    def result(self):
        if self.num_samples == 0:
            return 0.0
        with np.errstate(divide="ignore", invalid="ignore"):
            total = self.squared_sum - self.sum * (self.sum / self.count)
            raw = np.atleast_1d(1 - self.residual / total)
        raw = np.where(np.isinf(raw), 0.0, raw)
        if self.class_aggregation == "uniform_average":
            r2 = float(np.mean(raw))
        elif self.class_aggregation == "variance_weighted_average":
            r2 = float(np.sum(total * raw) / np.sum(total))
        else:
            return raw
        n, k = self.num_samples, self.num_regressors
        if k and k < n - 1:
            r2 = 1 - (1 - r2) * (n - 1) / (n - k - 1)
        return r2

    def get_config(self) -> dict:
        return {**super().get_config(), "class_aggregation": self.class_aggregation,
                "num_regressors": self.num_regressors}


class ArrayMetric(Metric):
    """A whole-array metric function (f1_score, roc_auc, pearson_r, ...) computed on every batch seen so far.

    For metrics that are not sums over samples: update_state keeps the batches, result() calls `fn` once on
    their concatenation, so the value equals the function on the whole data.
    """

    def __init__(self, fn, name: str | None = None, dtype: str = "float32", **kwargs):
        self._fn, self._fn_kwargs = fn, kwargs
        super().__init__(name=name or getattr(fn, "__name__", None), dtype=dtype)

    def reset_state(self) -> None:
        self._true, self._pred, self._weights = [], [], []

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        t, p = self._pair(y_true, y_pred)
        self._true.append(t)
        self._pred.append(p)
        if sample_weight is not None:
            self._weights.append(np.broadcast_to(np.asarray(sample_weight, dtype=np.float64), (len(t),)))

    def result(self):
        if not self._true:
            return 0.0
        kwargs = dict(self._fn_kwargs)
        if self._weights:
            kwargs["sample_weight"] = np.concatenate(self._weights)
        return self._fn(np.concatenate(self._true), np.concatenate(self._pred), **kwargs)

    def get_config(self) -> dict:
        return {**super().get_config(), **self._fn_kwargs}


class AutoAccuracy(Metric):
    """"accuracy"/"acc": binary, sparse categorical or categorical accuracy, chosen from the first batch's
    shapes exactly as Keras 3's compile does (one output column -> binary; labels of lower rank than the
    predictions, or one label column against several -> sparse; else categorical)."""

    def __init__(self, name: str | None = "accuracy", dtype: str = "float32"):
        self.resolved: Metric | None = None
        super().__init__(name=name, dtype=dtype)

    def reset_state(self) -> None:
        if self.resolved is not None:
            self.resolved.reset_state()

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        if self.resolved is None:
            t, p = self._pair(y_true, y_pred)
            if p.ndim < 2 or p.shape[-1] == 1:
                cls = BinaryAccuracy
            elif t.ndim < p.ndim or t.shape[-1] == 1:
                cls = SparseCategoricalAccuracy
            else:
                cls = CategoricalAccuracy
            self.resolved = cls(name=self.name, dtype=self.dtype)
        self.resolved.update_state(y_true, y_pred, sample_weight)

    def result(self) -> float:
        return 0.0 if self.resolved is None else self.resolved.result()


__all__ = [
    "Accuracy", "ArrayMetric", "AutoAccuracy", "BinaryAccuracy", "BinaryCrossentropy", "CategoricalAccuracy",
    "CategoricalCrossentropy", "Mean", "MeanAbsoluteError", "MeanMetricWrapper", "MeanSquaredError", "Metric",
    "R2Score", "RootMeanSquaredError", "SparseCategoricalAccuracy", "SparseCategoricalCrossentropy",
    "SparseTopKCategoricalAccuracy", "Sum", "TopKCategoricalAccuracy",
]
