"""What a file really is, from its first bytes, so a loader given the wrong kind of file can say so.

A `.keras` file handed to `load_model`'s neurona reader, an HDF5 file handed to the safetensors reader,
a PyTorch `.pt` renamed `.neurona`: each is refused with a message naming the format it is and the
function that reads it, rather than a parser's complaint about an impossible header.

>>> describe("hdf5")
'an HDF5 file (a Keras .h5 model or weights file: use neurona.interop.load_keras_model or load_weights)'
"""

from __future__ import annotations

import os
import struct
import zipfile

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
_HEAD = 16

_DESCRIPTIONS = {
    "neurona": "a .neurona archive (use neurona.models.load_model)",
    "keras": "a Keras .keras archive (use neurona.interop.load_keras_model)",
    "torch": "a PyTorch checkpoint (a zip around a pickle; neurona never unpickles: save the state_dict with "
             "safetensors.torch.save_file and use neurona.interop.load_torch_weights)",
    "npz": "a NumPy .npz archive",
    "zip": "a zip archive",
    "hdf5": "an HDF5 file (a Keras .h5 model or weights file: use neurona.interop.load_keras_model or load_weights)",
    "safetensors": "a safetensors weights file (use model.load_weights)",
    "pickle": "a Python pickle (a legacy PyTorch .pt/.pth file or joblib dump; neurona never unpickles)",
    "npy": "a NumPy .npy file",
    "gzip": "a gzip-compressed file",
    "json": "a JSON text file (an architecture only? use neurona.models.model_from_json)",
    "empty": "an empty file",
    "unknown": "a file of unknown format",
}


def describe(kind: str) -> str:
    """A phrase naming the format `kind` (as returned by `sniff`) and what reads it."""
    return _DESCRIPTIONS.get(kind, _DESCRIPTIONS["unknown"])


def _zip_kind(source: str) -> str:
    """Which zip-based format a zip file is, from its member names (never from their contents)."""
    try:
        with zipfile.ZipFile(source) as z:
            names = [info.filename for info in z.infolist()[:10_000]]
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError, NotImplementedError,
            UnicodeDecodeError, KeyError, IndexError, OverflowError, struct.error):
        return "zip"  # a damaged zip: the archive reader says what is wrong with it
    found = set(names)
    if "model.safetensors" in found and "config.json" in found:
        return "neurona"
    if "model.weights.h5" in found:
        return "keras"
    if any(n.endswith("data.pkl") for n in names):
        return "torch"
    if names and all(n.endswith(".npy") for n in names):
        return "npz"
    return "zip"


def sniff(path: str | os.PathLike) -> str:
    """The format of the file at `path` from its first bytes: "neurona", "keras", "torch", "npz", "zip", "hdf5",
    "safetensors", "pickle", "npy", "gzip", "json", "empty" or "unknown". Missing files raise FileNotFoundError."""
    source = os.fspath(path)
    with open(source, "rb") as f:
        head = f.read(_HEAD)
        size = os.fstat(f.fileno()).st_size
    if not head:
        return "empty"
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06", b"PK\x06\x06")):
        return _zip_kind(source)
    if head.startswith(HDF5_SIGNATURE):
        return "hdf5"
    if head.startswith(b"\x93NUMPY"):
        return "npy"
    if head.startswith(b"\x1f\x8b"):
        return "gzip"
    if head[0] == 0x80 and len(head) > 1 and 2 <= head[1] <= 5:
        return "pickle"
    if len(head) >= 9:
        (n,) = struct.unpack("<Q", head[:8])
        if head[8:9] == b"{" and 8 + n <= size:
            return "safetensors"
    if head.lstrip()[:1] in (b"{", b"["):
        return "json"
    return "unknown"
