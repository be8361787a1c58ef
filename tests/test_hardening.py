"""Regression tests for issue 23 (hardening): thread-local grad mode, file-system-respecting saves,
validated scalars and arguments."""

from __future__ import annotations

import threading

import numpy as np

import neurona as nn
from neurona import layers


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
    from neurona.layers.base import pending_losses

    class Penalised(layers.Layer):
        def call(self, inputs, training=False):
            self.add_loss((inputs * inputs).sum())
            return inputs

    t = threading.Thread(target=lambda: Penalised()(nn.Tensor(np.ones((2, 3)))))
    t.start()
    t.join()
    assert pending_losses() == []
