"""ImageDataGenerator, its iterators and the vectorised affine transforms."""

from __future__ import annotations

import os
import warnings

import numpy as np
import pytest

from neurona.preprocessing.image import ImageDataGenerator, apply_affine_transform
from neurona.preprocessing.transforms import affine_matrices, apply_affine, apply_affine_backward

SLIDES = dict(rotation_range=40, width_shift_range=0.2, height_shift_range=0.2, shear_range=0.2, zoom_range=0.2,
              horizontal_flip=True, fill_mode="nearest")


def images(n=6, h=12, w=12, c=1, seed=0, dtype=np.uint8):
    return np.random.default_rng(seed).integers(0, 256, size=(n, h, w, c)).astype(dtype)


@pytest.fixture(scope="module")
def keras_affine():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    pytest.importorskip("torch")
    try:
        from keras.src.legacy.preprocessing.image import apply_affine_transform as keras_apply
    except Exception:
        pytest.skip("keras (with the torch backend) is not installed")
    return keras_apply


# ----------------------------------------------------------------------------- the transforms
@pytest.mark.parametrize("fill_mode", ["nearest", "constant", "reflect"])
@pytest.mark.parametrize("order", [0, 1])
def test_affine_equals_keras(keras_affine, fill_mode, order):
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, size=(3, 15, 15, 2)).astype(np.float32)
    for i in range(3):
        p = dict(theta=rng.uniform(-60, 60), tx=rng.uniform(-6, 6), ty=rng.uniform(-6, 6),
                 shear=rng.uniform(-30, 30), zx=rng.uniform(0.6, 1.4), zy=rng.uniform(0.6, 1.4))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref = keras_affine(x[i].astype(np.float64), **p, row_axis=0, col_axis=1, channel_axis=2,
                               fill_mode=fill_mode, cval=9.0, order=order)
        ours = apply_affine_transform(x[i], **p, fill_mode=fill_mode, cval=9.0, order=order)
        np.testing.assert_allclose(ours, ref, atol=1e-3)


def test_wrap_equals_scipy_grid_wrap():
    ndimage = pytest.importorskip("scipy.ndimage")
    x = np.random.default_rng(1).normal(size=(1, 9, 13, 1))
    m = affine_matrices(9, 13, theta=30, tx=20, ty=-11, zx=1.3)
    ours = apply_affine(x, m, "wrap")[0, :, :, 0]
    a = m[0]  # neurona's matrices act on (x=col, y=row); scipy's on (row, col)
    ref = ndimage.affine_transform(x[0, :, :, 0], [[a[1, 1], a[1, 0]], [a[0, 1], a[0, 0]]], [a[1, 2], a[0, 2]],
                                   order=1, mode="grid-wrap")
    np.testing.assert_allclose(ours, ref, atol=1e-6)


def test_right_angles_and_flips_are_exact():
    x = np.random.default_rng(2).normal(size=(7, 7, 3)).astype(np.float32)
    gen = ImageDataGenerator()
    for k, theta in ((1, 90), (2, 180), (3, 270), (3, -90)):
        for mode in ("nearest", "constant", "reflect", "wrap"):
            got = apply_affine_transform(x, theta=theta, fill_mode=mode)
            np.testing.assert_array_equal(got, np.rot90(x, k))
    np.testing.assert_array_equal(gen.apply_transform(x, {"flip_horizontal": True}), np.flip(x, 1))
    np.testing.assert_array_equal(gen.apply_transform(x, {"flip_vertical": True}), np.flip(x, 0))
    both = gen.apply_transform(x, {"theta": 90, "flip_horizontal": True})
    np.testing.assert_array_equal(both, np.flip(np.rot90(x), 1))  # Keras flips after the affine part


def test_backward_is_the_transpose():
    rng = np.random.default_rng(3)
    for mode in ("nearest", "constant", "reflect", "wrap"):
        for order in (0, 1):
            x, g = rng.normal(size=(2, 6, 8, 2)), rng.normal(size=(2, 6, 8, 2))
            m = affine_matrices(6, 8, theta=rng.uniform(-90, 90, 2), tx=rng.uniform(-9, 9, 2), zx=[0.7, 1.3],
                                flip_horizontal=[True, False])
            lhs = (apply_affine(x, m, mode, 0.0, order) * g).sum()
            rhs = (x * apply_affine_backward(g, m, mode, order)).sum()
            assert abs(lhs - rhs) < 1e-9


def test_shifts_follow_their_names():
    x = np.zeros((1, 11, 11, 1), np.float32)
    x[0, 5, 5, 0] = 1
    moved = ImageDataGenerator(width_shift_range=[3], fill_mode="constant").flow(x, seed=0)
    for _ in range(4):
        rows, cols = np.nonzero(next(moved)[0, :, :, 0] > 0.5)
        assert rows.tolist() == [5] and abs(cols[0] - 5) == 3
    moved = ImageDataGenerator(height_shift_range=2, fill_mode="constant").flow(x, seed=0)
    for _ in range(4):
        rows, cols = np.nonzero(next(moved)[0, :, :, 0] > 0.5)
        assert cols.tolist() == [5] and abs(rows[0] - 5) <= 1


# ----------------------------------------------------------------------------- flow()
def test_flow_is_deterministic_for_a_seed():
    x, y = images(40), np.arange(40)
    gen = ImageDataGenerator(rescale=1 / 255, **SLIDES)
    a, b, c = gen.flow(x, y, batch_size=16, seed=7), gen.flow(x, y, batch_size=16, seed=7), gen.flow(x, y, seed=8)
    for _ in range(5):  # crosses an epoch boundary (3 batches per epoch)
        (xa, ya), (xb, yb) = next(a), next(b)
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(ya, yb)
    assert not np.array_equal(next(gen.flow(x, y, batch_size=16, seed=7))[0], next(c)[0][:16])


def test_flow_keeps_labels_aligned_and_covers_each_epoch():
    n = 23
    x = np.broadcast_to(np.arange(n, dtype=np.float32)[:, None, None, None], (n, 8, 8, 1)).copy()
    it = ImageDataGenerator(**SLIDES).flow(x, np.arange(n), batch_size=5, seed=1)
    assert len(it) == 5
    for epoch in range(2):
        seen = []
        for _ in range(len(it)):
            xb, yb = next(it)
            np.testing.assert_allclose(xb.mean(axis=(1, 2, 3)), yb, atol=1e-4)  # constant images stay constant
            seen += yb.tolist()
        assert sorted(seen) == list(range(n)) and len(seen) == n


def test_getitem_matches_the_stream():
    x, y = images(10), np.arange(10)
    gen = ImageDataGenerator(**SLIDES)
    stream = gen.flow(x, y, batch_size=4, seed=3)
    indexed = gen.flow(x, y, batch_size=4, seed=3)
    for i in range(3):
        np.testing.assert_array_equal(next(stream)[0], indexed[i][0])
    with pytest.raises(IndexError):
        indexed[3]


@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_nearest_fill_stays_within_each_images_range(dtype):
    x = images(32, 20, 20, 3, seed=4).astype(dtype)
    if dtype == np.float32:
        x = x / 255 * np.float32(0.37) + np.float32(0.1)
    out = next(ImageDataGenerator(**SLIDES).flow(x, batch_size=32, shuffle=False, seed=0))
    assert np.all(out.min(axis=(1, 2, 3)) >= x.min(axis=(1, 2, 3)))
    assert np.all(out.max(axis=(1, 2, 3)) <= x.max(axis=(1, 2, 3)))


def test_only_flips_give_the_image_or_its_mirror():
    x = images(16, 9, 9, 3, seed=5)
    out = next(ImageDataGenerator(horizontal_flip=True).flow(x, batch_size=16, shuffle=False, seed=0))
    flipped = [np.array_equal(o, np.flip(i, 1)) for o, i in zip(out, x.astype(np.float32))]
    same = [np.array_equal(o, i) for o, i in zip(out, x.astype(np.float32))]
    assert all(f or s for f, s in zip(flipped, same)) and any(flipped) and any(same)


def test_outputs_sample_weight_and_dtype():
    x = images(5)
    out = next(ImageDataGenerator().flow(x, np.arange(5), sample_weight=np.ones(5), batch_size=5, seed=0))
    assert len(out) == 3 and out[0].dtype == np.float32 and out[2].shape == (5,)
    only_x = next(ImageDataGenerator().flow(x, batch_size=2, seed=0))
    assert isinstance(only_x, np.ndarray) and only_x.shape == (2, 12, 12, 1)


def test_rank_and_length_errors():
    with pytest.raises(ValueError, match=r"rank 4.*x\[\.\.\., None\]"):
        ImageDataGenerator().flow(np.zeros((5, 28, 28)))
    with pytest.raises(ValueError, match="rank 4"):
        ImageDataGenerator(featurewise_center=True).fit(np.zeros((5, 28)))
    with pytest.raises(ValueError, match="same length"):
        ImageDataGenerator().flow(images(5), np.arange(4))
    with pytest.raises(ValueError, match="fill_mode"):
        ImageDataGenerator(fill_mode="mirror")
    with pytest.raises(ValueError, match="rotation_range must be non-negative"):
        ImageDataGenerator(rotation_range=-10)
    with pytest.raises(ValueError, match="batch_size"):
        ImageDataGenerator().flow(images(5), batch_size=0)
    with pytest.raises(TypeError, match="numeric"):
        ImageDataGenerator().flow(np.array([[[["a"]]]]))


# ----------------------------------------------------------------------------- standardisation
def test_featurewise_statistics():
    x = images(20, 6, 6, 3, seed=6)
    gen = ImageDataGenerator(rescale=1 / 255, featurewise_center=True, featurewise_std_normalization=True)
    gen.fit(x)
    scaled = x.astype(np.float64) / 255
    np.testing.assert_allclose(gen.mean.ravel(), scaled.mean(axis=(0, 1, 2)), rtol=1e-5)
    np.testing.assert_allclose(gen.std.ravel(), scaled.std(axis=(0, 1, 2)), rtol=1e-4)
    out = np.concatenate([b for b, _ in [next(gen.flow(x, np.zeros(20), batch_size=20, shuffle=False))]])
    np.testing.assert_allclose(out.mean(axis=(0, 1, 2)), 0, atol=1e-5)
    np.testing.assert_allclose(out.std(axis=(0, 1, 2)), 1, atol=1e-4)
    with pytest.warns(UserWarning, match="fit"):
        ImageDataGenerator(featurewise_center=True).standardize(x.astype(np.float32))


def test_samplewise_and_preprocessing_function():
    x = images(4, 5, 5, 1, seed=7)
    gen = ImageDataGenerator(samplewise_center=True, samplewise_std_normalization=True)
    out = gen.standardize(x)
    np.testing.assert_allclose(out.mean(axis=(1, 2, 3)), 0, atol=1e-5)
    shapes = []

    def fn(img):
        shapes.append(img.shape)
        return img + 1000

    out = next(ImageDataGenerator(preprocessing_function=fn, rescale=0.5).flow(x, batch_size=4, shuffle=False))
    assert shapes == [(5, 5, 1)] * 4  # Keras's contract: one image at a time
    np.testing.assert_allclose(out, (x + 1000.0) * 0.5)


def test_brightness_and_channel_shift():
    x = np.full((3, 4, 4, 3), 100, np.uint8)
    gen = ImageDataGenerator(brightness_range=(0.5, 1.5))
    params = gen.get_random_transform(x[0].shape, seed=0)
    assert 0.5 <= params["brightness"] <= 1.5
    np.testing.assert_allclose(gen.apply_transform(x[0], params), 100 * params["brightness"], rtol=1e-6)
    np.testing.assert_allclose(gen.apply_transform(x[0], {"brightness": 3.0}), 255)  # clipped like Pillow's
    shifted = ImageDataGenerator().apply_transform(np.arange(12.0).reshape(2, 2, 3), {"channel_shift_intensity": 5})
    np.testing.assert_allclose(shifted, np.clip(np.arange(12.0).reshape(2, 2, 3) + 5, 0, 11))


def test_validation_split_subsets():
    x, y = images(10), np.tile([0, 1], 5)
    gen = ImageDataGenerator(validation_split=0.3)
    val = gen.flow(x, y, batch_size=10, shuffle=False, subset="validation")
    train = gen.flow(x, y, batch_size=10, shuffle=False, subset="training")
    np.testing.assert_array_equal(next(val)[0], x[:3].astype(np.float32))  # Keras: the first part
    np.testing.assert_array_equal(next(train)[1], y[3:])
    with pytest.raises(ValueError, match="different classes"):
        gen.flow(x, np.array([0, 0, 0] + [1] * 7), subset="training")
    with pytest.raises(ValueError, match="validation_split"):
        ImageDataGenerator().flow(x, y, subset="training")


def test_channels_first():
    x = images(4, 6, 8, 3, seed=8).transpose(0, 3, 1, 2)
    out = next(ImageDataGenerator(horizontal_flip=True, data_format="channels_first").flow(x, batch_size=4, seed=1))
    assert out.shape == (4, 3, 6, 8)


# ----------------------------------------------------------------------------- flow_from_directory
@pytest.fixture
def image_tree(tmp_path):
    """train/red/*.png, train/green/*.png (3 and 2 images of 10x6 pixels), train/blue/ empty."""
    Image = pytest.importorskip("PIL.Image")
    root = tmp_path / "train"
    colours = {"red": (255, 0, 0), "green": (0, 255, 0)}
    for name, count in (("red", 3), ("green", 2)):
        (root / name).mkdir(parents=True)
        for i in range(count):
            Image.new("RGB", (10, 6), colours[name]).save(root / name / f"{i}.png")
    (root / "blue").mkdir()
    return root


def test_flow_from_directory_labels_and_shapes(image_tree, capsys):
    with pytest.warns(UserWarning, match=r"no images.*\['blue'\]"):
        it = ImageDataGenerator(rescale=1 / 255).flow_from_directory(
            image_tree, target_size=(4, 5), batch_size=5, shuffle=False)
    assert "Found 5 images belonging to 3 classes." in capsys.readouterr().out
    assert it.class_indices == {"blue": 0, "green": 1, "red": 2} and it.samples == 5 and len(it) == 1
    x, y = next(it)
    assert x.shape == (5, 4, 5, 3) and y.shape == (5, 3) and x.dtype == np.float32
    np.testing.assert_array_equal(y.argmax(1), it.classes)
    np.testing.assert_allclose(x[y[:, 2] == 1][..., 0], 1.0)  # the red images are red
    np.testing.assert_allclose(x[y[:, 1] == 1][..., 1], 1.0)
    assert it.filenames[0] == os.path.join("green", "0.png")


def test_flow_from_directory_class_modes(image_tree):
    gen = ImageDataGenerator()
    kw = dict(target_size=(6, 10), classes=["red", "green"], batch_size=8, shuffle=False)
    x, y = next(gen.flow_from_directory(image_tree, class_mode="binary", **kw))
    assert y.tolist() == [0, 0, 0, 1, 1] and y.dtype == np.float32
    x, y = next(gen.flow_from_directory(image_tree, class_mode="sparse", **kw))
    assert y.tolist() == [0, 0, 0, 1, 1]
    only_x = next(gen.flow_from_directory(image_tree, class_mode=None, color_mode="grayscale", **kw))
    assert only_x.shape == (5, 6, 10, 1)
    x, same = next(gen.flow_from_directory(image_tree, class_mode="input", **kw))
    np.testing.assert_array_equal(x, same)
    with pytest.raises(ValueError, match="exactly 2 class folders"):
        gen.flow_from_directory(image_tree, class_mode="binary")
    with pytest.raises(ValueError, match="class_mode"):
        gen.flow_from_directory(image_tree, class_mode="onehot")


def test_flow_from_directory_subsets(image_tree):
    gen = ImageDataGenerator(validation_split=0.5)
    kw = dict(target_size=(6, 10), classes=["red", "green"], shuffle=False)
    val = gen.flow_from_directory(image_tree, subset="validation", **kw)
    train = gen.flow_from_directory(image_tree, subset="training", **kw)
    assert val.filenames == [os.path.join("red", "0.png"), os.path.join("green", "0.png")]
    assert train.samples == 3


def test_flow_from_directory_bad_folders(tmp_path, image_tree):
    gen = ImageDataGenerator()
    with pytest.raises(FileNotFoundError, match="not a directory"):
        gen.flow_from_directory(tmp_path / "nope")
    (tmp_path / "flat").mkdir()
    with pytest.raises(ValueError, match="no sub-folders"):
        gen.flow_from_directory(tmp_path / "flat")
    (tmp_path / "empty" / "a").mkdir(parents=True)
    with pytest.raises(ValueError, match="no readable images"), pytest.warns(UserWarning):
        gen.flow_from_directory(tmp_path / "empty")
    with pytest.raises(ValueError, match=r"\['cats'\] do not exist"):
        gen.flow_from_directory(image_tree, classes=["cats"])


def test_unreadable_files_are_skipped_with_a_warning(image_tree):
    (image_tree / "red" / "broken.png").write_bytes(b"this is not a png")
    with pytest.warns(UserWarning, match="broken.png"):
        it = ImageDataGenerator().flow_from_directory(image_tree, target_size=(6, 10), classes=["red", "green"],
                                                      batch_size=10)
    assert it.samples == 5


def test_a_file_that_fails_to_decode_mid_epoch_is_dropped(image_tree):
    Image = pytest.importorskip("PIL.Image")
    noise = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    Image.fromarray(noise).save(image_tree / "red" / "0.png")
    good = (image_tree / "red" / "0.png").read_bytes()
    (image_tree / "red" / "0.png").write_bytes(good[: len(good) // 2])  # the header reads, the pixels do not
    it = ImageDataGenerator().flow_from_directory(image_tree, target_size=(6, 10), classes=["red", "green"],
                                                  class_mode="sparse", batch_size=10, shuffle=False)
    with pytest.warns(UserWarning, match="0.png"):
        x, y = next(it)
    assert len(x) == len(y) == 4 and y.tolist() == [0, 0, 1, 1]
    x, y = next(it)  # the next epoch quietly leaves it out
    assert len(x) == 4
