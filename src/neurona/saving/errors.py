"""The one error type every loader raises for a file it refuses, so callers can catch a single class."""

from __future__ import annotations


class UnsafeFileError(ValueError):
    """A file is malformed, truncated, oversized or hostile; nothing was created and nothing was run."""
