"""`neurona recommend`: the top-N of a user from a ratings file, and one-line errors with exit code 2."""

import subprocess
import sys

import numpy as np
import pytest

from neurona.cli import main
from neurona.datasets import ratings
from neurona.recommenders import ItemKNN

SLIDES_CSV = "user,item,rating\n" + "".join(
    f"{u},{i},{int(r)}\n" for (u, i), r in zip(ratings.slides().X.tolist(), ratings.slides().y))


@pytest.fixture
def slides_csv(tmp_path):
    p = tmp_path / "slides.csv"
    p.write_text(SLIDES_CSV)
    return p


def test_recommend_matches_the_estimator(slides_csv, capsys):
    assert main(["recommend", str(slides_csv), "--user", "u1", "--n", "2", "--k", "3"]) == 0
    out = capsys.readouterr().out
    d = ratings.slides()
    recs = ItemKNN(k=3, prediction="mean_centered").fit(d.X, d.y).recommend("u1", 2)
    for r in recs:
        assert f"{r.item}" in out and f"{r.score:6.3f}" in out
    assert "Top 2 for user u1" in out and "like items the user rated" in out


@pytest.mark.parametrize("method", ["user-knn", "mf", "neural"])
def test_every_method_runs(slides_csv, capsys, method):
    assert main(["recommend", str(slides_csv), "--user", "u4", "--method", method]) == 0
    assert "1. i1" in capsys.readouterr().out  # u4 has not rated only i1


@pytest.mark.parametrize("text,args,message", [
    (SLIDES_CSV, ["--user", "u9"], "user 'u9' is not in"),
    ("", ["--user", "u1"], "the file is empty"),
    ("who,what,stars\na,b,c\n", ["--user", "a"], "unknown columns"),
    ("user,item,rating\na,b,lots\n", ["--user", "a"], "the rating 'lots' is not a number"),
    (SLIDES_CSV, ["--user", "u1", "--scale", "1", "4"], "outside the declared scale"),
    ("user,item,rating\na,b,1\na,b,2\n", ["--user", "a", "--duplicates", "error"], "again"),
])
def test_bad_input_is_one_line_and_exit_code_2(tmp_path, capsys, text, args, message):
    p = tmp_path / "r.csv"
    p.write_text(text)
    assert main(["recommend", str(p), *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("neurona: error:") and message in err and err.count("\n") == 1


def test_missing_file_and_bad_n(tmp_path, capsys):
    assert main(["recommend", str(tmp_path / "none.csv"), "--user", "1"]) == 2
    assert "no such file" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        main(["recommend", str(tmp_path / "none.csv"), "--user", "1", "--n", "0"])
    assert e.value.code == 2


def test_subprocess_integer_ids(tmp_path):
    p = tmp_path / "u.data"
    rng = np.random.default_rng(0)
    rows = {(int(u), int(i)): int(r) for u, i, r in zip(rng.integers(1, 30, 400), rng.integers(1, 40, 400),
                                                          rng.integers(1, 6, 400))}
    p.write_text("".join(f"{u}\t{i}\t{r}\t0\n" for (u, i), r in rows.items()))
    user = next(iter(rows))[0]
    run = subprocess.run([sys.executable, "-m", "neurona", "recommend", str(p), "--user", str(user), "--n", "3"],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.count("\n") >= 4 and "Top 3 for user" in run.stdout
