"""What every plot shares: matplotlib imported lazily, a figure made without pyplot, saving to a file.

Figures are created with `matplotlib.figure.Figure` (no pyplot state, no window, safe under the Agg backend and
in scripts without a display); Jupyter shows a returned Figure by itself.
"""

from __future__ import annotations

import math
import os

import numpy as np


def figure(figsize: tuple[float, float]):
    """A new constrained-layout Figure, or an ImportError that names the extra to install."""
    try:
        from matplotlib.figure import Figure
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError(
            "neurona.plot draws with matplotlib, which is not installed: pip install 'neurona[plot]' "
            "(or pip install matplotlib)"
        ) from e
    return Figure(figsize=figsize, layout="constrained")


def finish(fig, path: str | os.PathLike | None, dpi: int = 100):
    """Save the figure to `path` (format from its extension, PNG by default) when given; return the figure."""
    localise_ticks(fig)
    if path is not None:
        fig.savefig(os.fspath(path), dpi=dpi)
    return fig


def localise_ticks(fig) -> None:
    """Tick labels with the language's decimal separator ('0,5' in Spanish). matplotlib would need the
    system's locale for that (often not installed), so plain number formatters get a small subclass."""
    from ..i18n.numbers import decimal_separator

    if decimal_separator() == ".":
        return
    from matplotlib.ticker import ScalarFormatter

    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            formatter = axis.get_major_formatter()
            if type(formatter) is ScalarFormatter:
                axis.set_major_formatter(_comma_formatter())


def _comma_formatter():
    from matplotlib.ticker import ScalarFormatter

    class CommaFormatter(ScalarFormatter):
        """ScalarFormatter writing a decimal comma."""

        def __call__(self, x, pos=None):
            return super().__call__(x, pos).replace(".", ",")

        def get_offset(self):
            return super().get_offset().replace(".", ",")

    return CommaFormatter()


def grid_shape(n: int, ncols: int | None = None) -> tuple[int, int]:
    """(rows, cols) of a near-square grid for n panels."""
    if n < 1:
        raise ValueError(f"nothing to draw: got {n} panels")
    cols = ncols or math.ceil(math.sqrt(n))
    return math.ceil(n / cols), cols


def panels(fig, n: int, ncols: int | None = None):
    """n axes on a grid, ticks hidden (image panels); the grid's unused cells are removed."""
    rows, cols = grid_shape(n, ncols)
    axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False)).ravel()
    for ax in axes[n:]:
        ax.remove()
    for ax in axes[:n]:
        ax.set_xticks([])
        ax.set_yticks([])
    return axes[:n]


def as_numpy(x, name: str) -> np.ndarray:
    """An ndarray from an array, a neurona Tensor (its .data) or a layer (its first weight)."""
    if hasattr(x, "get_weights") and callable(x.get_weights):
        weights = x.get_weights()
        if not weights:
            raise ValueError(f"{name}: the layer has no weights (is it built?)")
        x = weights[0]
    if not isinstance(x, np.ndarray):
        x = getattr(x, "data", x)
    return np.asarray(x)


def class_name(label, class_names) -> str:
    if class_names is None:
        return str(label)
    try:
        return str(class_names[int(label)])
    except (IndexError, TypeError, ValueError):
        return str(label)
