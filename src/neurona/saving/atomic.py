"""Atomic writes: a file on disk is always either the complete old version or the complete new one.

The new content goes to a temporary file in the *same directory* (so the final rename never crosses
file systems), is flushed and fsync'ed, and only then `os.replace`d over the target. If anything fails
before the rename, the temporary file is deleted and the previous file is untouched.

Like Keras/h5py saves, it respects the file system: a write-protected target is refused (even for root,
whom the OS would let through), a symlink is followed so its target gets the new content and the link
stays, and temporary files left by a save that was killed are removed by the next save to that path.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
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


def _resolve_target(path: str) -> str:
    """The file a save to `path` must replace: the final target of a symlink chain, else `path` itself."""
    return os.path.realpath(path) if os.path.islink(path) else os.path.abspath(path)


def _check_writable(path: str, target: str, directory: str) -> None:
    """Refuse, naming the user's `path`, a save the user could not do by hand."""
    try:
        mode = os.stat(target).st_mode
    except FileNotFoundError:
        mode = None
    except OSError as exc:
        raise PermissionError(f"cannot save to {path!r}: {exc.strerror or exc}") from exc
    shown = repr(path) if target == os.path.abspath(path) else f"{path!r} (a link to {target!r})"
    if mode is not None:
        # os.access alone says yes to root; the mode bits say what the user meant by write-protecting it.
        if not (mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)) or not os.access(target, os.W_OK):
            raise PermissionError(f"cannot save to {shown}: the file is write-protected (mode "
                                  f"{stat.S_IMODE(mode):04o}); make it writable (chmod u+w) or save elsewhere")
    if not os.access(directory, os.W_OK | os.X_OK):
        raise PermissionError(f"cannot save to {shown}: directory {directory!r} is not writable")


def check_writable(path: str | os.PathLike, create_dirs: bool = False) -> None:
    """Raise the error a save to `path` would raise, without writing anything (check outputs before long work).

    With `create_dirs`, a missing directory is fine when its nearest existing ancestor is writable.
    """
    path = os.fspath(path)
    target = _resolve_target(path)
    directory = os.path.dirname(target)
    if os.path.isdir(target):
        raise IsADirectoryError(f"cannot save to {path!r}: it is a directory")
    if not os.path.isdir(directory):
        if not create_dirs:
            raise FileNotFoundError(f"cannot save to {path!r}: directory {directory!r} does not exist")
        ancestor = directory
        while not os.path.exists(ancestor) and os.path.dirname(ancestor) != ancestor:
            ancestor = os.path.dirname(ancestor)
        if not os.path.isdir(ancestor):
            raise NotADirectoryError(f"cannot save to {path!r}: {ancestor!r} is not a directory")
        if not os.access(ancestor, os.W_OK | os.X_OK):
            raise PermissionError(f"cannot save to {path!r}: directory {ancestor!r} is not writable")
        return
    _check_writable(path, target, directory)


def _tmp_pattern(name: str) -> re.Pattern[str]:
    # tempfile.mkstemp(prefix=".NAME.", suffix=".tmp") names: 8 characters from its alphabet in between.
    return re.compile(re.escape("." + name + ".") + r"[a-z0-9_]{8}\.tmp")


def _unlocked(tmp: str) -> bool:
    """True when no live save holds `tmp` (each save keeps an flock on its temp file while it writes)."""
    try:
        import fcntl
    except ImportError:  # Windows: a file another process has open cannot be unlinked, which protects it
        return True
    try:
        fd = os.open(tmp, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except OSError:
        return False
    finally:
        os.close(fd)  # closing drops the probe's lock


def remove_stale_temporaries(path: str | os.PathLike) -> list[str]:
    """Delete the `.NAME.XXXXXXXX.tmp` siblings of `path` left by saves that were killed; return them.

    A temporary file that a running save still holds (another thread or process) is left alone.
    """
    target = _resolve_target(os.fspath(path))
    directory, pattern, removed = os.path.dirname(target), _tmp_pattern(os.path.basename(target)), []
    try:
        entries = [e.path for e in os.scandir(directory) if pattern.fullmatch(e.name) and e.is_file()]
    except OSError:
        return removed
    for tmp in entries:
        if _unlocked(tmp):
            with contextlib.suppress(OSError):
                os.unlink(tmp)
                removed.append(tmp)
    return removed


def _lock(fd: int) -> None:
    with contextlib.suppress(ImportError, OSError):
        import fcntl

        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)


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
    target = _resolve_target(path)
    directory = os.path.dirname(target)
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"cannot save to {path!r}: directory {directory!r} does not exist")
    if os.path.isdir(target):
        raise IsADirectoryError(f"cannot save to {path!r}: it is a directory")
    if not overwrite and os.path.exists(target):
        raise FileExistsError(f"{path!r} already exists; pass overwrite=True to replace it")
    _check_writable(path, target, directory)
    remove_stale_temporaries(target)
    try:
        fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(target) + ".", suffix=".tmp", dir=directory)
    except PermissionError as exc:  # name the user's path, not the hidden temporary file
        raise PermissionError(f"cannot save to {path!r}: directory {directory!r} is not writable") from exc
    try:
        _lock(fd)  # tells remove_stale_temporaries in another save that this file is alive
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
            if os.path.exists(target):
                # mkstemp creates the file 0600; keep the permissions the user already gave the old file.
                with contextlib.suppress(OSError):
                    os.chmod(tmp, os.stat(target).st_mode & 0o7777)
            else:
                os.chmod(tmp, 0o666 & ~_UMASK)  # what open() would have given a new file
            os.replace(tmp, target)  # still under the lock: no other save may take it for stale
    except PermissionError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise PermissionError(f"cannot save to {path!r}: {exc.strerror or exc}") from exc
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_directory(directory)


def write_bytes_atomic(path: str | os.PathLike, data: bytes, overwrite: bool = True) -> None:
    """Write `data` to `path` atomically (see `atomic_write`)."""
    with atomic_write(path, overwrite=overwrite) as f:
        f.write(data)
