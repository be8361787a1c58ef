"""Issue 21: the CNN lab's feature-map figure shows live filters (it showed blank maps: dead ReLUs after too large
a learning rate), and the transfer lab's harder few-label task is one where fine-tuning beats training from scratch."""

from __future__ import annotations

import numpy as np
import pytest

from neurona.labs import _common as c
from neurona.labs import cnn, transfer
from neurona.report import Report


def test_cnn_feature_maps_drawn_are_not_blank(monkeypatch):
    pytest.importorskip("matplotlib")
    from neurona import plot

    drawn = []
    original = plot.feature_maps

    def spy(*args, **kwargs):
        fig = original(*args, **kwargs)
        drawn.append(fig)
        return fig

    monkeypatch.setattr(plot, "feature_maps", spy)
    cnn.run(quick=True, report=Report("cnn"), verbose=0)
    assert len(drawn) == 1
    arrays = [np.asarray(ax.images[0].get_array()) for ax in drawn[0].axes if ax.images]
    assert len(arrays) == 32
    live = [a.std() > 0 for a in arrays]
    assert sum(live) >= 0.8 * len(arrays), f"only {sum(live)} of {len(arrays)} feature maps are not constant"


def test_harder_task_images_are_shifted_and_noisy():
    (x_source, y_source), (x_few, y_few), (x_test, y_test) = transfer.hard_task(per_class=3)
    assert set(np.unique(y_source)) == {0, 1, 2, 3, 4} and len(x_few) == 15 and set(np.unique(y_test)) <= set(range(5))
    (clean, _y), _test = transfer.new_task(per_class=3)
    assert x_few.shape == clean.shape and 0 <= x_few.min() and x_few.max() <= 1
    assert np.abs(x_few - clean).mean() > 0.2  # noise of sd 0.5, clipped to [0, 1]


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_fine_tuning_beats_scratch_on_the_harder_task_over_seeds(seed):
    c.start(seed)
    result, _history = transfer.hard_case(6, 10, seed=seed, verbose=0)
    assert result["hard_fine_tuning"] > result["hard_from_scratch"], result
