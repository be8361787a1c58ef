"""Atomic writes, the safetensors reader/writer, the .neurona archive and the serialization registry."""

from __future__ import annotations

import json
import os
import struct
import zipfile

import numpy as np
import pytest

from neurona.saving import archive, atomic, safetensors_io, serialization
from neurona.saving.errors import UnsafeFileError

ARRAYS = {
    "dense/kernel": np.arange(12, dtype=np.float32).reshape(3, 4) / 7,
    "dense/bias": np.array([1.5, -2.0, 0.25, 3.0], dtype=np.float32),
    "emb/table": np.arange(6, dtype=np.float64).reshape(2, 3),
    "half": np.array([0.5, 1.0], dtype=np.float16),
    "steps": np.array(7, dtype=np.int64),
    "mask": np.array([True, False, True]),
    "empty": np.zeros((0, 5), dtype=np.float32),
    "bytes": np.array([1, 2, 255], dtype=np.uint8),
}


def _assert_same(a: dict, b: dict) -> None:
    assert list(a) == list(b)
    for k in a:
        assert a[k].dtype == b[k].dtype and a[k].shape == b[k].shape, k
        np.testing.assert_array_equal(a[k], b[k])


# --------------------------------------------------------------------------------------------- atomic
def test_atomic_write_replaces_whole_file(tmp_path):
    target = tmp_path / "f.bin"
    target.write_bytes(b"old")
    with atomic.atomic_write(target) as f:
        f.write(b"new content")
        assert target.read_bytes() == b"old"  # nothing visible before the block ends
    assert target.read_bytes() == b"new content"
    assert os.listdir(tmp_path) == ["f.bin"]


def test_atomic_write_failure_keeps_old_file_and_leaves_no_temp(tmp_path):
    target = tmp_path / "f.bin"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError), atomic.atomic_write(target) as f:
        f.write(b"partial")
        raise RuntimeError("disk full")
    assert target.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["f.bin"]


def test_atomic_write_failing_rename_keeps_old_file(tmp_path, monkeypatch):
    target = tmp_path / "f.bin"
    target.write_bytes(b"old")

    def broken_replace(src, dst):
        raise OSError("rename failed")

    monkeypatch.setattr(atomic.os, "replace", broken_replace)
    with pytest.raises(OSError, match="rename failed"):
        atomic.write_bytes_atomic(target, b"new")
    assert target.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["f.bin"]


def test_atomic_write_keeps_permissions_and_checks_target(tmp_path):
    target = tmp_path / "f.bin"
    target.write_bytes(b"old")
    os.chmod(target, 0o640)
    atomic.write_bytes_atomic(target, b"new")
    assert os.stat(target).st_mode & 0o777 == 0o640
    with pytest.raises(FileExistsError, match="overwrite=True"):
        atomic.write_bytes_atomic(target, b"x", overwrite=False)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        atomic.write_bytes_atomic(tmp_path / "missing" / "f.bin", b"x")
    with pytest.raises(IsADirectoryError):
        atomic.write_bytes_atomic(tmp_path, b"x")


# ---------------------------------------------------------------------------------------- safetensors
def test_safetensors_roundtrip_file_and_bytes(tmp_path):
    path = tmp_path / "w.safetensors"
    safetensors_io.save_file(ARRAYS, path, metadata={"format": "neurona"})
    arrays, metadata = safetensors_io.load_file(path)
    _assert_same(ARRAYS, arrays)
    assert metadata == {"format": "neurona"}
    arrays, metadata = safetensors_io.loads(path.read_bytes())
    _assert_same(ARRAYS, arrays)
    assert (8 + struct.unpack("<Q", path.read_bytes()[:8])[0]) % 8 == 0  # data part aligned


def test_safetensors_loaded_from_file_is_writable(tmp_path):
    path = tmp_path / "w.safetensors"
    safetensors_io.save_file({"a": np.ones(3, np.float32)}, path)
    arrays, _ = safetensors_io.load_file(path)
    arrays["a"] += 1
    np.testing.assert_array_equal(arrays["a"], [2, 2, 2])


def test_safetensors_refuses_unsupported_dtypes_and_names(tmp_path):
    with pytest.raises(TypeError, match="'w'.*dtype object"):
        safetensors_io.dumps({"w": np.array([None, 1], dtype=object)})
    with pytest.raises(TypeError, match="complex"):
        safetensors_io.dumps({"w": np.ones(2, np.complex64)})
    with pytest.raises(ValueError, match="names must be non-empty"):
        safetensors_io.dumps({"": np.ones(2)})
    with pytest.raises(TypeError, match="strings to strings"):
        safetensors_io.dumps({"a": np.ones(2)}, metadata={"epoch": 3})


def test_safetensors_big_endian_and_noncontiguous_inputs():
    a = np.arange(12, dtype=">f4").reshape(3, 4).T
    arrays, _ = safetensors_io.loads(safetensors_io.dumps({"a": a}))
    np.testing.assert_array_equal(arrays["a"], a)


def test_safetensors_interop_with_reference_package(tmp_path):
    st = pytest.importorskip("safetensors.numpy")
    path = tmp_path / "ours.safetensors"
    safetensors_io.save_file(ARRAYS, path, metadata={"k": "v"})
    theirs = st.load_file(str(path))
    for k, v in ARRAYS.items():
        np.testing.assert_array_equal(theirs[k], v)
        assert theirs[k].dtype == v.dtype
    arrays, metadata = safetensors_io.loads(st.save(ARRAYS, metadata={"k": "v"}))
    assert metadata == {"k": "v"}
    for k, v in ARRAYS.items():
        np.testing.assert_array_equal(arrays[k], v)


def test_safetensors_reads_bfloat16_as_float32():
    values = np.array([1.0, -2.5, 0.15625], dtype=np.float32)  # exactly representable in bfloat16
    bits = (values.view(np.uint32) >> 16).astype("<u2")
    header = json.dumps({"x": {"dtype": "BF16", "shape": [3], "data_offsets": [0, 6]}}).encode()
    arrays, _ = safetensors_io.loads(struct.pack("<Q", len(header)) + header + bits.tobytes())
    assert arrays["x"].dtype == np.float32
    np.testing.assert_array_equal(arrays["x"], values)


# -------------------------------------------------------------------------------------------- archive
def test_archive_roundtrip_and_deterministic_bytes(tmp_path):
    members = {"config.json": b'{"a": 1}', "model.safetensors": safetensors_io.dumps(ARRAYS)}
    first, second = tmp_path / "a.neurona", tmp_path / "b.neurona"
    archive.write_archive(first, members)
    archive.write_archive(second, members)
    assert first.read_bytes() == second.read_bytes()
    assert archive.read_archive(first) == members
    with zipfile.ZipFile(first) as z:
        kinds = {i.filename: i.compress_type for i in z.infolist()}
    assert kinds == {"config.json": zipfile.ZIP_DEFLATED, "model.safetensors": zipfile.ZIP_STORED}


def test_archive_writer_refuses_unknown_members(tmp_path):
    with pytest.raises(ValueError, match="not a .neurona member"):
        archive.write_archive(tmp_path / "a.neurona", {"../evil": b""})
    assert os.listdir(tmp_path) == []


def test_archive_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        archive.read_archive(tmp_path / "nope.neurona")


# -------------------------------------------------------------------------------------- serialization
class _Thing:
    def __init__(self, size: int = 1, tags: tuple = ()) -> None:
        self.size, self.tags = size, tuple(tags)

    def get_config(self) -> dict:
        return {"size": np.int64(self.size), "tags": self.tags}


def test_register_serializable_roundtrip():
    cls = serialization.register_serializable(package="test_io")(_Thing)  # registering twice is harmless
    assert serialization.register_serializable(package="test_io")(_Thing) is cls
    config = serialization.serialize(cls(3, ("a", "b")))
    assert config == {"class_name": "test_io>_Thing", "config": {"size": 3, "tags": ["a", "b"]}}
    json.dumps(config)  # plain JSON
    thing = serialization.deserialize(config)
    assert isinstance(thing, _Thing) and thing.size == 3 and thing.tags == ("a", "b")


@serialization.register_serializable
def my_activation_for_test(x):
    return x


def test_register_serializable_bare_function_and_conflicts():
    assert serialization.serialize(my_activation_for_test) == "Custom>my_activation_for_test"
    assert serialization.deserialize("Custom>my_activation_for_test") is my_activation_for_test

    def other(x):
        return x

    with pytest.raises(ValueError, match="already registered"):
        serialization.register_serializable(name="my_activation_for_test")(other)
    with pytest.raises(TypeError, match="get_config"):
        serialization.register_serializable(type("NoConfig", (), {}))


def test_custom_objects_and_scope():
    class Local:
        def __init__(self, v=0):
            self.v = v

        def get_config(self):
            return {"v": self.v}

    config = {"class_name": "Local", "config": {"v": 5}}
    with pytest.raises(UnsafeFileError, match="unknown class 'Local'"):
        serialization.deserialize(config)
    assert serialization.deserialize(config, custom_objects={"Local": Local}).v == 5
    with serialization.custom_object_scope({"Local": Local}):
        assert serialization.deserialize(config).v == 5
    with pytest.raises(UnsafeFileError):
        serialization.deserialize(config)


def test_builtin_kinds_roundtrip():
    from neurona import initializers, losses, regularizers

    for obj, kind in [(initializers.get("he_normal"), "initializer"), (losses.get("mse"), "loss"),
                      (regularizers.get("l2"), "regularizer")]:
        config = serialization.serialize(obj)
        again = serialization.deserialize(json.loads(json.dumps(config)), kind=kind)
        assert type(again) is type(obj) and again.get_config() == obj.get_config()


def test_json_safe_refuses_non_json_values():
    with pytest.raises(TypeError, match="cfg.fn: function"):
        serialization.json_safe({"fn": lambda x: x}, "cfg")
    with pytest.raises(TypeError, match="keys must be strings"):
        serialization.json_safe({1: 2})
