"""Pictures of training and evaluation: learning curves and the confusion matrix."""

from __future__ import annotations

import numpy as np

from ..i18n import N_, _
from ..i18n.numbers import number
from ..metrics import confusion_matrix as _confusion_matrix
from ..metrics._inputs import label_pair, unique_labels
from ._base import figure, finish

_LOWER_IS_BETTER = ("loss", "error", "crossentropy", "hinge", "mse", "mae", "rmse", "mape", "msle", "divergence")


def lower_is_better(name: str) -> bool:
    """Whether a smaller value of the metric `name` is better (losses and errors) or worse (accuracy, AUC...)."""
    return any(part in name.lower() for part in _LOWER_IS_BETTER)


# the quantities fit logs most often, named in the figure's language (others keep their key)
METRIC_TITLES = {"loss": N_("loss"), "accuracy": N_("accuracy"), "mse": N_("mean squared error"),
                 "mae": N_("mean absolute error"),
                 "reconstruction": N_("reconstruction")}


def metric_title(name: str) -> str:
    """A panel's title for the logged quantity `name`, in the current language."""
    return _(METRIC_TITLES[name]) if name in METRIC_TITLES else name


def history(history, *, metrics: list[str] | None = None, path=None, figsize=None, logy: bool = False):
    """Learning curves: one panel per quantity (loss first), training vs validation, best epoch marked.

    `history` is what fit() returns (anything with a `.history` dict, and optionally `.epoch`) or the dict itself,
    e.g. {"loss": [...], "val_loss": [...], "accuracy": [...], "val_accuracy": [...]}. The best epoch is taken
    on the validation curve when there is one (lowest loss/error, highest other metrics): a gap that grows
    between the curves after it is the overfitting the slides warn about. `logy=True` draws the loss panels
    on a logarithmic y axis (when their values are positive): a regression loss that falls by orders of
    magnitude stays readable after its first epochs.
    """
    logs = getattr(history, "history", history)
    if not isinstance(logs, dict) or not logs:
        raise ValueError(f"history must be a History or a non-empty dict of lists, got {type(history).__name__}")
    names = [k for k in logs if not k.startswith("val_")]
    names += [k[4:] for k in logs if k.startswith("val_") and k[4:] not in logs]
    names.sort(key=lambda k: (k != "loss", list(logs).index(k) if k in logs else len(logs)))
    if metrics is not None:
        missing = [m for m in metrics if m not in names]
        if missing:
            raise ValueError(f"history has no {missing}; it has {names}")
        names = list(metrics)
    n_epochs = max(len(v) for v in logs.values())
    epoch = getattr(history, "epoch", None)
    epochs = np.asarray(epoch) + 1 if epoch is not None and len(epoch) == n_epochs else np.arange(1, n_epochs + 1)
    fig = figure(figsize or (4.5 * len(names), 3.6))
    axes = np.atleast_1d(fig.subplots(1, len(names), squeeze=False)).ravel()
    for ax, name in zip(axes, names):
        curves = [(key, label, color) for key, label, color in
                  ((name, _("training"), "tab:blue"), (f"val_{name}", _("validation"), "tab:orange")) if key in logs]
        for key, label, color in curves:
            values = np.asarray(logs[key], dtype=np.float64)
            ax.plot(epochs[: len(values)], values, "o-", ms=3, color=color, label=label)
        key = curves[-1][0]
        values = np.asarray(logs[key], dtype=np.float64)
        if np.isfinite(values).any():
            best = int(np.nanargmin(values) if lower_is_better(name) else np.nanargmax(values))
            ax.axvline(epochs[best], color="gray", ls="--", lw=1)
            ax.plot(epochs[best], values[best], "*", ms=14, color="tab:red", zorder=5,
                    label=_("best epoch {epoch}: {value:.4g}").format(epoch=epochs[best], value=float(values[best])))
        positive = all(np.nanmin(np.asarray(logs[k], dtype=np.float64)) > 0 for k, _l, _c in curves)
        if logy and "loss" in name and positive:
            ax.set_yscale("log")
        ax.set_title(metric_title(name))
        ax.set_xlabel(_("epoch"))
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
    return finish(fig, path)


def _draw_matrix(fig, ax, cm: np.ndarray, names: list[str], title: str, fmt: str, cmap: str, annotate: bool):
    vmax = cm.max() if cm.size and cm.max() > 0 else 1
    im = ax.imshow(cm, cmap=cmap, vmin=0, vmax=vmax)
    fig.colorbar(im, ax=ax, shrink=0.8)
    n = len(names)
    ax.set_xticks(range(n), names, rotation=45 if max(len(s) for s in names) > 3 else 0)
    ax.set_yticks(range(n), names)
    ax.set_xlabel(_("predicted label"))
    ax.set_ylabel(_("true label"))
    ax.set_title(title)
    if annotate:
        for (i, j), v in np.ndenumerate(cm):
            # white text on dark cells, black on light ones
            ax.text(j, i, number(v, fmt), ha="center", va="center", fontsize="small",
                    color="white" if v > 0.6 * vmax else "black")


def confusion_matrix(y_true=None, y_pred=None, *, matrix=None, labels=None, display_labels=None,
                     normalize: str | None = "both", cmap: str = "Blues", path=None, figsize=None):
    """The confusion matrix as a heat map with the value in each cell.

    Give y_true and y_pred (labels, one-hot rows or probabilities) or a precomputed count `matrix`.
    normalize: "both" (counts and rows normalised to recall, side by side), None (counts), or "true", "pred",
    "all" (as `neurona.metrics.confusion_matrix`).
    """
    if normalize not in ("both", None, "true", "pred", "all"):
        raise ValueError(f"normalize={normalize!r} is not supported; use 'both', None, 'true', 'pred' or 'all'")
    if matrix is not None:
        counts = np.asarray(matrix)
        if counts.ndim != 2 or counts.shape[0] != counts.shape[1]:
            raise ValueError(f"matrix must be square (classes, classes), got shape {counts.shape}")
        labels = np.arange(len(counts)) if labels is None else np.asarray(labels)
    else:
        if y_true is None or y_pred is None:
            raise ValueError("give y_true and y_pred, or a precomputed matrix=")
        t, p, _weights = label_pair(y_true, y_pred)
        labels = unique_labels(t, p) if labels is None else np.asarray(labels)
        counts = _confusion_matrix(t, p, labels=labels)
    names = [str(s) for s in (labels.tolist() if display_labels is None else display_labels)]
    if len(names) != len(counts):
        raise ValueError(f"display_labels has {len(names)} names for {len(counts)} classes")
    kinds = {"both": [None, "true"], None: [None]}.get(normalize, [normalize])
    fig = figure(figsize or (5.2 * len(kinds), 4.4))
    axes = np.atleast_1d(fig.subplots(1, len(kinds), squeeze=False)).ravel()
    annotate = len(names) <= 30
    for ax, kind in zip(axes, kinds):
        if kind is None:
            _draw_matrix(fig, ax, counts, names, _("counts"), "d" if counts.dtype.kind in "iu" else ".3g", cmap,
                         annotate)
            continue
        with np.errstate(all="ignore"):
            total = {"true": counts.sum(axis=1, keepdims=True), "pred": counts.sum(axis=0, keepdims=True),
                     "all": counts.sum()}[kind]
            normalised = np.nan_to_num(counts / total)
        title = _({"true": N_("normalised over true labels (recall)"),
                   "pred": N_("normalised over predictions (precision)"),
                   "all": N_("normalised over all samples")}[kind])
        _draw_matrix(fig, ax, normalised, names, title, ".2f", cmap, annotate)
    return finish(fig, path)


__all__ = ["confusion_matrix", "history", "lower_is_better", "metric_title"]
