"""The training-step contract: fit/evaluate/predict dispatch to train_step/test_step/predict_step overrides."""

import numpy as np
import pytest

from neurona.layers import Dense, Input
from neurona.layers.base import clear_session
from neurona.models import Sequential
from neurona.tensor import Tensor
from neurona.utils import set_random_seed


def data(n=96, seed=0):
    r = np.random.default_rng(seed)
    x = r.normal(size=(n, 4)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] > 0).astype(np.int64)
    return x, y


class Counting(Sequential):
    """Overrides every step and defers to the built-in one: results must equal a plain Sequential's."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.seen = {"train": [], "test": [], "predict": 0}

    def train_step(self, data):
        self.seen["train"].append(len(data))
        return super().train_step(data)

    def test_step(self, data):
        self.seen["test"].append(len(data))
        return super().test_step(data)

    def predict_step(self, data):
        self.seen["predict"] += 1
        return super().predict_step(data)


def build(cls):
    clear_session()
    set_random_seed(0)
    model = cls([Input((4,)), Dense(8, activation="relu"), Dense(2, activation="softmax")])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def test_overridden_steps_are_called_each_batch_and_match_the_builtin():
    x, y = data()
    plain = build(Sequential)
    h1 = plain.fit(x, y, batch_size=32, epochs=3, validation_data=(x[:40], y[:40]), verbose=0)
    custom = build(Counting)  # reseeds: the same initial weights and the same shuffles
    h2 = custom.fit(x, y, batch_size=32, epochs=3, validation_data=(x[:40], y[:40]), verbose=0)
    assert custom.seen["train"] == [2] * 9 and custom.seen["test"] == [2] * 6
    for a, b in zip(plain.get_weights(), custom.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert h1.history.keys() == h2.history.keys()
    for k in h1.history:
        np.testing.assert_allclose(h1.history[k], h2.history[k], rtol=1e-6)
    np.testing.assert_array_equal(plain.predict(x, batch_size=50, verbose=0), custom.predict(x, batch_size=50,
                                                                                                 verbose=0))
    assert custom.seen["predict"] == 2
    assert custom.evaluate(x, y, verbose=0) == pytest.approx(plain.evaluate(x, y, verbose=0))
    assert custom.train_on_batch(x[:8], y[:8], sample_weight=np.ones(8)) is not None
    assert custom.seen["train"][-1] == 3  # (x, y, sample_weight)


def test_default_steps_are_public():
    x, y = data()
    model = build(Sequential)
    logs = model.train_step((x[:32], y[:32].astype(np.float32)))
    assert set(logs) == {"loss", "accuracy"} and logs["loss"] > 0
    out = model.predict_step((x[:5],))
    assert out.shape == (5, 2)


class Autoencoder(Sequential):
    """A step written against the engine, learning from x alone and reporting its own loss."""

    def train_step(self, data):
        x = data  # no targets: x alone, as Keras 3 packs it
        out = self(Tensor(x), training=True)
        loss = ((out - x) ** 2).mean()
        loss.backward()
        weights = self.trainable_weights
        self.optimizer.apply([w.grad for w in weights], weights)
        for w in weights:
            w.grad = None
        return {"loss": loss, "batch": np.float32(len(x))}


def test_custom_step_on_x_alone_gives_the_logs():
    x, _ = data()
    clear_session()
    set_random_seed(0)
    model = Autoencoder([Input((4,)), Dense(2), Dense(4)])
    model.compile(optimizer="adam")
    seen = []

    from neurona.callbacks import LambdaCallback

    cb = LambdaCallback(on_train_batch_end=lambda b, logs: seen.append(logs))
    history = model.fit(x, batch_size=32, epochs=4, verbose=0, callbacks=[cb])
    assert len(seen) == 12 and all(isinstance(v["loss"], float) for v in seen)
    assert history.history["batch"] == [32.0] * 4  # the last batch's logs end each epoch, as Keras
    assert history.history["loss"][-1] < history.history["loss"][0]


def test_bad_step_result_is_named():
    x, y = data()

    class Bad(Sequential):
        def train_step(self, data):
            return 1.0

    clear_session()
    model = Bad([Input((4,)), Dense(2, activation="softmax")])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    with pytest.raises(TypeError, match="train_step must return a dict"):
        model.fit(x, y, verbose=0)


def test_data_is_packed_as_keras_does():
    """No targets: the bare x for one array, (x,) for a list of inputs; (x, y[, sample_weight]) otherwise."""
    from neurona.layers import Concatenate
    from neurona.models import Model

    class Seen(Model):
        def train_step(self, data):
            self.seen.append(data)
            return {"n": 1.0}

        def predict_step(self, data):
            self.seen.append(data)
            return super().predict_step(data)

    clear_session()
    a, b = Input((2,)), Input((3,))
    model = Seen([a, b], Dense(1)(Concatenate()([a, b])))
    model.compile(optimizer="sgd")
    model.seen = []
    xa, xb = np.ones((4, 2), np.float32), np.ones((4, 3), np.float32)
    model.fit([xa, xb], batch_size=4, verbose=0)
    (x,), = model.seen  # (x,) with x the list of the two inputs
    assert isinstance(x, list) and [v.shape for v in x] == [(4, 2), (4, 3)]
    model.seen = []
    model.fit([xa, xb], np.zeros((4, 1)), sample_weight=np.ones(4), batch_size=4, verbose=0)
    assert len(model.seen[0]) == 3
    model.seen = []
    assert model.predict([xa, xb], verbose=0).shape == (4, 1)
    assert isinstance(model.seen[0], tuple) and len(model.seen[0]) == 1

    single = Autoencoder([Input((4,)), Dense(2), Dense(4)])
    single.compile(optimizer="sgd")
    seen = []
    single.train_step = lambda data: seen.append(data) or {"loss": 0.0}
    single.train_on_batch(np.ones((3, 4), np.float32))
    assert isinstance(seen[0], np.ndarray) and seen[0].shape == (3, 4)  # the bare x
