"""The road and localization labs' pieces: the objects-on-clutter data, box IoU, and their figures (the labs
themselves run quick in tests/test_labs.py)."""

from __future__ import annotations

import numpy as np
import pytest

from neurona.datasets.objects import SHAPES, shapes_on_clutter
from neurona.metrics import box_iou


def test_objects_have_boxes_around_the_shape():
    x, labels, boxes = shapes_on_clutter(20, size=32, seed=2)
    assert x.shape == (20, 32, 32, 3) and labels.dtype == np.int64 and boxes.shape == (20, 4)
    assert set(labels) <= {0, 1, 2} and len(set(labels)) == 3
    assert ((boxes[:, 0] < boxes[:, 2]) & (boxes[:, 1] < boxes[:, 3])).all()
    assert boxes.min() >= 0 and boxes.max() <= 1
    np.testing.assert_array_equal(shapes_on_clutter(20, size=32, seed=2)[2], boxes)
    square = np.flatnonzero(labels == SHAPES.index("square"))[0]
    w, h = boxes[square, 2] - boxes[square, 0], boxes[square, 3] - boxes[square, 1]
    assert w == pytest.approx(h, abs=1.5 / 32)  # a square's box is square
    with pytest.raises(ValueError, match="at least 16"):
        shapes_on_clutter(2, size=8)


def test_box_iou_against_hand_computed_values():
    a = np.array([[0, 0, 2, 2], [0, 0, 1, 1], [0, 0, 1, 1], [0.2, 0.2, 0.6, 0.6]])
    b = np.array([[1, 1, 3, 3], [0, 0, 1, 1], [2, 2, 3, 3], [0.2, 0.2, 0.6, 0.6]])
    np.testing.assert_allclose(box_iou(a, b), [1 / 7, 1, 0, 1])
    with pytest.raises(ValueError, match="x_max < x_min"):
        box_iou([[1, 0, 0, 1]], [[0, 0, 1, 1]])
    with pytest.raises(ValueError, match=r"\(\.\.\., 4\)"):
        box_iou([[0, 0, 1]], [[0, 0, 1, 1]])


def test_lab_figures_draw(tmp_path):
    pytest.importorskip("matplotlib")
    from neurona.labs.localization import boxes_figure
    from neurona.labs.road import segmentation_figure

    rng = np.random.default_rng(0)
    fig = segmentation_figure(rng.random((3, 8, 8, 3)), rng.integers(0, 2, (3, 8, 8, 1)), rng.random((3, 8, 8, 1)),
                              np.array([0.5, 0.7, 0.9]))
    assert len(fig.axes) == 9 and fig.axes[-1].get_xlabel() == "IoU 0.90"
    fig = boxes_figure(rng.random((2, 16, 16, 3)), np.array([[0.1, 0.1, 0.5, 0.5]] * 2),
                       np.array([[0.2, 0.2, 0.6, 0.6]] * 2), np.array([0, 1]), np.array([0, 2]), SHAPES)
    assert [len(ax.patches) for ax in fig.axes[:2]] == [2, 2]
    assert fig.axes[1].get_title() == "square / triangle"
