"""An HTML report of what was trained: text, tables and figures, in one self-contained file.

Figures are embedded as base64 PNG and the style sheet is inline, so `index.html` opens anywhere, offline,
and can be mailed as a single file. Without matplotlib the report keeps its tables and says how to get the
figures. Headings follow the language of `neurona.i18n`.

>>> report = Report("Wine")
>>> section = report.section("Results")
>>> section.table(["metric", "value"], [["accuracy", "0.97"]])
>>> "<td>0.97</td>" in report.to_html()
True
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ..i18n import _
from ..i18n.numbers import date_time
from .figures import plotting_available, png_data_uri
from .html import render

INDEX = "index.html"


class Section:
    """One part of the report (a lab, a model): a heading followed by blocks, in the order they are added."""

    def __init__(self, title: str, intro: str = "") -> None:
        self.title = title
        self.blocks: list[tuple[str, Any]] = []
        if intro:
            self.text(intro)

    def text(self, paragraph: str) -> None:
        """A paragraph of plain text."""
        self.blocks.append(("p", paragraph))

    def preformatted(self, text: str) -> None:
        """Text shown as written, in a fixed-width font (a model summary, a classification report)."""
        self.blocks.append(("pre", text))

    def table(self, header: Sequence[str], rows: Sequence[Sequence[Any]], caption: str = "") -> None:
        """A table; cells are shown with str()."""
        self.blocks.append(("table", ([str(h) for h in header], [[str(c) for c in row] for row in rows], caption)))

    def figure(self, fig: Any, caption: str = "") -> None:
        """A matplotlib Figure, embedded as a PNG."""
        self.blocks.append(("figure", (png_data_uri(fig), caption)))

    def plot(self, draw: Callable[..., Any], *args: Any, caption: str = "", **kwargs: Any) -> bool:
        """Call a `neurona.plot` function and embed its figure; False (and nothing added) without matplotlib."""
        if not plotting_available():
            return False
        self.figure(draw(*args, **kwargs), caption)
        return True


class Report:
    """A report made of sections; `write(directory)` saves `directory/index.html` atomically."""

    def __init__(self, title: str, subtitle: str = "") -> None:
        self.title = title
        self.subtitle = subtitle
        self.sections: list[Section] = []
        self.created = date_time()  # '2026-12-04 14:52', '4 de diciembre de 2026, 14:52' in Spanish

    def section(self, title: str, intro: str = "") -> Section:
        """Start a new section at the end of the report and return it."""
        section = Section(title, intro)
        self.sections.append(section)
        return section

    @property
    def has_figures(self) -> bool:
        return any(kind == "figure" for s in self.sections for kind, _ in s.blocks)

    def to_html(self) -> str:
        """The whole report as one HTML document."""
        from .. import __version__
        from ..i18n import language

        notes = []
        if not plotting_available():
            notes.append(_("This report has no figures because matplotlib is not installed. "
                           "Install it with: pip install 'neurona[plot]' (or pip install matplotlib), "
                           "then run the command again."))
        footer = _("Made by neurona {version} on {date}.").format(version=__version__, date=self.created)
        return render(self.title, self.subtitle, self.sections, notes, footer, language())

    def write(self, directory: str | os.PathLike) -> Path:
        """Write `directory/index.html` (the directory is created if needed); return its path."""
        from ..saving.atomic import write_bytes_atomic

        folder = Path(directory)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / INDEX
        write_bytes_atomic(path, self.to_html().encode("utf-8"))
        return path


__all__ = ["INDEX", "Report", "Section", "plotting_available", "png_data_uri"]
