"""Numbers and dates written the way the chosen language writes them: '0,953' and '4 de diciembre de 2026' in Spanish.

Formatted by hand from `language()`, never through the `locale` module: the system's installed locales vary
(a container often has none but C.UTF-8), and `locale.setlocale` changes the whole process. Only the decimal
separator changes; no thousands separators are added, so a number keeps the width it had in English and
the columns of a table stay aligned.

>>> number(0.95333, ".3f", lang="es")
'0,953'
>>> localise_numbers("loss: 0.1234 - accuracy: 0.9000 - 3ms/step", lang="es")
'loss: 0,1234 - accuracy: 0,9000 - 3ms/step'
>>> f"{Num(2.5, lang='es'):.2f} s"
'2,50 s'
"""

from __future__ import annotations

import datetime as _dt
import re
from typing import Any

import numpy as np

# a decimal point with a digit on each side, not inside a dotted run such as a version 2.4.1 or an address
_DECIMAL_POINT = re.compile(r"(?<![\d.])(\d+)\.(\d+)(?![.\d])")
_NUMERIC_CELL = re.compile(r"[-+−]?\d+\.\d+(?:[eE][-+]?\d+)?%?")
_MONTHS_ES = ("enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre",
              "noviembre", "diciembre")


def _language() -> str:
    from . import language  # not at the top: the package imports this module

    return language()


def decimal_separator(lang: str | None = None) -> str:
    """',' in Spanish, '.' in English."""
    return "," if (lang or _language()) == "es" else "."


def localise_numbers(text: str, lang: str | None = None) -> str:
    """`text` with the decimal point of each number (digits.digits) written in the language's way.

    Dotted runs of more than two groups (versions such as 2.4.1) are left alone.
    """
    sep = decimal_separator(lang)
    return text if sep == "." else _DECIMAL_POINT.sub(rf"\1{sep}\2", text)


def number(value: float, spec: str = ".4g", lang: str | None = None) -> str:
    """`format(value, spec)` with the language's decimal separator."""
    return localise_numbers(format(value, spec), lang)


def localise_cell(value: object, lang: str | None = None) -> object:
    """A table cell in the language's way when it is a float or a string holding just one decimal number."""
    if isinstance(value, float):
        return number(value, ".4g", lang)
    if isinstance(value, str) and _NUMERIC_CELL.fullmatch(value.strip()):
        return localise_numbers(value, lang)
    return value


class Num:
    """A number that formats itself in the current language: `"{x:.4f}".format(x=Num(v))` → '0,9533' in Spanish.

    For messages whose format fields carry the precision (they are translated as they are), so the
    decimal separator follows the language without changing the message.
    """

    __slots__ = ("lang", "value")

    def __init__(self, value: float, lang: str | None = None) -> None:
        self.value = value
        self.lang = lang

    def __format__(self, spec: str) -> str:
        return number(self.value, spec, self.lang)

    def __str__(self) -> str:
        return number(self.value, "", self.lang)

    def __repr__(self) -> str:  # "{x!r}" in a message
        return localise_numbers(repr(self.value), self.lang)


def _localised(value: Any) -> Any:
    return Num(value) if isinstance(value, (float, np.floating)) else value


class Message(str):
    """A translated message whose `.format()` writes its floats with the language's decimal separator.

    `_("accuracy {acc:.4f}").format(acc=0.95)` gives 'exactitud 0,9500' in Spanish: the messages and their
    translations keep Python's format fields, and the numbers follow the language.
    """

    __slots__ = ()

    def format(self, *args: Any, **kwargs: Any) -> str:  # noqa: A003 - str's own method
        if decimal_separator() == ".":
            return str.format(self, *args, **kwargs)
        return str.format(self, *map(_localised, args), **{k: _localised(v) for k, v in kwargs.items()})


def date_time(moment: _dt.datetime | None = None, lang: str | None = None) -> str:
    """'4 de diciembre de 2026, 14:52' in Spanish, '2026-12-04 14:52' (ISO 8601) in English."""
    moment = moment or _dt.datetime.now()
    if (lang or _language()) == "es":
        return f"{moment.day} de {_MONTHS_ES[moment.month - 1]} de {moment.year}, {moment:%H:%M}"
    return f"{moment:%Y-%m-%d %H:%M}"


__all__ = ["Message", "Num", "date_time", "decimal_separator", "localise_cell", "localise_numbers", "number"]
