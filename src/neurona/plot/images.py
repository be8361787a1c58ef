"""Pictures of data and of what a network learned: image grids, per-class weight "evidence", filters, maps."""

from __future__ import annotations

import math

import numpy as np

from ..i18n import _
from ..metrics._inputs import to_labels
from ._base import as_numpy, class_name, figure, finish, grid_shape, panels


def _as_images(x: np.ndarray, shape, name: str) -> np.ndarray:
    """(n, h, w) or (n, h, w, 3) images from flat rows, (n, h, w) or channels-last (n, h, w, c)."""
    if x.ndim == 2:
        if shape is None:
            side = math.isqrt(x.shape[1])
            if side * side != x.shape[1]:
                raise ValueError(f"{name}: rows of {x.shape[1]} values are not square images; pass shape=(h, w)")
            shape = (side, side)
        if math.prod(shape) != x.shape[1]:
            raise ValueError(f"{name}: shape={tuple(shape)} holds {math.prod(shape)} values, rows hold {x.shape[1]}")
        x = x.reshape(len(x), *shape)
    if x.ndim == 4 and x.shape[-1] == 1:
        x = x[..., 0]
    if x.ndim not in (3, 4) or (x.ndim == 4 and x.shape[-1] != 3):
        raise ValueError(f"{name}: expected images (n, h, w), (n, h, w, 1), (n, h, w, 3) or flat rows; "
                         f"got shape {x.shape}")
    return x


def _scaled_rgb(img: np.ndarray) -> np.ndarray:
    lo, hi = float(img.min()), float(img.max())
    return (img - lo) / (hi - lo) if hi > lo else np.zeros_like(img, dtype=np.float64)


def images(x, y_true=None, y_pred=None, *, class_names=None, n: int = 25, ncols: int | None = None, shape=None,
           only_errors: bool = False, cmap: str = "gray", path=None, figsize=None):
    """A grid of images titled with their labels; misclassified ones get a red title and a red frame.

    x: (n, h, w), (n, h, w, 1|3) or flat rows (n, h*w) reshaped to `shape` (square by default).
    y_true / y_pred: labels, one-hot rows or probabilities. only_errors=True shows the misclassified only.
    """
    x = _as_images(as_numpy(x, "x"), shape, "x")
    t = None if y_true is None else to_labels(y_true, "y_true")
    p = None if y_pred is None else to_labels(y_pred, "y_pred")
    for name, labels in (("y_true", t), ("y_pred", p)):
        if labels is not None and len(labels) != len(x):
            raise ValueError(f"x has {len(x)} images but {name} has {len(labels)} labels")
    index = np.arange(len(x))
    if only_errors:
        if t is None or p is None:
            raise ValueError("only_errors=True needs both y_true and y_pred")
        index = index[t != p]
        if index.size == 0:
            raise ValueError("only_errors=True but every image is classified correctly")
    index = index[:n]
    rows, cols = grid_shape(len(index), ncols)
    fig = figure(figsize or (1.6 * cols, 1.8 * rows))
    for ax, i in zip(panels(fig, len(index), ncols), index):
        img = x[i]
        ax.imshow(_scaled_rgb(img) if img.ndim == 3 else img, cmap=None if img.ndim == 3 else cmap)
        wrong = t is not None and p is not None and t[i] != p[i]
        parts = []
        if t is not None:
            parts.append(_("true {name}").format(name=class_name(t[i], class_names)))
        if p is not None:
            parts.append(_("pred {name}").format(name=class_name(p[i], class_names)))
        ax.set_title("\n".join(parts), fontsize="small", color="tab:red" if wrong else "black")
        if wrong:
            for spine in ax.spines.values():
                spine.set_edgecolor("tab:red")
                spine.set_linewidth(3)
    return finish(fig, path)


def dense_weights_as_images(weights, *, shape=None, class_names=None, ncols: int | None = None,
                            cmap: str = "RdBu", path=None, figsize=None):
    """Each output unit's incoming weights drawn as an image: the slides' per-class "evidence" pictures.

    weights: the (inputs, units) kernel of a Dense layer (or the layer itself). Red is negative evidence, blue
    positive, on one symmetric colour scale shared by all panels so that their strengths compare.
    """
    w = as_numpy(weights, "weights")
    if w.ndim != 2:
        raise ValueError(f"weights must be a 2-D (inputs, units) kernel, got shape {w.shape}")
    maps = _as_images(w.T, shape, "weights")
    if maps.ndim != 3:
        raise ValueError(f"weights: each unit's weights must form a 2-D image, got {maps.shape[1:]}")
    m = float(np.abs(maps).max()) or 1.0
    rows, cols = grid_shape(len(maps), ncols or min(len(maps), 5))
    fig = figure(figsize or (2.2 * cols + 0.8, 2.3 * rows))
    axes = panels(fig, len(maps), cols)
    for k, (ax, img) in enumerate(zip(axes, maps)):
        im = ax.imshow(img, cmap=cmap, vmin=-m, vmax=m)
        ax.set_title(class_name(k, class_names), fontsize="small")
    fig.colorbar(im, ax=list(axes), shrink=0.8, label=_("weight (red -, blue +)"))
    return finish(fig, path)


def conv_filters(kernel, *, channel: int | None = None, ncols: int | None = None, cmap: str = "gray",
                 path=None, figsize=None):
    """The filters of a convolution, one panel each.

    kernel: (kh, kw, in_channels, filters) as Keras stores it (or the Conv2D layer). Filters over 3 input
    channels are shown in colour; otherwise `channel` picks one input channel (default: their mean).
    """
    k = as_numpy(kernel, "kernel").astype(np.float64)
    if k.ndim == 3:
        k = k[:, :, None, :]
    if k.ndim != 4:
        raise ValueError(f"kernel must be (kh, kw, in_channels, filters), got shape {k.shape}")
    cin, n = k.shape[2], k.shape[3]
    if channel is not None and not 0 <= channel < cin:
        raise ValueError(f"channel={channel} is out of range for a kernel with {cin} input channels")
    rows, cols = grid_shape(n, ncols)
    fig = figure(figsize or (1.4 * cols, 1.5 * rows))
    for f, ax in enumerate(panels(fig, n, ncols)):
        if cin == 3 and channel is None:
            ax.imshow(_scaled_rgb(k[:, :, :, f]))
        else:
            ax.imshow(k[:, :, channel, f] if channel is not None else k[:, :, :, f].mean(axis=2), cmap=cmap)
        ax.set_title(str(f), fontsize="x-small")
    return finish(fig, path)


def feature_maps(activations, *, max_maps: int = 64, ncols: int | None = None, cmap: str = "viridis",
                 title: str | None = None, path=None, figsize=None):
    """The channels of one layer's output for one image: activations (h, w, channels) or (1, h, w, channels)."""
    a = as_numpy(activations, "activations")
    if a.ndim == 4 and a.shape[0] == 1:
        a = a[0]
    if a.ndim == 2:
        a = a[:, :, None]
    if a.ndim != 3:
        raise ValueError(f"activations must be (h, w, channels) for one image, got shape {a.shape}")
    n = min(a.shape[2], max_maps)
    rows, cols = grid_shape(n, ncols)
    fig = figure(figsize or (1.5 * cols, 1.5 * rows + (0.4 if title else 0)))
    for c, ax in enumerate(panels(fig, n, ncols)):
        ax.imshow(a[:, :, c], cmap=cmap)
        ax.set_title(str(c), fontsize="x-small")
    if title:
        fig.suptitle(title)
    return finish(fig, path)


__all__ = ["conv_filters", "dense_weights_as_images", "feature_maps", "images"]
