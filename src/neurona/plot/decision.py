"""The decision boundary of a classifier on 2-D data (the perceptron and MLP lessons)."""

from __future__ import annotations

import numpy as np

from ..i18n import _
from ..metrics._inputs import to_labels
from ._base import figure, finish


def decision_boundary(predict, x, y=None, *, resolution: int = 200, padding: float = 0.1, cmap: str = "RdBu",
                      class_names=None, title: str | None = None, path=None, figsize=(5.5, 4.5)):
    """Regions a classifier assigns to each class over the plane of 2-D data, with the data on top.

    predict: a function (or an object with .predict) taking (m, 2) points and returning labels, one column of
    probabilities (drawn as a shaded probability with the 0.5 line) or one probability per class (regions by
    argmax). x: (n, 2) points; y: their labels (one-hot or probabilities also accepted) for the colours.
    """
    fn = predict.predict if hasattr(predict, "predict") and callable(predict.predict) else predict
    if not callable(fn):
        raise TypeError(f"predict must be a function or have a predict method, got {type(predict).__name__}")
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != 2:
        raise ValueError(f"decision_boundary draws 2-D data: x must have shape (n, 2), got {x.shape}")
    labels = None if y is None else to_labels(y, "y")
    if labels is not None and len(labels) != len(x):
        raise ValueError(f"x has {len(x)} points but y has {len(labels)} labels")
    lo, hi = x.min(axis=0), x.max(axis=0)
    margin = padding * np.where(hi > lo, hi - lo, 1.0)
    gx, gy = np.meshgrid(np.linspace(lo[0] - margin[0], hi[0] + margin[0], resolution),
                         np.linspace(lo[1] - margin[1], hi[1] + margin[1], resolution))
    grid = np.c_[gx.ravel(), gy.ravel()].astype(np.float32)
    out = _call(fn, grid)
    if len(out) != len(grid):
        raise ValueError(f"predict returned {len(out)} rows for {len(grid)} points")
    fig = figure(figsize)
    ax = fig.subplots()
    n_classes = 2 if labels is None or labels.dtype.kind not in "iu" else max(2, int(labels.max()) + 1)
    if (out.ndim == 1 or out.shape[1] == 1) and out.dtype.kind == "f" and not np.all(out == np.round(out)):
        z = out.reshape(gx.shape)
        filled = ax.contourf(gx, gy, z, levels=np.linspace(min(0.0, z.min()), max(1.0, z.max()), 21), cmap=cmap,
                             alpha=0.6)
        ax.contour(gx, gy, z, levels=[0.5], colors="k", linewidths=2)
        fig.colorbar(filled, ax=ax, label=_("predicted probability of class 1"))
    else:
        from matplotlib.colors import ListedColormap

        z = to_labels(out, "predict(x)").reshape(gx.shape)
        if z.dtype.kind not in "iu":
            z = np.searchsorted(np.unique(z), z)
        n_classes = max(n_classes, int(z.max()) + 1)
        ax.pcolormesh(gx, gy, z, cmap=ListedColormap(_colors(n_classes)), vmin=-0.5, vmax=n_classes - 0.5,
                      alpha=0.35, shading="auto")
        if np.unique(z).size > 1:
            ax.contour(gx, gy, z, levels=np.arange(n_classes - 1) + 0.5, colors="k", linewidths=1)
    if labels is None:
        ax.scatter(x[:, 0], x[:, 1], s=18, c="k")
    else:
        classes = np.unique(labels)
        colors = _colors(max(n_classes, len(classes)))
        for i, c in enumerate(classes):
            name = str(class_names[int(c)]) if class_names is not None else str(c)
            color = colors[int(c)] if labels.dtype.kind in "iu" and 0 <= c < len(colors) else colors[i]
            ax.scatter(*x[labels == c].T, s=22, edgecolors="k", linewidths=0.5, label=name, color=color)
        ax.legend(fontsize="small", loc="best")
    ax.set_xlim(gx.min(), gx.max())
    ax.set_ylim(gy.min(), gy.max())
    ax.set_xlabel("x1")
    ax.set_ylabel("x2")
    if title:
        ax.set_title(title)
    return finish(fig, path)


def _colors(n: int) -> list[str]:
    """Red and blue for two classes (as the slides draw them), the tab10 cycle for more."""
    return ["tab:red", "tab:blue"][:n] if n <= 2 else [f"C{i % 10}" for i in range(n)]


def _call(fn, grid: np.ndarray) -> np.ndarray:
    """predict(grid) as an ndarray (a neurona Tensor gives its .data)."""
    out = fn(grid)
    if not isinstance(out, np.ndarray):
        out = getattr(out, "data", out)
    return np.asarray(out)


__all__ = ["decision_boundary"]
