"""The parsers under fuzz: for each, seed files made by neurona's own writers, a mutation, and the calls to make.

A target's `steps` are called with the path of one input file; each must either return or raise one of the
exceptions the oracle allows (see `fuzz.oracle`). Seeds are generated at start, never downloaded: small
valid files, so that mutations reach deep into each parser instead of stopping at its first check.
"""

from __future__ import annotations

import gzip
import io
import os
import struct
import tarfile
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from .mutate import Chooser, mutate_bytes, mutate_gzip, mutate_json, mutate_safetensors, mutate_tar, mutate_zip


@dataclass
class Target:
    """One parser: how to make seeds, mutate them and feed them to neurona."""

    name: str
    suffix: str
    seeds: Callable[[], list[bytes]]
    mutate: Callable[[bytes, Chooser, list[bytes]], bytes]
    steps: Callable[[str], list[Callable[[], Any]]]
    allowed: tuple[type[BaseException], ...] = field(default=(ValueError,))


# ------------------------------------------------------------------------------------------ model files
def _models() -> list[Any]:
    """Three tiny models whose files cover Sequential, functional and compiled-with-optimizer-state."""
    import neurona as nn
    from neurona import layers

    nn.utils.set_random_seed(0)
    seq = nn.models.Sequential([layers.Input((4,)), layers.Dense(3, activation="relu"), layers.Dense(2)], name="seq")
    seq.compile(optimizer="adam", loss="mse")
    seq.fit(np.ones((4, 4), "float32"), np.ones((4, 2), "float32"), epochs=1, verbose=0)
    inp = layers.Input((6, 1))
    x = layers.Conv1D(2, 3, name="conv")(inp)
    x = layers.Flatten()(x)
    out = layers.Dense(1, activation="sigmoid")(layers.Dropout(0.1)(x))
    fun = nn.models.Model(inp, out, name="fun")
    rnn = nn.models.Sequential([layers.Input((3, 2)), layers.LSTM(2), layers.BatchNormalization(), layers.Dense(1)])
    return [seq, fun, rnn]


def _saved(suffix: str) -> list[bytes]:
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, model in enumerate(_models()):
            path = os.path.join(tmp, f"m{i}{suffix}")
            (model.save_weights if suffix.endswith((".weights.h5", ".safetensors")) else model.save)(path)
            out.append(Path(path).read_bytes())
    return out


def _archive_member(name: str, content: bytes, c: Chooser) -> bytes:
    if name.endswith(".json"):
        return mutate_json(content, c)
    if name.endswith(".safetensors"):
        return mutate_safetensors(content, c) if c.below(2) else mutate_bytes(content, c)
    return mutate_bytes(content, c)


def _mutate_archive(data: bytes, c: Chooser, pool: list[bytes]) -> bytes:
    return mutate_zip(data, c, _archive_member) if c.below(4) else mutate_bytes(data, c, pool)


def _mutate_h5(data: bytes, c: Chooser, pool: list[bytes]) -> bytes:
    # HDF5 has no stable textual part to mutate structurally; the model config is an attribute, so swap
    # a JSON-looking run of bytes with a mutated one of the same length when there is one.
    start = data.find(b'{"class_name"')
    if start >= 0 and c.below(3) == 0:
        end = data.find(b"\x00", start)
        if end > start:
            text = mutate_json(data[start:end], c)[: end - start].ljust(end - start, b" ")
            return data[:start] + text + data[end:]
    return mutate_bytes(data, c, pool)


def _load_model_steps(path: str) -> list[Callable[[], Any]]:
    from neurona.saving import load_model

    return [lambda: load_model(path)]


def _keras_model_steps(path: str) -> list[Callable[[], Any]]:
    from neurona.interop import load_keras_model

    return [lambda: load_keras_model(path)]


@cache
def _weights_models() -> tuple[Any, ...]:
    return tuple(_models())


def _keras_weights_steps(path: str) -> list[Callable[[], Any]]:
    from neurona.interop import load_keras_weights

    return [lambda m=m: load_keras_weights(m, path) for m in _weights_models()]


# ----------------------------------------------------------------------------------------- safetensors
def _safetensors_seeds() -> list[bytes]:
    from neurona.saving.safetensors_io import dumps

    return [
        dumps({"a": np.arange(6, dtype="<f4").reshape(2, 3), "b": np.array([1, 2], "<i8")}, {"format": "np"}),
        dumps({"scalar": np.float64(3.5), "empty": np.zeros((0, 4), "<f2"), "flag": np.array([True, False])}),
        dumps({"u": np.arange(4, dtype="u1"), "h": np.arange(3, dtype="<i2")}),
        *_saved(".safetensors")[:1],
    ]


def _mutate_st(data: bytes, c: Chooser, pool: list[bytes]) -> bytes:
    return mutate_safetensors(data, c) if c.below(2) else mutate_bytes(data, c, pool)


def _safetensors_steps(path: str) -> list[Callable[[], Any]]:
    from neurona.saving import safetensors_io

    return [lambda: safetensors_io.load_file(path), lambda: safetensors_io.loads(Path(path).read_bytes())]


# ------------------------------------------------------------------------------------------------- IDX
def idx_bytes(array: np.ndarray) -> bytes:
    """An IDX file of `array` (the format of MNIST's original files)."""
    codes = {"u1": 0x08, "i1": 0x09, "i2": 0x0B, "i4": 0x0C, "f4": 0x0D, "f8": 0x0E}
    code = codes[array.dtype.str[1:]]
    head = bytes([0, 0, code, array.ndim]) + b"".join(struct.pack(">I", d) for d in array.shape)
    return head + array.astype(array.dtype.newbyteorder(">")).tobytes()


def _idx_seeds() -> list[bytes]:
    arrays = [np.arange(2 * 4 * 4, dtype="u1").reshape(2, 4, 4), np.arange(5, dtype="u1"),
              np.linspace(-1, 1, 6).astype("f4").reshape(3, 2), np.arange(4, dtype="i4"), np.zeros((0, 3), "f8")]
    plain = [idx_bytes(a) for a in arrays]
    return plain + [gzip.compress(p, mtime=0) for p in plain]


def _mutate_idx(data: bytes, c: Chooser, pool: list[bytes]) -> bytes:
    if data[:2] == b"\x1f\x8b":
        return mutate_gzip(data, c, lambda inner, ch: mutate_bytes(inner, ch, None))
    return mutate_bytes(data, c, pool)


def _idx_steps(path: str) -> list[Callable[[], Any]]:
    from neurona.datasets._formats import read_idx

    return [lambda: read_idx(path)]


# ----------------------------------------------------------------------------------------------- CIFAR
CIFAR_FOLDER = "cifar-10-batches-bin"


def _cifar_records(n: int, seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    rows = rng.integers(0, 256, (n, 1 + 3072), dtype=np.uint8)
    rows[:, 0] %= 10
    return rows.tobytes()


def cifar_tar(members: dict[str, bytes], compressed: bool = True) -> bytes:
    """A CIFAR-style tar(.gz) archive holding `members` (name -> bytes) under CIFAR_FOLDER/."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        for name, body in members.items():
            info = tarfile.TarInfo(f"{CIFAR_FOLDER}/{name}")
            info.size = len(body)
            tar.addfile(info, io.BytesIO(body))
    return gzip.compress(out.getvalue(), compresslevel=1, mtime=0) if compressed else out.getvalue()


def _cifar_seeds() -> list[bytes]:
    members = {"data_batch_1.bin": _cifar_records(2, 0), "test_batch.bin": _cifar_records(1, 1)}
    return [cifar_tar(members), cifar_tar(members, compressed=False), _cifar_records(2, 2)]


def _mutate_cifar(data: bytes, c: Chooser, pool: list[bytes]) -> bytes:
    return mutate_tar(data, c) if c.below(3) else mutate_bytes(data, c, pool)


def _cifar_steps(path: str) -> list[Callable[[], Any]]:
    from neurona.datasets._cifar_format import load_split

    def as_archive() -> Any:
        return load_split(Path(path), CIFAR_FOLDER, ["data_batch_1.bin"], ["test_batch.bin"], 1, 0, 10)

    def as_folder() -> Any:  # the same bytes as the unpacked .bin files
        folder = Path(path + ".d")
        folder.mkdir(exist_ok=True)
        body = Path(path).read_bytes()
        for name in ("data_batch_1.bin", "test_batch.bin"):
            (folder / name).write_bytes(body)
        return load_split(folder, CIFAR_FOLDER, ["data_batch_1.bin"], ["test_batch.bin"], 1, 0, 10)

    return [as_archive, as_folder]


# ------------------------------------------------------------------------------------------------- npz
def _npz_seeds() -> list[bytes]:
    arrays = {"x_train": np.arange(2 * 28 * 28, dtype="u1").reshape(2, 28, 28), "y_train": np.array([1, 2], "u1"),
              "x_test": np.zeros((1, 28, 28), "u1"), "y_test": np.array([3], "u1")}
    out = []
    for save in (np.savez, np.savez_compressed):
        buffer = io.BytesIO()
        save(buffer, **arrays)
        out.append(buffer.getvalue())
    return out


def _npz_member(name: str, content: bytes, c: Chooser) -> bytes:
    # The .npy header is a Python dict literal: mutate it as text more often than the data.
    end = content.find(b"\n")
    if content.startswith(b"\x93NUMPY") and end > 0 and c.below(2):
        header = bytearray(content[10:end])
        for _ in range(1 + c.below(3)):
            pick = c.below(4)
            if pick == 0:
                header = bytearray(header.replace(b"(", b"(" + str(c.below(2**62)).encode() + b", ", 1))
            elif pick == 1:
                header = bytearray(header.replace(b"'<", b"'" + bytes([c.below(128)]), 1))
            elif pick == 2:
                header = bytearray(header.replace(b"False", b"True", 1))
            else:
                header = bytearray(mutate_bytes(bytes(header), c))
        return content[:8] + struct.pack("<H", len(header) + 1) + bytes(header) + content[end:]
    return mutate_bytes(content, c)


def _mutate_npz(data: bytes, c: Chooser, pool: list[bytes]) -> bytes:
    return mutate_zip(data, c, _npz_member) if c.below(4) else mutate_bytes(data, c, pool)


def _npz_steps(path: str) -> list[Callable[[], Any]]:
    from neurona.datasets._mnist_format import read_mnist_npz

    return [lambda: read_mnist_npz(Path(path))]


# ------------------------------------------------------------------------------------------------- CSV
def _csv_seeds() -> list[bytes]:
    return [
        b"a,b,label\n1,2.5,0\n3,4,1\n5,6e-3,0\n",
        b"x;y;z\n1;2;3\n4;5;6\n",
        b",f1,f2\n0,1.0,2.0\n1,3.0,4.0\n",
        b'"name","v"\n"a, b",1\n"c",NA\n',
        b"\xef\xbb\xbfa\tb\r\n1\t2\r\n3\t4\r\n",
    ]


def _mutate_csv(data: bytes, c: Chooser, pool: list[bytes]) -> bytes:
    if c.below(3) == 0:  # textual: the characters the CSV dialect gives a meaning to
        at = c.below(len(data) + 1)
        piece = _pick_text(c)
        return data[:at] + piece + data[at:]
    return mutate_bytes(data, c, pool)


def _pick_text(c: Chooser) -> bytes:
    pieces = (b",", b";", b"\t", b"|", b'"', b"\n", b"\r", b"\x00", b"nan", b"inf", b"1e999", b"-", b"\xff",
              b"\xef\xbb\xbf", b",,,,,,,,", b"\n\n\n", b'"\n"', b"Unnamed: 0")
    return pieces[c.below(len(pieces))]


def _csv_steps(path: str) -> list[Callable[[], Any]]:
    from neurona.cli.csvdata import read_csv

    def read_and_convert() -> Any:
        from neurona.cli.errors import CliError

        table = read_csv(path)
        if not hasattr(table, "numeric"):  # (the reader's API changed: exercise the reading alone)
            return table
        for name in getattr(table, "header", []):
            try:
                table.numeric(name)
            except CliError:
                pass
        return table

    return [read_and_convert]


def _cli_error() -> tuple[type[BaseException], ...]:
    from neurona.cli.errors import CliError

    return (CliError, ValueError)


TARGETS: dict[str, Target] = {
    "neurona": Target("neurona", ".neurona", lambda: _saved(".neurona"), _mutate_archive, _load_model_steps),
    "safetensors": Target("safetensors", ".safetensors", _safetensors_seeds, _mutate_st, _safetensors_steps),
    "keras": Target("keras", ".keras", lambda: _saved(".keras"), _mutate_archive, _keras_model_steps),
    "keras_h5": Target("keras_h5", ".h5", lambda: _saved(".h5"), _mutate_h5, _keras_model_steps),
    "keras_weights": Target("keras_weights", ".weights.h5", lambda: _saved(".weights.h5"), _mutate_h5,
                            _keras_weights_steps),
    "idx": Target("idx", "-idx-ubyte", _idx_seeds, _mutate_idx, _idx_steps),
    "cifar": Target("cifar", ".tar.gz", _cifar_seeds, _mutate_cifar, _cifar_steps),
    "npz": Target("npz", ".npz", _npz_seeds, _mutate_npz, _npz_steps),
    "csv": Target("csv", ".csv", _csv_seeds, _mutate_csv, _csv_steps),
}


def allowed_types(target: Target) -> tuple[type[BaseException], ...]:
    """The exception types a target may raise (the CSV reader's CliError is resolved lazily)."""
    return _cli_error() if target.name == "csv" else target.allowed


def mutate(target: Target, data: bytes, c: Chooser, pool: list[bytes]) -> bytes:
    """1-4 stacked mutations of `data`, capped at 1 MiB (the issue's bound on input size)."""
    for _ in range(1 + c.below(4)):
        try:
            data = target.mutate(data, c, pool)
        except Exception:  # noqa: BLE001 - a structure-aware step on input it cannot rebuild: mutate bytes
            data = mutate_bytes(data, c, pool)
    return data[: 1 << 20]
