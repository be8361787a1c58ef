"""The documentation's two catalogues compared: every English page under docs/ has its Spanish page under
docs/es/ (same name, or a Spanish page that links back to it), and no Spanish page carries an English
sentence outside its code (heuristic of tests/english_text.py; code blocks, inline code, link targets and
quotations are left out)."""

from __future__ import annotations

import re
from pathlib import Path

from english_text import english_lines

DOCS = Path(__file__).resolve().parents[1] / "docs"
# Spanish pages whose name differs from their English page's and that do not link back to it
RENAMED = {"recommenders.md": "recomendadores.md"}
# Pages for contributors, kept in English only (the project's code and its internal contracts are in English)
ENGLISH_ONLY = {"architecture.md", "contracts.md", "performance.md"}
# User pages without a Spanish version yet: this list may only shrink (a new English page needs its Spanish one)
NOT_YET_IN_SPANISH: set[str] = set()


def spanish_pages() -> list[Path]:
    return sorted((DOCS / "es").glob("*.md"))


def prose(markdown: str) -> str:
    """The text a reader reads as sentences: no fenced code, inline code, link targets, HTML comments, quotes."""
    text = re.sub(r"```.*?```", " ", markdown, flags=re.S)
    text = re.sub(r"<!--.*?-->", " ", text, flags=re.S)
    text = re.sub(r"\]\([^)]*\)", "]", text)
    return re.sub(r"\"[^\"\n]*\"|“[^”\n]*”", " ", text)


def test_every_english_page_has_its_spanish_page():
    linked = {name for page in spanish_pages() for name in re.findall(r"\]\(\.\./([\w.-]+\.md)", page.read_text())}
    spanish = {page.name for page in spanish_pages()}
    missing = set()
    for page in sorted(DOCS.glob("*.md")):
        name = page.name
        if name in ("README.md", *ENGLISH_ONLY):
            continue
        if name not in spanish and name not in linked and RENAMED.get(name) not in spanish:
            missing.add(name)
    assert missing == NOT_YET_IN_SPANISH, \
        f"English pages without a Spanish page in docs/es/: {sorted(missing - NOT_YET_IN_SPANISH)}; " \
        f"translated since (remove them from NOT_YET_IN_SPANISH): {sorted(NOT_YET_IN_SPANISH - missing)}"


def test_every_spanish_page_is_listed_in_the_spanish_index():
    index = (DOCS / "es" / "README.md").read_text(encoding="utf-8")
    unlisted = [p.name for p in spanish_pages() if p.name != "README.md" and p.name not in index]
    assert not unlisted, f"docs/es/README.md does not link {unlisted}"


def test_spanish_pages_have_no_english_sentences():
    found = {page.name: english_lines(prose(page.read_text(encoding="utf-8"))) for page in spanish_pages()}
    found = {name: lines for name, lines in found.items() if lines}
    assert not found, f"English sentences in Spanish pages: {found}"


def test_the_check_sees_english_prose():
    """The same check over the English pages finds their sentences (so it is not vacuous)."""
    page = (DOCS / "cli.md").read_text(encoding="utf-8")
    assert len(english_lines(prose(page))) > 10
