"""What a CSV file is before it is read: its text encoding (sniffed, or checked when given) and its separator.

Both fail with a message that names the line and the byte, or the separator the header seems to use, and
the option that fixes it (--encoding, --sep).
"""

from __future__ import annotations

import codecs
import sys

from ..i18n import _
from .errors import CliError

SEPARATORS = (",", ";", "\t", "|")


def _first_bad_byte(path: str, encoding: str) -> tuple[int, int, int] | None:
    """(offset, byte, line) of the first byte `encoding` cannot decode, read 1 MB at a time; None if none."""
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    offset = newlines = 0
    with open(path, "rb") as f:
        while True:
            block = f.read(1 << 20)
            try:
                decoder.decode(block, final=not block)
            except UnicodeDecodeError as e:
                where = offset + max(e.start, 0)
                data = block[:max(e.start, 0)]
                return where, (block[e.start] if e.start < len(block) else 0), newlines + data.count(b"\n") + 1
            if not block:
                return None
            offset += len(block)
            newlines += block.count(b"\n")


def sniff_encoding(path: str, encoding: str | None) -> str:
    """The file's encoding: `encoding` if given (checked), else UTF-8 (with or without a BOM), UTF-16 with a BOM,
    then Windows-1252 and Latin-1, saying so on stderr when it is not UTF-8."""
    if encoding:
        try:
            encoding = codecs.lookup(encoding).name
        except LookupError:
            raise CliError(_("unknown encoding {name!r} (--encoding): use a name such as utf-8, cp1252 or "
                             "latin-1").format(name=encoding)) from None
        bad = _first_bad_byte(path, encoding)
        if bad:
            raise CliError(_("{path}, line {line}: byte {byte:#04x} (offset {offset}) is not valid {encoding}; "
                             "try another --encoding, such as cp1252 or utf-8").format(
                path=path, line=bad[2], byte=bad[1], offset=bad[0], encoding=encoding))
        return encoding
    with open(path, "rb") as f:
        start = f.read(4)
    if start.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) and _first_bad_byte(path, "utf-16") is None:
        return "utf-16"
    bad = _first_bad_byte(path, "utf-8-sig")
    if bad is None:
        return "utf-8-sig"
    for fallback in ("cp1252", "latin-1"):
        if fallback == "latin-1" or _first_bad_byte(path, fallback) is None:
            print(_("{path} is not UTF-8 (byte {byte:#04x} on line {line}); it is read as {encoding}. If letters "
                    "look wrong, give the right one with --encoding").format(
                path=path, byte=bad[1], line=bad[2], encoding=fallback), file=sys.stderr, flush=True)
            return fallback
    raise AssertionError("latin-1 decodes every byte")  # pragma: no cover


def sniff_separator(header_line: str) -> str:
    """The delimiter (, ; tab |) the header line uses most, ',' when it has none."""
    counts = {d: header_line.count(d) for d in SEPARATORS}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


def parse_separator(text: str) -> str:
    """--sep's value: one character, with 'tab' and '\\t' for a tab."""
    value = {"tab": "\t", "\\t": "\t", "space": " "}.get(text.lower(), text)
    if len(value) != 1 or value in "\"\r\n":
        raise CliError(_("--sep takes one character (such as ',' ';' '|' or 'tab'), got {text!r}").format(text=text))
    return value
