"""Optimizer.apply's common case (the same variables as the last call, #17) does exactly what the general
per-weight path does, and notices anything that changed since it remembered the variables."""

import numpy as np
import pytest

from neurona import Tensor, optimizers
from neurona.saving.training_state import _optimizer_scalars


def _weights(seed=0):
    r = np.random.default_rng(seed)
    shapes = [((30, 7), "F"), ((7,), "C"), ((300, 300), "C"), ((7, 3), "C")]  # 90,000 elements: updated in pieces
    return [Tensor(np.asarray(r.standard_normal(s).astype(np.float32), order=o)) for s, o in shapes]


def _remembered(opt, ws, steps=3):
    """A few updates, after which `opt` takes the common case for the list `ws` (views for every small weight)."""
    for step in range(steps):
        opt.apply(_grads(ws, step), ws)
    known = opt._known
    assert known is not None and known[0] is ws and known[1] == len(opt._slots)
    assert [views is not None for _, _, views in known[2]] == [w.data.size <= 65536 for w in ws]


def _grads(ws, step):
    r = np.random.default_rng(100 + step)
    gs = [np.asarray(r.standard_normal(w.data.shape).astype(np.float32), order="A") for w in ws]
    if step % 3 == 1:
        gs[1] = None  # a weight without a gradient this step
    return gs


@pytest.mark.parametrize("make", [
    lambda: optimizers.SGD(0.1),
    lambda: optimizers.SGD(0.05, momentum=0.9, nesterov=True),
    lambda: optimizers.Adam(0.01),
    lambda: optimizers.SGD(0.1, weight_decay=0.01),
], ids=["sgd", "nesterov", "adam", "weight-decay"])
def test_same_list_every_step_equals_a_new_list_every_step(make):
    same, fresh = _weights(), _weights()
    opt_same, opt_fresh = make(), make()
    for step in range(6):
        opt_same.apply(_grads(same, step), same)  # the remembered list from the second call on
        opt_fresh.apply(_grads(fresh, step), list(fresh))  # a new list object: the general path every time
    known = opt_same._known
    assert known is not None and known[0] is same
    assert _optimizer_scalars(opt_same) == _optimizer_scalars(opt_fresh)  # nothing internal reaches a saved file
    for a, b in zip(same, fresh):
        np.testing.assert_array_equal(a.data, b.data)
    assert opt_same.iterations == opt_fresh.iterations == 6


def test_a_replaced_array_or_tensor_is_updated_not_the_remembered_one():
    ws = _weights()
    opt = optimizers.SGD(0.5)
    _remembered(opt, ws)
    old = ws[0].data
    ws[0].data = np.ones((30, 7), np.float32)  # a new array behind the same Tensor (set_weights may do this)
    ws[3] = Tensor(np.zeros((7, 3), np.float32))  # a new Tensor in the same list
    g = _grads(ws, 0)
    before = old.copy()
    opt.apply(g, ws)
    np.testing.assert_array_equal(old, before)  # the old array is left alone
    np.testing.assert_array_equal(ws[0].data, np.ones((30, 7), np.float32) - np.float32(0.5) * g[0])
    np.testing.assert_array_equal(ws[3].data, np.zeros((7, 3), np.float32) - np.float32(0.5) * g[3])
    _remembered(opt, ws, steps=1)  # the next call remembers the new array and Tensor
    assert opt._known[2][0][1] is ws[0].data and opt._known[2][3][0] is ws[3]


def test_a_wrong_gradient_shape_still_raises_on_the_remembered_list():
    ws = _weights()
    opt = optimizers.SGD(0.1)
    _remembered(opt, ws)
    g = _grads(ws, 0)
    g[3] = np.ones((3,), np.float32)  # would broadcast into the scratch without the check
    with pytest.raises(ValueError, match=r"gradient of shape \(3,\) for variable .* of shape \(7, 3\)"):
        opt.apply(g, ws)


def test_dropped_slots_are_made_again_as_the_general_path_does():
    ws, ref = _weights(), _weights()
    opt, opt_ref = optimizers.SGD(0.1, momentum=0.9), optimizers.SGD(0.1, momentum=0.9)
    _remembered(opt, ws)
    for step in range(3):
        opt_ref.apply(_grads(ref, step), list(ref))
    for o, w in ((opt, ws[3]), (opt_ref, ref[3])):
        o._slots.pop(id(w))  # what a distributed sync does for a weight rank 0 has no state for
    for step in range(3, 5):
        opt.apply(_grads(ws, step), ws)
        opt_ref.apply(_grads(ref, step), list(ref))
    for a, b in zip(ws, ref):
        np.testing.assert_array_equal(a.data, b.data)
