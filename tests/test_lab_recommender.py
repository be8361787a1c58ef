"""The recommender lab: the hand-worked slides' example agrees with UserKNN, and (slow) the full 100k run
has every method at least 10 % under the global mean's RMSE."""

import math

import pytest

from neurona.labs import recommender


def test_by_hand_matches_the_estimator():
    text, metrics = recommender.by_hand(verbose=0)
    sims = {"u2": 1.0, "u3": 37 / math.sqrt(45 * 43), "u4": 19 / math.sqrt(41 * 10)}
    expected = (sims["u2"] * 5 + sims["u3"] * 4 + sims["u4"] * 5) / sum(sims.values())
    assert metrics["slides_u1_i3"] == pytest.approx(expected)
    assert f"UserKNN(similarity='cosine') predicts {expected:.4f}" in text
    assert "sim(u1, u3) = (2*5 + 5*3 + 4*3)" in text


@pytest.mark.slow
def test_full_lab_beats_the_baseline_by_ten_percent():
    metrics = recommender.run(quick=False, verbose=0)
    assert metrics["worst_gain_over_baseline"] >= 0.10
