"""Pretrained weight files: where they are cached, how they are fetched and checked, how they are loaded.

Files live in ``$NEURONA_HOME/models`` (default ``~/.neurona/models``); Keras's own cache
``~/.keras/models`` is also looked in (read only), so weights a student already downloaded with Keras are
used as they are. A file is downloaded only when a constructor is asked for ``weights='imagenet'`` and it
is in neither place; ``NEURONA_OFFLINE=1`` forbids downloads. Every file is checked against the hash Keras
publishes for it (MD5 or SHA-256, told apart by length) before it is used.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from ..layers.base import deferred_initialization

F = TypeVar("F", bound=Callable[..., Any])


class WeightsUnavailableError(OSError):
    """A pretrained weights file is not in the cache and cannot be downloaded (offline, or the fetch failed)."""


@dataclass(frozen=True)
class WeightFile:
    """One published file: its name in the cache, where it is downloaded from, its hash (None: unpublished)."""

    fname: str
    url: str
    file_hash: str | None = None


KERAS_APPS = "https://storage.googleapis.com/tensorflow/keras-applications/"


def models_home() -> Path:
    """The folder weights are cached in: ``$NEURONA_HOME/models`` or ``~/.neurona/models``."""
    root = os.environ.get("NEURONA_HOME") or os.path.join("~", ".neurona")
    return Path(root).expanduser() / "models"


def _digest(path: Path, algorithm: str) -> str:
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def file_matches(path: Path, file_hash: str | None) -> bool:
    """Whether `path` has the published hash (32 hex digits: MD5, as Keras lists them; 64: SHA-256)."""
    if file_hash is None:
        return True
    algorithm = "md5" if len(file_hash) == 32 else "sha256"
    return _digest(path, algorithm) == file_hash.lower()


def _missing(target: Path, wf: WeightFile, reason: str) -> WeightsUnavailableError:
    return WeightsUnavailableError(
        f"the weights file {wf.fname} is not in the cache and {reason}. Download it from {wf.url} and put it at "
        f"{target} (the folder comes from NEURONA_HOME, default ~/.neurona), or pass weights='/path/to/"
        f"{wf.fname}' to load a copy from elsewhere")


def get_file(wf: WeightFile) -> Path:
    """The verified local copy of `wf`, downloaded into the cache if it is nowhere yet."""
    target = models_home() / wf.fname
    for path in (target, Path("~/.keras/models").expanduser() / wf.fname):
        if path.is_file():
            if not file_matches(path, wf.file_hash):
                raise ValueError(f"{path} does not have the published hash {wf.file_hash}: it is corrupt or another "
                                 f"version; delete it so that it is downloaded again from {wf.url}")
            return path
    if os.environ.get("NEURONA_OFFLINE", "") not in ("", "0"):
        raise _missing(target, wf, "downloads are disabled by NEURONA_OFFLINE")
    from ..datasets._files import _download  # the one downloader of the project (pooch when installed)

    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{wf.fname}.", suffix=".part")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        try:
            _download(wf.url, tmp)
        except Exception as exc:  # no network, HTTP error...: tell the user where to put the file instead
            raise _missing(target, wf, f"the download failed ({exc})") from exc
        if not file_matches(tmp, wf.file_hash):
            raise ValueError(f"the file downloaded from {wf.url} does not have the published hash {wf.file_hash}; "
                             f"it was deleted. Try again later, or put a good copy at {target}")
        os.replace(tmp, target)  # a half-written file never sits under the real name
    finally:
        if tmp.exists():
            tmp.unlink()
    return target


def resolve(weights: Any, imagenet_file: WeightFile | None, model_name: str) -> Path | None:
    """The file `weights` names: None, the cached (or downloaded) published file for 'imagenet', or a path.

    Called before the network is built, so a missing file fails at once.
    """
    if weights is None:
        return None
    if isinstance(weights, str) and weights == "imagenet":
        if imagenet_file is None:
            raise ValueError(f"there are no published ImageNet weights for {model_name} with these arguments")
        return get_file(imagenet_file)
    path = Path(os.fsdecode(weights))
    if not path.is_file():
        raise FileNotFoundError(f"weights={os.fsdecode(weights)!r} is neither None, 'imagenet' nor an existing file")
    return path


def load(model: Any, path: Path | None) -> None:
    """Fill `model` from the weights file `path` (None: keep the random initial weights).

    `model.load_weights` tells the kinds apart by content: Keras's `.h5`/`.keras` files (matched layer by
    layer, see `neurona.interop.keras_h5`) or neurona's `.safetensors`/`.neurona` files.
    """
    if path is not None:
        model.load_weights(path)


def skips_initializers_when_loading(constructor: F) -> F:
    """Decorate an application constructor: given `weights` to load, it builds its layers with zeros
    (`deferred_initialization`) instead of drawing initial values the file overwrites at once."""
    signature = inspect.signature(constructor)

    @functools.wraps(constructor)
    def build(*args: Any, **kwargs: Any) -> Any:
        try:
            bound = signature.bind(*args, **kwargs)
        except TypeError:
            return constructor(*args, **kwargs)  # Python's own message for the bad call
        bound.apply_defaults()
        if bound.arguments.get("weights") is None:
            return constructor(*args, **kwargs)
        with deferred_initialization():
            return constructor(*args, **kwargs)

    return build  # type: ignore[return-value]
