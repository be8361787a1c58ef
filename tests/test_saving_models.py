"""Models through files: save -> load -> predict bitwise, compile and optimizer state restored, resumable
training (BackupAndRestore), atomic checkpoints, weights-only files and JSON architectures."""

from __future__ import annotations

import os
import shutil

import numpy as np
import pytest
from layer_cases import CASES

from neurona import layers, optimizers, saving
from neurona import random as nrandom
from neurona.callbacks import Callback, ModelCheckpoint
from neurona.callbacks.backup import BackupAndRestore
from neurona.layers import Dense, Dropout, Flatten, Input, Reshape
from neurona.models import Model, Sequential, load_model
from neurona.saving import atomic, safetensors_io

RNG = np.random.default_rng(1234)

# name -> (factory, per-sample input shape, input kind): the shared table of tests/layer_cases.py.
LAYER_CASES = {name: (case.make, case.shape, case.kind) for name, case in CASES.items()}
MERGES = ("Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate", "Dot")


def _layer(name: str):
    try:
        return LAYER_CASES[name][0]()
    except AttributeError:
        pytest.skip(f"neurona.layers has no {name} yet")


def _inputs(shape: tuple, kind: str, n: int = 4) -> np.ndarray:
    if kind == "int":
        return RNG.integers(0, 10, size=(n, *shape))
    return RNG.standard_normal((n, *shape)).astype(np.float32) * 3 + 1


def _randomize(model) -> None:
    """Give every weight distinctive values, so a weight that is not restored cannot go unnoticed."""
    for w in model.weights:
        values = RNG.standard_normal(w.shape) * 0.5
        if "variance" in (w.name or ""):
            values = np.abs(values) + 0.5
        w.data[...] = values.astype(w.dtype)


def _roundtrip(model, tmp_path, **kwargs):
    path = tmp_path / "model.neurona"
    model.save(path)
    return load_model(path, **kwargs)


def _same_weights(a, b) -> bool:
    wa, wb = a.get_weights(), b.get_weights()
    return len(wa) == len(wb) and all(x.dtype == y.dtype and np.array_equal(x, y) for x, y in zip(wa, wb))


# ------------------------------------------------------------------------------------------ every layer
@pytest.mark.parametrize("name", sorted(LAYER_CASES))
def test_layer_save_load_predict_bitwise(name, tmp_path):
    _, shape, kind = LAYER_CASES[name]
    layer = _layer(name)
    inp = Input(shape=shape, dtype="int64" if kind == "int" else None)
    model = Model(inp, layer(inp))
    _randomize(model)
    loaded = _roundtrip(model, tmp_path)
    x = _inputs(shape, kind)
    expected, got = model.predict(x, verbose=0), loaded.predict(x, verbose=0)
    assert got.dtype == expected.dtype
    np.testing.assert_array_equal(got, expected)
    assert _same_weights(model, loaded)
    assert loaded.get_config() == model.get_config()


@pytest.mark.parametrize("merge", MERGES)
def test_merge_layers_in_a_two_input_model(merge, tmp_path):
    a, b = Input(shape=(4,)), Input(shape=(4,))
    layer = layers.Dot(axes=1) if merge == "Dot" else getattr(layers, merge)()
    out = Dense(2)(layer([Dense(4)(a), Dense(4)(b)]))
    model = Model([a, b], out)
    _randomize(model)
    loaded = _roundtrip(model, tmp_path)
    xs = [_inputs((4,), "float"), _inputs((4,), "float")]
    np.testing.assert_array_equal(loaded.predict(xs, verbose=0), model.predict(xs, verbose=0))


def test_sequential_slide_model_roundtrip(tmp_path):
    model = Sequential([Reshape((28, 28), input_shape=(784,)), Flatten(), Dense(10, activation="sigmoid"),
                        Dropout(0.2), Dense(10, activation="softmax")])
    _randomize(model)
    loaded = _roundtrip(model, tmp_path)
    assert type(loaded) is Sequential and [la.name for la in loaded.layers] == [la.name for la in model.layers]
    x = _inputs((784,), "float", n=16)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_weight_names_are_layer_qualified(tmp_path):
    model = Sequential([Dense(3, input_shape=(2,), name="hidden"), Dense(1, name="out")])
    model.save_weights(tmp_path / "w.safetensors")
    arrays, _ = safetensors_io.load_file(tmp_path / "w.safetensors")
    assert list(arrays) == ["hidden/kernel", "hidden/bias", "out/kernel", "out/bias"]
    st = pytest.importorskip("safetensors.numpy")
    assert set(st.load_file(str(tmp_path / "w.safetensors"))) == set(arrays)


def test_lambda_needs_its_function_registered_or_passed(tmp_path):
    def double_it(x):
        return x * 2

    model = Sequential([Dense(3, input_shape=(2,)), layers.Lambda(double_it)])
    model.save(tmp_path / "m.neurona")
    with pytest.raises(saving.UnsafeFileError, match="double_it"):
        load_model(tmp_path / "m.neurona")
    loaded = load_model(tmp_path / "m.neurona", custom_objects={"double_it": double_it})
    x = _inputs((2,), "float")
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


@saving.register_serializable(package="test_models")
class Scale(layers.Layer):
    def __init__(self, factor=2.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def call(self, inputs):
        return inputs * self.factor

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


def test_custom_layer_through_the_registry(tmp_path):
    model = Sequential([Dense(3, input_shape=(2,)), Scale(3.0)])
    loaded = _roundtrip(model, tmp_path)
    assert isinstance(loaded.layers[-1], Scale) and loaded.layers[-1].factor == 3.0


# ------------------------------------------------------------------------------------------ compile + resume
def _data(n: int = 48):
    rng = np.random.default_rng(7)
    x = rng.standard_normal((n, 4)).astype(np.float32)
    y = np.eye(3, dtype=np.float32)[rng.integers(0, 3, n)]
    return x, y


def _classifier(optimizer="adam", seed: int = 0):
    nrandom.set_seed(seed)
    model = Sequential([Dense(8, activation="relu", input_shape=(4,)), Dropout(0.25),
                        Dense(3, activation="softmax")])
    model.compile(optimizer=optimizers.get(optimizer) if isinstance(optimizer, dict) else optimizer,
                  loss="categorical_crossentropy", metrics=["accuracy"])
    return model


def test_compile_settings_restored(tmp_path):
    from neurona import losses

    model = Sequential([Dense(3, activation="softmax", input_shape=(4,))])
    model.compile(optimizer=optimizers.SGD(learning_rate=0.05, momentum=0.9, nesterov=True),
                  loss=losses.CategoricalCrossentropy(label_smoothing=0.1), metrics=["accuracy", "mse"])
    loaded = _roundtrip(model, tmp_path)
    assert loaded.compiled
    assert type(loaded.optimizer) is optimizers.SGD
    assert loaded.optimizer.get_config() == model.optimizer.get_config()
    assert isinstance(loaded.loss, losses.CategoricalCrossentropy)
    assert loaded.loss.get_config() == model.loss.get_config()
    assert loaded._compile_args["metrics"] == ["accuracy", "mse"]
    x, y = _data()
    np.testing.assert_array_equal(loaded.evaluate(x, y, verbose=0), model.evaluate(x, y, verbose=0))
    assert not _roundtrip(model, tmp_path, compile=False).compiled


OPTIMIZERS = ["sgd", {"class_name": "SGD", "config": {"momentum": 0.9, "nesterov": True}}, "adam", "adamw",
              "nadam", "adamax", "rmsprop", "adagrad", "adadelta"]


@pytest.mark.parametrize("optimizer", OPTIMIZERS, ids=lambda o: o if isinstance(o, str) else "sgd_nesterov")
def test_training_continues_after_load_exactly(optimizer, tmp_path):
    x, y = _data()
    reference = _classifier(optimizer)
    reference.fit(x, y, epochs=4, batch_size=8, verbose=0)
    model = _classifier(optimizer)
    model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    model.save(tmp_path / "half.neurona")
    resumed = load_model(tmp_path / "half.neurona")  # loading leaves the random stream where it was
    assert resumed.optimizer.iterations == model.optimizer.iterations
    resumed.fit(x, y, epochs=2, batch_size=8, verbose=0)
    assert _same_weights(reference, resumed)


def test_load_model_does_not_touch_the_random_stream(tmp_path):
    model = _classifier()
    model.save(tmp_path / "m.neurona")
    before = nrandom.get_rng().bit_generator.state
    load_model(tmp_path / "m.neurona")
    assert nrandom.get_rng().bit_generator.state == before


class _Crash(Callback):
    def __init__(self, at_epoch: int) -> None:
        super().__init__()
        self.at_epoch = at_epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.at_epoch:
            raise RuntimeError("simulated crash")


class _CtrlC(Callback):
    """Ctrl-C in the middle of epoch 2: neurona's fit stops there and returns normally."""

    def on_train_batch_end(self, batch, logs=None):
        if self.model.optimizer.iterations == 2 * 6 + 3:
            raise KeyboardInterrupt


@pytest.mark.parametrize("shuffle", [True, False])
@pytest.mark.parametrize("crash", ["exception", "ctrl-c"])
def test_backup_and_restore_resumes_bitwise(shuffle, crash, tmp_path, capsys):
    x, y = _data()
    backup = tmp_path / "backup"
    reference = _classifier()
    reference.fit(x, y, epochs=5, batch_size=8, shuffle=shuffle, verbose=0)

    interrupted = _classifier()
    if crash == "exception":
        with pytest.raises(RuntimeError, match="simulated crash"):
            interrupted.fit(x, y, epochs=5, batch_size=8, shuffle=shuffle, verbose=0,
                            callbacks=[BackupAndRestore(backup), _Crash(at_epoch=2)])
        resumes_at = 3
    else:
        interrupted.fit(x, y, epochs=5, batch_size=8, shuffle=shuffle, verbose=0,
                        callbacks=[BackupAndRestore(backup), _CtrlC()])
        assert "interrupted" in capsys.readouterr().out
        resumes_at = 2  # epoch 2 was cut short: it runs again from its start
    assert os.path.exists(backup / "latest.neurona")  # an interrupted run keeps its backup

    rerun = _classifier()  # the script run again from the top: same seed, fresh model
    history = rerun.fit(x, y, epochs=5, batch_size=8, shuffle=shuffle, verbose=0,
                        callbacks=[BackupAndRestore(backup)])
    assert history.epoch == list(range(resumes_at, 5))
    assert _same_weights(reference, rerun)
    assert not os.path.exists(backup)  # a completed run removes its backup


def test_backup_and_restore_options_and_bad_backup(tmp_path):
    with pytest.raises(ValueError, match="save_freq must be 'epoch'"):
        BackupAndRestore(tmp_path, save_freq=10)
    x, y = _data()
    model = _classifier()
    model.fit(x, y, epochs=1, verbose=0, callbacks=[BackupAndRestore(tmp_path / "keep", delete_checkpoint=False)])
    assert os.path.exists(tmp_path / "keep" / "latest.neurona")
    os.makedirs(tmp_path / "bad")
    (tmp_path / "bad" / "latest.neurona").write_bytes(b"\x80\x04not a zip")
    with pytest.raises(saving.UnsafeFileError, match="not a .neurona archive"):
        _classifier().fit(x, y, epochs=1, verbose=0, callbacks=[BackupAndRestore(tmp_path / "bad")])


# ------------------------------------------------------------------------------------------ atomic checkpoints
def test_model_checkpoint_writes_through_atomic_rename(tmp_path, monkeypatch):
    renames = []
    real_replace = os.replace

    def recording_replace(src, dst):
        renames.append((os.path.dirname(src), os.path.basename(dst)))
        real_replace(src, dst)

    monkeypatch.setattr(atomic.os, "replace", recording_replace)
    x, y = _data()
    model = _classifier()
    saved = {}
    for weights_only, name in ((False, "ckpt.neurona"), (True, "ckpt.safetensors")):
        model.fit(x, y, epochs=2, verbose=0,
                  callbacks=[ModelCheckpoint(str(tmp_path / name), save_weights_only=weights_only,
                                             monitor="loss")])
        assert renames[-2:] == [(str(tmp_path), name)] * 2
        saved[name] = model.get_weights()
    assert sorted(os.listdir(tmp_path)) == ["ckpt.neurona", "ckpt.safetensors"]  # no temporary files left
    for name, weights in saved.items():
        restored = _classifier(seed=5)
        restored.load_weights(tmp_path / name)
        assert all(np.array_equal(a, b) for a, b in zip(restored.get_weights(), weights))


def test_failed_save_leaves_the_old_file_intact(tmp_path, monkeypatch):
    path = tmp_path / "m.neurona"
    x, y = _data()
    model = _classifier()
    model.save(path)
    old_bytes = path.read_bytes()
    model.fit(x, y, epochs=1, verbose=0)

    def broken_replace(src, dst):
        raise OSError("no space left on device")

    with monkeypatch.context() as m:
        m.setattr(atomic.os, "replace", broken_replace)
        with pytest.raises(OSError, match="no space left"):
            model.save(path)
        with pytest.raises(OSError, match="no space left"):
            model.fit(x, y, epochs=1, verbose=0, callbacks=[ModelCheckpoint(str(path), monitor="loss")])
    assert path.read_bytes() == old_bytes
    assert os.listdir(tmp_path) == ["m.neurona"]

    model.weights[0].data = model.weights[0].data.astype(object)  # a weight that cannot be serialized
    with pytest.raises(TypeError, match="dtype object"):
        model.save(path)
    assert path.read_bytes() == old_bytes and os.listdir(tmp_path) == ["m.neurona"]


def test_subclassed_model_without_config_is_refused_before_writing(tmp_path):
    class Net(Model):
        def __init__(self):
            super().__init__()
            self.dense = Dense(2)

        def call(self, inputs, training=False):
            return self.dense(inputs)

    net = Net()
    net.predict(np.ones((2, 3), np.float32), verbose=0)
    with pytest.raises(NotImplementedError, match="get_config"):
        net.save(tmp_path / "net.neurona")
    assert os.listdir(tmp_path) == []
    net.save_weights(tmp_path / "net.safetensors")  # weights alone work for any model
    other = Net()
    other.predict(np.ones((2, 3), np.float32), verbose=0)
    other.load_weights(tmp_path / "net.safetensors")
    assert _same_weights(net, other)


# ------------------------------------------------------------------------------------------ weights and JSON
def test_weights_roundtrip_into_a_rebuilt_model(tmp_path):
    model = _classifier()
    _randomize(model)
    model.save_weights(tmp_path / "w.safetensors")
    model.save(tmp_path / "m.neurona")
    for source in ("w.safetensors", "m.neurona"):
        rebuilt = _classifier(seed=99)  # same architecture, new automatic layer names
        rebuilt.load_weights(tmp_path / source)
        assert _same_weights(model, rebuilt)


def test_load_weights_mismatch_is_clear_and_changes_nothing(tmp_path):
    model = _classifier()
    model.save_weights(tmp_path / "w.safetensors")
    other = Sequential([Dense(8, activation="relu", input_shape=(4,)), Dense(2)])
    before = other.get_weights()
    with pytest.raises(ValueError, match=r"shape \(8, 3\) in the file.*shape \(8, 2\)"):
        other.load_weights(tmp_path / "w.safetensors")
    assert all(np.array_equal(a, b) for a, b in zip(before, other.get_weights()))
    other.load_weights(tmp_path / "w.safetensors", skip_mismatch=True)  # loads what fits, skips the rest
    np.testing.assert_array_equal(other.get_weights()[0], model.get_weights()[0])
    np.testing.assert_array_equal(other.get_weights()[2], before[2])
    smaller = Sequential([Dense(8, input_shape=(4,))])
    with pytest.raises(ValueError, match="holds 4 weights, model .* has 2"):
        smaller.load_weights(tmp_path / "w.safetensors")
    with pytest.raises(FileNotFoundError):
        smaller.load_weights(tmp_path / "missing.safetensors")


def test_json_architecture_roundtrip():
    from neurona.models import model_from_json

    model = _classifier()
    text = saving.model_to_json(model)
    for rebuilt in (saving.model_from_json(text), model_from_json(model.to_json())):
        assert rebuilt.get_config() == model.get_config()
        assert [w.shape for w in rebuilt.weights] == [w.shape for w in model.weights]


def test_save_refuses_non_finite_json_and_unknown_options(tmp_path):
    model = _classifier()
    with pytest.raises(TypeError, match="unexpected arguments"):
        saving.save_model(model, tmp_path / "m.neurona", zipped=False)
    with pytest.raises(ValueError, match="own .neurona format"):
        saving.save_model(model, tmp_path / "m.neurona", save_format="h5")
    assert os.listdir(tmp_path) == []


def test_overwrite_false_keeps_existing_file(tmp_path):
    model = _classifier()
    model.save(tmp_path / "m.neurona")
    with pytest.raises(FileExistsError):
        model.save(tmp_path / "m.neurona", overwrite=False)
    shutil.copy(tmp_path / "m.neurona", tmp_path / "copy.neurona")
    assert load_model(tmp_path / "copy.neurona").get_config() == model.get_config()
