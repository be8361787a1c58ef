"""Hostile files: each one is refused with a clear UnsafeFileError, runs nothing and creates nothing.

Every case goes through the public loaders (load_model, load_weights) as a user would call them.
"""

from __future__ import annotations

import io
import json
import os
import pathlib
import re
import stat
import struct
import sys
import zipfile

import numpy as np
import pytest

from neurona.layers import Dense, Dropout
from neurona.models import Sequential, load_model
from neurona.saving import UnsafeFileError, archive, safetensors_io

EVIL_MODULE = "neurona_evil_module_for_tests"


@pytest.fixture
def trap(tmp_path, monkeypatch):
    """A module that leaves a marker file if anything imports it, and an os.system that records calls."""
    marker = tmp_path / "PWNED"
    (tmp_path / f"{EVIL_MODULE}.py").write_text(
        f"import pathlib\npathlib.Path({str(marker)!r}).write_text('imported')\n"
        f"def boom(*a, **k):\n    pathlib.Path({str(marker)!r}).write_text('called')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    calls = []
    monkeypatch.setattr(os, "system", lambda *a: calls.append(a))
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    yield work, marker, calls
    assert EVIL_MODULE not in sys.modules


def _snapshot(root: pathlib.Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def _model():
    model = Sequential([Dense(4, activation="relu", input_shape=(3,)), Dropout(0.1), Dense(2)])
    model.compile(optimizer="adam", loss="mse")
    model.fit(np.ones((4, 3), np.float32), np.zeros((4, 2), np.float32), epochs=1, verbose=0)
    return model


def _load_weights(path):
    _model().load_weights(path)


ARCHIVE_LOADERS = {"load_model": load_model, "load_weights": _load_weights}
WEIGHT_LOADERS = {"load_weights": _load_weights, "safetensors_io.load_file": safetensors_io.load_file}


def _refused(path, loaders, match, trap) -> None:
    work, marker, calls = trap
    before = _snapshot(work.parent)
    for name, loader in loaders.items():
        with pytest.raises(UnsafeFileError) as info:
            loader(path)
        # Match the reason, not the file name: pytest's tmp path holds the test's name ("..._encrypted_...").
        reason = str(info.value).replace(str(path), "<file>").replace(str(work.parent), "<dir>")
        assert re.search(match, reason), f"{name}: {reason!r} does not match {match!r}"
        assert _snapshot(work.parent) == before, f"{name} created files"
    assert not marker.exists() and not calls


def _members(tmp_path) -> dict[str, bytes]:
    path = tmp_path / "valid.neurona"
    _model().save(path)
    members = archive.read_archive(path)
    path.unlink()
    return members


def _zip(path, entries) -> pathlib.Path:
    with zipfile.ZipFile(path, "w") as z:
        for info, data in entries:
            z.writestr(info, data)
    return path


def _with_config(tmp_path, edit) -> pathlib.Path:
    members = _members(tmp_path)
    config = json.loads(members["config.json"])
    edit(config)
    members["config.json"] = json.dumps(config).encode()
    return _zip(tmp_path / "work" / "evil.neurona", members.items())


def _safetensors(header: dict | bytes, data: bytes = b"", length: int | None = None) -> bytes:
    raw = header if isinstance(header, bytes) else json.dumps(header).encode()
    return struct.pack("<Q", len(raw) if length is None else length) + raw + data


# ------------------------------------------------------------------------------------------ configs naming code
def _set_model_class(c, name):
    c["model"]["class_name"] = name


def _set_layer_class(c, name):
    c["model"]["config"]["layers"][1]["class_name"] = name


def _set_initializer(c, name):
    c["model"]["config"]["layers"][1]["config"]["kernel_initializer"] = {"class_name": name, "config": {}}


def _set_loss(c, name):
    c["compile_config"]["loss"] = name


def _set_loss_object(c, name):
    c["compile_config"]["loss"] = {"class_name": name, "config": {"command": "touch PWNED"}}


def _set_optimizer(c, name):
    c["compile_config"]["optimizer"] = {"class_name": name, "config": {}}


def _set_lambda(c, name):
    c["model"]["config"]["layers"].append({"class_name": "Lambda", "config": {"function": name, "name": "evil"}})


@pytest.mark.parametrize("where", [_set_model_class, _set_layer_class, _set_initializer, _set_loss,
                                   _set_loss_object, _set_optimizer, _set_lambda])
@pytest.mark.parametrize("name", ["os.system", f"{EVIL_MODULE}.boom", "builtins.eval", "__import__",
                                  "subprocess.Popen"])
def test_config_naming_code_is_refused(where, name, tmp_path, trap):
    path = _with_config(tmp_path, lambda c: where(c, name))
    quoted = re.escape(repr(name))
    _refused(path, {"load_model": load_model}, f"unknown [a-z ]*{quoted}|wraps the function {quoted}", trap)


def test_model_from_json_naming_code_is_refused(trap):
    from neurona.saving import model_from_json

    for text in ('{"class_name": "os.system", "config": {}}',
                 f'{{"class_name": "Sequential", "config": {{"layers": [{{"class_name": "{EVIL_MODULE}.boom", '
                 f'"config": {{}}}}]}}}}'):
        with pytest.raises(UnsafeFileError, match="unknown"):
            model_from_json(text)
    assert not trap[1].exists()


def test_optimizer_state_sets_only_existing_numbers(tmp_path, trap):
    members = _members(tmp_path)
    arrays, meta = safetensors_io.loads(members["optimizer.safetensors"])
    meta["scalars"] = json.dumps({"iterations": 5, "apply": 1, "__class__": 2, "new_attr": 3.0})
    members["optimizer.safetensors"] = safetensors_io.dumps(arrays, meta)
    model = load_model(_zip(tmp_path / "work" / "opt.neurona", members.items()))
    assert model.optimizer.iterations == 5 and callable(model.optimizer.apply)
    assert not hasattr(model.optimizer, "new_attr")


# ------------------------------------------------------------------------------------------ pickles in disguise
GADGET = b"cos\nsystem\n(S'touch PWNED'\ntR."  # the classic: unpickling it runs os.system


@pytest.mark.parametrize("prefix", [b"", b"\x80\x02", b"\x80\x04\x95\x20\x00\x00\x00\x00\x00\x00\x00"])
def test_pickle_gadget_renamed_is_refused(prefix, trap):
    work = trap[0]
    (work / "evil.neurona").write_bytes(prefix + GADGET)
    (work / "evil.safetensors").write_bytes(prefix + GADGET)
    _refused(work / "evil.neurona", ARCHIVE_LOADERS, "not a .neurona archive|safetensors", trap)
    _refused(work / "evil.safetensors", WEIGHT_LOADERS, "over the limit|truncated|not a safetensors", trap)


def test_torch_style_zip_with_pickle_member_is_refused(trap):
    path = _zip(trap[0] / "model.neurona", [("archive/data.pkl", GADGET), ("archive/version", b"3")])
    _refused(path, ARCHIVE_LOADERS, "PyTorch checkpoint", trap)


# ------------------------------------------------------------------------------------------ zip tricks
def _entry(name: str, mode: int = stat.S_IFREG | 0o644, flags: int = 0) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.external_attr = mode << 16
    info.flag_bits |= flags
    return info


@pytest.mark.parametrize("name, match", [
    ("../config.json", r"outside the archive \('\.\.'\)"),
    ("model/../../config.json", r"outside the archive"),
    ("..\\config.json", r"outside the archive"),
    ("/etc/config.json", "absolute path"),
    ("\\config.json", "absolute path"),
    ("C:config.json", "absolute path"),
    ("data.pkl", "unexpected member"),
    ("config.json/", "unexpected member"),
])
def test_bad_member_names_are_refused(name, match, tmp_path, trap):
    members = _members(tmp_path)
    path = _zip(trap[0] / "evil.neurona", [(name, b"{}"), *[(k, v) for k, v in members.items() if k != name]])
    _refused(path, ARCHIVE_LOADERS, match, trap)


def test_symlink_member_is_refused(tmp_path, trap):
    members = _members(tmp_path)
    members.pop("config.json")
    path = _zip(trap[0] / "evil.neurona", [(_entry("config.json", stat.S_IFLNK | 0o777), b"/etc/passwd"),
                                           *members.items()])
    _refused(path, ARCHIVE_LOADERS, "symbolic link", trap)


def test_duplicate_and_encrypted_members_are_refused(tmp_path, trap):
    members = _members(tmp_path)
    with pytest.warns(UserWarning, match="Duplicate name"):
        dup = _zip(trap[0] / "dup.neurona", [*members.items(), ("config.json", b"{}")])
    _refused(dup, ARCHIVE_LOADERS, "appears twice", trap)
    enc = _encrypt(_zip(trap[0] / "enc.neurona", list(members.items())), "config.json")
    with zipfile.ZipFile(enc) as z:  # the file really is marked encrypted (zipfile clears flags it writes)
        assert z.getinfo("config.json").flag_bits & 0x1
    _refused(enc, ARCHIVE_LOADERS, "'config.json' is encrypted", trap)


def _encrypt(path: pathlib.Path, name: str) -> pathlib.Path:
    """Set the "encrypted" flag of member `name` in its local and central headers (zipfile cannot write it)."""
    data = bytearray(path.read_bytes())
    for signature, flag_at, name_len_at, fixed in ((b"PK\x03\x04", 6, 26, 30), (b"PK\x01\x02", 8, 28, 46)):
        at = data.find(signature)
        while at != -1:
            n = struct.unpack_from("<H", data, at + name_len_at)[0]
            if data[at + fixed:at + fixed + n] == name.encode():
                data[at + flag_at] |= 0x1
            at = data.find(signature, at + 4)
    path.write_bytes(bytes(data))
    return path


def test_zip_bomb_declared_size_is_refused_before_inflating(trap):
    path = trap[0] / "bomb.neurona"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        with z.open("config.json", "w", force_zip64=True) as f:
            chunk = b"\0" * 2**20
            for _ in range(archive.MAX_JSON_BYTES // len(chunk) + 1):
                f.write(chunk)
    assert path.stat().st_size < 200_000
    _refused(path, ARCHIVE_LOADERS, "over the limit", trap)


def test_zip_bomb_compression_ratio_is_refused(trap):
    path = trap[0] / "ratio.neurona"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.writestr("model.safetensors", b"\0" * 8 * 2**20)
    _refused(path, ARCHIVE_LOADERS, "zip bomb", trap)


def test_member_that_inflates_past_its_declared_size_is_refused(tmp_path, trap):
    data = b'{"a": "' + b"x" * 5000 + b'"}'
    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("config.json", data)
    blob = bytearray(raw.getvalue())
    local = blob.index(b"PK\x03\x04")
    central = blob.index(b"PK\x01\x02")
    struct.pack_into("<I", blob, local + 22, 100)  # uncompressed size in the local header ...
    struct.pack_into("<I", blob, central + 24, 100)  # ... and in the central directory: a lie
    path = trap[0] / "liar.neurona"
    path.write_bytes(bytes(blob))
    _refused(path, ARCHIVE_LOADERS, "corrupt|declared size|truncated", trap)


# ------------------------------------------------------------------------------------------ truncation
def test_truncated_archive_is_refused(tmp_path, trap):
    full = tmp_path / "full.neurona"
    _model().save(full)
    data = full.read_bytes()
    for cut in (len(data) // 2, len(data) - 10, 3):
        path = trap[0] / f"cut{cut}.neurona"
        path.write_bytes(data[:cut])
        _refused(path, ARCHIVE_LOADERS, "not a .neurona archive|corrupt|truncated", trap)


def test_truncated_weights_inside_archive_are_refused(tmp_path, trap):
    members = _members(tmp_path)
    members["model.safetensors"] = members["model.safetensors"][:-7]
    path = _zip(trap[0] / "short.neurona", members.items())
    _refused(path, ARCHIVE_LOADERS, "truncated|data part holds", trap)


def test_truncated_safetensors_are_refused(tmp_path, trap):
    good = safetensors_io.dumps({"dense/kernel": np.ones((3, 4), np.float32)})
    for cut in (4, 12, len(good) - 1):
        path = trap[0] / f"cut{cut}.safetensors"
        path.write_bytes(good[:cut])
        _refused(path, WEIGHT_LOADERS, "truncated|data part holds", trap)


# ------------------------------------------------------------------------------------------ lying headers
HUGE = 2**62


@pytest.mark.parametrize("header, data, match", [
    ({"w": {"dtype": "F32", "shape": [HUGE, HUGE], "data_offsets": [0, 16]}}, b"\0" * 16, "declares shape"),
    # 2**64 + 4 bytes would wrap around to 4 in 64-bit arithmetic: exact integers do not wrap
    ({"w": {"dtype": "U8", "shape": [HUGE + 1, 4], "data_offsets": [0, 4]}}, b"\0" * 4, "declares shape"),
    ({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, HUGE]}}, b"\0" * 16, "data part holds"),
    ({"w": {"dtype": "F32", "shape": [-4], "data_offsets": [0, 16]}}, b"\0" * 16, "invalid shape"),
    ({"w": {"dtype": "F32", "shape": [4.0], "data_offsets": [0, 16]}}, b"\0" * 16, "invalid shape"),
    ({"w": {"dtype": "F32", "shape": [True], "data_offsets": [0, 4]}}, b"\0" * 4, "invalid shape"),
    ({"w": {"dtype": "F32", "shape": [1] * 40, "data_offsets": [0, 4]}}, b"\0" * 4, "invalid shape"),
    ({"w": {"dtype": "O", "shape": [1], "data_offsets": [0, 8]}}, b"\0" * 8, "unsupported dtype"),
    ({"w": {"dtype": "F8_E4M3", "shape": [1], "data_offsets": [0, 1]}}, b"\0", "unsupported dtype"),
    ({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8], "exec": "x"}}, b"\0" * 8, "exactly the keys"),
    ({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
      "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}, b"\0" * 12, "overlaps"),
    ({"a": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}, b"\0" * 8, "gap"),
    ({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}, b"\0" * 8, "belong to none"),
    ({"__metadata__": {"x": 1}}, b"", "strings to strings"),
    (b"[1, 2]", b"", "not a JSON object|not a safetensors"),
    (b"{" * 100_000, b"", "not valid JSON"),
    (b'{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, "a": {"dtype": "F32", "shape": [1], '
     b'"data_offsets": [0, 4]}}', b"\0" * 4, "duplicate key 'a'"),
    (b"{\xff\xfe}", b"", "not valid JSON"),
])
def test_lying_safetensors_headers_are_refused(header, data, match, tmp_path, trap):
    path = trap[0] / "evil.safetensors"
    path.write_bytes(_safetensors(header, data))
    _refused(path, WEIGHT_LOADERS, match, trap)
    members = _members(tmp_path)
    members["model.safetensors"] = path.read_bytes()
    _refused(_zip(trap[0] / "evil.neurona", members.items()), {"load_model": load_model}, match, trap)


@pytest.mark.parametrize("length", [2**64 - 1, 2**63, safetensors_io.MAX_HEADER_BYTES + 1])
def test_huge_header_length_is_refused_before_reading(length, trap):
    path = trap[0] / "huge.safetensors"
    path.write_bytes(_safetensors(b"{}", length=length))
    _refused(path, WEIGHT_LOADERS, "over the limit", trap)


def test_header_length_past_end_of_file_is_refused(trap):
    path = trap[0] / "short.safetensors"
    path.write_bytes(_safetensors(b"{}", length=50_000_000))
    _refused(path, WEIGHT_LOADERS, "truncated", trap)


# ------------------------------------------------------------------------------------------ JSON members
@pytest.mark.parametrize("config, match", [
    (b"[" * 100_000, "not valid JSON"),
    (b'{"format": "neurona", "format": "neurona"}', "duplicate key 'format'"),
    (b"\xff\xfe", "not valid JSON"),
    (b'{"format": "pickle"}', "not a neurona model config"),
    (b'{"format": "neurona", "format_version": 99}', "format version 99"),
    (b'{"format": "neurona", "format_version": 1, "model": "os.system"}', "expected"),
    (b'{"format": "neurona", "format_version": 1, "model": {"class_name": "Dense", "config": {"units": 2}}}',
     "not a model"),
])
def test_bad_config_json_is_refused(config, match, tmp_path, trap):
    members = _members(tmp_path)
    members["config.json"] = config
    _refused(_zip(trap[0] / "evil.neurona", members.items()), {"load_model": load_model}, match, trap)


def test_no_pickle_or_marshal_anywhere_in_the_package():
    import neurona

    root = pathlib.Path(neurona.__file__).parent
    offenders = []
    for path in root.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for needle in ("import pickle", "from pickle", "import marshal", "from marshal", "allow_pickle=True",
                       "import dill", "import cloudpickle", "import shelve"):
            if needle in text:
                offenders.append(f"{path.relative_to(root)}: {needle}")
    assert not offenders
