"""Reading what users pass to metric functions: labels, one-hot rows, probabilities, sample weights.

The rules that tell the encodings apart (documented in docs/evaluation.md):

- 2-D with more than one column: one-hot rows, probabilities or scores -> the class is the argmax of the row.
- 1-D or one column, integer/bool/string values, or floats that are all whole numbers -> class labels.
- 1-D or one column of floats with any value that is not a whole number -> probabilities of the positive class
  of a binary problem; they must lie in [0, 1] and the class is ``p > 0.5`` (as Keras's binary accuracy).
"""

from __future__ import annotations

import sys
import warnings

import numpy as np


class UndefinedMetricWarning(UserWarning):
    """A metric is ill-defined on this data (a division by zero, a single class, ...).

    Same role, messages and values as scikit-learn's ``sklearn.exceptions.UndefinedMetricWarning``.
    """


THRESHOLD = 0.5


def as_array(y, name: str) -> np.ndarray:
    """`y` as an ndarray with at least one sample; a clear error for None, NaN or inf."""
    if y is None:
        raise ValueError(f"{name} is None; expected an array of labels or predictions")
    a = np.asarray(y)
    if a.ndim == 0:
        raise ValueError(f"{name} must be an array with one entry per sample, got the scalar {a!r}")
    if a.shape[0] == 0:
        raise ValueError(f"{name} is empty (shape {a.shape}); metrics need at least one sample")
    if a.dtype.kind == "O":
        a = a.astype(str) if isinstance(a.flat[0], str) else a.astype(np.float64)
    if a.dtype.kind in "fc" and not np.all(np.isfinite(a)):
        bad = int(np.flatnonzero(~np.isfinite(a.ravel()))[0])
        raise ValueError(f"{name} holds a non-finite value ({a.ravel()[bad]}) at flat index {bad}")
    return a


def check_lengths(**arrays) -> int:
    """All given arrays (None skipped) have the same number of samples; returns it."""
    named = [(k, len(v)) for k, v in arrays.items() if v is not None]
    n = named[0][1]
    for k, m in named[1:]:
        if m != n:
            raise ValueError(f"{named[0][0]} has {n} samples but {k} has {m}; they must have the same length")
    return n


def check_sample_weight(sample_weight, n: int) -> np.ndarray | None:
    """None, or a 1-D float array of n finite non-negative weights."""
    if sample_weight is None:
        return None
    w = as_array(sample_weight, "sample_weight")
    if w.ndim != 1 or len(w) != n:
        raise ValueError(f"sample_weight must have shape ({n},), one weight per sample; got shape {w.shape}")
    if w.dtype.kind not in "biuf":
        raise ValueError(f"sample_weight must be numeric, got dtype {w.dtype}")
    return w


def to_labels(y, name: str) -> np.ndarray:
    """Class labels from labels, one-hot rows, probabilities or scores (the module docstring's rules)."""
    a = as_array(y, name)
    if a.ndim > 2:
        raise ValueError(f"{name} must be 1-D labels or 2-D (samples, classes) rows; got shape {a.shape}")
    if a.ndim == 2:
        if a.shape[1] > 1:
            if a.dtype.kind not in "biuf":
                raise ValueError(f"{name} has {a.shape[1]} columns of dtype {a.dtype}; 2-D input must be numeric")
            return np.argmax(a, axis=1)
        a = a[:, 0]
    if a.dtype.kind == "f":
        whole = a == np.round(a)
        if np.all(whole):
            return a.astype(np.int64)
        if a.min() < 0.0 or a.max() > 1.0:
            raise ValueError(
                f"{name} holds non-integer values outside [0, 1] (min {a.min():.6g}, max {a.max():.6g}): "
                "they are neither class labels nor probabilities"
            )
        return (a > THRESHOLD).astype(np.int64)
    if a.dtype.kind == "b":
        return a.astype(np.int64)
    return a


def label_pair(y_true, y_pred, sample_weight=None):
    """(y_true labels, y_pred labels, sample_weight) checked for length and compatible types."""
    t = to_labels(y_true, "y_true")
    p = to_labels(y_pred, "y_pred")
    n = check_lengths(y_true=t, y_pred=p)
    if (t.dtype.kind in "US") != (p.dtype.kind in "US"):
        raise ValueError(f"y_true holds {t.dtype} labels but y_pred holds {p.dtype}; use the same kind of labels")
    return t, p, check_sample_weight(sample_weight, n)


def unique_labels(*ys: np.ndarray) -> np.ndarray:
    """The sorted union of the labels in the arrays."""
    return np.unique(np.concatenate([np.unique(y) for y in ys]))


def encode(y: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Index of each value of y in labels; len(labels) for values not among them."""
    labels = np.asarray(labels)
    order = np.argsort(labels, kind="stable")
    ordered = labels[order]
    pos = np.clip(np.searchsorted(ordered, y), 0, len(labels) - 1)
    return np.where(ordered[pos] == y, order[pos], len(labels))


def check_probabilities(p: np.ndarray, name: str, rows_sum_to_one: bool) -> None:
    """Values in [0, 1] and, for several columns, rows summing to one (to float tolerance)."""
    if p.dtype.kind not in "biuf":
        raise ValueError(f"{name} must hold probabilities, got dtype {p.dtype}")
    lo, hi = p.min(), p.max()
    if lo < 0 or hi > 1:
        raise ValueError(
            f"{name} must hold probabilities in [0, 1], got values from {lo:.6g} to {hi:.6g} "
            "(pass the output of a softmax/sigmoid, not logits)"
        )
    if rows_sum_to_one and p.ndim == 2 and p.shape[1] > 1:
        sums = p.sum(axis=1)
        tol = np.sqrt(np.finfo(p.dtype if p.dtype.kind == "f" else np.float64).eps)
        bad = np.flatnonzero(~np.isclose(sums, 1.0, rtol=tol, atol=0.0))
        if bad.size:
            raise ValueError(
                f"{name} rows must sum to 1 (probabilities over classes); row {bad[0]} sums to {sums[bad[0]]:.6g}"
                f" and {bad.size - 1} other row(s) do not either"
            )


def check_zero_division(zero_division):
    """The value stored where a ratio is 0/0: 0.0 for "warn", else 0, 1 or nan as given."""
    if isinstance(zero_division, str):
        if zero_division == "warn":
            return 0.0
        raise ValueError(f"zero_division={zero_division!r} is not supported; use 'warn', 0, 1 or np.nan")
    if isinstance(zero_division, (int, float, np.floating)) and (zero_division in (0, 1) or np.isnan(zero_division)):
        return float(zero_division)
    raise ValueError(f"zero_division={zero_division!r} is not supported; use 'warn', 0, 1 or np.nan")


def warn(message: str, category=UndefinedMetricWarning) -> None:
    """Warn pointing at the user's line: the first caller outside neurona.metrics."""
    frame, level = sys._getframe(0), 1
    while frame is not None and frame.f_globals.get("__name__", "").startswith("neurona.metrics"):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, category, stacklevel=level)
