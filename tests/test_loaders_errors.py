"""Issue 23, loading side: HDF5 files that used to make h5py spin forever, bounded attribute reads, and one
exception policy: damaged zips, HDF5 files, configs and state_dicts give neurona's errors naming the file."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import textwrap
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pytest
from zip_edits import rewrite_config

import neurona
from neurona import layers
from neurona.interop import load_keras_model, load_keras_weights, load_torch_weights
from neurona.layers import Dense, Input
from neurona.models import Sequential, load_model
from neurona.saving import UnsafeFileError, archive

h5py = pytest.importorskip("h5py")


def _model():
    return Sequential([Input((3,)), Dense(2, name="dense")])


def _legacy_weights(path, model) -> None:
    """A Keras 2 weights file whose names are variable-length strings (kept in an HDF5 global heap)."""
    strings = h5py.string_dtype()
    with h5py.File(path, "w") as f:
        f.attrs.create("layer_names", ["dense"], dtype=strings)
        group = f.create_group("dense")
        group.attrs.create("weight_names", ["dense/kernel:0", "dense/bias:0"], dtype=strings)
        group.create_dataset("dense/kernel:0", data=np.arange(6, dtype="float32").reshape(3, 2))
        group.create_dataset("dense/bias:0", data=np.array([7.0, 8.0], "float32"))


def _zero_free_space(path) -> None:
    """Set the size of the global heap's free-space object to 0: HDF5's heap walk then never advances."""
    data = bytearray(path.read_bytes())
    at = data.find(b"GCOL")
    end = at + int.from_bytes(data[at + 8:at + 16], "little")
    p = at + 16
    while p < end:
        index, length = int.from_bytes(data[p:p + 2], "little"), int.from_bytes(data[p + 8:p + 16], "little")
        if index == 0:
            data[p + 8:p + 16] = bytes(8)
            break
        p += 16 + (length + 7) // 8 * 8
    else:
        raise AssertionError("no free-space object found")
    path.write_bytes(bytes(data))


def _claim_huge_length(path) -> None:
    """Make the reference to the heap object "dense" (5 bytes) claim 3,120,562,181 characters."""
    data = bytearray(path.read_bytes())
    address = data.find(b"GCOL").to_bytes(8, "little")
    q = data.find(address)
    while int.from_bytes(data[q - 4:q], "little") != len("dense"):
        q = data.find(address, q + 1)
    data[q - 4:q] = (0xBA000005).to_bytes(4, "little")
    path.write_bytes(bytes(data))


def _env():
    src = os.path.dirname(os.path.dirname(neurona.__file__))
    return {**os.environ, "PYTHONPATH": src, "OMP_NUM_THREADS": "1"}


# ------------------------------------------------------------------------------------------ HDF5 hangs
def test_legacy_weights_with_heap_names_load(tmp_path):
    path = tmp_path / "w.h5"
    model = _model()
    _legacy_weights(path, model)
    model.load_weights(path)
    np.testing.assert_array_equal(model.weights[0].data, np.arange(6).reshape(3, 2))
    np.testing.assert_array_equal(model.weights[1].data, [7.0, 8.0])


@pytest.mark.parametrize("damage, match", [(_zero_free_space, "loop on forever"),
                                           (_claim_huge_length, "claims 3120562181 elements")])
def test_damaged_global_heap_is_refused_instead_of_spinning(damage, match, tmp_path):
    """h5py spins forever reading `layer_names` from the first file (a free-space object of size 0) and churns
    through 3 GB for the second (fuzzing found both); neurona refuses them before h5py reads the names. Run in a
    child process so a regression fails the test instead of hanging it."""
    path = tmp_path / "w.h5"
    _legacy_weights(path, _model())
    damage(path)
    script = textwrap.dedent("""
        import sys
        from neurona.layers import Dense, Input
        from neurona.models import Sequential
        from neurona.interop import load_keras_weights
        from neurona.saving import UnsafeFileError
        for load in (lambda m, p: m.load_weights(p), load_keras_weights):
            try:
                load(Sequential([Input((3,)), Dense(2, name="dense")]), sys.argv[1])
            except UnsafeFileError as exc:
                print(exc)
    """)
    out = subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True, text=True, timeout=60,
                         env=_env())
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    assert len(lines) == 2 and all(match in line for line in lines), out.stdout


def test_damaged_heap_inside_a_keras_archive_is_refused(tmp_path):
    h5 = tmp_path / "model.weights.h5"
    _legacy_weights(h5, _model())
    _zero_free_space(h5)
    from neurona.interop.h5_guard import check_global_heaps

    with pytest.raises(UnsafeFileError, match="global heap"):
        check_global_heaps(h5.read_bytes(), "member")
    with pytest.raises(UnsafeFileError, match="global heap"):
        check_global_heaps(h5, "file")


def test_attribute_reads_are_bounded(tmp_path, monkeypatch):
    from neurona.interop import h5_guard

    monkeypatch.setattr(h5_guard, "MAX_ATTR_ITEMS", 100)  # HDF5 keeps small attributes only; scale the limit
    path = tmp_path / "a.h5"
    with h5py.File(path, "w") as f:
        f.attrs["grid"] = np.zeros((3, 3))
        f.attrs["many"] = np.zeros(h5_guard.MAX_ATTR_ITEMS + 1, "int8")
        f.attrs["names"] = [b"a", b"b"]
        f.attrs["compound"] = np.zeros(2, dtype=[("a", "i4"), ("b", "f4")])
    with h5py.File(path, "r") as f:
        with pytest.raises(UnsafeFileError, match="'grid' has shape"):
            h5_guard.read_attr(f, "grid", "a.h5")
        with pytest.raises(UnsafeFileError, match="'many' has shape"):
            h5_guard.read_attr(f, "many", "a.h5")
        with pytest.raises(UnsafeFileError, match="neither strings nor numbers"):
            h5_guard.read_attr(f, "compound", "a.h5")
        names = h5_guard.read_attr(f, "names", "a.h5")
        assert [v.decode() if isinstance(v, bytes) else v for v in names] == ["a", "b"]
        assert h5_guard.read_attr(f, "absent", "a.h5") is None


@pytest.mark.parametrize("cut", [100, 800, 2000])
def test_truncated_hdf5_gives_neuronas_error(cut, tmp_path):
    model = _model()
    model.save(tmp_path / "m.h5")
    data = (tmp_path / "m.h5").read_bytes()
    bad = tmp_path / "bad.h5"
    bad.write_bytes(data[:cut])
    for load in (load_model, load_keras_model, lambda p: _model().load_weights(p)):
        with pytest.raises(UnsafeFileError, match="bad.h5"):
            load(bad)


# ------------------------------------------------------------------------------------------ zips
def _neurona_members(tmp_path) -> dict[str, bytes]:
    path = tmp_path / "ok.neurona"
    _model().save(path)
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist()}


def _patch_name(path, old: bytes, new: bytes, set_utf8: bool = False) -> None:
    data = bytearray(path.read_bytes())
    for signature, flag_at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = data.find(signature)
        while at != -1:
            if set_utf8:
                data[at + flag_at + 1] |= 0x08  # general-purpose bit 11: the name is UTF-8
            at = data.find(signature, at + 4)
    path.write_bytes(bytes(data).replace(old, new))


def test_member_with_an_empty_name_is_refused(tmp_path):
    path = tmp_path / "m.neurona"
    with zipfile.ZipFile(path, "w") as z:
        for name, data in _neurona_members(tmp_path).items():
            z.writestr(name, data)
        z.writestr("x", b"{}")
    data = path.read_bytes()
    # Shrink the name "x" to nothing in both headers is not possible in place; make it a NUL instead.
    path.write_bytes(data.replace(b"x{}", b"\x00{}").replace(b"\x00\x00x", b"\x00\x00\x00"))
    with pytest.raises(UnsafeFileError, match="m.neurona"):
        load_model(path)


def test_member_name_that_is_not_utf8_is_refused(tmp_path):
    path = tmp_path / "m.neurona"
    with zipfile.ZipFile(path, "w") as z:
        for name, data in _neurona_members(tmp_path).items():
            z.writestr(name, data)
    _patch_name(path, b"metadata.json", b"metadat\xff.json", set_utf8=True)
    for load in (load_model, lambda p: _model().load_weights(p)):
        with pytest.raises(UnsafeFileError, match=r"m\.neurona: corrupt .neurona archive \(UnicodeDecodeError"):
            load(path)


def test_damaged_zip64_locator_is_refused(tmp_path):
    path = tmp_path / "m.neurona"
    with zipfile.ZipFile(path, "w") as z:
        for name, data in _neurona_members(tmp_path).items():
            z.writestr(name, data)
    data = path.read_bytes()
    eocd = data.rfind(b"PK\x05\x06")
    # A zip64 locator naming disk 1: zipfile raised a raw BadZipFile ("span multiple disks") from is_zipfile,
    # which ran outside the reader's try; other damaged locators must be refused the same way.
    locator = b"PK\x06\x07" + struct.pack("<IQI", 1, 0, 1)
    path.write_bytes(data[:eocd] + locator + data[eocd:])
    for load in (load_model, lambda p: _model().load_weights(p)):
        with pytest.raises(UnsafeFileError, match="corrupt .neurona archive.*multiple disks"):
            load(path)
    path.write_bytes(data[:eocd] + b"PK\x06\x07" + struct.pack("<IQI", 0, 2**62, 1) + data[eocd:])
    with pytest.raises(UnsafeFileError, match="corrupt .neurona archive"):
        load_model(path)


def test_garbage_after_a_zip_signature_is_refused(tmp_path):
    path = tmp_path / "m.neurona"
    path.write_bytes(b"PK\x03\x04" + os.urandom(200))
    with pytest.raises(UnsafeFileError, match="m.neurona"):
        load_model(path)


def test_members_are_held_once_while_read(tmp_path):
    path = tmp_path / "big.neurona"
    payload = np.random.default_rng(0).bytes(8 * 2**20)  # incompressible: stored as it is
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("model.safetensors", payload)
    with zipfile.ZipFile(path) as z:
        info = z.getinfo("model.safetensors")
        tracemalloc.start()
        try:
            data = archive.read_member(z, info, str(path))
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert bytes(data) == payload
    assert peak < 1.3 * len(payload), f"peak {peak / 2**20:.1f} MiB for an 8 MiB member"


# ------------------------------------------------------------------------------------------ format sniffing
def test_each_loader_names_what_the_file_really_is(tmp_path):
    model = _model()
    model.save(tmp_path / "m.neurona")
    model.save(tmp_path / "m.keras")
    model.save_weights(tmp_path / "w.safetensors")
    model.save_weights(tmp_path / "w.weights.h5")
    with pytest.raises(UnsafeFileError, match="this is a safetensors weights file .use model.load_weights"):
        load_model(tmp_path / "w.safetensors")
    with pytest.raises(UnsafeFileError, match=r"this is a \.neurona archive \(use neurona.models.load_model\)"):
        load_keras_model(tmp_path / "m.neurona")
    with pytest.raises(UnsafeFileError, match="not a Keras weights file.*this is a safetensors weights file"):
        load_keras_weights(model, tmp_path / "w.safetensors")
    with pytest.raises(ValueError, match="holds only weights"):
        load_model(tmp_path / "w.weights.h5")
    torch_like = tmp_path / "model.pt"
    with zipfile.ZipFile(torch_like, "w") as z:
        z.writestr("archive/data.pkl", b"\x80\x02}q\x00.")
    with pytest.raises(UnsafeFileError, match="PyTorch checkpoint.*never unpickles"):
        load_model(torch_like)
    assert load_model(tmp_path / "m.keras").count_params() == 8


# ------------------------------------------------------------------------------------------ configs
def _keras_with(tmp_path, edit):
    path = tmp_path / "m.keras"
    Sequential([Input((3,)), Dense(2, name="dense")]).save(path)
    rewrite_config(path, edit)
    return path


def _functional(config):
    config["class_name"] = "Functional"
    config["config"].pop("build_input_shape", None)


@pytest.mark.parametrize("edit, match", [
    (lambda c: (_functional(c), c["config"].pop("input_layers", None)), "no list 'input_layers'"),
    (lambda c: c["config"]["layers"].append(7), "a layer of the Keras config is a int"),
    (lambda c: c["config"]["layers"].__setitem__(1, {"class_name": "Dense", "config": [1, 2]}), "not a JSON object"),
    (lambda c: c.__setitem__("config", [1]), "config is a list"),
    (lambda c: c["config"]["layers"][1].update(
        {"class_name": "Lambda", "config": {"name": "f", "function": {"class_name": "__lambda__",
                                                                      "config": {"code": "4wEAAA=="}}}}),
     "Lambda layer"),
])
def test_malformed_keras_configs_are_refused_naming_the_file(edit, match, tmp_path):
    path = _keras_with(tmp_path, edit)
    with pytest.raises(ValueError, match=match) as info:
        load_keras_model(path)
    assert str(path) in str(info.value)


def test_lambda_function_dict_without_custom_objects_is_refused_in_unsafe_mode(tmp_path):
    def edit(c):
        c["config"]["layers"].append({"class_name": "Lambda", "config": {
            "name": "f", "function": {"class_name": "__lambda__", "config": {"code": "4wEAAA=="}}}})

    path = _keras_with(tmp_path, edit)
    with pytest.raises(ValueError, match="never runs the code stored in a file"):
        load_keras_model(path, safe_mode=False)


def test_torch_state_dict_missing_a_tensor_names_it():
    model = Sequential([Input((3,)), Dense(2, name="fc")])
    with pytest.raises(ValueError, match=r"module 'fc': the PyTorch module has no tensor 'weight' for Dense 'fc'"):
        load_torch_weights(model, {"fc.bias": np.zeros(2, np.float32)})


def test_zero_size_tensor_with_absurd_dimensions_is_refused(tmp_path):
    members = _neurona_members(tmp_path)
    header = json.dumps({"dense/kernel": {"dtype": "F32", "shape": [0, 2**62, 2**62], "data_offsets": [0, 0]}})
    members["model.safetensors"] = struct.pack("<Q", len(header)) + header.encode()
    path = tmp_path / "z.neurona"
    with zipfile.ZipFile(path, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    for load in (load_model, lambda p: _model().load_weights(p)):
        with pytest.raises(UnsafeFileError, match=r"z\.neurona:model\.safetensors"):
            load(path)


def test_conv_config_with_an_infinite_kernel_size_is_a_clear_error():
    """Found by the fuzzer (fuzz/regressions/neurona/OverflowError-*): int(inf) raised OverflowError."""
    with pytest.raises(ValueError, match="kernel_size must be a positive int"):
        layers.Conv1D.from_config({"filters": 2, "kernel_size": float("inf")})


def test_functional_config_with_a_dict_where_a_reference_belongs_is_a_clear_error():
    """Found by the fuzzer: a dict where a tensor reference belongs was iterated key by key, and a
    one-character string iterates into itself until RecursionError."""
    path = next((Path(__file__).parent.parent / "fuzz" / "regressions" / "neurona").glob("RecursionError-*.neurona"))
    with pytest.raises(ValueError, match="tensor reference"):
        load_model(path)
