"""neurona.datasets.ratings: file layouts, bad files, the checked download (from a local file), slides, synthetic."""

import hashlib

import numpy as np
import pytest

from neurona.datasets import ratings
from neurona.datasets.ratings import RatingsFormatError


def _write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_csv_with_and_without_header(tmp_path):
    a = ratings.load(_write(tmp_path, "a.csv", "user,item,rating,timestamp\n1,10,4,100\n2,10,3.5,200\n"))
    b = ratings.load(_write(tmp_path, "b.csv", "1,10,4,100\n2,10,3.5,200\n"))
    for d in (a, b):
        assert d.X.tolist() == [[1, 10], [2, 10]] and d.X.dtype.kind == "i"
        np.testing.assert_array_equal(d.y, [4.0, 3.5])
        np.testing.assert_array_equal(d.timestamps, [100.0, 200.0])
    s = ratings.load(_write(tmp_path, "s.csv", "usuario;producto;valoracion\nana;pan;5\n"))
    assert s.X.tolist() == [["ana", "pan"]]


def test_movielens_layouts(tmp_path):
    udata = ratings.load(_write(tmp_path, "u.data", "196\t242\t3\t881250949\n186\t302\t3\t891717742\n"))
    assert udata.X.tolist() == [[196, 242], [186, 302]] and udata.timestamps[0] == 881250949
    latest = ratings.load(_write(tmp_path, "ratings.csv", "userId,movieId,rating,timestamp\n1,1,4.0,964982703\n"))
    assert latest.X.tolist() == [[1, 1]] and latest.y[0] == 4.0
    ml1m = ratings.load(_write(tmp_path, "ratings.dat", "1::1193::5::978300760\n1::661::3::978302109\n"))
    assert ml1m.X.tolist() == [[1, 1193], [1, 661]] and ml1m.y.tolist() == [5.0, 3.0]


def test_named_columns_and_unknown_columns(tmp_path):
    p = _write(tmp_path, "c.csv", "who,what,stars\na,x,3\n")
    with pytest.raises(RatingsFormatError, match=r"unknown columns \['who', 'what', 'stars'\]: no column for the "
                                                 r"user, item, rating"):
        ratings.load(p)
    d = ratings.load(p, user="who", item="what", rating="stars")
    assert d.X.tolist() == [["a", "x"]] and d.y.tolist() == [3.0]
    with pytest.raises(RatingsFormatError, match="there is no column 'stars2'"):
        ratings.load(p, user="who", item="what", rating="stars2")


@pytest.mark.parametrize("text,message", [
    ("", "the file is empty"),
    ("\n\n", "the file is empty"),
    ("user,item,rating\n", "header but no ratings"),
    ("user,item,rating\n1,2,great\n", r"line 2: the rating 'great' is not a number"),
    ("user,item,rating\n1,2,nan\n", "not a finite number"),
    ("user,item,rating\n1,2\n", "line 2 has 2 field"),
    ("1,2\n", "expected user,item,rating"),
    ("user,item,rating\n,2,3\n", "line 2: the user id is empty"),
])
def test_bad_files(tmp_path, text, message):
    with pytest.raises(RatingsFormatError, match=message):
        ratings.load(_write(tmp_path, "bad.csv", text))


def test_scale_and_missing_file(tmp_path):
    p = _write(tmp_path, "r.csv", "1,1,3\n1,2,6\n")
    with pytest.raises(RatingsFormatError, match=r"line 2: the rating 6 is outside the declared scale \[1, 5\]"):
        ratings.load(p, rating_scale=(1, 5))
    with pytest.raises(RatingsFormatError, match="no such file"):
        ratings.load(tmp_path / "nothing.csv")


def test_duplicate_rules(tmp_path):
    p = _write(tmp_path, "d.csv", "user,item,rating\n1,1,2\n1,2,5\n1,1,4\n")
    last, mean = ratings.load(p), ratings.load(p, duplicates="mean")
    assert last.X.tolist() == [[1, 1], [1, 2]] and last.y.tolist() == [4.0, 5.0] and last.duplicates_merged == 1
    assert mean.y.tolist() == [3.0, 5.0]
    with pytest.raises(RatingsFormatError, match=r"line 4 rates user 1, item 1 again \(first on line 2\)"):
        ratings.load(p, duplicates="error")


def test_fetch_checks_the_hash(tmp_path, monkeypatch):
    monkeypatch.setenv("NEURONA_HOME", str(tmp_path / "home"))
    src = _write(tmp_path, "small.csv", "1,1,5\n2,1,3\n")
    good = hashlib.sha256(src.read_bytes()).hexdigest()
    d = ratings.fetch(src.as_uri(), good)
    assert d.y.tolist() == [5.0, 3.0]
    assert (tmp_path / "home" / "datasets" / "ratings" / "small.csv").is_file()
    from neurona.datasets import DatasetError

    with pytest.raises(DatasetError, match="SHA-256"):
        ratings.fetch(src.as_uri(), "0" * 64, fname="other.csv")
    assert not (tmp_path / "home" / "datasets" / "ratings" / "other.csv").exists()


def test_slides_matrix():
    d = ratings.slides()
    m, users, items = d.as_matrix()
    assert users == list(ratings.SLIDES_USERS) and items[:3] == ["i1", "i2", "i4"]
    dense = np.nan_to_num(m[:, [items.index(i) for i in ratings.SLIDES_ITEMS]])
    np.testing.assert_array_equal(dense, ratings.SLIDES_MATRIX)
    assert len(d) == 14  # 3 + 3 + 4 + 4 ratings in the slides


def test_synthetic_low_rank_and_mnar():
    d = ratings.synthetic(n_users=200, n_items=300, n_ratings=5000, noise=0.0, seed=3)
    assert len(d) == 5000 and d.y.min() >= 1 and d.y.max() <= 5
    assert len({tuple(p) for p in d.X.tolist()}) == 5000
    np.testing.assert_allclose(d.y, d.true_ratings)  # no noise: the ratings are the clipped low-rank truth
    noisy = ratings.synthetic(n_users=200, n_items=300, n_ratings=5000, noise=0.5, seed=3)
    assert 0.3 < np.std(noisy.y - noisy.true_ratings) < 0.6
    mnar = ratings.synthetic(n_users=200, n_items=300, n_ratings=5000, mnar=3.0, seed=3)
    assert mnar.true_ratings.mean() > d.true_ratings.mean() + 0.2  # users rate more what they like
    whole = ratings.synthetic(n_users=200, n_items=300, n_ratings=5000, integer=True, seed=3)
    assert np.all(whole.y == np.rint(whole.y))
    with pytest.raises(ValueError, match="too many"):
        ratings.synthetic(n_users=10, n_items=10, n_ratings=60)
