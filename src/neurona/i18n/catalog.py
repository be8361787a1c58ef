"""Read `.po` catalogues, write `.mo` files (what GNU msgfmt does) and find the messages the code marks.

Pure Python, so translations work from a fresh checkout without the gettext tools. The `.mo` layout is the
one Python's `gettext.GNUTranslations` reads: a header, two tables of (length, offset) pairs for the
original and the translated strings, then the strings themselves, NUL-terminated, keys sorted.
"""

from __future__ import annotations

import ast
import struct
from collections.abc import Iterable
from pathlib import Path

MAGIC = 0x950412DE
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "a": "\a", "b": "\b", "f": "\f", "v": "\v"}


def _unquote(text: str, where: str) -> str:
    text = text.strip()
    if len(text) < 2 or text[0] != '"' or text[-1] != '"':
        raise ValueError(f"{where}: expected a quoted string, got {text[:40]!r}")
    out, i, body = [], 0, text[1:-1]
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            if nxt not in _ESCAPES:
                raise ValueError(f"{where}: unknown escape \\{nxt}")
            out.append(_ESCAPES[nxt])
            i += 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def parse_po(text: str, source: str = "<po>") -> dict[str, str]:
    """The translated messages of a `.po` file: msgid → msgstr.

    Plural entries use gettext's `.mo` keys ('singular\\x00plural' → 'form0\\x00form1'). Untranslated and
    fuzzy entries are left out (except the header, msgid ''), so they fall back to the original text.
    """
    messages: dict[str, str] = {}
    entry: dict[str, list[str]] = {}
    fuzzy = False
    field: str | None = None

    def flush() -> None:
        nonlocal entry, fuzzy, field
        if "msgid" in entry:
            msgid = "".join(entry["msgid"])
            forms = sorted(k for k in entry if k.startswith("msgstr["))
            if "msgid_plural" in entry:
                key = msgid + "\0" + "".join(entry["msgid_plural"])
                value = "\0".join("".join(entry[k]) for k in forms)
                translated = all("".join(entry[k]) for k in forms) and forms
            else:
                key, value = msgid, "".join(entry.get("msgstr", []))
                translated = bool(value)
            if translated and (not fuzzy or msgid == ""):
                messages[key] = value
        entry, fuzzy, field = {}, False, None

    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        where = f"{source}:{number}"
        if not line:
            flush()
        elif line.startswith("#"):
            if line.startswith("#,") and "fuzzy" in line:
                fuzzy = True
            elif line.startswith("#~"):
                continue
        elif line.startswith('"'):
            if field is None:
                raise ValueError(f"{where}: a continued string outside any entry")
            entry[field].append(_unquote(line, where))
        else:
            keyword, _, rest = line.partition(" ")
            if keyword == "msgid" and "msgid" in entry:
                flush()
            if keyword not in ("msgid", "msgid_plural", "msgstr") and not keyword.startswith("msgstr["):
                raise ValueError(f"{where}: unknown keyword {keyword!r}")
            field = keyword
            entry[field] = [_unquote(rest, where)]
    flush()
    return messages


def compile_mo(messages: dict[str, str]) -> bytes:
    """The bytes of a `.mo` file holding `messages` (little-endian, no hash table, as msgfmt.py writes)."""
    items = sorted((k.encode("utf-8"), v.encode("utf-8")) for k, v in messages.items())
    n = len(items)
    key_start = 7 * 4 + 16 * n
    ids, strs, key_table, value_table = b"", b"", [], []
    for key, value in items:
        key_table += [len(key), len(ids)]
        value_table += [len(value), len(strs)]
        ids += key + b"\0"
        strs += value + b"\0"
    value_start = key_start + len(ids)
    key_table = [x + key_start if i % 2 else x for i, x in enumerate(key_table)]
    value_table = [x + value_start if i % 2 else x for i, x in enumerate(value_table)]
    header = struct.pack("<7I", MAGIC, 0, n, 7 * 4, 7 * 4 + 8 * n, 0, 0)
    return header + struct.pack(f"<{4 * n}I", *key_table, *value_table) + ids + strs


_MARKERS = {"_": 1, "N_": 1, "gettext": 1, "ngettext": 2}


def extract_messages(paths: Iterable[str | Path]) -> dict[str, list[str]]:
    """Messages marked for translation in Python files: msgid (or 'singular\\x00plural') → where it is used.

    A marked call is `_("...")`, `N_("...")`, `gettext("...")` or `ngettext("...", "...", n)` with
    literal strings.
    """
    found: dict[str, list[str]] = {}
    for path in paths:
        path = Path(path)
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _MARKERS):
                continue
            count = _MARKERS[node.func.id]
            args = node.args[:count]
            if len(args) == count and all(isinstance(a, ast.Constant) and isinstance(a.value, str) for a in args):
                key = "\0".join(a.value for a in args)
                found.setdefault(key, []).append(f"{path.name}:{node.lineno}")
    return found


def python_sources(root: str | Path, packages: Iterable[str]) -> list[Path]:
    """The .py files of the given sub-packages (or modules) of neurona found under `root` (src/neurona)."""
    root = Path(root)
    files: list[Path] = []
    for name in packages:
        target = root / name
        files += sorted(target.rglob("*.py")) if target.is_dir() else [target.with_suffix(".py")]
    return [f for f in files if f.is_file()]


# Where translated messages live (callbacks: the progress display, once it translates its "Epoch i/N").
TRANSLATED_PACKAGES = ("cli", "labs", "report", "callbacks", "plot")
