"""model.summary(): Keras 3's table, checked character for character (against Keras itself where installed)."""

import os

import pytest

from neurona import layers
from neurona.layers import Concatenate, Dense, Dropout, Input
from neurona.layers.base import clear_session
from neurona.models import Model, Sequential
from neurona.models.summary import readable_size, wrap


@pytest.fixture(autouse=True)
def _fresh(monkeypatch):
    clear_session()
    monkeypatch.setenv("COLUMNS", "80")  # not a terminal: Keras's table is 80 - 4 = 76 characters wide


def text(model, **kwargs):
    out = []
    model.summary(print_fn=out.append, **kwargs)
    assert len(out) == 1  # one string, as Keras 3 hands it over
    return out[0]


def slides():
    model = Sequential()
    model.add(Dense(10, activation="sigmoid", input_shape=(784,)))
    model.add(Dense(10, activation="softmax"))
    return model


def test_slides_model_summary_is_exact(capsys):
    slides().summary()
    assert capsys.readouterr().out == """\
Model: "sequential"
┏━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━┓
┃ Layer (type)                    ┃ Output Shape           ┃       Param # ┃
┡━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━┩
│ dense (Dense)                   │ (None, 10)             │         7,850 │
├─────────────────────────────────┼────────────────────────┼───────────────┤
│ dense_1 (Dense)                 │ (None, 10)             │           110 │
└─────────────────────────────────┴────────────────────────┴───────────────┘
 Total params: 7,960 (31.09 KB)
 Trainable params: 7,960 (31.09 KB)
 Non-trainable params: 0 (0.00 B)
"""


def test_wide_terminal_and_explicit_line_length(monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    lines = text(slides()).splitlines()
    assert len(lines[1]) == 88
    assert lines[2] == "┃ Layer (type)                         ┃ Output Shape                ┃         Param # ┃"
    narrow = text(slides(), line_length=50).splitlines()
    assert narrow[1:5] == ["┏━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━┳━━━━━━━━━┓",
                           "┃ Layer (type)        ┃ Output Shape   ┃ Param # ┃",
                           "┡━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━╇━━━━━━━━━┩",
                           "│ dense_2 (Dense)     │ (None, 10)     │   7,850 │"]


def test_functional_summary_with_connections_and_wrapping():
    a, b = Input((8,), name="a"), Input((4,), name="b")
    x = Concatenate()([Dense(3)(a), Dense(3)(b)])
    model = Model([a, b], [Dense(2, name="out")(x), x])
    assert text(model) == """\
Model: "functional"
┏━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━┓
┃ Layer (type)        ┃ Output Shape      ┃    Param # ┃ Connected to      ┃
┡━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━┩
│ a (InputLayer)      │ (None, 8)         │          0 │ -                 │
├─────────────────────┼───────────────────┼────────────┼───────────────────┤
│ b (InputLayer)      │ (None, 4)         │          0 │ -                 │
├─────────────────────┼───────────────────┼────────────┼───────────────────┤
│ dense (Dense)       │ (None, 3)         │         27 │ a[0][0]           │
├─────────────────────┼───────────────────┼────────────┼───────────────────┤
│ dense_1 (Dense)     │ (None, 3)         │         15 │ b[0][0]           │
├─────────────────────┼───────────────────┼────────────┼───────────────────┤
│ concatenate         │ (None, 6)         │          0 │ dense[0][0],      │
│ (Concatenate)       │                   │            │ dense_1[0][0]     │
├─────────────────────┼───────────────────┼────────────┼───────────────────┤
│ out (Dense)         │ (None, 2)         │         14 │ concatenate[0][0] │
└─────────────────────┴───────────────────┴────────────┴───────────────────┘
 Total params: 56 (224.00 B)
 Trainable params: 56 (224.00 B)
 Non-trainable params: 0 (0.00 B)
"""


def test_unbuilt_nested_and_frozen_models():
    lazy = Sequential([Dense(3)])
    assert "│ dense (Dense)                   │ ?                      │   0 (unbuilt) │" in text(lazy)
    inner = Sequential([Input((8,)), Dense(4), Dropout(0.5), Dense(1)])
    x = Input((8,))
    outer = Model(x, Dense(2)(inner(x)))
    rows = text(outer)
    assert "│ input_layer_1 (InputLayer)      │ (None, 8)              │             0 │" in rows
    assert "│ sequential_1 (Sequential)       │ (None, 1)              │            41 │" in rows
    expanded = text(outer, expand_nested=True)
    assert "│    └ dropout (Dropout)          │ (None, 4)              │             0 │" in expanded
    inner.trainable = False
    tail = text(outer, show_trainable=True).splitlines()[-3:]
    assert tail == [" Total params: 45 (180.00 B)", " Trainable params: 4 (16.00 B)",
                    " Non-trainable params: 41 (164.00 B)"]
    assert text(outer, show_trainable=True).splitlines()[2].endswith("┃ Trai… ┃")  # cut as rich cuts it


def test_helpers():
    assert readable_size(31840) == "31.09 KB" and readable_size(0) == "0.00 B"
    assert readable_size(5 * 1024 ** 2) == "5.00 MB"
    assert wrap("concatenate (Concatenate)", 17) == ["concatenate", "(Concatenate)"]
    assert wrap("global_average_pooling2d (GlobalAveragePooling2D)", 10) == ["global_av…", "(GlobalAv…"]
    assert wrap("a verylongwordindeed", 8) == ["a", "verylon…"]


# ----------------------------------------------------------------------------- against Keras itself
def _keras():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    try:
        import keras
    except Exception:
        pytest.skip("keras (with a working backend) is not installed")
    return keras


def _build_pairs(keras):
    """The same few models in neurona and in Keras, built in the same order so names agree."""
    models = []
    for lib, L, M, S, I in ((None, layers, Model, Sequential, Input),
                            (keras, keras.layers, keras.Model, keras.Sequential, keras.Input)):
        if lib is None:
            clear_session()
        else:
            keras.utils.clear_session()
        mlp = S([I((784,)), L.Dense(10, activation="sigmoid"), L.Dense(10, activation="softmax")])
        a, b = I((8,), name="a"), I((4,), name="b")
        x = L.Concatenate()([L.Dense(3)(a), L.Dense(3)(b)])
        graph = M([a, b], [L.Dense(2, name="out")(x), x], name="graph")  # Keras's Sequential uses up
        # "functional" names internally, so functional models get explicit names here
        seq = S([I((5,)), L.Dense(4), L.Dropout(0.5), L.Dense(1)])
        i = I((28, 28))
        flat = M(i, L.Dense(10)(L.Flatten()(L.Reshape((28, 28, 1))(i))), name="flat")
        j = I((4,))
        nested = M(j, L.Dense(2)(seq(L.Dense(5)(j))), name="nested")
        seq.layers[0].trainable = False
        models.append([mlp, graph, seq, flat, nested])
    return list(zip(*models))


def test_summaries_param_counts_and_shapes_equal_keras():
    keras = _keras()
    for ours, theirs in _build_pairs(keras):
        assert ours.count_params() == theirs.count_params()
        assert ours.output_shape == (theirs.output_shape if not isinstance(theirs.output_shape, tuple) or
                                     not isinstance(theirs.output_shape[0], tuple) else list(theirs.output_shape))
        for kwargs in ({}, {"show_trainable": True}, {"expand_nested": True}, {"line_length": 60}):
            got, want = [], []
            ours.summary(print_fn=got.append, **kwargs)
            theirs.summary(print_fn=lambda s, **kw: want.append(s), **kwargs)
            assert got[0] == want[0], kwargs


def test_summary_speaks_spanish_when_neurona_does(monkeypatch):
    """NEURONA_LANG=es translates Keras's column names and totals and writes numbers the Spanish way; English
    output (the Keras-parity tests above) is unchanged."""
    monkeypatch.setenv("NEURONA_LANG", "en")
    model = slides()
    en = text(model)
    monkeypatch.setenv("NEURONA_LANG", "es")
    es = text(model)
    assert "Layer (type)" in en and "Total params: 7,960 (31.09 KB)" in en
    assert 'Modelo: "' in es and "Capa (tipo)" in es and "Forma de salida" in es
    assert "Parámetros totales: 7.960 (31,09 KB)" in es
    assert "Parámetros no entrenables: 0 (0,00 B)" in es
    assert "Layer (type)" not in es and "Total params" not in es
