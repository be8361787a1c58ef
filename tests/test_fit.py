"""compile/fit/evaluate/predict on tiny data: the slides' code, learning, History, validation, weights,
fused losses, data sources, Ctrl-C, and the errors at the door. Also neurona.utils."""

import os
import re
import signal

import numpy as np
import pytest

import neurona as nr
from neurona import losses, metrics, optimizers
from neurona.callbacks import Callback, LambdaCallback
from neurona.layers import Dense, Dropout, Input
from neurona.layers.base import clear_session
from neurona.models import Model, Sequential
from neurona.utils import Standardizer, normalize, set_random_seed, standardize, to_categorical


@pytest.fixture(autouse=True)
def _fresh():
    clear_session()
    set_random_seed(0)


def blobs(n=150, k=3, d=4, seed=0):
    r = np.random.default_rng(seed)
    centers = r.normal(0, 4, (k, d))
    y = r.integers(0, k, n)
    x = (centers[y] + r.normal(0, 1, (n, d))).astype(np.float32)
    return x, y


def slides_model():
    model = Sequential()
    model.add(Dense(10, activation="sigmoid", input_shape=(784,)))
    model.add(Dense(10, activation="softmax"))
    return model


SLIDES_SUMMARY = """\
Model: "sequential"
┏━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━┓
┃ Layer (type)                    ┃ Output Shape           ┃       Param # ┃
┡━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━┩
│ dense (Dense)                   │ (None, 10)             │         7,850 │
├─────────────────────────────────┼────────────────────────┼───────────────┤
│ dense_1 (Dense)                 │ (None, 10)             │           110 │
└─────────────────────────────────┴────────────────────────┴───────────────┘
 Total params: 7,960 (31.09 KB)
 Trainable params: 7,960 (31.09 KB)
 Non-trainable params: 0 (0.00 B)
"""


# ----------------------------------------------------------------------------- the slides' six steps
def test_slides_mnist_code_runs_with_neurona(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    from neurona.layers.core import Activation, Dense  # noqa: F401  (the slides' import)
    from neurona.models import Sequential
    from neurona.utils import to_categorical

    r = np.random.default_rng(0)  # 1. load: small random data shaped like MNIST
    x_train, y_train = r.integers(0, 256, (500, 28, 28)).astype("uint8"), r.integers(0, 10, 500)
    x_test, y_test = r.integers(0, 256, (100, 28, 28)).astype("uint8"), r.integers(0, 10, 100)
    x_train = x_train.astype("float32")
    x_test = x_test.astype("float32")
    x_train /= 255
    x_test /= 255
    x_train = x_train.reshape(500, 784)
    x_test = x_test.reshape(100, 784)
    y_train = to_categorical(y_train, num_classes=10)
    y_test = to_categorical(y_test, num_classes=10)
    model = Sequential()  # 2. define
    model.add(Dense(10, activation="sigmoid", input_shape=(784,)))
    model.add(Dense(10, activation="softmax"))
    model.summary()
    assert capsys.readouterr().out == SLIDES_SUMMARY
    model.compile(loss="categorical_crossentropy", optimizer="sgd", metrics=["accuracy"])  # 3. compile
    model.fit(x_train, y_train, batch_size=100, epochs=5, verbose=1)  # 4. fit
    out = capsys.readouterr().out.splitlines()
    assert out[0::2] == [f"Epoch {i}/5" for i in range(1, 6)]
    line = re.compile(r"^5/5 \[={30}\] - \d+s \d+(us|ms|s)/step - loss: \d\.\d{4} - accuracy: \d\.\d{4}$")
    assert all(line.match(s) for s in out[1::2]), out
    test_loss, test_acc = model.evaluate(x_test, y_test)  # 5. evaluate
    assert 0 <= test_acc <= 1 and test_loss > 0
    predictions = model.predict(x_test)  # 6. use
    assert predictions.shape == (100, 10) and 0 <= np.argmax(predictions[11]) < 10
    np.testing.assert_allclose(predictions.sum(1), 1, rtol=1e-5)


def test_slides_evaluate_with_five_values():
    x, y = blobs(60, k=2)
    model = Sequential([Dense(4, activation="relu", input_shape=(4,)), Dense(1, activation="sigmoid")])
    model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy", "f1_score", "precision",
                                                                          "recall"])
    model.fit(x, y, epochs=2, verbose=0)
    loss, accuracy, f1_score, precision, recall = model.evaluate(x, y, verbose=0)
    assert model.metrics_names == ["loss", "accuracy", "f1_score", "precision", "recall"]
    for v in (accuracy, f1_score, precision, recall):
        assert 0 <= v <= 1


# ----------------------------------------------------------------------------- it learns
def test_classifier_learns_blobs():
    x, y = blobs()
    model = Sequential([Dense(16, activation="relu", input_shape=(4,)), Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, epochs=40, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < 0.2 < history.history["loss"][0]
    assert model.evaluate(x, y, verbose=0)[1] > 0.95


def test_regression_learns_to_add_two_numbers():
    r = np.random.default_rng(3)
    x = r.uniform(0, 1, (256, 2)).astype(np.float32)
    y = x.sum(1)  # (n,) targets for a one-unit output
    model = Sequential([Dense(1, input_shape=(2,))])
    model.compile(optimizer=optimizers.Adam(learning_rate=0.05), loss="mse", metrics=["mae"])
    model.fit(x, y, epochs=40, batch_size=32, verbose=0)
    assert model.evaluate(x, y, verbose=0)[0] < 1e-3
    np.testing.assert_allclose(model.layers[0].kernel.data.ravel(), [1, 1], atol=0.05)


def test_history_contents():
    x, y = blobs(40)
    model = Sequential([Dense(3, activation="softmax", input_shape=(4,))])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["acc"])
    history = model.fit(x, y, epochs=3, batch_size=10, validation_data=(x, y), verbose=0)
    assert history is model.history
    assert list(history.history) == ["loss", "acc", "val_loss", "val_acc"]
    assert history.epoch == [0, 1, 2] and all(len(v) == 3 for v in history.history.values())
    assert history.params == {"verbose": 0, "epochs": 3, "steps": 4}
    assert all(isinstance(v, float) for v in history.history["loss"])
    # the epoch's logged loss is the mean over its batches (running mean, weighted by batch size)
    seen = []
    model.fit(x, y, epochs=1, batch_size=10, shuffle=False, verbose=0,
              callbacks=[LambdaCallback(on_train_batch_end=lambda b, logs: seen.append(logs["loss"]))])
    assert len(seen) == 4


def test_initial_epoch_and_validation_freq():
    x, y = blobs(20)
    model = Sequential([Dense(3, activation="softmax", input_shape=(4,))])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    history = model.fit(x, y, epochs=5, initial_epoch=2, validation_data=(x, y), validation_freq=2, verbose=0)
    assert history.epoch == [2, 3, 4] and len(history.history["val_loss"]) == 1


def test_validation_split_takes_the_last_fraction():
    x, y = blobs(50)
    model = Sequential([Dense(3, activation="softmax", input_shape=(4,))])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, epochs=1, validation_split=0.2, batch_size=8, verbose=0)
    val_loss, val_acc = model.evaluate(x[40:], y[40:], verbose=0)
    assert history.history["val_loss"][0] == pytest.approx(val_loss, rel=1e-6)
    assert history.history["val_accuracy"][0] == pytest.approx(val_acc)
    assert history.params["steps"] == 5  # 40 training samples in batches of 8


# ----------------------------------------------------------------------------- weights of samples and classes
def test_sample_weight_in_evaluate_and_zero_weight_samples_do_not_train():
    x, y = blobs(30)
    model = Sequential([Dense(3, activation="softmax", input_shape=(4,))])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    sw = np.linspace(0, 2, 30).astype(np.float32)
    p = model.predict(x, verbose=0).astype(np.float64)
    per_sample = -np.log(np.clip(p[np.arange(30), y], 1e-7, 1))
    assert model.evaluate(x, y, sample_weight=sw, batch_size=30, verbose=0) == pytest.approx(
        (per_sample * sw).mean(), rel=1e-4)
    before = model.get_weights()
    model.fit(x, y, sample_weight=np.zeros(30), epochs=1, verbose=0)
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_class_weight_equals_per_class_sample_weights_and_shifts_predictions():
    x, y = blobs(60, k=2)
    model = Sequential([Dense(1, activation="sigmoid", input_shape=(4,))])
    model.compile(optimizer="sgd", loss="binary_crossentropy")
    start = model.get_weights()
    model.train_on_batch(x, y, class_weight={0: 0.5, 1: 3.0})
    with_cw = model.get_weights()
    model.set_weights(start)
    model.train_on_batch(x, y, sample_weight=np.where(y == 1, 3.0, 0.5))
    for a, b in zip(with_cw, model.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    favour = Sequential([Dense(1, activation="sigmoid", input_shape=(4,))])
    favour.compile(optimizer="sgd", loss="binary_crossentropy")
    favour.set_weights(start)
    favour.fit(x, y, class_weight={0: 0.01, 1: 10.0}, epochs=5, verbose=0)
    model.set_weights(start)
    model.fit(x, y, epochs=5, verbose=0)
    assert favour.predict(x, verbose=0).mean() > model.predict(x, verbose=0).mean()
    with pytest.raises(ValueError, match=r"class_weight has no weight for class\(es\) \[1\]"):
        model.fit(x, y, class_weight={0: 1.0}, verbose=0)


# ----------------------------------------------------------------------------- the fused loss
@pytest.mark.parametrize("act,loss,make_y,metric", [
    ("softmax", "categorical_crossentropy", lambda r: to_categorical(r.integers(0, 4, 32), 4), "CategoricalAccuracy"),
    ("softmax", "sparse_categorical_crossentropy", lambda r: r.integers(0, 4, 32), "SparseCategoricalAccuracy"),
    ("sigmoid", "binary_crossentropy", lambda r: r.integers(0, 2, (32, 4)).astype(np.float32), "BinaryAccuracy"),
])
def test_fused_loss_equals_the_unfused_one(act, loss, make_y, metric):
    r = np.random.default_rng(5)
    x, y = r.normal(0, 1, (32, 6)).astype(np.float32), make_y(r)
    fused = Sequential([Dense(8, activation="tanh", input_shape=(6,)), Dense(4, activation=act)])
    fused.compile(optimizer="sgd", loss=loss, metrics=["accuracy"])
    fused.evaluate(x, y, verbose=0)
    assert type(fused.metrics[1]).__name__ == metric  # after the loss tracker: "accuracy" picked from the loss
    plain_loss = losses.get(loss)

    def unfused_loss(y_true, y_pred):  # a plain function: the model cannot fuse it
        return plain_loss.call(y_true, y_pred)

    plain = Sequential([Dense(8, activation="tanh", input_shape=(6,)), Dense(4, activation=act)])
    plain.compile(optimizer="sgd", loss=unfused_loss, metrics=[getattr(metrics, metric)(name="accuracy")])
    plain.set_weights(fused.get_weights())
    lf, af = fused.evaluate(x, y, verbose=0)
    lp, ap = plain.evaluate(x, y, verbose=0)
    assert fused._specs[0].fused == act and plain._specs[0].fused is None
    assert lf == pytest.approx(lp, rel=1e-5) and af == ap
    assert lf == pytest.approx(float(plain_loss(y, nr.Tensor(fused.predict(x, verbose=0)))), rel=1e-5)
    fused.train_on_batch(x, y)
    plain.train_on_batch(x, y)
    for a, b in zip(fused.get_weights(), plain.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_activation_layer_at_the_end_is_fused_too():
    from neurona.layers import Activation

    model = Sequential([Dense(3, input_shape=(2,)), Activation("softmax")])
    model.compile(optimizer="sgd", loss="categorical_crossentropy")
    x = np.random.default_rng(0).normal(size=(5, 2)).astype(np.float32)
    y = to_categorical([0, 1, 2, 0, 1], 3)
    loss = model.evaluate(x, y, verbose=0)
    assert model._specs[0].fused == "softmax"
    assert loss == pytest.approx(float(losses.get("categorical_crossentropy")(y, nr.Tensor(model.predict(x)))),
                                 rel=1e-5)


# ----------------------------------------------------------------------------- other data sources
def test_fit_from_a_generator_with_steps_per_epoch():
    x, y = blobs(64)

    def batches():
        while True:
            for i in range(0, 64, 16):
                yield x[i:i + 16], y[i:i + 16]

    model = Sequential([Dense(3, activation="softmax", input_shape=(4,))])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(batches(), steps_per_epoch=4, epochs=3, verbose=0)
    assert len(history.epoch) == 3 and history.params["steps"] == 4
    with pytest.raises(ValueError, match="pass steps_per_epoch"):
        model.fit(batches(), epochs=1, verbose=0)
    loss, acc = model.evaluate(batches(), steps=4, verbose=0)
    assert loss == pytest.approx(model.evaluate(x, y, verbose=0)[0], rel=1e-5)


class TinyDataset:
    """A Dataset-like object: __len__ batches, a fresh iterator each epoch, (x, y, sample_weight)."""

    def __init__(self, x, y):
        self.x, self.y = x, y
        self.epochs = 0

    def __len__(self):
        return 3

    def __iter__(self):
        self.epochs += 1
        for i in range(3):
            sl = slice(10 * i, 10 * i + 10)
            yield self.x[sl], self.y[sl], np.ones(10)


def test_fit_from_a_dataset_with_len():
    x, y = blobs(30)
    data = TinyDataset(x, y)
    model = Sequential([Dense(3, activation="softmax")])  # built from the first batch
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    history = model.fit(data, epochs=2, verbose=0, validation_data=TinyDataset(x, y))
    assert data.epochs == 2 and len(history.history["val_loss"]) == 2 and model.input_shape == (None, 4)


def test_multi_input_multi_output_fit_with_dicts():
    a, b = Input((3,), name="a"), Input((2,), name="b")
    from neurona.layers import Concatenate

    h = Concatenate()([a, b])
    cls = Dense(2, activation="softmax", name="cls")(h)
    reg = Dense(1, name="reg")(h)
    model = Model([a, b], [cls, reg])
    model.compile(optimizer="adam", loss={"cls": "sparse_categorical_crossentropy", "reg": "mse"},
                  loss_weights={"cls": 1.0, "reg": 0.5}, metrics={"cls": ["accuracy"]})
    r = np.random.default_rng(0)
    xa, xb = r.normal(size=(40, 3)).astype(np.float32), r.normal(size=(40, 2)).astype(np.float32)
    y_cls, y_reg = r.integers(0, 2, 40), r.normal(size=40).astype(np.float32)
    history = model.fit({"a": xa, "b": xb}, {"cls": y_cls, "reg": y_reg}, epochs=2, verbose=0)
    assert set(history.history) == {"loss", "cls_loss", "reg_loss", "cls_accuracy"}
    logs = model.evaluate([xa, xb], [y_cls, y_reg], return_dict=True, verbose=0)
    assert logs["loss"] == pytest.approx(logs["cls_loss"] + 0.5 * logs["reg_loss"], rel=1e-5)


# ----------------------------------------------------------------------------- single batches, determinism
def test_on_batch_methods_and_return_forms():
    x, y = blobs(20)
    model = Sequential([Dense(3, activation="softmax", input_shape=(4,))])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    assert isinstance(model.train_on_batch(x, y), float)
    assert isinstance(model.test_on_batch(x, y), float)
    assert isinstance(model.evaluate(x, y, verbose=0), float)
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    assert len(model.train_on_batch(x, y)) == 2
    assert set(model.test_on_batch(x, y, return_dict=True)) == {"loss", "accuracy"}
    assert model.predict_on_batch(x).shape == (20, 3)


def test_regularization_losses_are_added():
    x, y = blobs(20)
    model = Sequential([Dense(3, activation="softmax", input_shape=(4,), kernel_regularizer="l2")])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    base = losses.get("sparse_categorical_crossentropy")(y, nr.Tensor(model.predict(x, verbose=0))).item()
    penalty = 0.01 * float((model.layers[0].kernel.data.astype(np.float64) ** 2).sum())
    assert model.evaluate(x, y, batch_size=20, verbose=0) == pytest.approx(base + penalty, rel=1e-5)


def test_set_random_seed_makes_runs_repeatable():
    x, y = blobs(40)

    def run():
        clear_session()
        set_random_seed(42)
        model = Sequential([Dense(8, activation="relu", input_shape=(4,)), Dropout(0.3),
                            Dense(3, activation="softmax")])
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        return model.fit(x, y, epochs=2, batch_size=8, verbose=0).history["loss"]

    assert run() == run()


# ----------------------------------------------------------------------------- Ctrl-C
def test_keyboard_interrupt_from_a_callback_keeps_weights_and_history(capsys):
    x, y = blobs(40)
    model = Sequential([Dense(3, activation="softmax", input_shape=(4,))])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    snapshots = []

    class Stopper(Callback):
        def on_train_batch_end(self, batch, logs=None):
            snapshots.append(self.model.get_weights())
            if len(snapshots) == 6:  # epoch 2, batch 2 of 4
                raise KeyboardInterrupt

    history = model.fit(x, y, epochs=5, batch_size=10, verbose=0, callbacks=[Stopper()])
    assert history.epoch == [0] and len(history.history["loss"]) == 1
    for a, b in zip(model.get_weights(), snapshots[-1]):
        np.testing.assert_array_equal(a, b)  # the weights the interrupted batch left
    assert all(w.grad is None for w in model.weights)
    assert "Training interrupted (Ctrl-C) in epoch 2/5 after batch 2" in capsys.readouterr().out
    model.fit(x, y, epochs=1, verbose=0)  # and the model still trains afterwards


def test_real_sigint_stops_after_the_current_batch():
    x, y = blobs(40)
    model = Sequential([Dense(3, activation="softmax", input_shape=(4,))])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    seen = []

    def on_batch_end(batch, logs):
        seen.append(batch)
        if batch == 1:
            os.kill(os.getpid(), signal.SIGINT)

    history = model.fit(x, y, epochs=3, batch_size=10, verbose=0,
                        callbacks=[LambdaCallback(on_train_batch_end=on_batch_end)])
    assert seen == [0, 1] and history.epoch == []


# ----------------------------------------------------------------------------- errors at the door
def test_fit_before_compile():
    with pytest.raises(RuntimeError, match=r"must be compiled before fit\(\)"):
        slides_model().fit(np.zeros((2, 784)), np.zeros((2, 10)), verbose=0)
    with pytest.raises(RuntimeError, match=r"before evaluate\(\)"):
        slides_model().evaluate(np.zeros((2, 784)), np.zeros((2, 10)), verbose=0)


def _compiled(loss="categorical_crossentropy"):
    model = slides_model()
    model.compile(loss=loss, optimizer="sgd", metrics=["accuracy"])
    return model


def test_wrong_input_width_names_the_layer():
    with pytest.raises(ValueError, match=r"Dense 'dense' expects inputs with last axis 784, got shape "
                                         r"\(8, 28, 28\)"):
        _compiled().fit(np.zeros((8, 28, 28)), np.zeros((8, 10)), verbose=0)


def test_batch_size_inside_input_shape():
    model = Sequential([Dense(10, activation="softmax", input_shape=(100, 784))])
    model.compile(loss="categorical_crossentropy", optimizer="sgd")
    with pytest.raises(ValueError, match=r"input_shape is the shape of ONE sample, without the batch size: did you "
                                         r"mean input_shape=\(784,\)\?"):
        model.fit(np.zeros((300, 784)), np.zeros((300, 10)), verbose=0)


def test_labels_not_one_hot_for_categorical_crossentropy():
    with pytest.raises(ValueError, match=r"needs one-hot labels of shape \(n, 10\).*sparse_categorical_crossentropy"
                                         r".*to_categorical\(y, num_classes=10\)"):
        _compiled().fit(np.zeros((8, 784)), np.arange(8), verbose=0)


def test_labels_out_of_range():
    with pytest.raises(ValueError, match=r"label 12 in y is outside \[0, 10\): the last layer Dense 'dense_1' "
                                         r"has 10 units"):
        _compiled("sparse_categorical_crossentropy").fit(np.zeros((8, 784)), np.arange(5, 13), verbose=0)
    with pytest.raises(ValueError, match=r"one-hot rows\?"):
        _compiled("sparse_categorical_crossentropy").fit(np.zeros((8, 784)), np.eye(10)[:8], verbose=0)
    model = Sequential([Dense(1, activation="sigmoid", input_shape=(3,))])
    model.compile(loss="binary_crossentropy", optimizer="sgd")
    with pytest.raises(ValueError, match=r"binary_crossentropy needs labels in \[0, 1\].*from 0 to 3"):
        model.fit(np.zeros((4, 3)), np.arange(4), verbose=0)


def test_nan_and_inf_are_reported_with_their_place():
    x, y = np.zeros((8, 784)), to_categorical(np.arange(8), 10)
    x[3, 5] = np.inf
    x[6, 0] = np.nan
    with pytest.raises(ValueError, match=r"x contains 2 NaN or infinite values \(the first, inf, at x\[3, 5\]\)"):
        _compiled().fit(x, y, verbose=0)
    y[1, 2] = np.nan
    with pytest.raises(ValueError, match=r"y contains 1 NaN or infinite value \(the first, nan, at y\[1, 2\]\)"):
        _compiled().fit(np.zeros((8, 784)), y, verbose=0)
    with pytest.raises(ValueError, match=r"validation_data.*|y contains"):
        _compiled().fit(np.zeros((8, 784)), to_categorical(np.arange(8), 10), verbose=0,
                        validation_data=(np.zeros((2, 784)), y[:2]))


def test_empty_and_mismatched_arrays():
    with pytest.raises(ValueError, match="no samples to work on"):
        _compiled().fit(np.zeros((0, 784)), np.zeros((0, 10)), verbose=0)
    with pytest.raises(ValueError, match="x has 10, y has 9"):
        _compiled().fit(np.zeros((10, 784)), np.zeros((9, 10)), verbose=0)
    with pytest.raises(ValueError, match="sample_weight must hold one weight per sample"):
        _compiled().fit(np.zeros((10, 784)), np.zeros((10, 10)), sample_weight=np.ones(3), verbose=0)


@pytest.mark.parametrize("bad", [-0.1, 1.0, 2, "0.2"])
def test_validation_split_out_of_range(bad):
    with pytest.raises(ValueError, match=r"validation_split must be a fraction in \[0, 1\)"):
        _compiled().fit(np.zeros((10, 784)), np.zeros((10, 10)), validation_split=bad, verbose=0)


def test_bad_arguments():
    model = _compiled()
    for kwargs, msg in [({"batch_size": 0}, "batch_size must be a positive integer"),
                        ({"epochs": -1}, "epochs must be a non-negative integer"),
                        ({"verbose": 3}, "verbose must be 0")]:
        with pytest.raises(ValueError, match=msg):
            model.fit(np.zeros((4, 784)), np.zeros((4, 10)), **kwargs)
    with pytest.raises(ValueError, match="unknown loss 'categorial_crossentropy'"):
        model.compile(loss="categorial_crossentropy", optimizer="sgd")


# ----------------------------------------------------------------------------- neurona.utils
@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # raised inside keras's torch backend
def test_to_categorical():
    np.testing.assert_array_equal(to_categorical([1, 0, 2]), np.eye(3)[[1, 0, 2]])
    assert to_categorical(np.array([[3], [1]]), 5).shape == (2, 5)
    assert to_categorical([0, 1], 4).dtype == np.float32
    with pytest.raises(ValueError, match="label 3 does not fit num_classes=3"):
        to_categorical([0, 3], num_classes=3)
    with pytest.raises(ValueError, match=">= 0"):
        to_categorical([-1, 2])
    with pytest.raises(ValueError, match="non-integer"):
        to_categorical([0.5, 1])
    keras = _keras_or_skip()
    np.testing.assert_array_equal(to_categorical([2, 0, 1], 4), keras.utils.to_categorical([2, 0, 1], 4))


def test_standardize_uses_training_statistics_only():
    train = np.array([[1.0, 10.0], [3.0, 10.0]])
    test = np.array([[5.0, 12.0]])
    tr, te = standardize(train, test)
    np.testing.assert_allclose(tr, [[-1, 0], [1, 0]])
    np.testing.assert_allclose(te, [[3, 2]])  # (5 - 2) / 1 and a constant column divided by 1
    s = Standardizer().fit(train)
    np.testing.assert_allclose(s.inverse_transform(s.transform(test)), test)
    with pytest.raises(RuntimeError, match="before fit"):
        Standardizer().transform(test)
    with pytest.raises(ValueError, match="does not match the shape it was fitted on"):
        s.transform(np.zeros((2, 3)))


def test_normalize():
    out = normalize(np.array([[3.0, 4.0], [0.0, 0.0]]))
    np.testing.assert_allclose(out, [[0.6, 0.8], [0, 0]])


def _keras_or_skip():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    try:
        import keras
    except Exception:  # not installed, or no backend available
        pytest.skip("keras (with a working backend) is not installed")
    return keras


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_loss_and_accuracy_equal_keras_with_the_same_weights():
    keras = _keras_or_skip()
    r = np.random.default_rng(0)
    x, labels = r.random((50, 784)).astype(np.float32), r.integers(0, 10, 50)
    y = to_categorical(labels, 10)
    model = _compiled()
    km = keras.Sequential([keras.Input((784,)), keras.layers.Dense(10, activation="sigmoid"),
                           keras.layers.Dense(10, activation="softmax")])
    km.compile(loss="categorical_crossentropy", optimizer="sgd", metrics=["accuracy"])
    km.set_weights(model.get_weights())
    ours = model.evaluate(x, y, verbose=0)
    theirs = km.evaluate(x, y, verbose=0)
    assert ours[0] == pytest.approx(theirs[0], rel=1e-5) and ours[1] == pytest.approx(theirs[1])
    np.testing.assert_allclose(model.predict(x, verbose=0), km.predict(x, verbose=0), rtol=1e-5, atol=1e-6)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_training_matches_keras_step_for_step(optimizer):
    keras = _keras_or_skip()
    r = np.random.default_rng(1)
    x, y = r.random((250, 64)).astype(np.float32), to_categorical(r.integers(0, 10, 250), 10)
    model = Sequential([Dense(10, activation="sigmoid", input_shape=(64,)), Dense(10, activation="softmax")])
    model.compile(loss="categorical_crossentropy", optimizer=optimizer, metrics=["accuracy"])
    km = keras.Sequential([keras.Input((64,)), keras.layers.Dense(10, activation="sigmoid"),
                           keras.layers.Dense(10, activation="softmax")])
    km.compile(loss="categorical_crossentropy", optimizer=optimizer, metrics=["accuracy"])
    km.set_weights(model.get_weights())
    ours = model.fit(x, y, batch_size=100, epochs=3, shuffle=False, verbose=0).history
    theirs = km.fit(x, y, batch_size=100, epochs=3, shuffle=False, verbose=0).history
    np.testing.assert_allclose(ours["loss"], theirs["loss"], rtol=1e-5)
    np.testing.assert_allclose(ours["accuracy"], theirs["accuracy"], rtol=1e-6)
    for a, b in zip(model.get_weights(), km.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
