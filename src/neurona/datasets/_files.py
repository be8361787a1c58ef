"""The dataset cache: where files live, how they are downloaded, how their hashes are checked.

Files are looked for in ``$NEURONA_HOME/datasets`` (default ``~/.neurona/datasets``) and, read only, in
Keras's cache ``~/.keras/datasets`` so a student who already downloaded MNIST with Keras needs no second
copy. A missing file is downloaded only when a ``load_data()`` asks for it, with pooch when it is
installed (``pip install 'neurona[datasets]'``) and with ``urllib`` otherwise; every download is checked
against its published SHA-256 and deleted when it does not match. ``NEURONA_OFFLINE=1`` forbids
downloads altogether.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.request
from pathlib import Path

KERAS_MIRROR = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"


class DatasetError(OSError, ValueError):
    """A dataset file is missing, cannot be downloaded, or is not what it should be.

    An ``OSError`` (a file problem) that is also a ``ValueError`` (bad content), so either ``except`` catches it.
    """


def data_home() -> Path:
    """The folder datasets are cached in: ``$NEURONA_HOME/datasets`` or ``~/.neurona/datasets``."""
    root = os.environ.get("NEURONA_HOME") or os.path.join("~", ".neurona")
    return Path(root).expanduser() / "datasets"


def sha256(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _download(url: str, dest: Path) -> None:
    """Write the bytes at `url` to `dest` (pooch's downloader for http(s) when installed)."""
    if url.startswith(("http://", "https://")):
        try:
            import pooch
        except ImportError:
            pooch = None
        if pooch is not None:
            try:
                import tqdm  # noqa: F401  (pooch draws its progress bar with tqdm)
                progressbar = True
            except ImportError:
                progressbar = False
            pooch.HTTPDownloader(progressbar=progressbar)(url, str(dest), None)
            return
    with urllib.request.urlopen(url, timeout=60) as response, open(dest, "wb") as out:
        while block := response.read(1 << 20):
            out.write(block)


def fetch(fname: str, url: str, file_hash: str, subdir: str | None = None) -> Path:
    """Path of the verified local copy of `fname`, downloading it from `url` if it is absent.

    A file already in the cache with a wrong hash is reported, never deleted (it may be the user's);
    a fresh download with a wrong hash is deleted before the error is raised.
    """
    folder = data_home() / subdir if subdir else data_home()
    target = folder / fname
    candidates = [target, Path("~/.keras/datasets").expanduser() / (subdir or "") / fname]
    for path in candidates:
        if path.is_file():
            if sha256(path) != file_hash:
                raise DatasetError(
                    f"{path} does not have the expected SHA-256 {file_hash} (got {sha256(path)}): the file is "
                    f"corrupt or a different version; delete it so it can be downloaded again from {url}"
                )
            return path
    if os.environ.get("NEURONA_OFFLINE", "") not in ("", "0"):
        raise DatasetError(_missing_message(target, url, "downloads are disabled by NEURONA_OFFLINE"))
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=folder, prefix=f".{fname}.", suffix=".part")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        try:
            _download(url, tmp)
        except Exception as exc:  # any network/HTTP failure becomes the "put it there yourself" message
            raise DatasetError(_missing_message(target, url, f"the download failed: {exc}")) from exc
        got = sha256(tmp)
        if got != file_hash:
            raise DatasetError(
                f"the file downloaded from {url} has SHA-256 {got}, expected {file_hash}; it was deleted. "
                f"Try again later, or put a good copy at {target}"
            )
        os.replace(tmp, target)  # atomic: a half-written file never sits under the real name
    finally:
        if tmp.exists():
            tmp.unlink()
    return target


def _missing_message(target: Path, url: str, reason: str) -> str:
    return (
        f"{target.name} is not in the dataset cache and {reason}. Download it from {url} and put it at "
        f"{target} (the folder comes from NEURONA_HOME, default ~/.neurona), or pass load_data(path=...) "
        f"to read a copy from elsewhere"
    )
