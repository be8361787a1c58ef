"""Output paths checked before the long work: a command must not train for an hour and then find it cannot save."""

from __future__ import annotations

import os

from ..i18n import _
from ..saving.atomic import check_writable
from .errors import CliError


def check_outputs(*paths: str | os.PathLike | None) -> None:
    """Raise CliError naming the first path the command could not write (folders may still be created)."""
    for path in paths:
        if path is None:
            continue
        try:
            check_writable(path, create_dirs=True)
        except OSError as e:
            raise CliError(_("cannot write {path}: {reason}").format(path=path, reason=e)) from None
