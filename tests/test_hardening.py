"""Regression tests for issue 23 (hardening): thread-local grad mode, file-system-respecting saves,
validated scalars and arguments."""

from __future__ import annotations

import json
import os
import threading
import zipfile

import numpy as np
import pytest

import neurona as nn
from neurona import layers
from neurona.saving import atomic, safetensors_io


def _small_model(seed: int = 0) -> nn.Sequential:
    nn.utils.set_random_seed(seed)
    model = nn.Sequential([layers.Input(shape=(4,)), layers.Dense(8, activation="relu"), layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse", run_eagerly=True)
    return model


def test_no_grad_in_one_thread_does_not_leak_into_another():
    inside, release = threading.Event(), threading.Event()
    seen: list[bool] = []

    def holder() -> None:
        with nn.no_grad():
            inside.set()
            release.wait(5)

    t = threading.Thread(target=holder)
    t.start()
    try:
        assert inside.wait(5)
        seen.append(nn.is_grad_enabled())
        x = nn.Tensor(np.ones(3), requires_grad=True)
        (x * x).sum().backward()
        np.testing.assert_allclose(x.grad, 2 * np.ones(3))
    finally:
        release.set()
        t.join()
    assert seen == [True]
    assert nn.is_grad_enabled()


def test_concurrent_predict_and_fit_share_a_model():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 4)).astype("float32")
    y = x.sum(axis=1, keepdims=True)
    model = _small_model()
    errors: list[BaseException] = []
    stop = threading.Event()

    def serve() -> None:
        try:
            while not stop.is_set():
                model.predict(x, batch_size=4, verbose=0)  # mostly inside no_grad()
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)

    server = threading.Thread(target=serve)
    server.start()
    try:
        history = model.fit(x, y, epochs=15, batch_size=8, verbose=0)
    finally:
        stop.set()
        server.join()
    assert not errors, errors
    losses = history.history["loss"]
    assert np.isfinite(losses).all() and losses[-1] < losses[0]


def test_add_loss_terms_stay_in_their_thread():
    from neurona.layers.forward_state import pending_losses

    class Penalised(layers.Layer):
        def call(self, inputs, training=False):
            self.add_loss((inputs * inputs).sum())
            return inputs

    t = threading.Thread(target=lambda: Penalised()(nn.Tensor(np.ones((2, 3)))))
    t.start()
    t.join()
    assert pending_losses() == []


# ------------------------------------------------------------------------------ saves that respect the file system
def _tmp_siblings(directory) -> list[str]:
    return sorted(n for n in os.listdir(directory) if n.endswith(".tmp"))


def test_save_refuses_a_write_protected_file_naming_the_users_path(tmp_path):
    target = tmp_path / "model.neurona"
    target.write_bytes(b"precious")
    os.chmod(target, 0o444)
    with pytest.raises(PermissionError, match="model.neurona.*write-protected") as info:
        _small_model().save(target)
    assert ".tmp" not in str(info.value)
    assert target.read_bytes() == b"precious"
    assert os.stat(target).st_mode & 0o777 == 0o444
    assert _tmp_siblings(tmp_path) == []


def test_save_through_a_symlink_writes_its_target_and_keeps_the_link(tmp_path):
    real_dir, link_dir = tmp_path / "real", tmp_path / "links"
    real_dir.mkdir()
    link_dir.mkdir()
    real = real_dir / "model.neurona"
    real.write_bytes(b"old")
    os.chmod(real, 0o640)
    link = link_dir / "current.neurona"
    link.symlink_to(real)
    model = _small_model()
    model.save(link)
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert os.stat(real).st_mode & 0o777 == 0o640
    x = np.ones((2, 4), "float32")
    np.testing.assert_array_equal(nn.models.load_model(real).predict(x, verbose=0), model.predict(x, verbose=0))
    assert _tmp_siblings(real_dir) == [] and _tmp_siblings(link_dir) == []


def test_failed_rename_reports_the_users_path_and_removes_the_temp(tmp_path, monkeypatch):
    target = tmp_path / "w.bin"
    target.write_bytes(b"old")

    def refused(src, dst):
        raise PermissionError(13, "Permission denied", src)

    monkeypatch.setattr(atomic.os, "replace", refused)
    with pytest.raises(PermissionError, match="w.bin") as info:
        atomic.write_bytes_atomic(target, b"new")
    assert ".tmp" not in str(info.value)
    assert target.read_bytes() == b"old" and _tmp_siblings(tmp_path) == []


def test_interrupted_write_removes_its_temp(tmp_path):
    target = tmp_path / "w.bin"
    with pytest.raises(KeyboardInterrupt), atomic.atomic_write(target) as f:
        f.write(b"half")
        raise KeyboardInterrupt
    assert os.listdir(tmp_path) == []


def test_next_save_removes_temps_of_a_killed_save_but_not_of_a_live_one(tmp_path):
    target = tmp_path / "model.neurona"
    stale = tmp_path / ".model.neurona.k1lled_9.tmp"
    stale.write_bytes(b"orphan of kill -9")
    other = tmp_path / ".other.neurona.k1lled_9.tmp"  # another file's temp: not ours to remove
    other.write_bytes(b"x")
    with atomic.atomic_write(target) as f:  # a save still running holds its temp file
        f.write(b"live")
        live = [n for n in _tmp_siblings(tmp_path) if n not in {stale.name, other.name}]
        assert len(live) == 1
        _small_model().save(target.with_name("model.neurona"))
        if hasattr(os, "fork"):  # flock is POSIX; elsewhere an open file cannot be deleted anyway
            assert live[0] in _tmp_siblings(tmp_path)
    assert not stale.exists() and other.exists()
    assert _tmp_siblings(tmp_path) == [other.name]


# ------------------------------------------------------------------------------ values from files and arguments
def _rewrite_optimizer_scalars(path, **changes) -> None:
    with zipfile.ZipFile(path) as z:
        members = {i.filename: z.read(i) for i in z.infolist()}
    arrays, meta = safetensors_io.loads(members["optimizer.safetensors"])
    scalars = json.loads(meta["scalars"])
    assert set(changes) <= set(scalars), scalars  # the keys a real save writes
    meta["scalars"] = json.dumps({**scalars, **changes})
    members["optimizer.safetensors"] = safetensors_io.dumps(arrays, meta)
    with zipfile.ZipFile(path, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)


@pytest.mark.parametrize("changes, match", [
    ({"_learning_rate": float("nan")}, "_learning_rate.*nan"),
    ({"iterations": -5}, "iterations.*-5"),
    ({"_learning_rate": -0.5}, "learning_rate must be a non-negative"),
    ({"clipnorm": -1.0}, "clipnorm must be a positive"),
])
def test_optimizer_scalars_from_a_file_go_through_the_optimizers_checks(tmp_path, changes, match):
    model = _small_model()
    if "clipnorm" in changes:
        model.compile(optimizer=nn.optimizers.SGD(clipnorm=1.0), loss="mse")
    x = np.ones((4, 4), "float32")
    model.fit(x, x[:, :1], epochs=1, verbose=0)
    path = tmp_path / "m.neurona"
    model.save(path)
    nn.models.load_model(path)  # the untouched file loads
    _rewrite_optimizer_scalars(path, **changes)
    with pytest.raises(ValueError, match=match):
        nn.models.load_model(path)


@pytest.mark.parametrize("shape, match", [((3.5,), "holds 3.5"), ("abc", "tuple of sizes"), ((True, 2), "holds True"),
                                          ((4, "x"), "holds 'x'")])
def test_input_shape_must_hold_whole_sizes(shape, match):
    with pytest.raises(ValueError, match=match):
        layers.Input(shape=shape)


def test_input_shape_accepts_numpy_integers_and_none():
    assert layers.Input(shape=(np.int64(3), None)).shape == (None, 3, None)


@pytest.mark.parametrize("weights", ["abc", ["x"], [float("nan")], {"dense": float("inf")}])
def test_compile_refuses_loss_weights_that_are_not_numbers(weights):
    model = _small_model()
    with pytest.raises(ValueError, match="loss_weights.*finite number"):
        model.compile(optimizer="sgd", loss="mse", loss_weights=weights)


@pytest.mark.parametrize("kind", ["U", "S"])
def test_fit_and_predict_refuse_text_for_a_numeric_input(kind):
    model = _small_model()
    x = np.full((3, 4), "1.5").astype(kind)
    with pytest.raises(TypeError, match=r"x holds text.*expects numbers"):
        model.fit(x, np.ones((3, 1)), verbose=0)
    with pytest.raises(TypeError, match=r"x holds text.*expects numbers"):
        model.predict(x, verbose=0)


# ------------------------------------------------------------------------------ format sniffing
def _torch_like_zip(path) -> None:
    with zipfile.ZipFile(path, "w") as z:  # the layout torch.save writes since PyTorch 1.6
        z.writestr("archive/data.pkl", b"\x80\x02}q\x00.")
        z.writestr("archive/version", b"3\n")


@pytest.mark.parametrize("make, match", [
    (_torch_like_zip, "zip archive.*PyTorch .pt"),
    (lambda p: p.write_bytes(b"\x80\x02}q\x00(X\x01\x00\x00\x00wq\x01." + b"\0" * 64), "pickle.*legacy PyTorch"),
    (lambda p: p.write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 64), "HDF5"),
    (lambda p: _small_model().save(p.with_suffix(".neurona")) or p.write_bytes(p.with_suffix(".neurona").read_bytes()),
     "zip archive.*neurona"),
])
def test_safetensors_reader_names_the_format_it_was_given(tmp_path, make, match):
    path = tmp_path / "weights.safetensors"
    make(path)
    with pytest.raises(nn.saving.UnsafeFileError, match=match) as info:
        safetensors_io.load_file(path)
    assert "header declares" not in str(info.value)
    with pytest.raises(nn.saving.UnsafeFileError, match=match):
        safetensors_io.loads(path.read_bytes())



def test_load_weights_names_a_pickled_pt_file(tmp_path):
    path = tmp_path / "weights.safetensors"
    path.write_bytes(b"\x80\x02}q\x00(X\x01\x00\x00\x00wq\x01." + b"\0" * 64)
    with pytest.raises(nn.saving.UnsafeFileError, match="pickle.*never unpickles"):
        _small_model().load_weights(path)


# ------------------------------------------------------------------------------ CLI outputs checked first
@pytest.mark.parametrize("where", ["protected", "under_a_file", "is_a_folder"])
def test_cli_train_checks_its_output_before_training(tmp_path, capsys, monkeypatch, where):
    from neurona.cli import main
    from neurona.models import Model

    rng = np.random.default_rng(0)
    rows = "\n".join(f"{a:.3f},{b:.3f},{a - b:.3f}" for a, b in rng.normal(size=(40, 2)))
    data = tmp_path / "d.csv"
    data.write_text("a,b,y\n" + rows + "\n")
    if where == "protected":
        out = tmp_path / "m.neurona"
        out.write_bytes(b"an older model")
        os.chmod(out, 0o444)
    elif where == "under_a_file":
        out = tmp_path / "d.csv" / "m.neurona"
    else:
        out = tmp_path / "folder.neurona"
        out.mkdir()

    def no_training(*args, **kwargs):
        raise AssertionError("fit() ran although the output cannot be written")

    monkeypatch.setattr(Model, "fit", no_training)
    code = main(["train", str(data), "--target", "y", "--model", str(out), "--epochs", "3"])
    err = capsys.readouterr().err
    assert code == 2 and "cannot write" in err and str(out) in err
    assert _tmp_siblings(tmp_path) == []


def test_backup_and_restore_cleans_up_after_a_save_killed_mid_write(tmp_path):
    backup = tmp_path / "backup"
    backup.mkdir()
    (backup / ".latest.neurona.q7k2m9x1.tmp").write_bytes(b"half a checkpoint")  # kill -9 during a save
    model = _small_model()
    x = np.ones((8, 4), "float32")
    model.fit(x, x[:, :1], epochs=2, verbose=0, callbacks=[nn.callbacks.BackupAndRestore(backup)])
    assert not backup.exists()  # the completed run removed its backup folder, orphan included
