"""Figures for the report: matplotlib is optional, and a figure becomes a base64 PNG inside the HTML."""

from __future__ import annotations

import base64
import io
from typing import Any


def plotting_available() -> bool:
    """True when matplotlib can be imported (the `plot` extra: pip install 'neurona[plot]')."""
    try:
        import matplotlib.figure  # noqa: F401
    except ImportError:
        return False
    return True


def png_data_uri(fig: Any, dpi: int = 80) -> str:
    """`data:image/png;base64,...` of a matplotlib Figure, so the HTML needs no file beside it."""
    from ..plot._base import localise_ticks

    localise_ticks(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
