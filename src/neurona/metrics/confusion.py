"""Stateful metrics built on confusion counts: Precision, Recall, F1Score and AUC, as Keras 3 computes them.

Precision, Recall and AUC treat every entry of y_pred as one binary prediction (flattened), thresholded with
`y_pred > threshold`; integer labels given against several prediction columns are one-hot encoded first.
"""

from __future__ import annotations

import numpy as np

from ..numerics import sigmoid
from .stateful import EPSILON, Metric, squeeze_or_expand


def _dense_pair(metric: Metric, y_true, y_pred):
    """y_true and y_pred of the same shape (integer labels one-hot encoded against several prediction columns)."""
    t, p = metric._pair(y_true, y_pred)
    if p.dtype.kind != "f":
        p = p.astype(np.float64)
    if p.ndim == 2 and p.shape[1] > 1 and (t.ndim == 1 or t.shape[-1] == 1) and t.shape[0] == p.shape[0]:
        labels = t.reshape(-1).astype(np.int64)
        if labels.min() < 0 or labels.max() >= p.shape[1]:
            raise ValueError(f"metric '{metric.name}': labels must lie in [0, {p.shape[1]}), got "
                             f"{labels.min()}..{labels.max()}")
        t = (labels[:, None] == np.arange(p.shape[1])).astype(p.dtype)
    p, t = squeeze_or_expand(p, t)
    if t.shape != p.shape:
        raise ValueError(f"metric '{metric.name}': y_true of shape {t.shape} does not match y_pred of shape {p.shape}")
    return t, p


def _weights(sample_weight, shape) -> np.ndarray | None:
    if sample_weight is None:
        return None
    w = np.asarray(sample_weight, dtype=np.float64)
    if w.ndim == 1 and len(shape) > 1:
        w = w[:, None]
    return np.broadcast_to(w, shape)


def _parse_thresholds(thresholds, default):
    values = np.atleast_1d(np.asarray(default if thresholds is None else thresholds, dtype=np.float64))
    if thresholds is not None and (values.min() < 0 or values.max() > 1):
        raise ValueError(f"thresholds must lie in [0, 1], got {values.tolist()}")
    return values


def _counts_above(t, p, w, thresholds):
    """Weighted true positives, false positives and the totals of positive and negative labels per threshold."""
    positive = t.ravel() != 0
    weight = np.ones(positive.shape) if w is None else w.ravel()
    # bucket j holds predictions in (thr[j], thr[j+1]]: p > thr[i] exactly for the buckets j >= i
    bucket = np.searchsorted(thresholds, p.ravel(), side="left") - 1
    keep = bucket >= 0
    n = len(thresholds)
    tp = np.bincount(bucket[keep & positive], weights=weight[keep & positive], minlength=n)[::-1].cumsum()[::-1]
    fp = np.bincount(bucket[keep & ~positive], weights=weight[keep & ~positive], minlength=n)[::-1].cumsum()[::-1]
    return tp, fp, float(weight[positive].sum()), float(weight[~positive].sum())


class _ThresholdMetric(Metric):
    """Precision and Recall: counts at one or more thresholds, optionally on the top-k or one class only."""

    def __init__(self, thresholds=None, top_k: int | None = None, class_id: int | None = None,
                 name: str | None = None, dtype: str = "float32"):
        self.init_thresholds = thresholds
        self.top_k = top_k
        self.class_id = class_id
        self.thresholds = _parse_thresholds(thresholds, 0.5 if top_k is None else -1e10)
        self._order = np.argsort(self.thresholds)
        super().__init__(name=name, dtype=dtype)

    def reset_state(self) -> None:
        n = len(self.thresholds)
        self.true_positives, self.false_positives, self.false_negatives = np.zeros(n), np.zeros(n), np.zeros(n)

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        t, p = _dense_pair(self, y_true, y_pred)
        if self.top_k is not None:
            # keep the k largest scores of each row, push the others below every threshold
            kth = -np.partition(-p, self.top_k - 1, axis=-1)[..., self.top_k - 1: self.top_k]
            p = np.where(p >= kth, p, -1e10)
        w = _weights(sample_weight, p.shape)
        if self.class_id is not None:
            if p.ndim < 2:
                raise ValueError(f"metric '{self.name}': class_id needs 2-D y_pred, got shape {p.shape}")
            t, p = t[:, self.class_id], p[:, self.class_id]
            w = None if w is None else w[:, self.class_id]
        if len(self.thresholds) == 1 and w is None:
            # the usual case, every batch: one threshold, no weights -> three counts
            pred, positive = p > self.thresholds[0], t != 0
            tp = np.count_nonzero(pred & positive)
            self.true_positives += tp
            self.false_positives += np.count_nonzero(pred) - tp
            self.false_negatives += np.count_nonzero(positive) - tp
            return
        thr = self.thresholds[self._order]
        tp, fp, pos, _ = _counts_above(t, p, w, thr)
        undo = np.argsort(self._order)
        self.true_positives += tp[undo]
        self.false_positives += fp[undo]
        self.false_negatives += pos - tp[undo]

    def _ratio(self, other: np.ndarray):
        den = self.true_positives + other
        r = np.divide(self.true_positives, den, out=np.zeros_like(den), where=den != 0)
        return float(r[0]) if len(r) == 1 else r

    def get_config(self) -> dict:
        return {**super().get_config(), "thresholds": self.init_thresholds, "top_k": self.top_k,
                "class_id": self.class_id}


class Precision(_ThresholdMetric):
    """Precision tp / (tp + fp) of `y_pred > threshold` (default 0.5) over everything seen; 0 when undefined."""

    def result(self):
        return self._ratio(self.false_positives)


class Recall(_ThresholdMetric):
    """Recall tp / (tp + fn) of `y_pred > threshold` (default 0.5) over everything seen; 0 when undefined."""

    def result(self):
        return self._ratio(self.false_negatives)


class FBetaScore(Metric):
    """F-beta per class from (samples, classes) predictions, averaged as `average` says (Keras's FBetaScore).

    threshold=None marks the largest score of each row as predicted (argmax); a float marks `y_pred > threshold`.
    average: None (one value per class), "micro", "macro" or "weighted" (by true count).
    """

    def __init__(self, average: str | None = None, beta: float = 1.0, threshold: float | None = None,
                 name: str | None = "fbeta_score", dtype: str = "float32"):
        if average not in (None, "micro", "macro", "weighted"):
            raise ValueError(f"average={average!r} is not supported; use None, 'micro', 'macro' or 'weighted'")
        if beta <= 0:
            raise ValueError(f"beta must be > 0, got {beta}")
        if threshold is not None and not 0 < threshold <= 1:
            raise ValueError(f"threshold must satisfy 0 < threshold <= 1, got {threshold}")
        self.average, self.beta, self.threshold = average, float(beta), threshold
        super().__init__(name=name, dtype=dtype)

    def reset_state(self) -> None:
        self.true_positives = self.false_positives = self.false_negatives = self.intermediate_weights = 0.0

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        t, p = _dense_pair(self, y_true, y_pred)
        if p.ndim == 1:
            t, p = t[:, None], p[:, None]
        n = p.shape[0]
        if self.threshold is None:
            # the row maximum is the prediction (ties included); an all-zero row predicts nothing
            top = p[np.arange(n), p.argmax(axis=-1)]
            pred = p >= top[:, None]
            if np.abs(top).min() <= 1e-9:
                pred &= np.abs(p) > 1e-9
        else:
            pred = p > self.threshold
        pred = pred.astype(p.dtype)
        t = t.astype(p.dtype, copy=False)
        if sample_weight is not None:
            w = np.asarray(sample_weight, dtype=p.dtype).reshape(-1, 1)
            t, pred_w = t * w, pred * w
        else:
            pred_w = pred
        # three sums give the four counts (fp = predicted - tp, fn = true - tp); column sums as a matmul
        # against ones are several times faster than sum(axis=0) on a (batch, classes) array
        ones = np.ones(n, dtype=p.dtype)
        tp, true, predicted = (np.asarray(ones @ a, dtype=np.float64) for a in (pred * t, t, pred_w))
        if self.average == "micro":
            tp, true, predicted = float(tp.sum()), float(true.sum()), float(predicted.sum())
        self.true_positives = self.true_positives + tp
        self.false_positives = self.false_positives + (predicted - tp)
        self.false_negatives = self.false_negatives + (true - tp)
        self.intermediate_weights = self.intermediate_weights + true

    def result(self):
        tp, fp, fn = (np.asarray(a, dtype=np.float64) for a in
                      (self.true_positives, self.false_positives, self.false_negatives))
        precision = tp / (tp + fp + EPSILON)
        recall = tp / (tp + fn + EPSILON)
        b2 = self.beta ** 2
        f = (1 + b2) * precision * recall / (b2 * precision + recall + EPSILON)
        if self.average == "weighted":
            weights = np.asarray(self.intermediate_weights, dtype=np.float64)
            return float(np.sum(f * weights / (weights.sum() + EPSILON)))
        if self.average is not None:
            return float(np.mean(f))
        return f

    def get_config(self) -> dict:
        return {**super().get_config(), "average": self.average, "beta": self.beta, "threshold": self.threshold}


class F1Score(FBetaScore):
    """F1 = 2 precision recall / (precision + recall) per class, or averaged (Keras's F1Score)."""

    def __init__(self, average: str | None = None, threshold: float | None = None,
                 name: str | None = "f1_score", dtype: str = "float32"):
        super().__init__(average=average, beta=1.0, threshold=threshold, name=name, dtype=dtype)

    def get_config(self) -> dict:
        config = super().get_config()
        del config["beta"]
        return config


class AUC(Metric):
    """Area under the ROC (or precision-recall) curve, approximated on num_thresholds fixed thresholds.

    As Keras: thresholds evenly spaced in [0, 1] (plus -eps and 1 + eps), confusion counts accumulated per
    threshold, area by the trapezoidal rule ("interpolation") or "minoring"/"majoring" rectangles.
    """

    def __init__(self, num_thresholds: int = 200, curve: str = "ROC", summation_method: str = "interpolation",
                 name: str | None = None, dtype: str = "float32", thresholds=None, multi_label: bool = False,
                 from_logits: bool = False):
        curve, summation_method = curve.upper(), summation_method.lower()
        if curve not in ("ROC", "PR"):
            raise ValueError(f"curve={curve!r} is not supported; use 'ROC' or 'PR'")
        if summation_method not in ("interpolation", "minoring", "majoring"):
            raise ValueError(f"summation_method={summation_method!r} is not supported; use 'interpolation', "
                             "'minoring' or 'majoring'")
        self._given_thresholds = thresholds
        if thresholds is not None:
            inner = sorted(float(x) for x in thresholds)
            self.num_thresholds = len(inner) + 2
            self._even = False
        else:
            if num_thresholds <= 1:
                raise ValueError(f"num_thresholds must be an integer > 1, got {num_thresholds}")
            self.num_thresholds = num_thresholds
            inner = [(i + 1) / (num_thresholds - 1) for i in range(num_thresholds - 2)]
            self._even = True
        self.thresholds = np.array([0.0 - EPSILON, *inner, 1.0 + EPSILON])
        self.curve, self.summation_method = curve, summation_method
        self.multi_label, self.from_logits = multi_label, from_logits
        super().__init__(name=name, dtype=dtype)

    def reset_state(self) -> None:
        self.true_positives = self.false_positives = self.true_negatives = self.false_negatives = None

    def _buckets(self, p: np.ndarray) -> np.ndarray:
        if self._even:
            # Keras's bucketing on evenly spaced thresholds: p > thr[i] for the buckets >= i
            p = np.clip(p, 0.0, 1.0)
            return np.maximum(np.ceil(p * (self.num_thresholds - 1)) - 1, 0).astype(np.int64)
        return np.searchsorted(self.thresholds, p, side="left") - 1

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        t, p = _dense_pair(self, y_true, y_pred)
        p = p.astype(np.float64, copy=False)
        if self.from_logits:
            p = sigmoid(p)
        w = _weights(sample_weight, p.shape)
        n = self.num_thresholds
        if self.multi_label:
            if p.ndim != 2:
                raise ValueError(f"metric '{self.name}': multi_label needs 2-D y_pred, got shape {p.shape}")
            labels = p.shape[1]
            offset = np.arange(labels) * (n + 1)
        else:
            t, p, w = t.reshape(-1, 1), p.reshape(-1, 1), None if w is None else w.reshape(-1, 1)
            labels, offset = 1, np.zeros(1, dtype=np.int64)
        weight = np.ones(p.shape) if w is None else w
        positive = t != 0
        # one bincount over (label, bucket) pairs; bucket -1 (below every threshold) goes to a spare slot
        slot = (self._buckets(p) + 1 + offset).ravel()

        def above(mask):
            counts = np.bincount(slot, weights=(weight * mask).ravel(), minlength=labels * (n + 1))
            counts = counts.reshape(labels, n + 1)[:, 1:]
            return counts[:, ::-1].cumsum(axis=1)[:, ::-1].T

        tp, fp = above(positive), above(~positive)
        pos, neg = (weight * positive).sum(axis=0), (weight * ~positive).sum(axis=0)
        new = (tp, fp, neg - fp, pos - tp)
        if self.true_positives is None:
            self.true_positives, self.false_positives, self.true_negatives, self.false_negatives = new
        else:
            self.true_positives = self.true_positives + tp
            self.false_positives = self.false_positives + fp
            self.true_negatives = self.true_negatives + new[2]
            self.false_negatives = self.false_negatives + new[3]

    def result(self) -> float:
        if self.true_positives is None:
            return 0.0
        tp, fp, tn, fn = self.true_positives, self.false_positives, self.true_negatives, self.false_negatives

        def ratio(a, b):
            return np.divide(a, b, out=np.zeros_like(a), where=b != 0)

        if self.curve == "PR" and self.summation_method == "interpolation":
            return float(np.mean(self._interpolate_pr_auc(tp, fp, fn, ratio)))
        recall = ratio(tp, tp + fn)
        x, y = (ratio(fp, fp + tn), recall) if self.curve == "ROC" else (recall, ratio(tp, tp + fp))
        if self.summation_method == "interpolation":
            heights = (y[:-1] + y[1:]) / 2
        elif self.summation_method == "minoring":
            heights = np.minimum(y[:-1], y[1:])
        else:
            heights = np.maximum(y[:-1], y[1:])
        return float(np.mean(np.sum((x[:-1] - x[1:]) * heights, axis=0)))

    @staticmethod
    def _interpolate_pr_auc(tp, fp, fn, ratio):
        """Davis & Goadrich's interpolation of the precision-recall curve between thresholds (as Keras)."""
        dtp = tp[:-1] - tp[1:]
        p = tp + fp
        dp = p[:-1] - p[1:]
        slope = ratio(dtp, np.maximum(dp, 0))
        intercept = tp[1:] - slope * p[1:]
        safe = np.where((p[:-1] > 0) & (p[1:] > 0), ratio(p[:-1], np.maximum(p[1:], 0)), 1.0)
        return np.sum(ratio(slope * (dtp + intercept * np.log(safe)), np.maximum(tp[1:] + fn[1:], 0)), axis=0)

    def get_config(self) -> dict:
        config = {**super().get_config(), "num_thresholds": self.num_thresholds, "curve": self.curve,
                  "summation_method": self.summation_method, "multi_label": self.multi_label,
                  "from_logits": self.from_logits}
        if self._given_thresholds is not None:
            config["thresholds"] = list(self._given_thresholds)
        return config


__all__ = ["AUC", "F1Score", "FBetaScore", "Precision", "Recall"]
