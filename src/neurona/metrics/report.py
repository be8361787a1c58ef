"""The classification report (scikit-learn's text table or a dict) and `report(model, x, y)` in one call."""

from __future__ import annotations

import numpy as np

from ._inputs import as_array, label_pair, unique_labels, warn
from .functions import confusion_matrix, precision_recall_fscore_support

HEADERS = ["precision", "recall", "f1-score", "support"]


def classification_report(y_true, y_pred, *, labels=None, target_names=None, sample_weight=None, digits: int = 2,
                          output_dict: bool = False, zero_division="warn"):
    """Precision, recall, F1 and support per class, then accuracy, macro and weighted averages.

    The text has scikit-learn's exact layout; output_dict=True returns the same numbers as a dict.

    >>> print(classification_report([0, 1, 1, 2], [0, 1, 2, 2]))  # doctest: +NORMALIZE_WHITESPACE
                  precision    recall  f1-score   support
    <BLANKLINE>
               0       1.00      1.00      1.00         1
               1       1.00      0.50      0.67         2
               2       0.50      1.00      0.67         1
    <BLANKLINE>
        accuracy                           0.75         4
       macro avg       0.83      0.83      0.78         4
    weighted avg       0.88      0.75      0.75         4
    <BLANKLINE>
    """
    if not isinstance(digits, (int, np.integer)) or digits < 0:
        raise ValueError(f"digits must be an integer >= 0, got {digits!r}")
    t, p, w = label_pair(y_true, y_pred, sample_weight)
    present = unique_labels(t, p)
    labels_given = labels is not None
    labels = present if labels is None else np.asarray(labels)
    # the micro average equals accuracy when every label is reported
    micro_is_accuracy = not labels_given or set(labels.tolist()) >= set(present.tolist())
    if target_names is not None and len(labels) != len(target_names):
        if not labels_given:
            raise ValueError(f"Number of classes, {len(labels)}, does not match size of target_names, "
                             f"{len(target_names)}. Try specifying the labels parameter")
        warn(f"labels size, {len(labels)}, does not match size of target_names, {len(target_names)}", UserWarning)
    if target_names is None:
        target_names = [str(label) for label in labels.tolist()]
    per_class = precision_recall_fscore_support(t, p, labels=labels, average=None, sample_weight=w,
                                                zero_division=zero_division)
    support = per_class[3]
    rows = list(zip(target_names, *per_class))
    averages = {}
    for average in ("micro", "macro", "weighted"):
        heading = "accuracy" if average == "micro" and micro_is_accuracy else f"{average} avg"
        avg = precision_recall_fscore_support(t, p, labels=labels, average=average, sample_weight=w,
                                              zero_division=zero_division)
        averages[heading] = [avg[0], avg[1], avg[2], np.sum(support)]
    if output_dict:
        out = {str(name): dict(zip(HEADERS, [float(v) for v in values])) for name, *values in rows}
        for heading, values in averages.items():
            out[heading] = dict(zip(HEADERS, [float(v) for v in values]))
        if "accuracy" in out:
            out["accuracy"] = out["accuracy"]["precision"]
        return out
    width = max(max(len(str(name)) for name in target_names), len("weighted avg"), digits)
    text = "{:>{width}s} ".format("", width=width) + " {:>9}" * 4
    text = text.format(*HEADERS) + "\n\n"
    row_fmt = "{:>{width}s} " + " {:>9.{digits}f}" * 3 + " {:>9}\n"
    for row in rows:
        text += row_fmt.format(str(row[0]), *row[1:], width=width, digits=digits)
    text += "\n"
    for heading, values in averages.items():
        if heading == "accuracy":
            fmt = "{:>{width}s} " + " {:>9.{digits}}" * 2 + " {:>9.{digits}f}" + " {:>9}\n"
            text += fmt.format(heading, "", "", *values[2:], width=width, digits=digits)
        else:
            text += row_fmt.format(heading, *values, width=width, digits=digits)
    return text


def report(model, x, y, *, batch_size: int | None = None, target_names=None, digits: int = 2,
           zero_division="warn") -> dict:
    """Everything that judges a classifier, from one call to `model.predict(x)`.

    Returns a dict with "accuracy", "labels", per-class arrays "precision", "recall", "f1", "support", the
    "macro avg" and "weighted avg" dicts, "confusion_matrix" (counts) and "classification_report" (text).
    `model` is anything with `predict(x)` returning labels, one-hot rows or probabilities.
    """
    if not callable(getattr(model, "predict", None)):
        raise TypeError(f"report() needs a model with a predict(x) method, got {type(model).__name__}")
    y_pred = model.predict(x) if batch_size is None else model.predict(x, batch_size=batch_size)
    y_pred = as_array(getattr(y_pred, "data", y_pred), "model.predict(x)")
    t, p, _ = label_pair(y, y_pred)
    labels = unique_labels(t, p)
    if target_names is None:
        # with one-hot y or probabilities of every class, name the classes by column even if never seen
        y_arr = np.asarray(y)
        n_cols = max(y_arr.shape[1] if y_arr.ndim == 2 else 1, y_pred.shape[1] if y_pred.ndim == 2 else 1)
        if n_cols > 1 and labels.dtype.kind in "iu":
            labels = np.arange(max(n_cols, int(labels.max()) + 1))
    prec, rec, f1, support = precision_recall_fscore_support(t, p, labels=labels, zero_division=zero_division)
    as_dict = classification_report(t, p, labels=labels, target_names=target_names, output_dict=True,
                                    zero_division=zero_division)
    accuracy = float(np.mean(t == p))
    return {
        "accuracy": accuracy,
        "labels": labels,
        "precision": prec,
        "recall": rec,
        "f1": f1,
        "support": support,
        "macro avg": as_dict["macro avg"],
        "weighted avg": as_dict["weighted avg"],
        "confusion_matrix": confusion_matrix(t, p, labels=labels),
        "classification_report": classification_report(
            t, p, labels=labels, target_names=target_names, digits=digits, zero_division=zero_division),
        "y_pred": p,
    }


__all__ = ["classification_report", "report"]
