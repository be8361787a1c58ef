"""The text and attention labs: the generated reviews mean what their labels say, the lab commands run
with --quick, and the full runs reach the issue's accuracy (slow)."""

import numpy as np
import pytest

from neurona import labs
from neurona.cli import main
from neurona.labs import text


def test_generated_reviews_follow_negation_and_but_rules():
    texts, labels = text.make_reviews(400, seed=1)
    assert len(set(texts)) == 400 and set(labels.tolist()) == {0.0, 1.0}
    positive, negative = set(text.ADJECTIVES[1]), set(text.ADJECTIVES[-1])
    checked = 0
    for t, y in zip(texts, labels):
        last = t.split(" but ")[-1].strip(" .!").split()  # the clause after "but" decides
        if "was" in last and last[-1] in positive | negative:
            meaning = 1.0 if last[-1] in positive else 0.0
            assert y == (1.0 - meaning if "not" in last else meaning), t
            checked += 1
    assert checked > 50


def test_lab_command_quick(tmp_path, capsys):  # tests/test_labs.py runs every lab's quick mode too
    assert main(["lab", "attention", "--quick", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "accuracy" in out and (tmp_path / "index.html").is_file()


@pytest.mark.slow
def test_full_labs_reach_the_issue_targets():
    metrics = labs.run("text", verbose=0)
    assert metrics["lstm_accuracy"] >= 0.9 and metrics["transformer_accuracy"] >= 0.9
    metrics = labs.run("attention", verbose=0)
    assert metrics["reverse_token_accuracy"] >= 0.99 and metrics["copy_token_accuracy"] >= 0.99
    assert np.isfinite(metrics["seconds"]) and metrics["seconds"] < 180
