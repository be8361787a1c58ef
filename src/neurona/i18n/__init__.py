"""Translations of neurona's messages (command line, labs, report) with the standard library's gettext.

The language is chosen from the environment each time a message is translated, so a test or a notebook can
switch it: ``NEURONA_LANG`` when set, else the first of ``LC_ALL``, ``LC_MESSAGES``, ``LANG`` that is set
(POSIX's order). ``es``, ``es_ES.UTF-8``, ``es_AR``... give Spanish; anything else English, the language
the messages are written in. Catalogues live in ``locale/<lang>/LC_MESSAGES/neurona.mo``, compiled from the
``.po`` next to them (``python -m neurona.i18n`` recompiles them; no GNU gettext tools needed).

>>> import os
>>> os.environ["NEURONA_LANG"] = "es"
>>> gettext("test accuracy")
'exactitud en test'
>>> del os.environ["NEURONA_LANG"]
"""

from __future__ import annotations

import functools
import gettext as _gettext
import io
import os
from pathlib import Path

from .catalog import compile_mo, parse_po

DOMAIN = "neurona"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
LANGUAGES = ("en", "es")  # English is the source language: it needs no catalogue


def language() -> str:
    """The language of the messages now: 'es' or 'en' (see the module docstring for the rules)."""
    value = os.environ.get("NEURONA_LANG")
    if not value:
        for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
            value = os.environ.get(var)
            if value:
                break
    code = (value or "").split(":")[0].split(".")[0].split("_")[0].split("-")[0].lower()
    return code if code in LANGUAGES else "en"


@functools.cache
def translation(lang: str) -> _gettext.NullTranslations:
    """The catalogue of `lang` ('en' has none: messages are returned as written)."""
    if lang == "en":
        return _gettext.NullTranslations()
    folder = LOCALE_DIR / lang / "LC_MESSAGES"
    mo, po = folder / f"{DOMAIN}.mo", folder / f"{DOMAIN}.po"
    if mo.is_file():
        with open(mo, "rb") as f:
            return _gettext.GNUTranslations(f)
    if po.is_file():  # a source checkout whose .mo was not built: compile in memory
        return _gettext.GNUTranslations(io.BytesIO(compile_mo(parse_po(po.read_text(encoding="utf-8")))))
    return _gettext.NullTranslations()


def gettext(message: str) -> str:
    """`message` in the current language (its `.format()` writes numbers in the language's way too)."""
    from .numbers import Message

    return Message(translation(language()).gettext(message))


def ngettext(singular: str, plural: str, n: int) -> str:
    """The singular or plural form for `n`, in the current language."""
    from .numbers import Message

    return Message(translation(language()).ngettext(singular, plural, n))


def N_(message: str) -> str:  # noqa: N802 - gettext's conventional name
    """Mark a string for translation without translating it yet (translated where it is shown)."""
    return message


_ = gettext

__all__ = ["DOMAIN", "LANGUAGES", "LOCALE_DIR", "N_", "gettext", "language", "ngettext", "translation"]
