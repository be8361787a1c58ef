"""Segmentation (issue 15): the synthetic roads, IoU/MeanIoU/BinaryIoU/Dice metrics, the Dice loss, and
image+mask pairs from folders with augmentation that keeps masks aligned pixel for pixel."""

from __future__ import annotations

import os

import numpy as np
import pytest

from neurona import gradcheck, losses, metrics, tensor
from neurona.datasets.roads import roads
from neurona.preprocessing import masks


# ------------------------------------------------------------------------------------------------ roads
def test_roads_are_seeded_images_with_binary_masks():
    x, y = roads(6, size=32, seed=3)
    assert x.shape == (6, 32, 32, 3) and x.dtype == np.float32 and y.shape == (6, 32, 32, 1) and y.dtype == np.uint8
    assert 0 <= x.min() and x.max() <= 1
    assert set(np.unique(y)) == {0, 1}
    share = y.reshape(6, -1).mean(axis=1)
    assert ((share > 0.03) & (share < 0.7)).all()  # every scene has a road, none is all road
    x2, y2 = roads(6, size=32, seed=3)
    np.testing.assert_array_equal(x, x2)
    np.testing.assert_array_equal(y, y2)
    assert not np.array_equal(roads(6, size=32, seed=4)[1], y)
    road = x[y[..., 0] == 1].mean(axis=0)
    assert abs(road[0] - road[2]) < 0.1  # grey asphalt


@pytest.mark.parametrize("kwargs, message", [(dict(n=0), "positive"), (dict(size=4), "at least 8"),
                                             (dict(noise=-1), ">= 0")])
def test_roads_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        roads(**{"n": 2, **kwargs})


# ------------------------------------------------------------------------------------------------ metrics
def _iou_numpy(t, p, classes):
    out = []
    for c in classes:
        inter = np.sum((t == c) & (p == c))
        union = np.sum((t == c) | (p == c))
        if union:
            out.append(inter / union)
    return np.mean(out)


def test_iou_metrics_against_numpy():
    rng = np.random.default_rng(0)
    t = rng.integers(0, 3, (4, 8, 8, 1))
    scores = rng.random((4, 8, 8, 3))
    p = scores.argmax(-1)[..., None]
    m = metrics.MeanIoU(3, sparse_y_pred=False)
    m.update_state(t[:2], scores[:2])
    m.update_state(t[2:], scores[2:])  # accumulated over batches
    assert m.result() == pytest.approx(_iou_numpy(t, p, [0, 1, 2]))
    iou = metrics.IoU(3, target_class_ids=[2])
    iou.update_state(t, p)
    assert iou.result() == pytest.approx(_iou_numpy(t, p, [2]))
    b = metrics.BinaryIoU(target_class_ids=[1], threshold=0.3)
    probs = rng.random((4, 8, 8, 1))
    b.update_state(t > 0, probs)
    assert b.result() == pytest.approx(_iou_numpy(t > 0, probs >= 0.3, [True]))
    d = metrics.Dice(threshold=0.3)
    d.update_state(t > 0, probs)
    tp = np.sum((t > 0) & (probs >= 0.3))
    assert d.result() == pytest.approx(2 * tp / (np.sum(t > 0) + np.sum(probs >= 0.3)))
    m.reset_state()
    assert m.result() == 0.0


def test_iou_bad_arguments_and_ignore_class():
    with pytest.raises(ValueError, match="target_class_ids"):
        metrics.IoU(2, target_class_ids=[2])
    with pytest.raises(ValueError, match="num_classes must be 2"):
        metrics.Dice(num_classes=3, threshold=0.5)
    m = metrics.MeanIoU(2, ignore_class=0)
    m.update_state([0, 0, 1, 1], [1, 1, 1, 0])
    assert m.result() == pytest.approx((0 + 0.5) / 2)  # the pixels labelled 0 are not counted at all


def test_dice_loss_values_and_gradient():
    yt = np.array([[[[1.0], [1.0]], [[0.0], [0.0]]], [[[1.0], [1.0]], [[0.0], [0.0]]]])
    yp = np.array([[[[0.0], [1.0]], [[0.0], [1.0]]], [[[0.4], [0.0]], [[0.0], [0.9]]]])
    inter, total = np.sum(yt * yp, axis=(1, 2, 3)), np.sum(yt + yp, axis=(1, 2, 3))
    per_image = losses.Dice(axis=(1, 2, 3), reduction=None)(yt, yp)
    np.testing.assert_allclose(per_image.data, 1 - 2 * inter / (total + 1e-7))
    assert losses.get("dice")(yt, yp).item() == pytest.approx(1 - 2 * inter.sum() / (total.sum() + 1e-7))
    rng = np.random.default_rng(0)
    truth = (rng.random((2, 3, 3, 1)) > 0.5).astype(np.float64)
    p = tensor(rng.random((2, 3, 3, 1)), requires_grad=True)
    gradcheck(lambda q: losses.dice(truth, q), p)
    gradcheck(lambda q: losses.Dice(axis=(1, 2, 3))(truth, q), p)
    with pytest.raises(ValueError, match="does not match"):
        losses.dice(yt, yp[:, :1])


def _keras():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    return pytest.importorskip("keras")


def test_metrics_and_dice_equal_keras():
    keras = _keras()
    rng = np.random.default_rng(1)
    t = rng.integers(0, 3, (3, 6, 6))
    scores = rng.random((3, 6, 6, 3)).astype(np.float32)
    for ours, theirs in [(metrics.MeanIoU(3, sparse_y_pred=False), keras.metrics.MeanIoU(3, sparse_y_pred=False)),
                         (metrics.IoU(3, [0, 2], sparse_y_pred=False),
                          keras.metrics.IoU(3, [0, 2], sparse_y_pred=False))]:
        ours.update_state(t, scores)
        theirs.update_state(t, scores)
        assert ours.name == theirs.name
        assert ours.result() == pytest.approx(float(theirs.result()), rel=1e-6)
    probs = rng.random((3, 6, 6, 1)).astype(np.float32)
    ours, theirs = metrics.BinaryIoU([1], 0.4), keras.metrics.BinaryIoU([1], 0.4)
    w = rng.integers(0, 3, (3, 6, 6)).astype(np.float32)  # Keras casts the weights to int: whole numbers
    ours.update_state((t[..., None] > 0).astype(np.float32), probs, sample_weight=w)
    theirs.update_state((t[..., None] > 0).astype(np.float32), probs, sample_weight=w)
    assert ours.name == theirs.name and ours.result() == pytest.approx(float(theirs.result()), rel=1e-5)
    yt = (t[..., None] > 0).astype(np.float32)
    for axis in (None, (1, 2, 3)):
        expected = keras.ops.convert_to_numpy(keras.losses.Dice(axis=axis)(yt, probs))
        assert losses.Dice(axis=axis)(yt, probs.astype(np.float64)).item() == pytest.approx(float(expected), rel=1e-5)


# ------------------------------------------------------------------------------------------------ mask folders
def _save(path, array):
    from PIL import Image

    Image.fromarray(array).save(path)


def _pairs(tmp_path, n=3, size=(8, 10), mask_values=(0, 1)):
    (tmp_path / "images").mkdir()
    (tmp_path / "masks").mkdir()
    rng = np.random.default_rng(0)
    for i in range(n):
        _save(tmp_path / "images" / f"img{i}.png", rng.integers(0, 256, (*size, 3), dtype=np.uint8))
        _save(tmp_path / "masks" / f"img{i}.png", rng.choice(np.array(mask_values, np.uint8), size))
    return tmp_path


def test_pairs_load_from_folders(tmp_path):
    pytest.importorskip("PIL")
    root = _pairs(tmp_path, mask_values=(0, 255))
    x, y = masks.load_image_mask_pairs(root)
    assert x.shape == (3, 8, 10, 3) and y.shape == (3, 8, 10, 1)
    assert set(np.unique(y)) == {0, 1}  # 0/255 read as 0/1
    from PIL import Image

    with Image.open(root / "masks" / "img1.png") as m:
        np.testing.assert_array_equal(y[1, ..., 0], np.asarray(m) // 255)
    x, y = masks.load_image_mask_pairs(root, target_size=(4, 5))
    assert x.shape == (3, 4, 5, 3) and set(np.unique(y)) <= {0, 1}
    it = masks.flow_from_directory(root, batch_size=2, shuffle=False, rescale=1 / 255)
    bx, by = it[0]
    assert bx.shape == (2, 8, 10, 3) and bx.max() <= 1 and by.shape == (2, 8, 10, 1)


def test_pair_errors_name_the_file(tmp_path):
    pytest.importorskip("PIL")
    root = _pairs(tmp_path)
    _save(root / "images" / "lonely.png", np.zeros((8, 10, 3), np.uint8))
    with pytest.raises(FileNotFoundError, match="lonely.png has no mask"):
        masks.load_image_mask_pairs(root)
    os.remove(root / "images" / "lonely.png")
    _save(root / "masks" / "img2.png", np.zeros((9, 10), np.uint8))
    with pytest.raises(ValueError, match=r"img2.png is 10x9 .* image .*img2.png is 10x8"):
        masks.load_image_mask_pairs(root)
    _save(root / "masks" / "img2.png", np.full((8, 10), 3, np.uint8))
    with pytest.raises(ValueError, match=r"img2.png has values \[3\] outside the class range 0..2"):
        masks.load_image_mask_pairs(root, num_classes=3)
    with pytest.raises(FileNotFoundError, match="no folder of masks"):
        masks.load_image_mask_pairs(root, masks="labels")


def test_augmentation_moves_masks_with_images_pixel_exactly():
    n, size = 16, 6
    x = np.arange(n * size * size * 2, dtype=np.float32).reshape(n, size, size, 2)  # every pixel unique
    y = (x[..., :1].astype(np.int64) % 5).astype(np.uint8)  # the mask is a function of the pixel
    it = masks.ImageMaskIterator(x, y, batch_size=n, shuffle=False, seed=0, horizontal_flip=True,
                                 vertical_flip=True, rot90=True)
    seen = set()
    for epoch in range(2):
        bx, by = it[0]
        np.testing.assert_array_equal(by, (bx[..., :1].astype(np.int64) % 5).astype(np.uint8))
        for i in range(n):
            for fh, fv, turns in ((a, b, c) for a in (0, 1) for b in (0, 1) for c in range(4)):
                tx, ty = masks.transform_pair(x[i], y[i], fh, fv, turns)
                if np.array_equal(tx, bx[i]):
                    np.testing.assert_array_equal(ty, by[i])
                    seen.add((fh, fv, turns))
                    break
            else:
                raise AssertionError(f"sample {i}: the image is not a flip/turn of the original")
        it.on_epoch_end()
    assert len(seen) > 4  # several different transforms were drawn
    with pytest.raises(ValueError, match="square"):
        masks.ImageMaskIterator(x[:, :, :4], y[:, :, :4], rot90=True)
    with pytest.raises(ValueError, match="same number, height and width"):
        masks.ImageMaskIterator(x, y[:, :4])
