"""Metrics on predicted scores or probabilities: top-k accuracy, ROC curve and its area, log loss.

Values and warnings equal scikit-learn's `top_k_accuracy_score`, `roc_curve`, `roc_auc_score` (binary, and
multiclass one-vs-rest) and `log_loss`.
"""

from __future__ import annotations

import numpy as np

from ._inputs import as_array, check_lengths, check_probabilities, check_sample_weight, encode, to_labels, warn


def _true_labels(y_true, n_columns: int | None = None) -> np.ndarray:
    """Class labels of y_true; one-hot rows (as many columns as y_score) become their column index."""
    a = as_array(y_true, "y_true")
    if a.ndim == 2 and a.shape[1] > 1 and n_columns is not None and a.shape[1] != n_columns:
        raise ValueError(f"y_true is one-hot with {a.shape[1]} columns but y_score has {n_columns}")
    return to_labels(a, "y_true")


def _scores(y_score, name: str = "y_score") -> np.ndarray:
    s = as_array(y_score, name)
    if s.dtype.kind not in "biuf":
        raise ValueError(f"{name} must be numeric scores, got dtype {s.dtype}")
    if s.ndim > 2:
        raise ValueError(f"{name} must be 1-D or 2-D (samples, classes), got shape {s.shape}")
    return s


def top_k_accuracy(y_true, y_score, *, k: int = 2, normalize: bool = True, sample_weight=None, labels=None):
    """Fraction of samples whose true class is among the k highest scores.

    >>> top_k_accuracy([0, 1, 2], [[0.5, 0.3, 0.2], [0.1, 0.3, 0.6], [0.7, 0.2, 0.1]], k=2)
    0.6666666666666666
    """
    if not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be an integer >= 1, got {k!r}")
    s = _scores(y_score)
    t = _true_labels(y_true, s.shape[1] if s.ndim == 2 else None)
    n = check_lengths(y_true=t, y_score=s)
    w = check_sample_weight(sample_weight, n)
    if s.ndim == 2 and s.shape[1] == 1:
        s = s[:, 0]
    n_score_classes = s.shape[1] if s.ndim == 2 else 2
    if labels is None:
        classes = np.unique(t)
        if len(classes) != n_score_classes:
            raise ValueError(
                f"Number of classes in 'y_true' ({len(classes)}) not equal to the number of classes in 'y_score' "
                f"({n_score_classes}). You can provide a list of all known classes by assigning it to `labels`.")
    else:
        classes = np.asarray(labels)
        if len(np.unique(classes)) != len(classes) or not np.array_equal(np.unique(classes), classes):
            raise ValueError(f"Parameter 'labels' must be unique and sorted, got {classes.tolist()}")
        if len(classes) != n_score_classes:
            raise ValueError(f"Number of given labels ({len(classes)}) not equal to the number of classes in "
                             f"'y_score' ({n_score_classes}).")
        if np.setdiff1d(t, classes).size:
            raise ValueError("'y_true' contains labels not in parameter 'labels'.")
    if k >= len(classes):
        warn(f"'k' ({k}) greater than or equal to 'n_classes' ({len(classes)}) will result in a perfect score and "
             "is therefore meaningless.")
    t_idx = encode(t, classes)
    if s.ndim == 1:
        if k == 1:
            threshold = 0.5 if s.min() >= 0 and s.max() <= 1 else 0
            hits = (s > threshold).astype(np.int64) == t_idx
        else:
            hits = np.ones(n, dtype=bool)
    else:
        # stable sort reversed, so that among tied scores the higher class index ranks first (as scikit-learn)
        top = np.argsort(s, axis=1, kind="stable")[:, ::-1][:, :k]
        hits = (top == t_idx[:, None]).any(axis=1)
    if normalize:
        return float(np.average(hits, weights=w))
    return float(hits.sum() if w is None else hits @ w)


def _binary_targets(y_true, pos_label) -> np.ndarray:
    t = _true_labels(y_true)
    classes = np.unique(t)
    if len(classes) > 2:
        raise ValueError(f"roc_curve needs binary y_true, got {len(classes)} classes {classes.tolist()}")
    if pos_label is None:
        if classes.dtype.kind in "US" or not (set(classes.tolist()) <= {0, 1} or set(classes.tolist()) <= {-1, 1}):
            raise ValueError(
                f"y_true takes value in {set(classes.tolist())} and pos_label is not specified: either make y_true "
                "take value in {0, 1} or {-1, 1} or pass pos_label explicitly.")
        pos_label = 1
    return (t == pos_label).astype(np.float64)


def _positive_scores(y_score) -> np.ndarray:
    """Scores of the positive class: 1-D, one column, or the second column of two (softmax over 2 classes)."""
    s = _scores(y_score)
    if s.ndim == 2:
        if s.shape[1] > 2:
            raise ValueError(f"a binary score needs 1 or 2 columns, got y_score of shape {s.shape}")
        s = s[:, -1]
    return s


def _curve_counts(t: np.ndarray, s: np.ndarray, w: np.ndarray | None):
    """Weighted false and true positive counts at each distinct threshold, highest threshold first."""
    order = np.argsort(s, kind="mergesort")[::-1]
    s, t = s[order], t[order]
    weight = 1.0 if w is None else w[order]
    distinct = np.flatnonzero(np.diff(s))
    idx = np.r_[distinct, t.size - 1]
    tps = np.cumsum(t * weight)[idx]
    fps = np.cumsum((1 - t) * weight)[idx] if w is not None else 1 + idx - tps
    return fps, tps, s[idx]


def roc_curve(y_true, y_score, *, pos_label=None, sample_weight=None, drop_intermediate: bool = True):
    """False positive rate, true positive rate and the thresholds that produce them (decreasing).

    The first threshold is inf, so the curve starts at (0, 0).
    """
    t = _binary_targets(y_true, pos_label)
    s = _positive_scores(y_score)
    n = check_lengths(y_true=t, y_score=s)
    w = check_sample_weight(sample_weight, n)
    fps, tps, thresholds = _curve_counts(t, s.astype(np.float64, copy=False), w)
    if drop_intermediate and fps.shape[0] > 2:
        # points collinear with their neighbours do not change the curve nor its area
        keep = np.r_[True, np.logical_or(np.diff(fps, 2), np.diff(tps, 2)), True]
        fps, tps, thresholds = fps[keep], tps[keep], thresholds[keep]
    tps, fps = np.r_[0.0, tps], np.r_[0.0, fps]
    thresholds = np.r_[np.inf, thresholds.astype(np.float64)]
    if fps[-1] <= 0:
        warn("No negative samples in y_true, false positive value should be meaningless")
        fpr = np.full(fps.shape, np.nan)
    else:
        fpr = fps / fps[-1]
    if tps[-1] <= 0:
        warn("No positive samples in y_true, true positive value should be meaningless")
        tpr = np.full(tps.shape, np.nan)
    else:
        tpr = tps / tps[-1]
    return fpr, tpr, thresholds


def auc(x, y) -> float:
    """Area under a curve given by points (x, y) with x monotonic, by the trapezoidal rule."""
    x, y = np.asarray(x, dtype=np.float64).ravel(), np.asarray(y, dtype=np.float64).ravel()
    check_lengths(x=x, y=y)
    if x.shape[0] < 2:
        raise ValueError(f"At least 2 points are needed to compute area under curve, but x.shape = {x.shape}")
    dx = np.diff(x)
    direction = 1
    if np.any(dx < 0):
        if not np.all(dx <= 0):
            raise ValueError(f"x is neither increasing nor decreasing : {x}.")
        direction = -1
    return float(direction * np.trapezoid(y, x))


def _binary_auc(t: np.ndarray, s: np.ndarray, w) -> float:
    if len(np.unique(t)) != 2:
        warn("Only one class is present in y_true. ROC AUC score is not defined in that case.")
        return float("nan")
    fpr, tpr, _ = roc_curve(t, s, sample_weight=w)
    return auc(fpr, tpr)


def roc_auc(y_true, y_score, *, average="macro", multi_class: str = "ovr", sample_weight=None, labels=None):
    """Area under the ROC curve: binary, or multiclass one-vs-rest averaged over classes.

    Binary y_score: the positive-class probability (1-D or one column) or two columns (the second is used).
    Multiclass y_score: (samples, classes) probabilities whose rows sum to 1. average: "macro" (plain mean over
    classes), "weighted" (by class frequency), "micro" (all one-vs-rest pairs pooled) or None (one per class).

    >>> roc_auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    0.75
    """
    if multi_class != "ovr":
        raise ValueError(f"multi_class={multi_class!r} is not supported; neurona computes one-vs-rest ('ovr')")
    s = _scores(y_score)
    t = _true_labels(y_true, s.shape[1] if s.ndim == 2 else None)
    n = check_lengths(y_true=t, y_score=s)
    w = check_sample_weight(sample_weight, n)
    if average not in ("macro", "weighted", "micro", None):
        raise ValueError(f"average={average!r} is not supported; use 'macro', 'weighted', 'micro' or None")
    if s.ndim == 1 or s.shape[1] <= 2:
        classes = np.unique(t) if labels is None else np.asarray(labels)
        if len(np.unique(t)) > 2 or len(classes) > 2:
            raise ValueError(f"y_true has {len(np.unique(t))} classes but y_score gives one binary score per sample; "
                             "pass (samples, classes) probabilities for a multiclass problem")
        positive = (t == classes[-1]).astype(np.float64)
        return _binary_auc(positive, _positive_scores(s).astype(np.float64), w)
    check_probabilities(s, "y_score", rows_sum_to_one=False)
    if not np.allclose(1, s.sum(axis=1)):
        raise ValueError("Target scores need to be probabilities for multiclass roc_auc, i.e. they should sum up "
                         f"to 1.0 over classes; row {int(np.argmax(~np.isclose(1, s.sum(axis=1))))} does not")
    if labels is not None:
        classes = np.asarray(labels)
        if len(np.unique(classes)) != len(classes) or not np.array_equal(np.unique(classes), classes):
            raise ValueError(f"Parameter 'labels' must be unique and sorted, got {classes.tolist()}")
        if len(classes) != s.shape[1]:
            raise ValueError(f"Number of given labels, {len(classes)}, not equal to the number of columns in "
                             f"'y_score', {s.shape[1]}")
        if np.setdiff1d(t, classes).size:
            raise ValueError("'y_true' contains labels not in parameter 'labels'")
    else:
        classes = np.unique(t)
        if len(classes) != s.shape[1]:
            raise ValueError(f"Number of classes in y_true ({len(classes)}) not equal to the number of columns in "
                             f"'y_score' ({s.shape[1]})")
    onehot = (encode(t, classes)[:, None] == np.arange(len(classes))).astype(np.float64)
    if average == "micro":
        pooled_weights = None if w is None else np.repeat(w, s.shape[1])
        return _binary_auc(onehot.ravel(), s.ravel().astype(np.float64), pooled_weights)
    scores = np.array([_binary_auc(onehot[:, c], s[:, c].astype(np.float64), w) for c in range(len(classes))])
    if average is None:
        return scores
    if average == "weighted":
        class_weight = onehot.sum(axis=0) if w is None else w @ onehot
        if np.isclose(class_weight.sum(), 0):
            return 0
        scores[class_weight == 0] = 0
        return float(np.average(scores, weights=class_weight))
    return float(np.mean(scores))


def log_loss(y_true, y_pred, *, normalize: bool = True, sample_weight=None, labels=None) -> float:
    """Cross-entropy -mean(sum_c y_c log p_c) of predicted probabilities, clipped to [eps, 1 - eps].

    y_pred: probabilities of the positive class (1-D or one column) or (samples, classes) rows summing to 1.
    y_true: class labels (sorted order gives the columns) or one-hot rows.

    >>> round(log_loss([0, 1, 1], [0.1, 0.8, 0.6]), 6)
    0.279777
    """
    p = _scores(y_pred, "y_pred")
    check_probabilities(p, "y_pred", rows_sum_to_one=True)
    a = as_array(y_true, "y_true")
    n = check_lengths(y_true=a, y_pred=p)
    w = check_sample_weight(sample_weight, n)
    if p.ndim == 1 or p.shape[1] == 1:
        p = p.reshape(n, 1)
        p = np.concatenate([1 - p, p], axis=1)
    if a.ndim == 2 and a.shape[1] > 1:
        if a.shape[1] != p.shape[1]:
            raise ValueError(f"y_true is one-hot with {a.shape[1]} columns but y_pred has {p.shape[1]}")
        onehot = a.astype(p.dtype if p.dtype.kind == "f" else np.float64)
    else:
        t = to_labels(a, "y_true")
        classes = np.unique(t) if labels is None else np.unique(np.asarray(labels))
        if labels is not None and np.setdiff1d(t, classes).size:
            raise ValueError(f"y_true contains values {set(np.setdiff1d(t, classes).tolist())} not belonging to "
                             f"the passed labels {np.asarray(labels).tolist()}.")
        if len(classes) == 1:
            raise ValueError(f"y_true contains only one label ({classes[0]}). Please provide the list of all "
                             "expected class labels explicitly through the labels argument.")
        if len(classes) != p.shape[1]:
            raise ValueError(f"y_true and y_pred contain different number of classes: {len(classes)} vs "
                             f"{p.shape[1]}. Please provide the true labels explicitly through the labels argument. "
                             f"Classes found in y_true: {classes.tolist()}")
        onehot = (encode(t, classes)[:, None] == np.arange(len(classes))).astype(np.float64)
    p = p if p.dtype.kind == "f" else p.astype(np.float64)
    eps = np.finfo(p.dtype).eps
    # clipping keeps log finite for a confident wrong prediction (p = 0 for the true class)
    p = np.clip(p, eps, 1 - eps)
    with np.errstate(divide="ignore", invalid="ignore"):
        loss = -np.sum(np.where(onehot > 0, onehot * np.log(p), 0.0), axis=1)
    if normalize:
        return float(np.average(loss, weights=w))
    return float(loss.sum() if w is None else loss @ w)


__all__ = ["auc", "log_loss", "roc_auc", "roc_curve", "top_k_accuracy"]
