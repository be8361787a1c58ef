"""argparse speaking the user's language: its own messages ("usage:", "the following arguments are required",
"invalid choice"...) come from neurona's catalogue.

argparse translates its messages through the module-level names `argparse._` and `argparse.ngettext`
(gettext's global domain 'argparse', which no installed catalogue provides). The first `Parser` replaces those two
names, once, with functions that ask neurona's catalogue while the calling thread is inside a `Parser`'s parse
or help, and argparse's own functions otherwise; so other users of argparse, in this thread or another, see no
change, and two threads may parse at once.
"""

from __future__ import annotations

import argparse
import contextlib
import threading
from collections.abc import Iterator, Sequence
from typing import Any, NoReturn

from ..i18n import N_, gettext, ngettext

# argparse's own messages (Python 3.10-3.13), marked here so the catalogue checker asks for their translation.
ARGPARSE_MESSAGES = (
    N_("usage: "), N_("positional arguments"), N_("options"), N_("show this help message and exit"),
    N_("argument %(argument_name)s: %(message)s"), N_("%(prog)s: error: %(message)s\n"),
    N_("unrecognized arguments: %s"), N_("the following arguments are required: %s"),
    N_("one of the arguments %s is required"), N_("invalid choice: %(value)r (choose from %(choices)s)"),
    N_("invalid %(type)s value: %(value)r"), N_("ambiguous option: %(option)s could match %(matches)s"),
    N_("expected one argument"), N_("expected at most one argument"), N_("expected at least one argument"),
    N_("not allowed with argument %s"), N_("ignored explicit argument %r"), N_("unexpected option string: %s"),
    N_("unknown parser %(parser_name)r (choices: %(choices)s)"), N_("can't open '%(filename)s': %(error)s"),
    N_("show program's version number and exit"),
)


def expected_arguments(n: int) -> str:
    """argparse's one plural message, for `n` arguments (argparse asks the catalogue for it itself)."""
    return ngettext("expected %s argument", "expected %s arguments", n) % n


_inside = threading.local()  # .depth: how many Parser calls the current thread is inside
_install_lock = threading.Lock()
_installed: list[bool] = []


def _install() -> None:
    """Point argparse's two translation names at functions that follow the calling thread (done once)."""
    with _install_lock:
        if _installed:
            return
        plain, plain_n = argparse._, argparse.ngettext  # type: ignore[attr-defined]

        def translate(message: str) -> str:
            return gettext(message) if getattr(_inside, "depth", 0) else plain(message)

        def translate_n(singular: str, plural: str, n: int) -> str:
            return ngettext(singular, plural, n) if getattr(_inside, "depth", 0) else plain_n(singular, plural, n)

        argparse._, argparse.ngettext = translate, translate_n  # type: ignore[attr-defined]
        _installed.append(True)


@contextlib.contextmanager
def argparse_in_language() -> Iterator[None]:
    """While inside, argparse's messages (in this thread) are translated by neurona's catalogue."""
    _install()
    _inside.depth = getattr(_inside, "depth", 0) + 1
    try:
        yield
    finally:
        _inside.depth -= 1


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose messages, errors and help follow neurona's language (sub-parsers inherit it)."""

    def parse_args(self, args: Sequence[str] | None = None, namespace: Any = None) -> Any:
        with argparse_in_language():  # its "unrecognized arguments" message is made here
            return super().parse_args(args, namespace)

    def parse_known_args(self, args: Sequence[str] | None = None, namespace: Any = None) -> Any:
        with argparse_in_language():
            return super().parse_known_args(args, namespace)

    def format_usage(self) -> str:
        with argparse_in_language():
            return super().format_usage()

    def format_help(self) -> str:
        with argparse_in_language():
            return super().format_help()

    def error(self, message: str) -> NoReturn:
        with argparse_in_language():
            super().error(message)
        raise AssertionError("unreachable: ArgumentParser.error exits")  # pragma: no cover


__all__ = ["ARGPARSE_MESSAGES", "Parser", "argparse_in_language", "expected_arguments"]
