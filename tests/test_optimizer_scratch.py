"""Optimizer scratch is one shared, piece-sized buffer, not state (#18): same bits, less memory, old files load."""

import numpy as np
import pytest

import neurona as nr
from neurona import layers
from neurona import optimizers as O
from neurona.layers.base import clear_session
from neurona.models import Sequential, load_model
from neurona.optimizers import base
from neurona.utils import set_random_seed

MAKERS = {
    "sgd": lambda: O.SGD(0.1), "sgd_momentum": lambda: O.SGD(0.1, momentum=0.9),
    "sgd_nesterov": lambda: O.SGD(0.1, momentum=0.9, nesterov=True), "adam": lambda: O.Adam(0.01),
    "adam_amsgrad": lambda: O.Adam(0.01, amsgrad=True), "nadam": lambda: O.Nadam(0.01),
    "adamax": lambda: O.Adamax(0.01), "rmsprop": lambda: O.RMSprop(0.01, momentum=0.5, centered=True),
    "adagrad": lambda: O.Adagrad(0.1), "adadelta": lambda: O.Adadelta(1.0),
}


def _whole(opt, w, g, state, lr):
    """The update on the whole array with whole-array scratch: what the pieces must reproduce bit for bit."""
    opt._update(w, g, (*state, *(np.empty_like(w) for _ in range(opt._n_scratch))), lr)


@pytest.mark.parametrize("name", sorted(MAKERS))
def test_pieces_are_bitwise_the_whole_array_update_and_scratch_is_not_state(name):
    r = np.random.default_rng(1)
    big = r.standard_normal((3, base._CHUNK + 7)).astype(np.float32)  # updated in pieces
    small = r.standard_normal((5, 4)).astype(np.float32)  # updated whole, scratch is a view of the buffer
    opt, ref = MAKERS[name](), MAKERS[name]()
    ws = [nr.Tensor(big.copy()), nr.Tensor(small.copy())]
    refs = [w.copy() for w in (big, small)]
    states = [ref._make_slots(w) for w in refs]
    for _ in range(3):
        grads = [r.standard_normal(w.shape).astype(np.float32) for w in refs]
        lr = ref._current_lr()
        ref._begin_step()
        for w, g, st in zip(refs, grads, states):
            _whole(ref, w, g, st, lr)
        ref.iterations += 1
        opt.apply(grads, ws)
    for w, expected in zip(ws, refs):
        np.testing.assert_array_equal(w.data, expected)
    # state: only arrays that carry from one step to the next; scratch: one piece per scratch array
    state_sizes = [sum(a.size for a in entry[1]) for entry in opt._slots.values()]
    assert state_sizes == [len(states[0]) * big.size, len(states[1]) * small.size]
    assert sum(b.size for b in opt._scratch.values()) == opt._n_scratch * base._CHUNK


@pytest.mark.parametrize("name", ["sgd_momentum", "adam", "nadam"])
def test_kept_pieces_follow_a_new_weight_array(name):
    """The pieces of a large weight are cut once and kept: a new array put in `v.data` (set_weights-style) is
    updated, bitwise as the whole-array update, and the old array is left alone."""
    r = np.random.default_rng(2)
    start = r.standard_normal((2, base._CHUNK + 3)).astype(np.float32)
    opt, ref = MAKERS[name](), MAKERS[name]()
    w = nr.Tensor(start.copy())
    expected = start.copy()
    state = ref._make_slots(expected)
    for step in range(4):
        if step == 2:
            old = w.data
            kept = old.copy()
            w.data = r.standard_normal(start.shape).astype(np.float32)  # a new array object, new values
            expected = w.data.copy()
        g = r.standard_normal(start.shape).astype(np.float32)
        lr = ref._current_lr()
        ref._begin_step()
        _whole(ref, expected, g, state, lr)
        ref.iterations += 1
        opt.apply([g], [w])
        np.testing.assert_array_equal(w.data, expected)
    np.testing.assert_array_equal(old, kept)


def test_old_optimizer_files_with_a_saved_scratch_copy_still_load(tmp_path):
    """Files written when SGD kept a full scratch copy as its last slot: the extra slot is ignored."""
    def model():
        clear_session()
        set_random_seed(0)
        m = Sequential([layers.Input((6,)), layers.Dense(5, activation="relu"), layers.Dense(2)])
        m.compile(optimizer=O.SGD(0.05, momentum=0.9), loss="mse")
        return m

    r = np.random.default_rng(0)
    x, y = r.random((32, 6)).astype(np.float32), r.random((32, 2)).astype(np.float32)
    m = model()
    m.fit(x, y, epochs=2, batch_size=8, verbose=0, shuffle=False)
    opt = m.optimizer
    momenta = {k: e[1][0].copy() for k, e in opt._slots.items()}
    for key, (v, state) in list(opt._slots.items()):  # the old layout: momentum, then a scratch copy
        opt._slots[key] = (v, (*state, np.full_like(v.data, 7.0)))
    m.save(tmp_path / "old.neurona")
    for key, (v, state) in list(opt._slots.items()):
        opt._slots[key] = (v, state[:1])
    loaded = load_model(tmp_path / "old.neurona")
    lopt = loaded.optimizer
    assert lopt.iterations == opt.iterations
    for w, lw in zip(m.trainable_weights, loaded.trainable_weights):
        state = lopt._slots[id(lw)][1]
        assert len(state) == 1
        np.testing.assert_array_equal(state[0], momenta[id(w)])
    m.fit(x, y, epochs=1, batch_size=8, verbose=0, shuffle=False)
    loaded.fit(x, y, epochs=1, batch_size=8, verbose=0, shuffle=False)
    for w, lw in zip(m.weights, loaded.weights):
        np.testing.assert_array_equal(w.data, lw.data)
    # a slot that fits neither the state nor the old scratch is still refused
    for key, (v, state) in list(opt._slots.items()):
        opt._slots[key] = (v, (*state, np.zeros_like(v.data), np.zeros_like(v.data)))
    m.save(tmp_path / "bad.neurona")
    with pytest.raises(ValueError, match="does not fit SGD"):
        load_model(tmp_path / "bad.neurona")
