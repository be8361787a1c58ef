"""How the command reports failure: one line on stderr and exit code 2 for a user's mistake, 130 for Ctrl-C."""

from __future__ import annotations

import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, what shells report for a program stopped by Ctrl-C


class CliError(Exception):
    """A mistake in the command's input (a file, a column, an option): printed as one line, exit code 2."""


class Interrupted(BaseException):
    """Ctrl-C. Not a KeyboardInterrupt, so that nothing on the way (fit stops gracefully on those) swallows it:
    the command ends at once, and every file it was writing is abandoned before being renamed into place."""


def _raise_interrupted(signum: int, frame: object) -> None:
    raise Interrupted


@contextmanager
def ctrl_c_ends_the_command() -> Iterator[None]:
    """While the command runs, Ctrl-C raises Interrupted (only the main thread can set signal handlers)."""
    try:
        previous = signal.signal(signal.SIGINT, _raise_interrupted)
    except ValueError:  # not the main thread: leave Python's default behaviour
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def fail(message: str) -> int:
    """Print `neurona: error: message` on stderr (one line) and return exit code 2."""
    print(f"neurona: error: {' '.join(message.split())}", file=sys.stderr, flush=True)
    return EXIT_USAGE
