"""Autoencoders, the VAE, GAN pictures and deep belief nets on the embedded digits."""

from __future__ import annotations

import numpy as np
import pytest

from neurona import GradientTape, Tensor, gradcheck, utils
from neurona.datasets import digits
from neurona.generative import autoencoders as ae
from neurona.generative.dbn import pretrain, scratch_like, to_dense
from neurona.generative.gan import GAN
from neurona.generative.images import SampleGrid, image_grid, save_png
from neurona.generative.vae import VAE, Sampling, build_decoder, build_encoder
from neurona.optimizers import Adam


def _flat_digits():
    (x_train, y_train), (x_test, y_test) = digits.load_data(seed=0)
    return ((x_train.reshape(len(x_train), -1) / 16.0).astype(np.float32), y_train,
            (x_test.reshape(len(x_test), -1) / 16.0).astype(np.float32), y_test)


def test_denoising_autoencoder_halves_the_noisy_inputs_error():
    utils.set_random_seed(0)
    x_train, _, x_test, _ = _flat_digits()
    rng = np.random.default_rng(0)
    model, encoder, decoder = ae.dense_autoencoder(64, code_size=32, hidden=(128,))
    assert encoder.output_shape == (None, 32) and decoder.output_shape == (None, 64)
    model.compile(optimizer=Adam(0.003), loss="mse")
    clean = np.concatenate([x_train, x_train])
    model.fit(ae.add_noise(clean, 0.3, rng), clean, batch_size=32, epochs=20, verbose=0)
    noisy = ae.add_noise(x_test, 0.3, rng)
    noisy_mse = np.mean((noisy - x_test) ** 2)
    denoised_mse = np.mean((model.predict(noisy, verbose=0) - x_test) ** 2)
    assert denoised_mse <= 0.5 * noisy_mse, (denoised_mse, noisy_mse)

    missing = rng.random(x_test.shape) < 0.3
    filled = ae.impute(model, x_test, missing)
    np.testing.assert_array_equal(filled[~missing], x_test[~missing])  # known pixels are kept
    mean_fill = np.broadcast_to(x_train.mean(axis=0), x_test.shape)
    assert np.mean((filled - x_test)[missing] ** 2) < 0.6 * np.mean((mean_fill - x_test)[missing] ** 2)
    with pytest.raises(ValueError, match="mask has shape"):
        ae.impute(model, x_test, missing[:, :10])


def test_conv_autoencoder_shapes():
    model = ae.conv_autoencoder((8, 8, 1), filters=(4, 2))
    assert model.output_shape == (None, 8, 8, 1)
    out = model.predict(np.zeros((2, 8, 8, 1), np.float32), verbose=0)
    assert out.shape == (2, 8, 8, 1) and np.all((out > 0) & (out < 1))


def test_anomaly_threshold_and_precision_recall():
    errors = np.arange(100, dtype=float)
    assert ae.choose_threshold(errors, 0.95) == pytest.approx(np.quantile(errors, 0.95))
    truth = np.array([1, 1, 0, 0, 1, 0], bool)
    flagged = np.array([1, 0, 1, 0, 1, 0], bool)
    assert ae.precision_recall(truth, flagged) == pytest.approx((2 / 3, 2 / 3))
    with pytest.raises(ValueError, match="quantile"):
        ae.choose_threshold(errors, 1.5)


def test_sampling_is_differentiable_and_the_vae_learns():
    def z(mean, log_var):
        utils.set_random_seed(3)  # the same eps on every call
        return Sampling()([mean, log_var])

    rng = np.random.default_rng(0)
    gradcheck(z, rng.normal(size=(3, 2)), rng.normal(size=(3, 2)))
    mean, log_var = rng.normal(size=(3, 2)), rng.normal(size=(3, 2))
    eps = (z(Tensor(mean), Tensor(log_var)).data - mean) / np.exp(0.5 * log_var)
    utils.set_random_seed(3)
    from neurona.random import get_rng

    np.testing.assert_allclose(eps, get_rng().standard_normal((3, 2)), rtol=1e-10)  # z = mean + sigma * eps

    utils.set_random_seed(0)
    x_train, _, x_test, _ = _flat_digits()
    vae = VAE(build_encoder(64, 2, (32,)), build_decoder(64, 2, (32,)))
    vae.compile(optimizer=Adam(0.003))
    history = vae.fit(x_train[:600], batch_size=32, epochs=6, verbose=0, validation_data=(x_test,))
    logs = history.history
    assert set(logs) == {"loss", "reconstruction", "kl", "val_loss", "val_reconstruction", "val_kl"}
    assert logs["loss"][-1] < 0.8 * logs["loss"][0]
    np.testing.assert_allclose(np.array(logs["loss"]), np.array(logs["reconstruction"]) + np.array(logs["kl"]),
                               rtol=1e-5)
    # the KL term is the closed form of KL(N(mean, exp(log_var)) || N(0, I))
    z_mean, z_log_var, _ = (t.data for t in vae.encoder(x_test[:50]))
    kl = np.mean(np.sum(-0.5 * (1 + z_log_var - z_mean ** 2 - np.exp(z_log_var)), axis=1))
    assert vae._losses(x_test[:50], training=False)[2].data == pytest.approx(kl, rel=1e-5)
    assert vae.sample(5).shape == (5, 64) and vae.encode(x_test[:4]).shape == (4, 2)


def test_sample_grid_saves_one_png_per_epoch(tmp_path):
    pil = pytest.importorskip("PIL.Image")
    utils.set_random_seed(0)
    x = np.random.default_rng(0).random((64, 4, 4, 1)).astype(np.float32)
    from neurona import Sequential, layers

    g = Sequential([layers.Input((3,)), layers.Dense(16, activation="sigmoid"), layers.Reshape((4, 4, 1))])
    d = Sequential([layers.Input((4, 4, 1)), layers.Flatten(), layers.Dense(1, activation="sigmoid")])
    gan = GAN(d, g, latent_dim=3)
    gan.compile()
    grids = SampleGrid(gan.generate, n=6, directory=tmp_path / "samples", scale=2, ncols=3)
    history = gan.fit(x, batch_size=16, epochs=3, verbose=0, callbacks=[grids])
    assert set(history.history) == {"d_loss", "g_loss", "d_acc"}
    assert [p.name for p in grids.paths] == ["epoch_001.png", "epoch_002.png", "epoch_003.png"]
    with pil.open(grids.paths[-1]) as img:
        np.testing.assert_array_equal(np.asarray(img), grids.grids[-1])
    assert grids.grids[-1].shape == (2 * (2 * 5 + 1), 2 * (3 * 5 + 1))


def test_image_grid_and_png_errors(tmp_path):
    grid = image_grid(np.ones((2, 3, 3)), ncols=2, pad=1)
    assert grid.shape == (5, 9) and grid.dtype == np.uint8
    with pytest.raises(ValueError, match="grey images"):
        image_grid(np.ones((2, 3, 3, 3)))
    with pytest.raises(ValueError, match="2-D uint8"):
        save_png(tmp_path / "x.png", np.ones((2, 2, 2)))


def test_conditional_gan_generates_requested_classes():
    from neurona import Sequential, layers
    from neurona.layers import Concatenate, Dense, Input
    from neurona.models import Model

    utils.set_random_seed(0)
    g = Sequential([layers.Input((4 + 3,)), layers.Dense(8, activation="sigmoid")])
    img, label = Input((8,)), Input((3,))
    d = Model([img, label], Dense(1, activation="sigmoid")(Concatenate()([img, label])))
    gan = GAN(d, g, latent_dim=4, num_classes=3)
    gan.compile()
    x = np.random.default_rng(0).random((30, 8)).astype(np.float32)
    history = gan.fit(x, np.arange(30) % 3, batch_size=10, epochs=2, verbose=0)
    assert len(history.history["g_loss"]) == 2
    assert gan.generate(5, labels=[0, 1, 2, 0, 1]).shape == (5, 8)
    with pytest.raises(ValueError, match="fit\\(images, labels\\)"):
        gan.fit(x, batch_size=10, epochs=1, verbose=0)


def test_dbn_stack_becomes_the_dense_network():
    utils.set_random_seed(0)
    x = (np.random.default_rng(0).random((40, 12)) > 0.5).astype(np.float32)
    rbms = pretrain(x, (8, 5), epochs=2)
    model = to_dense(rbms, num_classes=3)
    assert [la.units for la in model.layers] == [8, 5, 3]
    features = model.layers[1](model.layers[0](x)).data
    np.testing.assert_allclose(features, rbms[1].transform(rbms[0].transform(x)), rtol=1e-5, atol=1e-6)
    assert scratch_like(rbms, 3).output_shape == (None, 3)
    with pytest.raises(ValueError, match="at least one"):
        pretrain(x, ())
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        pretrain(x * 3, (4,))


def test_gradient_tape_of_the_vae_loss_matches_backward():
    utils.set_random_seed(1)
    x = np.random.default_rng(1).random((4, 6)).astype(np.float32)
    vae = VAE(build_encoder(6, 2, (5,)), build_decoder(6, 2, (5,)))
    utils.set_random_seed(7)
    with GradientTape() as tape:
        total, _, _ = vae._losses(x, training=True)
    grads = tape.gradient(total, vae.trainable_weights)
    utils.set_random_seed(7)
    total2, _, _ = vae._losses(x, training=True)
    total2.backward()
    for g, w in zip(grads, vae.trainable_weights):
        np.testing.assert_allclose(g, w.grad, rtol=1e-5, atol=1e-7)
        w.grad = None
