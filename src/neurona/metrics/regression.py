"""Regression metrics: the slides' error E = sum (t - y)^2 / N and correlation rho = s_ty / (s_t s_y), and more.

Values equal scikit-learn's (`multioutput=` included) and, for `pearson_r`, scipy's `pearsonr`.
"""

from __future__ import annotations

import numpy as np

from ._inputs import as_array, check_lengths, check_sample_weight, warn


def _targets(y_true, y_pred, sample_weight):
    """(y_true, y_pred) as float64 (n, outputs) arrays of the same shape, and the checked weights."""
    t = as_array(y_true, "y_true")
    p = as_array(y_pred, "y_pred")
    for name, a in (("y_true", t), ("y_pred", p)):
        if a.dtype.kind not in "biuf":
            raise ValueError(f"{name} must be numeric for a regression metric, got dtype {a.dtype}")
        if a.ndim > 2:
            raise ValueError(f"{name} must be 1-D or 2-D (samples, outputs), got shape {a.shape}")
    n = check_lengths(y_true=t, y_pred=p)
    t = t.reshape(n, -1).astype(np.float64, copy=False)
    p = p.reshape(n, -1).astype(np.float64, copy=False)
    if t.shape[1] != p.shape[1]:
        raise ValueError(f"y_true has {t.shape[1]} output(s) per sample but y_pred has {p.shape[1]}")
    return t, p, check_sample_weight(sample_weight, n)


def _combine(per_output: np.ndarray, multioutput, allowed=("raw_values", "uniform_average")):
    if isinstance(multioutput, str):
        if multioutput not in allowed:
            raise ValueError(f"multioutput={multioutput!r} is not supported; use one of {allowed} or an array")
        if multioutput == "raw_values":
            return per_output
        return float(np.mean(per_output))
    weights = np.asarray(multioutput, dtype=np.float64)
    if weights.shape != per_output.shape:
        raise ValueError(f"multioutput weights must have shape {per_output.shape}, got {weights.shape}")
    return float(np.average(per_output, weights=weights))


def mean_squared_error(y_true, y_pred, *, sample_weight=None, multioutput="uniform_average"):
    """Mean of (t - y)^2, the slides' E.

    >>> mean_squared_error([1.0, 2.0, 3.0], [1.0, 2.0, 5.0])
    1.3333333333333333
    """
    t, p, w = _targets(y_true, y_pred, sample_weight)
    return _combine(np.average((t - p) ** 2, axis=0, weights=w), multioutput)


def mean_absolute_error(y_true, y_pred, *, sample_weight=None, multioutput="uniform_average"):
    """Mean of |t - y|.

    >>> mean_absolute_error([1.0, 2.0, 3.0], [1.0, 2.0, 5.0])
    0.6666666666666666
    """
    t, p, w = _targets(y_true, y_pred, sample_weight)
    return _combine(np.average(np.abs(t - p), axis=0, weights=w), multioutput)


def root_mean_squared_error(y_true, y_pred, *, sample_weight=None, multioutput="uniform_average"):
    """Square root of the mean squared error (per output, then averaged), in the units of the target."""
    t, p, w = _targets(y_true, y_pred, sample_weight)
    return _combine(np.sqrt(np.average((t - p) ** 2, axis=0, weights=w)), multioutput)


def r2_score(y_true, y_pred, *, sample_weight=None, multioutput="uniform_average", force_finite: bool = True):
    """Coefficient of determination 1 - SS_res / SS_tot: 1 is perfect, 0 is as good as predicting the mean.

    With force_finite (default, as scikit-learn), a constant target gives 1.0 for perfect predictions and 0.0
    otherwise instead of nan / -inf.

    >>> r2_score([1.0, 2.0, 3.0], [1.0, 2.0, 4.0])
    0.5
    """
    t, p, w = _targets(y_true, y_pred, sample_weight)
    if len(t) < 2:
        warn("R^2 score is not well-defined with less than two samples.")
        return float("nan")
    weight = 1.0 if w is None else w[:, None]
    num = np.sum(weight * (t - p) ** 2, axis=0)
    den = np.sum(weight * (t - np.average(t, axis=0, weights=w)) ** 2, axis=0)
    if force_finite:
        scores = np.ones(t.shape[1])
        valid = (den != 0) & (num != 0)
        scores[valid] = 1 - num[valid] / den[valid]
        scores[(num != 0) & (den == 0)] = 0.0
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            scores = 1 - num / den
    if isinstance(multioutput, str) and multioutput == "variance_weighted":
        return float(np.average(scores, weights=den if np.any(den != 0) else None))
    return _combine(scores, multioutput, ("raw_values", "uniform_average", "variance_weighted"))


def pearson_r(y_true, y_pred, *, multioutput="uniform_average"):
    """Pearson's correlation rho = s_ty / (s_t s_y) between targets and predictions (the slides' rho).

    nan, with an UndefinedMetricWarning, when either side is constant.

    >>> round(pearson_r([1.0, 2.0, 3.0], [2.0, 4.0, 7.0]), 6)
    0.993399
    """
    t, p, _ = _targets(y_true, y_pred, None)
    if len(t) < 2:
        raise ValueError(f"pearson_r needs at least 2 samples, got {len(t)}")
    dt, dp = t - t.mean(axis=0), p - p.mean(axis=0)
    st, sp = np.sqrt(np.sum(dt * dt, axis=0)), np.sqrt(np.sum(dp * dp, axis=0))
    constant = (st == 0) | (sp == 0)
    if constant.any():
        warn("pearson_r is undefined when y_true or y_pred is constant; returning nan for that output.")
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(constant, np.nan, np.sum(dt * dp, axis=0) / (st * sp))
    return _combine(np.clip(r, -1.0, 1.0), multioutput)


__all__ = ["mean_absolute_error", "mean_squared_error", "pearson_r", "r2_score", "root_mean_squared_error"]
