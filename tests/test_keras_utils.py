"""keras.utils data helpers: pad_sequences, timeseries windows, image/text datasets from class folders,
compared with Keras's own functions on the same data (skipped without Keras)."""

from __future__ import annotations

import os

import numpy as np
import pytest

from neurona import utils


@pytest.fixture(scope="module")
def keras():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    return pytest.importorskip("keras")


def _to_np(x):
    return x.numpy() if hasattr(x, "numpy") else np.asarray(x)


SEQS = [[1, 2, 3], [4], [], [5, 6, 7, 8, 9]]


@pytest.mark.parametrize("kwargs", [{}, {"maxlen": 3}, {"maxlen": 4, "padding": "post"},
                                    {"maxlen": 2, "truncating": "post", "value": -1},
                                    {"dtype": "float32", "padding": "post", "value": 0.5}])
def test_pad_sequences_matches_keras(keras, kwargs):
    np.testing.assert_array_equal(utils.pad_sequences(SEQS, **kwargs), keras.utils.pad_sequences(SEQS, **kwargs))


def test_pad_sequences_plain_numpy_rule():
    out = utils.pad_sequences([[1, 2], [3]], maxlen=3)
    assert out.dtype == np.int32 and out.tolist() == [[0, 1, 2], [0, 0, 3]]
    with pytest.raises(ValueError, match="padding"):
        utils.pad_sequences([[1]], padding="middle")
    with pytest.raises(ValueError, match="sequence 1"):
        utils.pad_sequences([[1], 5])


@pytest.mark.parametrize("kwargs", [dict(sequence_length=5, batch_size=4),
                                    dict(sequence_length=3, sequence_stride=2, sampling_rate=2, batch_size=3,
                                         start_index=2, end_index=40)])
def test_timeseries_windows_match_keras(keras_tf, kwargs):
    keras = keras_tf
    data = np.arange(50 * 2, dtype="float32").reshape(50, 2)
    targets = np.arange(50) * 10
    ours = [(x, y) for x, y in utils.timeseries_dataset_from_array(data, targets, **kwargs)]
    theirs = [(_to_np(x), _to_np(y)) for x, y in keras.utils.timeseries_dataset_from_array(data, targets, **kwargs)]
    assert len(ours) == len(theirs)
    for (a, b), (c, d) in zip(ours, theirs):
        np.testing.assert_array_equal(a, c)
        np.testing.assert_array_equal(b, d)


def test_timeseries_rule_without_keras():
    data = np.arange(10)
    batches = list(utils.timeseries_dataset_from_array(data, None, sequence_length=3, batch_size=2))
    assert [b.tolist() for b in batches] == [[[0, 1, 2], [1, 2, 3]], [[2, 3, 4], [3, 4, 5]], [[4, 5, 6], [5, 6, 7]],
                                            [[6, 7, 8], [7, 8, 9]]]
    shuffled = np.concatenate(list(utils.timeseries_dataset_from_array(data, None, 3, shuffle=True, seed=1)))
    assert sorted(map(tuple, shuffled.tolist())) == [(i, i + 1, i + 2) for i in range(8)]


@pytest.fixture()
def image_dir(tmp_path):
    from PIL import Image

    rng = np.random.default_rng(0)
    for name, count in (("cats", 3), ("dogs", 4)):
        (tmp_path / name).mkdir()
        for i in range(count):
            pixels = rng.integers(0, 256, (6, 5, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(tmp_path / name / f"{i}.png")
            (tmp_path / name / f"{i}.txt").write_text(f"{name} text {i}")
    return tmp_path


@pytest.mark.parametrize("label_mode", ["int", "categorical", "binary"])
def test_image_dataset_from_directory_matches_keras(keras_tf, image_dir, label_mode):
    keras = keras_tf
    args = dict(label_mode=label_mode, image_size=(6, 5), batch_size=3, shuffle=False)
    ours = utils.image_dataset_from_directory(image_dir, **args)
    theirs = keras.utils.image_dataset_from_directory(image_dir, **args)
    assert ours.class_names == theirs.class_names == ["cats", "dogs"]
    ours_x, ours_y = map(np.concatenate, zip(*ours))
    theirs_x, theirs_y = map(np.concatenate, zip(*[(_to_np(x), _to_np(y)) for x, y in theirs]))
    np.testing.assert_array_equal(ours_x, theirs_x)
    np.testing.assert_array_equal(ours_y, theirs_y)
    assert ours_x.dtype == np.float32


def test_image_dataset_split_is_disjoint_and_seeded(image_dir):
    train, val = utils.image_dataset_from_directory(image_dir, image_size=(3, 3), batch_size=2, seed=3,
                                                    validation_split=0.3, subset="both")
    assert len(train.file_paths) == 5 and len(val.file_paths) == 2
    assert not set(train.file_paths) & set(val.file_paths)
    x, y = next(iter(train))
    assert x.shape == (2, 3, 3, 3) and y.dtype == np.int32
    with pytest.raises(ValueError, match="needs a seed"):
        utils.image_dataset_from_directory(image_dir, validation_split=0.2, subset="training")
    with pytest.raises(FileNotFoundError, match="no such directory"):
        utils.image_dataset_from_directory(image_dir / "missing")


def test_text_dataset_from_directory_matches_keras(keras_tf, image_dir):
    keras = keras_tf
    ours = utils.text_dataset_from_directory(image_dir, batch_size=4, shuffle=False)
    theirs = keras.utils.text_dataset_from_directory(image_dir, batch_size=4, shuffle=False)
    ours_t, ours_y = map(np.concatenate, zip(*ours))
    their_t = [t.decode() for x, _ in theirs for t in _to_np(x)]
    their_y = np.concatenate([_to_np(y) for _, y in theirs])
    assert list(ours_t) == their_t and ours_t[0] == "cats text 0"
    np.testing.assert_array_equal(ours_y, their_y)


def test_image_round_trip_helpers(tmp_path):
    x = np.arange(4 * 3 * 3, dtype="float32").reshape(4, 3, 3) * 2
    img = utils.array_to_img(x, scale=False)
    img.save(tmp_path / "a.png")
    back = utils.img_to_array(utils.load_img(tmp_path / "a.png"))
    np.testing.assert_array_equal(back, x)
