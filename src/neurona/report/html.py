"""The report's HTML: every text escaped, the style inline, no script and no external resource."""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from typing import Any

from ..i18n import _
from ..i18n.numbers import localise_cell

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0; color: #1d2330;
       background: #f6f7f9; line-height: 1.45; }
header { background: #1d3557; color: white; padding: 1.2rem 2rem; }
header h1 { margin: 0 0 .3rem 0; font-size: 1.6rem; }
header p { margin: 0; opacity: .85; }
main { max-width: 1100px; margin: 0 auto; padding: 1rem 2rem 3rem 2rem; }
nav ul { columns: 2; padding-left: 1.2rem; }
section { background: white; border-radius: 8px; padding: .6rem 1.4rem 1.2rem 1.4rem; margin: 1.2rem 0;
          box-shadow: 0 1px 3px rgba(0, 0, 0, .08); }
h2 { color: #1d3557; border-bottom: 2px solid #e3e7ee; padding-bottom: .3rem; }
table { border-collapse: collapse; margin: .6rem 0; }
caption { text-align: left; font-weight: 600; padding-bottom: .3rem; }
th, td { border: 1px solid #d5dae3; padding: .3rem .7rem; text-align: left; }
th { background: #eef1f6; }
td { font-variant-numeric: tabular-nums; }
pre { background: #f3f4f7; padding: .7rem; overflow-x: auto; font-size: .85rem; line-height: 1.25;
      font-family: "DejaVu Sans Mono", Menlo, Consolas, "Liberation Mono", monospace; }
figure { margin: .8rem 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #e3e7ee; }
figcaption { color: #555; font-size: .9rem; }
.note { background: #fff4d6; border-left: 4px solid #e0a800; padding: .6rem 1rem; }
footer { color: #666; font-size: .85rem; text-align: center; padding: 1rem; }
.table-wrap { max-width: 100%; overflow-x: auto; }
.table-wrap table { margin: 0; }
@media (max-width: 600px) {
  header { padding: .8rem 1rem; }
  main { padding: .5rem .5rem 2rem .5rem; }
  section { padding: .4rem .7rem .8rem .7rem; }
  nav ul { columns: 1; }
  th, td { padding: .25rem .4rem; }
}
"""


def _anchor(title: str, index: int) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
    return f"s{index}-{slug}" if slug else f"s{index}"


def _block(kind: str, value: Any) -> str:
    esc = html.escape
    if kind == "p":
        return f"<p>{esc(value)}</p>"
    if kind == "pre":
        return f"<pre>{esc(value)}</pre>"
    if kind == "table":
        header, rows, caption = value
        head = "".join(f"<th>{esc(h)}</th>" for h in header)
        body = "".join("<tr>" + "".join(f"<td>{esc(str(localise_cell(c)))}</td>" for c in row) + "</tr>"
                       for row in rows)
        cap = f"<caption>{esc(caption)}</caption>" if caption else ""
        # the wrapper scrolls a wide table sideways on a narrow screen instead of widening the page
        return f'<div class="table-wrap"><table>{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'
    if kind == "figure":
        uri, caption = value
        cap = f"<figcaption>{esc(caption)}</figcaption>" if caption else ""
        return f'<figure><img src="{uri}" alt="{esc(caption)}">{cap}</figure>'
    raise ValueError(f"unknown report block {kind!r}")


def render(title: str, subtitle: str, sections: Sequence[Any], notes: Sequence[str], footer: str, lang: str) -> str:
    """The complete HTML document."""
    esc = html.escape
    anchors = [_anchor(s.title, i) for i, s in enumerate(sections)]
    parts = [
        "<!DOCTYPE html>",
        f'<html lang="{esc(lang)}">',
        '<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{esc(title)}</title><style>{STYLE}</style></head>",
        "<body>",
        f"<header><h1>{esc(title)}</h1>" + (f"<p>{esc(subtitle)}</p>" if subtitle else "") + "</header>",
        "<main>",
    ]
    parts += [f'<p class="note">{esc(note)}</p>' for note in notes]
    if len(sections) > 1:
        items = "".join(f'<li><a href="#{a}">{esc(s.title)}</a></li>' for a, s in zip(anchors, sections))
        parts.append(f"<nav><h2>{esc(_('Contents'))}</h2><ul>{items}</ul></nav>")
    for anchor, section in zip(anchors, sections):
        parts.append(f'<section id="{anchor}"><h2>{esc(section.title)}</h2>')
        parts += [_block(kind, value) for kind, value in section.blocks]
        parts.append("</section>")
    parts += ["</main>", f"<footer>{esc(footer)}</footer>", "</body></html>", ""]
    return "\n".join(parts)
