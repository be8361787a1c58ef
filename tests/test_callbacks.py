"""Callbacks (hooks, History, EarlyStopping, ModelCheckpoint, learning-rate control, CSVLogger,
TerminateOnNaN, LambdaCallback) and the progress display."""

import csv
import io
import math
import re

import numpy as np
import pytest

from neurona.callbacks import (
    Callback,
    CSVLogger,
    EarlyStopping,
    History,
    LambdaCallback,
    LearningRateScheduler,
    ModelCheckpoint,
    ReduceLROnPlateau,
    TerminateOnNaN,
    progress,
)
from neurona.layers import Dense
from neurona.layers.base import clear_session
from neurona.models import Sequential
from neurona.utils import set_random_seed


@pytest.fixture(autouse=True)
def _fresh():
    clear_session()
    set_random_seed(0)


def data(n=40):
    r = np.random.default_rng(0)
    x = r.normal(size=(n, 3)).astype(np.float32)
    return x, (x[:, 0] > 0).astype(np.int64)


def model(lr="sgd"):
    m = Sequential([Dense(2, activation="softmax", input_shape=(3,))])
    m.compile(optimizer=lr, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return m


HOOKS = [name for name in dir(Callback) if name.startswith("on_")]


def _recording(name):
    def hook(self, *args):
        self.calls.append(name)
    return hook


class Recorder(Callback):
    """Overrides every hook and records the calls."""

    def __init__(self):
        super().__init__()
        self.calls = []


for _name in HOOKS:
    setattr(Recorder, _name, _recording(_name))


def test_hook_order_and_params():
    x, y = data(20)
    rec = Recorder()
    m = model()
    m.fit(x, y, epochs=2, batch_size=10, validation_data=(x, y), verbose=0, callbacks=[rec])
    calls = [c for c in rec.calls if not c.startswith(("on_batch", "on_test_batch"))]
    epoch = ["on_epoch_begin", "on_train_batch_begin", "on_train_batch_end", "on_train_batch_begin",
             "on_train_batch_end", "on_test_begin", "on_test_end", "on_epoch_end"]
    assert calls == ["on_train_begin"] + epoch * 2 + ["on_train_end"]
    assert rec.model is m and rec.params == {"verbose": 0, "epochs": 2, "steps": 2}
    rec.calls.clear()
    m.evaluate(x, y, verbose=0, callbacks=[rec])
    m.predict(x, verbose=0, callbacks=[rec])
    assert rec.calls[0] == "on_test_begin" and "on_predict_end" in rec.calls


def test_batch_logs_are_running_means():
    x, y = data(30)
    m = model()
    batch_losses, epoch_logs = [], {}
    cb = LambdaCallback(on_train_batch_end=lambda b, logs: batch_losses.append(dict(logs)),
                        on_epoch_end=lambda e, logs: epoch_logs.update(logs))
    m.fit(x, y, epochs=1, batch_size=10, shuffle=False, verbose=0, callbacks=[cb])
    assert len(batch_losses) == 3 and set(batch_losses[0]) == {"loss", "accuracy"}
    assert batch_losses[-1] == pytest.approx(epoch_logs)


def test_callbacks_must_be_callback_objects():
    x, y = data()
    with pytest.raises(TypeError, match="LambdaCallback"):
        model().fit(x, y, verbose=0, callbacks=[lambda *a: None])
    with pytest.raises(TypeError, match="no hook"):
        LambdaCallback(on_epoch_ned=print)


# ----------------------------------------------------------------------------- EarlyStopping
class FakeLogs(Callback):
    """Feeds a chosen val_loss sequence to the callbacks that follow it."""

    def __init__(self, values):
        super().__init__()
        self.values = values

    def on_epoch_end(self, epoch, logs=None):
        logs["val_loss"] = self.values[epoch]


def test_early_stopping_patience_and_restore_best_weights():
    x, y = data()
    m = model()
    weights = []
    keep = LambdaCallback(on_epoch_end=lambda e, logs: weights.append(m.get_weights()))
    stop = EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True)
    history = m.fit(x, y, epochs=20, verbose=0, callbacks=[FakeLogs([5, 3, 4, 3.5, 1, 2]), keep, stop])
    assert history.epoch == [0, 1, 2, 3] and stop.stopped_epoch == 3 and stop.best == 3
    for a, b in zip(m.get_weights(), weights[1]):
        np.testing.assert_array_equal(a, b)  # the weights at the end of epoch 2 (index 1)


def test_early_stopping_min_delta_mode_baseline_and_start_epoch():
    x, y = data()
    stop = EarlyStopping(monitor="val_loss", min_delta=1.0, patience=1)
    model().fit(x, y, epochs=10, verbose=0, callbacks=[FakeLogs([5, 4.5, 4.2, 1, 1, 1, 1, 1, 1, 1]), stop])
    assert stop.stopped_epoch == 1  # 4.5 is not 1.0 better than 5
    up = EarlyStopping(monitor="val_accuracy", patience=0)
    m = model()
    m.fit(x, y, epochs=1, validation_data=(x, y), verbose=0, callbacks=[up])
    assert up._sign == 1  # accuracy should go up
    late = EarlyStopping(monitor="val_loss", patience=0, start_from_epoch=3)
    h = model().fit(x, y, epochs=10, verbose=0, callbacks=[FakeLogs([1, 2, 3, 4, 5, 6, 7, 8, 9, 9]), late])
    assert h.epoch == [0, 1, 2, 3, 4]
    with pytest.raises(ValueError, match="cannot tell whether 'weird'"):
        EarlyStopping(monitor="weird")._is_improvement(1.0, 2.0)
    with pytest.warns(UserWarning, match="not in the logs"):
        model().fit(x, y, epochs=1, verbose=0, callbacks=[EarlyStopping()])


# ----------------------------------------------------------------------------- ModelCheckpoint
def test_model_checkpoint_formats_paths_and_saves_best_only(tmp_path, monkeypatch):
    x, y = data()
    m = model()
    saved = []
    monkeypatch.setattr(m, "save", lambda path, overwrite=True: saved.append(("model", path)))
    monkeypatch.setattr(m, "save_weights", lambda path, overwrite=True: saved.append(("weights", path)))
    path = str(tmp_path / "ckpt" / "m.{epoch:02d}-{val_loss:.2f}.neurona")
    best = ModelCheckpoint(path, monitor="val_loss", save_best_only=True)
    m.fit(x, y, epochs=4, verbose=0, callbacks=[FakeLogs([3, 2, 2.5, 1]), best])
    assert saved == [("model", str(tmp_path / "ckpt" / f"m.{e:02d}-{v:.2f}.neurona")) for e, v in
                     [(1, 3), (2, 2), (4, 1)]]
    assert (tmp_path / "ckpt").is_dir()
    saved.clear()
    every = ModelCheckpoint(str(tmp_path / "w.h5"), save_weights_only=True, save_freq=2)
    m.fit(x, y, epochs=1, batch_size=10, verbose=0, callbacks=[every])
    assert saved == [("weights", str(tmp_path / "w.h5"))] * 2
    with pytest.raises(KeyError, match="names 'val_acc'"):
        m.fit(x, y, epochs=1, verbose=0, callbacks=[ModelCheckpoint(str(tmp_path / "{val_acc}"))])


# ----------------------------------------------------------------------------- learning rate
def test_learning_rate_scheduler_and_reduce_on_plateau():
    x, y = data()
    m = model()
    seen = []
    sched = LearningRateScheduler(lambda epoch, lr: 0.1 / (epoch + 1))
    record = LambdaCallback(on_epoch_begin=lambda e, logs: seen.append(m.optimizer.learning_rate))
    history = m.fit(x, y, epochs=3, verbose=0, callbacks=[sched, record])
    assert seen == pytest.approx([0.1, 0.05, 0.1 / 3]) and history.history["learning_rate"] == pytest.approx(seen)
    m2 = model()
    m2.optimizer.learning_rate = 1.0
    plateau = ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=1, min_lr=0.2)
    m2.fit(x, y, epochs=5, verbose=0, callbacks=[FakeLogs([1, 1, 1, 1, 1]), plateau])
    assert m2.optimizer.learning_rate == pytest.approx(0.2)
    with pytest.raises(ValueError, match="factor < 1"):
        ReduceLROnPlateau(factor=1.5)
    only_epoch = LearningRateScheduler(lambda epoch: 0.01)
    m.fit(x, y, epochs=1, verbose=0, callbacks=[only_epoch])
    assert m.optimizer.learning_rate == pytest.approx(0.01)


# ----------------------------------------------------------------------------- CSV, NaN, Lambda
def test_csv_logger_writes_one_row_per_epoch(tmp_path):
    x, y = data()
    path = tmp_path / "log.csv"
    model().fit(x, y, epochs=2, verbose=0, callbacks=[CSVLogger(path)])
    rows = list(csv.DictReader(open(path)))
    assert [r["epoch"] for r in rows] == ["0", "1"] and set(rows[0]) == {"epoch", "accuracy", "loss"}
    model().fit(x, y, epochs=1, verbose=0, callbacks=[CSVLogger(path, append=True)])
    assert len(list(csv.DictReader(open(path)))) == 3
    model().fit(x, y, epochs=1, verbose=0, callbacks=[CSVLogger(path, separator=";")])
    assert open(path).readline().strip() == "epoch;accuracy;loss"


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")
def test_terminate_on_nan(capsys):
    x, y = data()
    m = Sequential([Dense(1, input_shape=(3,))])
    m.compile(optimizer="sgd", loss="mse")
    m.layers[0].kernel.data[...] = np.inf
    history = m.fit(x, y.astype(np.float32), epochs=5, batch_size=10, verbose=0, callbacks=[TerminateOnNaN()])
    assert len(history.epoch) == 1 and not math.isfinite(history.history["loss"][0])
    assert "Batch 0: Invalid loss, terminating training" in capsys.readouterr().out


def test_history_is_returned_and_plots(tmp_path):
    x, y = data()
    history = model().fit(x, y, epochs=2, validation_data=(x, y), verbose=0)
    assert isinstance(history, History) and history.params["epochs"] == 2
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    fig = history.plot()
    assert len(fig.axes) == 2 and [ln.get_label() for ln in fig.axes[0].lines] == ["training loss",
                                                                                   "validation loss"]
    with pytest.raises(ValueError, match="has no 'auc'"):
        history.plot(["auc"])


# ----------------------------------------------------------------------------- progress display
LINE = r"\d+s \d+(us|ms|s)/step"


def test_verbose_1_in_a_log_prints_one_finished_line_per_epoch(capsys):
    x, y = data()
    model().fit(x, y, epochs=2, batch_size=8, validation_data=(x, y))
    out = capsys.readouterr().out
    assert "\r" not in out and "\x1b" not in out
    lines = out.splitlines()
    assert lines[0] == "Epoch 1/2" and lines[2] == "Epoch 2/2" and len(lines) == 4
    assert re.fullmatch(r"5/5 \[={30}\] - " + LINE + r" - loss: \d\.\d{4} - accuracy: \d\.\d{4} - val_loss: "
                        r"\d\.\d{4} - val_accuracy: \d\.\d{4}", lines[1]), lines[1]


def test_verbose_2_and_0(capsys):
    x, y = data()
    m = model()
    m.fit(x, y, epochs=1, batch_size=8, verbose=2)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "Epoch 1/1" and re.fullmatch(r"5/5 - \d+s - \d+(us|ms|s)/step - loss: \d\.\d{4} - "
                                                     r"accuracy: \d\.\d{4}", lines[1]), lines
    m.fit(x, y, epochs=1, verbose=0)
    m.evaluate(x, y, verbose=0)
    m.predict(x, verbose=0)
    assert capsys.readouterr().out == ""
    m.evaluate(x, y, batch_size=40)
    assert re.fullmatch(r"1/1 \[={30}\] - " + LINE + r" - loss: \d\.\d{4} - accuracy: \d\.\d{4}\n",
                        capsys.readouterr().out)


class FakeTTY(io.StringIO):
    def isatty(self):
        return True


def test_live_tqdm_bar_in_a_terminal(monkeypatch):
    pytest.importorskip("tqdm")
    term = FakeTTY()
    monkeypatch.setattr(progress, "_REFRESH", 0.0)
    bar = progress.Progbar(4, verbose=1, file=term)
    assert bar.live
    bar.update(1, lambda: {"loss": 0.5})
    bar.update(4, {"loss": 0.25, "accuracy": 0.75}, finalize=True)
    text = term.getvalue()
    assert "\r" in text and re.search(r"1/4 \[=======>\.+\] - ETA: \d+s - \d+(us|ms|s)/step - loss: 0\.5000", text)
    final = text.split("\r")[-1]
    assert re.fullmatch(r"4/4 \[={30}\] - " + LINE + r" - loss: 0\.2500 - accuracy: 0\.7500\n", final), final


def test_plain_fallback_without_tqdm(monkeypatch):
    monkeypatch.setattr(progress, "_tqdm", lambda: None)
    term = FakeTTY()
    bar = progress.Progbar(3, verbose=1, file=term)
    assert not bar.live
    bar.update(1, {"loss": 1.0})
    bar.update(3, {"loss": 0.0001}, finalize=True)
    assert re.fullmatch(r"3/3 \[={30}\] - " + LINE + r" - loss: 1\.0000e-04\n", term.getvalue())


def test_formatting_helpers():
    assert progress.format_time(5.2) == "5s" and progress.format_time(65) == "1:05"
    assert progress.format_time(3725) == "1:02:05"
    assert progress.format_per_step(0.0021) == "2ms/step" and progress.format_per_step(2e-5) == "20us/step"
    assert progress.text_bar(3, 10) == "[=========>....................]"
    assert progress.format_values({"loss": 0.0, "acc": 0.5}) == " - loss: 0.0000e+00 - acc: 0.5000"
