"""Classification metrics on whole arrays: accuracy, precision, recall, F1, the confusion matrix.

Each function takes class labels, one-hot rows or probabilities (see `neurona.metrics._inputs` for how they are
told apart) and returns the value scikit-learn's function of the same name returns, with the same warnings.
"""

from __future__ import annotations

import numpy as np

from ._inputs import UndefinedMetricWarning, check_zero_division, encode, label_pair, unique_labels, warn

AVERAGES = ("binary", "micro", "macro", "weighted", None)


def accuracy(y_true, y_pred, *, normalize: bool = True, sample_weight=None) -> float:
    """Fraction (or, with normalize=False, weighted count) of samples whose predicted class is the true one.

    >>> accuracy([0, 1, 2, 2], [[0.9, 0.1, 0.0], [0.2, 0.7, 0.1], [0.1, 0.1, 0.8], [0.6, 0.3, 0.1]])
    0.75
    """
    t, p, w = label_pair(y_true, y_pred, sample_weight)
    hits = t == p
    if not normalize:
        return float(hits.sum() if w is None else hits @ w)
    return float(np.average(hits, weights=w))


def _counts(t, p, w, labels):
    """Per-label true positives, predicted counts and true counts (weighted when w is given)."""
    n = len(labels)
    ti, pi = encode(t, labels), encode(p, labels)
    wt = None if w is None else w

    def count(idx, mask):
        return np.bincount(idx[mask], weights=None if wt is None else wt[mask], minlength=n + 1)[:n]

    tp = count(ti, (ti == pi) & (ti < n))
    pred_sum = count(pi, pi < n)
    true_sum = count(ti, ti < n)
    if w is not None and w.dtype.kind in "biu":
        tp, pred_sum, true_sum = (a.astype(np.int64) for a in (tp, pred_sum, true_sum))
    return tp, pred_sum, true_sum


def _prf_divide(num, den, metric, modifier, average, warn_for, zero_division):
    """num / den with the 0/0 entries set to zero_division and, for "warn", scikit-learn's warning."""
    den = np.asarray(den, dtype=np.float64)
    mask = den == 0
    result = np.asarray(num, dtype=np.float64) / np.where(mask, 1.0, den)
    if not mask.any():
        return result
    result[mask] = check_zero_division(zero_division)
    if zero_division == "warn" and metric in warn_for:
        msg = f"{metric.capitalize()} is ill-defined and being set to 0.0 {{0}} no {modifier} samples. " \
              "Use `zero_division` parameter to control this behavior."
        warn(msg.format("due to" if result.shape[0] == 1 else "in labels with"))
    return result


def _nanaverage(a, weights=None) -> float:
    """Average ignoring NaN entries; all-zero weights fall back to the plain mean (as scikit-learn)."""
    keep = ~np.isnan(a)
    if not keep.any():
        return float("nan")
    if weights is None or np.sum(np.asarray(weights)[keep]) == 0:
        return float(np.mean(a[keep]))
    return float(np.average(a[keep], weights=np.asarray(weights)[keep]))


def _labels_for(t, p, average, labels, pos_label):
    """The labels to score, validating average= and pos_label= as scikit-learn does."""
    if average not in AVERAGES:
        raise ValueError(
            f"average={average!r} is not supported; use one of 'binary', 'micro', 'macro', 'weighted' or None"
            + (" ('samples' is for multilabel data, which these functions do not take)" if average == "samples"
               else "")
        )
    present = unique_labels(t, p)
    if average == "binary":
        if len(present) > 2:
            raise ValueError(
                f"Target is multiclass ({len(present)} classes: {present.tolist()}) but average='binary'. "
                "Please choose another average setting, one of [None, 'micro', 'macro', 'weighted']."
            )
        if pos_label not in present.tolist() and len(present) >= 2:
            raise ValueError(f"pos_label={pos_label!r} is not a valid label. It should be one of {present.tolist()}")
        return np.asarray([pos_label])
    if pos_label not in (None, 1):
        warn(f"Note that pos_label (set to {pos_label!r}) is ignored when average != 'binary' (got {average!r}). "
             "You may use labels=[pos_label] to specify a single positive class.", UserWarning)
    return present if labels is None else np.asarray(labels)


def precision_recall_fscore_support(
    y_true, y_pred, *, beta: float = 1.0, labels=None, pos_label=1, average=None,
    warn_for=("precision", "recall", "f-score"), sample_weight=None, zero_division="warn",
):
    """Precision, recall, F-beta and support (true count) per class, or averaged (then support is None).

    Same arguments, values and warnings as scikit-learn's function of the same name (default average=None).
    """
    check_zero_division(zero_division)
    t, p, w = label_pair(y_true, y_pred, sample_weight)
    labels = _labels_for(t, p, average, labels, pos_label)
    tp, pred_sum, true_sum = _counts(t, p, w, labels)
    if average == "micro":
        tp, pred_sum, true_sum = (np.atleast_1d(a.sum()) for a in (tp, pred_sum, true_sum))
    precision = _prf_divide(tp, pred_sum, "precision", "predicted", average, warn_for, zero_division)
    recall = _prf_divide(tp, true_sum, "recall", "true", average, warn_for, zero_division)
    if np.isposinf(beta):
        f_score = recall
    elif beta == 0:
        f_score = precision
    else:
        # F from counts, (1 + b^2) tp / (b^2 (tp + fn) + tp + fp): defined whenever a class is true or predicted
        b2 = beta * beta
        f_score = _prf_divide((1 + b2) * tp.astype(np.float64), b2 * true_sum.astype(np.float64) + pred_sum,
                              "f-score", "true nor predicted", average, warn_for, zero_division)
    if average is None:
        return precision, recall, f_score, true_sum
    weights = true_sum if average == "weighted" else None
    return _nanaverage(precision, weights), _nanaverage(recall, weights), _nanaverage(f_score, weights), None


def precision(y_true, y_pred, *, labels=None, pos_label=1, average="binary", sample_weight=None,
              zero_division="warn"):
    """Precision tp / (tp + fp): of the samples predicted as a class, the fraction that belong to it.

    >>> precision([0, 1, 1, 1], [0, 1, 0, 1])
    1.0
    """
    return precision_recall_fscore_support(
        y_true, y_pred, labels=labels, pos_label=pos_label, average=average, warn_for=("precision",),
        sample_weight=sample_weight, zero_division=zero_division)[0]


def recall(y_true, y_pred, *, labels=None, pos_label=1, average="binary", sample_weight=None, zero_division="warn"):
    """Recall (sensitivity) tp / (tp + fn): of the samples of a class, the fraction predicted as it.

    >>> recall([0, 1, 1, 1], [0, 1, 0, 1])
    0.6666666666666666
    """
    return precision_recall_fscore_support(
        y_true, y_pred, labels=labels, pos_label=pos_label, average=average, warn_for=("recall",),
        sample_weight=sample_weight, zero_division=zero_division)[1]


def fbeta_score(y_true, y_pred, *, beta: float, labels=None, pos_label=1, average="binary", sample_weight=None,
                zero_division="warn"):
    """F-beta, the weighted harmonic mean of precision and recall (beta > 1 favours recall)."""
    return precision_recall_fscore_support(
        y_true, y_pred, beta=beta, labels=labels, pos_label=pos_label, average=average, warn_for=("f-score",),
        sample_weight=sample_weight, zero_division=zero_division)[2]


def f1_score(y_true, y_pred, *, labels=None, pos_label=1, average="binary", sample_weight=None,
             zero_division="warn"):
    """F1 = 2 (precision * recall) / (precision + recall), as in the slides.

    >>> round(f1_score([0, 1, 1, 1], [0, 1, 0, 1]), 4)
    0.8
    """
    return fbeta_score(y_true, y_pred, beta=1.0, labels=labels, pos_label=pos_label, average=average,
                       sample_weight=sample_weight, zero_division=zero_division)


def confusion_matrix(y_true, y_pred, *, labels=None, sample_weight=None, normalize=None) -> np.ndarray:
    """Matrix C with C[i, j] = number of samples of class labels[i] predicted as labels[j].

    normalize="true" divides each row by its total (recall on the diagonal), "pred" each column (precision on
    the diagonal), "all" by the grand total. Samples whose true or predicted class is not in labels are left out.

    >>> confusion_matrix([0, 1, 1, 2], [0, 1, 2, 2])
    array([[1, 0, 0],
           [0, 1, 1],
           [0, 0, 1]])
    """
    if normalize not in ("true", "pred", "all", None):
        raise ValueError(f"normalize={normalize!r} is not supported; use 'true', 'pred', 'all' or None")
    t, p, w = label_pair(y_true, y_pred, sample_weight)
    if labels is None:
        labels = unique_labels(t, p)
    else:
        labels = np.asarray(labels)
        if labels.size == 0:
            raise ValueError("'labels' should contain at least one label.")
        if not np.isin(t, labels).any():
            raise ValueError(f"At least one label specified must be in y_true; labels={labels.tolist()}")
    n = len(labels)
    ti, pi = encode(t, labels), encode(p, labels)
    keep = (ti < n) & (pi < n)
    weights = None if w is None else w[keep]
    cm = np.bincount(ti[keep] * n + pi[keep], weights=weights, minlength=n * n).reshape(n, n)
    cm = cm.astype(np.int64) if w is None or w.dtype.kind in "biu" else cm
    if normalize is not None:
        with np.errstate(all="ignore"):
            total = {"true": cm.sum(axis=1, keepdims=True), "pred": cm.sum(axis=0, keepdims=True),
                     "all": cm.sum()}[normalize]
            cm = np.nan_to_num(cm / total)
    if cm.shape == (1, 1):
        warn("A single label was found in 'y_true' and 'y_pred'. For the confusion matrix to have the correct "
             "shape, use the 'labels' parameter to pass all known labels.", UserWarning)
    return cm


__all__ = [
    "UndefinedMetricWarning", "accuracy", "confusion_matrix", "f1_score", "fbeta_score", "precision",
    "precision_recall_fscore_support", "recall",
]
