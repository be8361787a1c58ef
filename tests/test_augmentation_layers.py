"""Augmentation layers: identity at inference, exact geometry when trained, gradients, configs."""

from __future__ import annotations

import numpy as np
import pytest

import neurona
from neurona import Tensor
from neurona.layers.augmentation import (
    AffineResample,
    Flip,
    RandomBrightness,
    RandomContrast,
    RandomFlip,
    RandomRotation,
    RandomTranslation,
    RandomZoom,
    Rescaling,
    Resizing,
)
from neurona.preprocessing.transforms import affine_matrices, apply_affine


def batch(n=4, h=8, w=8, c=2, seed=0):
    return np.random.default_rng(seed).uniform(0, 255, size=(n, h, w, c)).astype(np.float32)


RANDOM_LAYERS = [
    lambda: RandomFlip(seed=1), lambda: RandomRotation(0.2, seed=1), lambda: RandomTranslation(0.2, 0.3, seed=1),
    lambda: RandomZoom(0.3, seed=1), lambda: RandomContrast(0.5, seed=1), lambda: RandomBrightness(0.2, seed=1),
]


@pytest.mark.parametrize("make", RANDOM_LAYERS)
def test_identity_at_inference_and_seeded_in_training(make):
    x = batch()
    layer = make()
    np.testing.assert_array_equal(layer(x).data, x)
    np.testing.assert_array_equal(layer(x, training=False).data, x)
    a = layer(x, training=True).data
    assert a.shape == x.shape and a.dtype == np.float32 and not np.array_equal(a, x)
    np.testing.assert_array_equal(make()(x, training=True).data, a)  # the same seed, the same draws
    config = layer.get_config()
    clone = type(layer).from_config({**config, "name": config["name"] + "_clone"})
    assert {k: v for k, v in clone.get_config().items() if k != "name"} == \
           {k: v for k, v in config.items() if k != "name"}


def test_random_flip_gives_the_image_or_its_mirror():
    x = batch(16)
    out = RandomFlip("horizontal", seed=0)(x, training=True).data
    flipped = [np.array_equal(o, np.flip(i, 1)) for o, i in zip(out, x)]
    same = [np.array_equal(o, i) for o, i in zip(out, x)]
    assert all(f or s for f, s in zip(flipped, same)) and any(flipped) and any(same)
    out = RandomFlip("vertical", seed=0)(x, training=True).data
    assert all(np.array_equal(o, i) or np.array_equal(o, np.flip(i, 0)) for o, i in zip(out, x))


def test_rotation_by_a_quarter_turn_is_rot90():
    x = batch(3)
    out = RandomRotation((0.25, 0.25))(x, training=True).data  # exactly +90 degrees, counter-clockwise
    np.testing.assert_array_equal(out, np.rot90(x, 1, axes=(1, 2)))


def test_translation_moves_down_and_right():
    x = batch(2, 10, 10, 1)
    out = RandomTranslation((0.2, 0.2), (-0.1, -0.1), fill_mode="constant")(x, training=True).data
    np.testing.assert_array_equal(out[:, 2:, :9], x[:, :8, 1:])  # 2 rows down, 1 column left
    np.testing.assert_array_equal(out[:, :2], 0)


def test_zoom_matches_the_transform():
    x = batch(2)
    out = RandomZoom((0.5, 0.5), fill_mode="nearest")(x, training=True).data
    np.testing.assert_allclose(out, apply_affine(x, affine_matrices(8, 8, zx=1.5, zy=1.5)), rtol=1e-6)
    wide = RandomZoom((0.0, 0.0), width_factor=(-0.5, -0.5))(x, training=True).data
    np.testing.assert_allclose(wide, apply_affine(x, affine_matrices(8, 8, zx=0.5, zy=1.0), "reflect"), rtol=1e-6)
    with pytest.raises(ValueError, match="greater than -1"):
        RandomZoom(1.0, width_factor=(-1.0, 0.0))


def test_contrast_and_brightness_formulas():
    x = batch(3)
    out = RandomContrast(0.5, seed=4)(x, training=True).data
    f = np.random.default_rng(4).uniform(0.5, 1.5, size=(3, 1, 1, 1)).astype(np.float32)
    mean = x.mean(axis=(1, 2), keepdims=True)
    np.testing.assert_allclose(out, np.clip((x - mean) * f + mean, 0, 255), rtol=1e-5, atol=1e-3)
    out = RandomBrightness(0.1, value_range=(0, 255), seed=5)(x, training=True).data
    delta = np.random.default_rng(5).uniform(-0.1, 0.1, size=(3, 1, 1, 1)) * 255
    np.testing.assert_allclose(out, np.clip(x + delta.astype(np.float32), 0, 255), rtol=1e-6)
    with pytest.raises(ValueError, match="within"):
        RandomBrightness(1.5)
    with pytest.raises(ValueError, match="factor"):
        RandomContrast(-0.1)


def test_rescaling_and_resizing_values():
    x = batch(2, 6, 4, 3)
    np.testing.assert_allclose(Rescaling(1 / 127.5, -1)(x).data, x / 127.5 - 1, atol=1e-6)
    up = Resizing(9, 7)(x).data
    assert up.shape == (2, 9, 7, 3)
    Image = pytest.importorskip("PIL.Image")
    ref = Image.fromarray(x[0, :, :, 1], mode="F").resize((7, 9), Image.BILINEAR)
    np.testing.assert_allclose(up[0, :, :, 1], np.asarray(ref), rtol=1e-5, atol=1e-3)


def test_resizing_against_torch():
    torch = pytest.importorskip("torch")
    x = batch(2, 12, 10, 3)
    t = torch.from_numpy(x).permute(0, 3, 1, 2)
    down = torch.nn.functional.interpolate(t, size=(5, 4), mode="bilinear", align_corners=False, antialias=False)
    np.testing.assert_allclose(Resizing(5, 4)(x).data, down.permute(0, 2, 3, 1).numpy(), rtol=1e-5, atol=1e-3)
    near = torch.nn.functional.interpolate(t, size=(5, 4), mode="nearest-exact")
    np.testing.assert_array_equal(Resizing(5, 4, "nearest")(x).data, near.permute(0, 2, 3, 1).numpy())
    cropped = Resizing(5, 5, crop_to_aspect_ratio=True)(x).data  # centre 10x10 of the 12x10 images
    ref = torch.nn.functional.interpolate(t[:, :, 1:11], size=(5, 5), mode="bilinear", align_corners=False)
    np.testing.assert_allclose(cropped, ref.permute(0, 2, 3, 1).numpy(), rtol=1e-5, atol=1e-3)


def test_gradients():
    rng = np.random.default_rng(6)
    x = rng.normal(size=(2, 5, 6, 2))
    for mode in ("nearest", "constant", "reflect", "wrap"):
        m = affine_matrices(5, 6, theta=[25.0, -70.0], tx=[0.7, -2.2], zx=[1.2, 0.8])
        neurona.gradcheck(lambda t, m=m, mode=mode: AffineResample(m, mode, 3.0, 1)(t), x)
    neurona.gradcheck(lambda t: Flip(np.array([True, False]), np.array([True, True]))(t), x)
    neurona.gradcheck(lambda t: Resizing(7, 4)(t), x)
    neurona.gradcheck(lambda t: Resizing(3, 9, crop_to_aspect_ratio=True)(t), x)
    img = rng.uniform(50, 200, size=(2, 4, 4, 1))
    neurona.gradcheck(lambda t: RandomContrast(0.2, seed=0)(t, training=True), img)
    neurona.gradcheck(lambda t: RandomBrightness(0.1, seed=0)(t, training=True), img)
    neurona.gradcheck(lambda t: Rescaling(0.5, 2.0)(t), img)


def test_gradient_reaches_the_input_through_a_random_layer():
    x = Tensor(batch(2), requires_grad=True)
    out = RandomRotation(0.1, seed=0)(x, training=True)
    neurona.ops.sum(out * out).backward()
    assert x.grad is not None and x.grad.shape == x.shape and np.abs(x.grad).sum() > 0


def test_bad_input_names_the_layer():
    with pytest.raises(ValueError, match=r"RandomFlip 'flipper' expects inputs with 4 dimensions"):
        RandomFlip(name="flipper")(np.zeros((3, 28, 28)), training=True)
    with pytest.raises(ValueError, match="mode"):
        RandomFlip("diagonal")
    with pytest.raises(ValueError, match="fill_mode"):
        RandomRotation(0.1, fill_mode="mirror")
    with pytest.raises(ValueError, match="interpolation"):
        Resizing(2, 2, interpolation="cubic")


def test_layers_are_importable_by_keras_names():
    from neurona import layers

    assert layers.RandomFlip is RandomFlip and layers.Rescaling is Rescaling
    assert layers.get("RandomZoom") is RandomZoom
