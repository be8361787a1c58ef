"""A small heuristic that finds English sentences left in Spanish output (stdout, HTML, figure texts, docs).

A line counts as English when it holds at least two English function words (the, of, and, with...) and more
of them than Spanish ones (de, la, el, con...). Function words, not a dictionary: identifiers, metric keys
(`loss`, `val_accuracy`), layer names and file names carry none, so Keras's summary table and the progress
line pass, while any real sentence ("the validation loss stopped improving") is caught. Code spans, URLs
and quoted names are removed first.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable

ENGLISH = frozenset("""
the of and to is are with for on by from that this it be was were has have not an or at which each its their
than then when every only after before into over your you what how will can should would there these those been
does do one more less between without because while where who them they we our same also but if
""".split())
SPANISH = frozenset("""
de la el los las en y con por para que un una del se es son al lo su sus como más sin cada o entre cuando este
esta estos estas ese esa le les ya muy pero si no sobre tras hasta desde porque donde qué cómo
""".split())
_WORD = re.compile(r"[A-Za-zÁÉÍÓÚÜÑáéíóúüñ]+(?:'[a-z]+)?")
_STRIP = (re.compile(r"`[^`]*`"), re.compile(r"https?://\S+"), re.compile(r"'[^'\s]*'"), re.compile(r"\"[^\"\s]*\""),
          re.compile(r"\S+[/\\]\S+"), re.compile(r"--?[\w-]+"), re.compile(r"\w*_\w*"))


def english_words(line: str) -> tuple[int, int]:
    """(English function words, Spanish function words) in `line`, code spans and names removed."""
    for pattern in _STRIP:
        line = pattern.sub(" ", line)
    words = [w.lower() for w in _WORD.findall(line)]
    return sum(w in ENGLISH for w in words), sum(w in SPANISH for w in words)


def is_english(line: str) -> bool:
    """Whether `line` reads as an English sentence (see the module docstring)."""
    en, es = english_words(line)
    return en >= 2 and en > es


def english_lines(text: str | Iterable[str]) -> list[str]:
    """The lines of `text` (or the given strings, split into lines) that read as English."""
    chunks = [text] if isinstance(text, str) else list(text)
    return [line.strip() for chunk in chunks for line in chunk.splitlines() if is_english(line)]


def html_text(document: str) -> str:
    """The visible text of an HTML page, one line per block (tags, styles and embedded images dropped)."""
    document = re.sub(r"<(style|script)\b.*?</\1>", " ", document, flags=re.S)
    document = re.sub(r"<pre>.*?</pre>", lambda m: m.group(0), document, flags=re.S)
    document = re.sub(r"<(?:br|/p|/h\d|/li|/tr|/caption|/figcaption|/pre|/header|/footer)\b[^>]*>", "\n", document)
    document = re.sub(r'alt="[^"]*"', " ", document)
    return html.unescape(re.sub(r"<[^>]+>", " ", document))


def figure_texts(fig) -> list[str]:
    """Every text a matplotlib figure draws: titles, axis labels, legend entries, annotations, colour-bar labels."""
    from matplotlib.text import Text

    return [t.get_text() for t in fig.findobj(Text) if t.get_text().strip()]
