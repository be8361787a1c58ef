"""Custom training in Keras's three idioms: train_step override, GradientTape loop, compile-freeze-compile."""

from __future__ import annotations

import os

import numpy as np
import pytest

from neurona import GradientTape, Model, Sequential, Tensor, layers, metrics, utils
from neurona.generative.gan import GAN
from neurona.optimizers import SGD, Adam

TARGET = np.array([2.0, -1.0])


def _real(n: int = 1024) -> np.ndarray:
    return (np.random.default_rng(0).normal(size=(n, 2)) * 0.3 + TARGET).astype(np.float32)


def _players() -> tuple[Sequential, Sequential]:
    g = Sequential([layers.Input((4,)), layers.Dense(16, activation="relu"), layers.Dense(2)], name="gen")
    d = Sequential([layers.Input((2,)), layers.Dense(16, activation="relu"), layers.Dense(1, activation="sigmoid")],
                   name="disc")
    return g, d


def _gap(samples: np.ndarray) -> float:
    return float(np.linalg.norm(samples.mean(axis=0) - TARGET))


def _d_accuracy(d: Model, real: np.ndarray, fake: np.ndarray) -> float:
    p = d.predict(np.concatenate([real, fake]), verbose=0)[:, 0]
    y = np.r_[np.ones(len(real)), np.zeros(len(fake))]
    return float(np.mean((p > 0.5) == y))


def test_train_step_override_trains_a_gan_through_fit():
    utils.set_random_seed(0)
    g, d = _players()
    gan = GAN(d, g, latent_dim=4)
    gan.compile(Adam(0.005, beta_1=0.5), Adam(0.005, beta_1=0.5))
    before = _gap(gan.generate(500))
    seen = []

    from neurona.callbacks import LambdaCallback
    hist = gan.fit(_real(), batch_size=64, epochs=20, verbose=0,
                   callbacks=[LambdaCallback(on_epoch_begin=lambda e, logs: seen.append(gan.d_loss_tracker.count))])
    assert set(hist.history) == {"d_loss", "g_loss", "d_acc"} and len(hist.history["g_loss"]) == 20
    assert seen == [0.0] * 20  # every tracker is reset at the start of each epoch
    assert [m.name for m in gan.metrics] == ["d_loss", "g_loss", "d_acc"]
    assert _gap(gan.generate(500)) < 0.5 * before  # the generator moved its samples onto the data
    # at the equilibrium the discriminator cannot tell them apart: accuracy near chance, loss near log 2
    assert abs(np.mean(hist.history["d_acc"][-3:]) - 0.5) < 0.1
    assert abs(np.mean(hist.history["g_loss"][-3:]) - np.log(2)) < 0.1


def _moves_as_expected(d_accs: list[float], g_losses: list[float]) -> None:
    """The discriminator wins at first, then both settle at the equilibrium (accuracy 1/2, g loss log 2)."""
    late_acc, late_g = np.mean(d_accs[-60:]), np.mean(g_losses[-60:])
    assert np.mean(d_accs[:30]) > late_acc
    assert abs(late_acc - 0.5) < 0.1
    assert abs(late_g - np.log(2)) < 0.1


def test_gradient_tape_loop_trains_a_gan():
    utils.set_random_seed(1)
    g, d = _players()
    g_opt, d_opt = Adam(0.005, beta_1=0.5), Adam(0.005, beta_1=0.5)
    real = _real()
    rng = np.random.default_rng(1)
    before = _gap(g.predict(rng.normal(size=(500, 4)).astype(np.float32), verbose=0))
    labels = np.r_[np.ones(64), np.zeros(64)][:, None]
    d_accs, g_losses = [], []
    for _ in range(300):
        batch = real[rng.integers(0, len(real), 64)]
        z = rng.normal(size=(64, 4)).astype(np.float32)
        fake = g(z).data
        with GradientTape() as tape:
            p = d(np.concatenate([batch, fake]), training=True)
            d_loss = -(Tensor(labels) * (p + 1e-7).log() + Tensor(1 - labels) * (1 - p + 1e-7).log()).mean()
        d_opt.apply(tape.gradient(d_loss, d.trainable_weights), d.trainable_weights)
        with GradientTape() as tape:
            g_loss = -(d(g(z, training=True)) + 1e-7).log().mean()
        grads = tape.gradient(g_loss, g.trainable_weights)
        assert all(w.grad is None for w in d.trainable_weights)  # gradient() leaves .grad untouched
        g_opt.apply(grads, g.trainable_weights)
        d_accs.append(float(np.mean((p.data > 0.5) == labels)))
        g_losses.append(float(g_loss.data))
    assert _gap(g.predict(rng.normal(size=(500, 4)).astype(np.float32), verbose=0)) < 0.5 * before
    _moves_as_expected(d_accs, g_losses)


def test_compile_freeze_compile_gan_recipe():
    utils.set_random_seed(2)
    g, d = _players()
    d.compile(optimizer=Adam(0.005, beta_1=0.5), loss="binary_crossentropy", metrics=["accuracy"])
    d.trainable = False
    z_in = layers.Input((4,))
    combined = Model(z_in, d(g(z_in)))
    combined.compile(optimizer=Adam(0.005, beta_1=0.5), loss="binary_crossentropy")
    real = _real()
    rng = np.random.default_rng(2)
    before = _gap(g.predict(rng.normal(size=(500, 4)).astype(np.float32), verbose=0))
    d_accs, g_losses = [], []
    for _ in range(300):
        batch = real[rng.integers(0, len(real), 64)]
        fake = g.predict(rng.normal(size=(64, 4)).astype(np.float32), verbose=0)
        d_w = [w.copy() for w in d.get_weights()]
        _, acc = d.train_on_batch(np.concatenate([batch, fake]), np.r_[np.ones(64), np.zeros(64)])
        assert any(not np.array_equal(a, b) for a, b in zip(d_w, d.get_weights()))  # compiled trainable: updates
        d_w = [w.copy() for w in d.get_weights()]
        g_losses.append(combined.train_on_batch(rng.normal(size=(64, 4)).astype(np.float32), np.ones(64)))
        assert all(np.array_equal(a, b) for a, b in zip(d_w, d.get_weights()))  # frozen inside the combined model
        d_accs.append(acc)
    assert _gap(g.predict(rng.normal(size=(500, 4)).astype(np.float32), verbose=0)) < 0.5 * before
    _moves_as_expected(d_accs, g_losses)


def test_recompiling_applies_new_trainable_flags():
    utils.set_random_seed(3)
    g, d = _players()
    d.compile(optimizer=SGD(0.1), loss="binary_crossentropy")
    d.trainable = False
    d.compile(optimizer=SGD(0.1), loss="binary_crossentropy")
    w = [a.copy() for a in d.get_weights()]
    with pytest.warns(UserWarning, match="no trainable weights"):
        d.train_on_batch(_real(8), np.ones(8))
    assert all(np.array_equal(a, b) for a, b in zip(w, d.get_weights()))
    d.trainable = True
    d.compile(optimizer=SGD(0.1), loss="binary_crossentropy")
    d.train_on_batch(_real(8), np.zeros(8))
    assert not np.array_equal(w[0], d.get_weights()[0])


class _Classifier(Model):
    """Keras 3's "customizing what happens in fit" example: compute_loss, metrics, optimizer."""

    def __init__(self) -> None:
        super().__init__()
        self.hidden = layers.Dense(16, activation="relu")
        self.out = layers.Dense(3, activation="softmax")
        self.steps_seen = metrics.Sum(name="steps")

    def call(self, x, training=False):
        return self.out(self.hidden(x))

    def train_step(self, data):
        x, y = data
        with GradientTape() as tape:
            y_pred = self(x, training=True)
            loss = self.compute_loss(y=y, y_pred=y_pred)
        grads = tape.gradient(loss, self.trainable_weights)
        self.optimizer.apply(grads, self.trainable_weights)
        for m in self.metrics:
            if m.name == "loss":
                m.update_state(loss)
            elif m.name == "steps":
                m.update_state(1.0)
            else:
                m.update_state(y, y_pred.data)
        return {m.name: m.result() for m in self.metrics}

    def test_step(self, data):
        x, y = data
        y_pred = self(x)
        loss = self.compute_loss(y=y, y_pred=y_pred, training=False)
        self._loss_tracker.update_state(loss, sample_weight=len(x))
        return self.compute_metrics(x, y, y_pred)


def test_custom_train_and_test_step_with_compiled_loss_and_metrics():
    utils.set_random_seed(4)
    rng = np.random.default_rng(4)
    x = rng.normal(size=(300, 4)).astype(np.float32)
    y = (x[:, 0] > 0).astype(int) + (x[:, 1] > 0).astype(int)
    model = _Classifier()
    model.build((None, 4))
    model.compile(optimizer=Adam(0.01), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    hist = model.fit(x, y, batch_size=30, epochs=10, verbose=0, validation_split=0.2)
    assert [m.name for m in model.metrics] == ["loss", "accuracy", "steps"]
    assert hist.history["steps"] == [8.0] * 10  # 240 samples / 30, reset every epoch
    assert hist.history["loss"][-1] < 0.6 * hist.history["loss"][0]
    assert hist.history["val_accuracy"][-1] > 0.8
    logs = model.evaluate(x, y, verbose=0, return_dict=True)
    p = model.predict(x, verbose=0)
    expected = -np.mean(np.log(p[np.arange(len(y)), y]))
    assert logs["loss"] == pytest.approx(expected, rel=1e-4)
    assert logs["accuracy"] == pytest.approx(np.mean(p.argmax(1) == y))


def test_train_step_must_return_a_dict_of_scalars():
    class Bad(Model):
        def __init__(self, result):
            super().__init__()
            self.dense = layers.Dense(1)
            self.result = result

        def call(self, x, training=False):
            return self.dense(x)

        def train_step(self, data):
            return self.result

    x = np.zeros((4, 2), np.float32)
    for result, match in [(1.5, "must return a dict of scalars.*got float"),
                          ({"loss": np.ones(3)}, "'loss' is a shape \\(3,\\)"),
                          ({"loss": "high"}, "'loss' is a str")]:
        model = Bad(result)
        model.compile()
        with pytest.raises(TypeError, match=match):
            model.fit(x, verbose=0)


def test_gradient_tape_watch_persistent_and_errors():
    x = Tensor(np.array([1.0, 2.0, 3.0]))
    with GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = (x * x).sum()
        z = (x * 3.0).sum()
    np.testing.assert_allclose(tape.gradient(y, x), 2 * x.data)
    np.testing.assert_allclose(tape.gradient(z, [x])[0], [3.0, 3.0, 3.0])
    with GradientTape() as tape:
        y = (x * x).sum()
    with pytest.raises(ValueError, match="was not watched.*tape.watch"):
        tape.gradient(y, x)
    w = Tensor(np.ones(2), requires_grad=True)
    u = Tensor(np.ones(2), requires_grad=True)
    with GradientTape() as tape:
        loss = (w * 2.0).sum()
    grads = tape.gradient(loss, {"w": w, "u": u})
    np.testing.assert_allclose(grads["w"], [2.0, 2.0])
    assert grads["u"] is None
    with pytest.raises(RuntimeError, match="non-persistent"):
        tape.gradient(loss, w)


def test_gradient_tape_matches_backward_on_a_dense_layer():
    layer = layers.Dense(3, activation="tanh")
    x = np.random.default_rng(0).normal(size=(5, 4)).astype(np.float64)
    layer.build((None, 4))
    with GradientTape() as tape:
        loss = (layer(x) ** 2).mean()
    grads = tape.gradient(loss, layer.trainable_weights)
    kernel, bias = layer.kernel.data.astype(np.float64), layer.bias.data.astype(np.float64)
    h = np.tanh(x @ kernel + bias)
    dz = 2 * h / h.size * (1 - h ** 2)
    np.testing.assert_allclose(grads[0], x.T @ dz, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(grads[1], dz.sum(0), rtol=1e-4, atol=1e-6)


def test_freezing_semantics_match_keras():
    pytest.importorskip("torch")
    os.environ.setdefault("KERAS_BACKEND", "torch")
    keras = pytest.importorskip("keras")
    if keras.backend.backend() != "torch":
        pytest.skip("needs KERAS_BACKEND=torch")

    def build(lib):
        g = lib.Sequential([lib.Input((2,)), lib.layers.Dense(4, activation="tanh")])
        d = lib.Sequential([lib.Input((4,)), lib.layers.Dense(3, activation="relu"),
                            lib.layers.Dense(1, activation="sigmoid")])
        z = lib.Input((2,))
        return g, d, lib.Model(z, d(g(z)))

    import neurona

    rng = np.random.default_rng(0)
    z = rng.normal(size=(8, 2)).astype(np.float32)
    y = np.ones((8, 1), np.float32)
    kg, kd, kgan = build(keras)
    ng, nd, ngan = build(neurona)
    ng.set_weights(kg.get_weights())
    nd.set_weights(kd.get_weights())
    d0 = [w.copy() for w in nd.get_weights()]
    results = []
    for g, d, gan, lib in ((kg, kd, kgan, keras), (ng, nd, ngan, neurona)):
        d.trainable = False
        gan.compile(optimizer=lib.optimizers.SGD(0.5), loss="binary_crossentropy")
        gan.train_on_batch(z, y)  # generator only
        after_frozen = [w.copy() for w in g.get_weights() + d.get_weights()]
        d.trainable = True
        gan.compile(optimizer=lib.optimizers.SGD(0.5), loss="binary_crossentropy")
        gan.train_on_batch(z, y)  # both, after recompiling
        results.append((after_frozen, [w.copy() for w in g.get_weights() + d.get_weights()]))
    (k1, k2), (n1, n2) = results
    for a, b in zip(k1 + k2, n1 + n2):
        np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-6)
    assert all(np.array_equal(a, b) for a, b in zip(n1[2:], d0))  # frozen when compiled: untouched
    assert not np.allclose(n1[2], n2[2])  # unfrozen and recompiled: the discriminator moved


class _Regressor(Model):
    """A custom step that uses compute_loss with an add_loss term and an L2 regularizer."""

    def __init__(self):
        super().__init__()
        self.dense = layers.Dense(1, kernel_regularizer="l2")

    def call(self, x, training=False):
        out = self.dense(x)
        self.add_loss((out * out).mean() * 0.1)
        return out

    def train_step(self, data):
        x, y, sw = data if len(data) == 3 else (*data, None)
        with GradientTape() as tape:
            loss = self.compute_loss(y=y, y_pred=self(x, training=True), sample_weight=sw)
        self.optimizer.apply(tape.gradient(loss, self.trainable_weights), self.trainable_weights)
        self._loss_tracker.update_state(loss)
        return {"loss": self._loss_tracker.result()}


def test_compute_loss_adds_regularizers_and_add_loss_terms():
    model = _Regressor()
    model.build((None, 3))
    model.compile(optimizer=SGD(0.01), loss="mse")
    x = np.random.default_rng(0).normal(size=(5, 3)).astype(np.float32)
    y = np.ones((5, 1), np.float32)
    out = model(x, training=True)
    loss = model.compute_loss(y=y, y_pred=out)
    k = model.dense.kernel.data
    expected = np.mean((out.data - y) ** 2) + 0.01 * np.sum(k ** 2) + 0.1 * np.mean(out.data ** 2)
    assert float(loss.data) == pytest.approx(expected, rel=1e-5)
    logs = model.train_on_batch(x, y, return_dict=True)  # train_on_batch runs the custom step too
    assert set(logs) == {"loss"}
    with pytest.raises(ValueError, match="class_weight"):
        model.fit(x, y, class_weight={0: 1.0}, verbose=0)
    history = model.fit(x, y, sample_weight=np.ones(5), epochs=4, validation_data=(x, y, np.ones(5)),
                        validation_freq=2, verbose=0)
    assert len(history.history["loss"]) == 4


def test_custom_train_step_reads_a_generator_of_batches():
    utils.set_random_seed(0)
    x = np.random.default_rng(0).normal(size=(64, 2)).astype(np.float32)

    def batches():
        while True:
            for i in range(0, 64, 16):
                yield x[i:i + 16]

    g, d = _players()
    gan = GAN(d, Sequential([layers.Input((4,)), layers.Dense(2)]), latent_dim=4)
    gan.compile()
    history = gan.fit(batches(), steps_per_epoch=4, epochs=2, verbose=0)
    assert len(history.history["d_loss"]) == 2


def test_tape_without_accessed_variables_needs_watch():
    w = Tensor(np.ones(2), requires_grad=True)
    with GradientTape(watch_accessed_variables=False) as tape:
        loss = (w * w).sum()
    with pytest.raises(ValueError, match="was not watched"):
        tape.gradient(loss, w)
    with GradientTape(watch_accessed_variables=False) as tape:
        tape.watch(w)
        loss = (w * w).sum()
    np.testing.assert_allclose(tape.gradient(loss, w), [2.0, 2.0])
    with pytest.raises(TypeError, match="neurona Tensors"):
        with GradientTape() as tape:
            tape.watch(np.ones(2))


def test_model_metrics_order_and_the_loss_tracker_of_the_built_in_step():
    from neurona.callbacks import EarlyStopping

    x = np.random.default_rng(0).normal(size=(40, 3)).astype(np.float32)
    y = (x[:, 0] > 0).astype(int)
    model = Sequential([layers.Input((3,)), layers.Dense(2, activation="softmax")])
    model.compile(optimizer=SGD(0.1), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    assert [m.name for m in model.metrics] == ["loss", "accuracy"]  # Keras 3: the loss tracker first
    history = model.fit(x, y, epochs=3, batch_size=8, verbose=0, validation_split=0.25,
                        callbacks=[EarlyStopping(monitor="val_loss", patience=5)])
    logs = model.evaluate(x, y, verbose=0, return_dict=True)
    assert model.metrics[0].result() == pytest.approx(logs["loss"])
    assert model.metrics[1].result() == pytest.approx(logs["accuracy"])
    assert len(history.history["loss"]) == 3
