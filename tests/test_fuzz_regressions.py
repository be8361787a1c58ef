"""Hostile dataset and safetensors files (issue #23): each test here failed before the reader was fixed, and
the fuzzer's regression corpus (fuzz/regressions/) replays through the oracle without a finding."""

from __future__ import annotations

import gzip
import io
import json
import struct
import sys
import tarfile
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pytest

from neurona.datasets import DatasetError
from neurona.datasets._formats import read_cifar, read_idx, read_npz
from neurona.saving import UnsafeFileError, safetensors_io

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from fuzz.oracle import Hang, judge  # noqa: E402
from fuzz.regressions import cases, replay  # noqa: E402


def test_regression_corpus_replays_without_findings():
    assert len(cases()) >= 10
    failing = replay()
    assert not failing, [(name, o.error, o.place) for name, o in failing]


def test_oracle_allows_only_neuronas_errors():
    package = str(ROOT / "src" / "neurona") + "/"

    def raised(fn):
        try:
            fn()
        except BaseException as exc:  # noqa: BLE001
            return exc
        raise AssertionError("nothing raised")

    own = raised(lambda: read_idx(ROOT / "pyproject.toml"))
    assert judge(own, (ValueError,), package).kind == "allowed"
    foreign = raised(lambda: json.loads("{"))  # a ValueError subclass from the json module
    verdict = judge(foreign, (ValueError,), package)
    assert verdict.kind == "finding" and verdict.error == "json.decoder.JSONDecodeError"
    assert judge(raised(lambda: {}["k"]), (ValueError,), package).error == "KeyError"
    assert judge(Hang("over 10 s"), (ValueError,), package).error == "hang"


# --------------------------------------------------------------------------------------------------- IDX
def _idx_head(dims: tuple[int, ...], code: int = 0x08) -> bytes:
    return bytes([0, 0, code, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims)


def test_idx_gz_is_inflated_only_as_far_as_its_header_declares(tmp_path):
    path = tmp_path / "bomb-idx1-ubyte.gz"
    path.write_bytes(gzip.compress(_idx_head((4,)) + bytes(64 << 20), compresslevel=1))  # 64 MiB of zeros
    tracemalloc.start()
    try:
        with pytest.raises(DatasetError, match="longer than its header says"):
            read_idx(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 << 20, f"inflated {peak:,} bytes for a 4-byte array"


def test_idx_dimensions_whose_product_wraps_are_refused(tmp_path):
    path = tmp_path / "wrap-idx4-ubyte"
    path.write_bytes(_idx_head((2**16, 2**16, 2**16, 2**16)))  # 2**64 elements: wraps to 0 in int64
    with pytest.raises(DatasetError, match="over the limit"):
        read_idx(path)


def test_idx_gz_declaring_more_than_deflate_can_hold(tmp_path):
    path = tmp_path / "liar-idx2-ubyte.gz"
    path.write_bytes(gzip.compress(_idx_head((30000, 30000)) + bytes(10)))
    with pytest.raises(DatasetError, match="can inflate to at most"):
        read_idx(path)


# ------------------------------------------------------------------------------------------------- CIFAR
def test_cifar_link_members_are_refused(tmp_path):
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        link = tarfile.TarInfo("cifar-10-batches-bin/data_batch_1.bin")
        link.type, link.linkname = tarfile.SYMTYPE, "cifar-10-batches-bin/missing.bin"
        tar.addfile(link)
    (tmp_path / "c.tar.gz").write_bytes(out.getvalue())
    with pytest.raises(DatasetError, match="is a link"):
        read_cifar(tmp_path / "c.tar.gz", ["cifar-10-batches-bin/data_batch_1.bin"], 1)


def test_cifar_archive_must_be_gzip_or_plain_tar(tmp_path):
    (tmp_path / "c.tar.xz").write_bytes(b"\xfd7zXZ\x00" + bytes(100))
    with pytest.raises(DatasetError, match="bzip2/xz"):
        read_cifar(tmp_path / "c.tar.xz", ["cifar-10-batches-bin/data_batch_1.bin"], 1)


# --------------------------------------------------------------------------------------------------- npz
def _npz(tmp_path: Path, **members: bytes) -> Path:
    path = tmp_path / "d.npz"
    with zipfile.ZipFile(path, "w") as z:
        for name, body in members.items():
            z.writestr(name + ".npy", body)
    return path


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def test_truncated_npz_is_a_dataset_error(tmp_path):
    good = _npz(tmp_path, x_train=_npy(np.zeros((2, 28, 28), "u1")))
    good.write_bytes(good.read_bytes()[:300])
    with pytest.raises(DatasetError, match="not a readable .npz archive"):
        read_npz(good, ("x_train",))


def test_npz_corrupt_header_is_not_called_a_pickle(tmp_path):
    body = _npy(np.zeros(3, "u1")).replace(b"'descr': '|u1'", b"'descr': '|q9'")
    with pytest.raises(DatasetError, match="corrupt header") as info:
        read_npz(_npz(tmp_path, x=body), ("x",))
    assert "pickled" not in str(info.value)


def test_npz_member_declaring_a_huge_shape_is_refused_before_allocating(tmp_path):
    body = _npy(np.zeros(3, "u1")).replace(b"(3,)", b"(1000000000,)")
    with pytest.raises(DatasetError, match="truncated or corrupt"):
        read_npz(_npz(tmp_path, x=body), ("x",))


def test_npz_member_that_is_not_npy(tmp_path):
    with pytest.raises(DatasetError, match="not a valid .npy array"):
        read_npz(_npz(tmp_path, x=b"plain bytes"), ("x",))


# ------------------------------------------------------------------------------------------- safetensors
def _safetensors(header: dict) -> bytes:
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text


def test_safetensors_dtype_given_as_a_list():
    with pytest.raises(UnsafeFileError, match="unsupported dtype"):
        safetensors_io.loads(_safetensors({"w": {"dtype": ["F32"], "shape": [1], "data_offsets": [0, 0]}}))


def test_idx_empty_shape_with_absurd_dimensions(tmp_path):
    path = tmp_path / "empty-idx3-ubyte"
    path.write_bytes(_idx_head((0, 2**32 - 1, 2**32 - 1)))
    with pytest.raises(DatasetError, match="no element"):
        read_idx(path)


@pytest.mark.parametrize("shape", [[0, 10**30], [0, 2**62], [2**40, 0, 2**40]])
def test_safetensors_empty_tensor_with_absurd_dimensions(shape):
    with pytest.raises(UnsafeFileError, match="no element"):
        safetensors_io.loads(_safetensors({"w": {"dtype": "F32", "shape": shape, "data_offsets": [0, 0]}}))


def test_safetensors_reader_names_a_zip_or_pickle(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("archive/data.pkl", b"\x80\x02}q\x00.")
    (tmp_path / "model.pt").write_bytes(buffer.getvalue())
    with pytest.raises(UnsafeFileError, match="zip archive"):
        safetensors_io.load_file(tmp_path / "model.pt")
    (tmp_path / "old.pt").write_bytes(b"\x80\x02}q\x00." + bytes(16))
    with pytest.raises(UnsafeFileError, match="pickle"):
        safetensors_io.load_file(tmp_path / "old.pt")


def test_idx_gz_bomb_that_really_inflates_is_refused_before_inflating(tmp_path):
    """A small file holding a genuine ~100 MB of zeros: deflate can hold it, no real dataset compresses so well."""
    path = tmp_path / "zeros-idx1-ubyte.gz"
    path.write_bytes(gzip.compress(_idx_head((100 << 20,)) + bytes(100 << 20), compresslevel=9))
    assert path.stat().st_size < 1 << 20
    tracemalloc.start()
    try:
        with pytest.raises(DatasetError, match="decompression bomb"):
            read_idx(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 << 20, f"allocated {peak:,} bytes before refusing"
