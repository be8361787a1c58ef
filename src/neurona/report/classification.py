"""The classification report as people read it: scikit-learn's table, its headers and numbers in their language.

`neurona.metrics.classification_report` keeps scikit-learn's exact English text (code compares it); the labs
and `neurona train` print this one, which is the same table with translated headers ("precisión",
"exhaustividad"...) and decimal commas in Spanish. In English both are identical.
"""

from __future__ import annotations

from typing import Any

from ..i18n import N_, _, language
from ..i18n.numbers import number

HEADERS = (N_("precision"), N_("recall"), N_("f1-score"), N_("support"))
ROWS = {"accuracy": N_("accuracy"), "macro avg": N_("macro avg"), "weighted avg": N_("weighted avg"),
        "micro avg": N_("micro avg")}


def classification_report_text(y_true: Any, y_pred: Any, *, labels: Any = None, target_names: Any = None,
                                digits: int = 2, zero_division: Any = "warn") -> str:
    """Precision, recall, F1 and support per class, then the averages, as a text table in the current language."""
    from ..metrics import classification_report

    if language() == "en":
        return classification_report(y_true, y_pred, labels=labels, target_names=target_names, digits=digits,
                                     zero_division=zero_division)
    table = classification_report(y_true, y_pred, labels=labels, target_names=target_names, digits=digits,
                                  output_dict=True, zero_division=zero_division)
    headers = [_(h) for h in HEADERS]
    widths = [max(9, len(h)) for h in headers]
    names = {key: _(ROWS[key]) if key in ROWS else key for key in table}
    first = max(max(len(n) for n in names.values()), digits)
    lines = [" " * first + " " + "".join(f" {h:>{w}}" for h, w in zip(headers, widths)), ""]
    averages = [k for k in table if k in ROWS]
    for key in [k for k in table if k not in ROWS] + [None] + averages:
        if key is None:
            lines.append("")
            continue
        row = table[key]
        if key == "accuracy":  # one number: the accuracy, under the F1 column, then the support
            cells = ["", "", number(row, f".{digits}f"), f"{table['weighted avg']['support']:.0f}"]
        else:
            cells = [number(row[h], f".{digits}f") for h in ("precision", "recall", "f1-score")]
            cells.append(f"{row['support']:.0f}")
        lines.append(f"{names[key]:>{first}} " + "".join(f" {c:>{w}}" for c, w in zip(cells, widths)))
    return "\n".join(lines) + "\n\n"


__all__ = ["classification_report_text"]
