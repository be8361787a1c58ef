"""Atomic writes: a file on disk is always either the complete old version or the complete new one.

The new content goes to a temporary file in the *same directory* (so the final rename never crosses
file systems), is flushed and fsync'ed, and only then `os.replace`d over the target. If anything fails
before the rename, the temporary file is deleted and the previous file is untouched.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from typing import BinaryIO


def _current_umask() -> int:
    # os.umask can only be read by setting it; do it once, at import, rather than on every save.
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _current_umask()


def _fsync_directory(directory: str) -> None:
    # Makes the rename itself durable on POSIX; Windows cannot open directories, which is harmless there.
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, overwrite: bool = True) -> Iterator[BinaryIO]:
    """Open a binary file for writing that appears at `path` only if the block completes.

    >>> import os, tempfile
    >>> target = os.path.join(tempfile.mkdtemp(), "out.bin")
    >>> with atomic_write(target) as f:
    ...     _ = f.write(b"complete")
    >>> open(target, "rb").read()
    b'complete'
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"cannot save to {path!r}: directory {directory!r} does not exist")
    if os.path.isdir(path):
        raise IsADirectoryError(f"cannot save to {path!r}: it is a directory")
    if not overwrite and os.path.exists(path):
        raise FileExistsError(f"{path!r} already exists; pass overwrite=True to replace it")
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        if os.path.exists(path):
            # mkstemp creates the file 0600; keep the permissions the user already gave the old file.
            with contextlib.suppress(OSError):
                os.chmod(tmp, os.stat(path).st_mode & 0o7777)
        else:
            os.chmod(tmp, 0o666 & ~_UMASK)  # what open() would have given a new file
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_directory(directory)


def write_bytes_atomic(path: str | os.PathLike, data: bytes, overwrite: bool = True) -> None:
    """Write `data` to `path` atomically (see `atomic_write`)."""
    with atomic_write(path, overwrite=overwrite) as f:
        f.write(data)
