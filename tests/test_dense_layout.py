"""Narrow Dense kernels stored column by column (#17): same values, same results to float32 rounding, the
optimizer's passes in the weight's own layout (bitwise the same update), and fit's plain accuracy tracker."""

import numpy as np
import pytest

import neurona as nr
from neurona import layers, metrics, optimizers
from neurona.layers.base import clear_session
from neurona.models import Sequential
from neurona.models.fast_paths import plain_tracker
from neurona.ops.nn import NARROW_UNITS
from neurona.ops.nn import Dense as DenseOp
from neurona.tensor import Tensor
from neurona.utils import set_random_seed


def _mlp(units=10, seed=0):
    clear_session()
    set_random_seed(seed)
    model = Sequential([layers.Input((20,)), layers.Dense(units, activation="sigmoid"),
                        layers.Dense(3, activation="softmax")])
    model.compile(optimizer=optimizers.SGD(0.1), loss="categorical_crossentropy", metrics=["accuracy"])
    return model


def test_narrow_kernels_are_fortran_ordered_with_the_initializer_values():
    model = _mlp()
    narrow, head = model.layers[0].kernel.data, model.layers[1].kernel.data
    assert narrow.flags.f_contiguous and not narrow.flags.c_contiguous and head.flags.f_contiguous
    wide = _mlp(units=NARROW_UNITS + 1).layers[0].kernel.data
    assert wide.flags.c_contiguous
    # the same draws as a C-ordered kernel: only the memory layout differs
    set_random_seed(0)
    clear_session()
    layer = layers.Dense(10, activation="sigmoid")
    layer.build((None, 20))
    np.testing.assert_array_equal(layer.kernel.data, narrow)


@pytest.mark.parametrize("act", [None, "sigmoid", "relu"])
def test_dense_op_on_a_fortran_kernel_equals_the_c_kernel(act):
    r = np.random.default_rng(1)
    x = r.normal(size=(100, 784)).astype(np.float32)
    w = (r.normal(size=(784, 10)) * 0.05).astype(np.float32)
    b = r.normal(size=10).astype(np.float32)
    gy = r.normal(size=(100, 10)).astype(np.float32)
    outs = []
    for kernel in (w, np.asfortranarray(w)):
        xt, wt, bt = Tensor(x, requires_grad=True), Tensor(kernel, requires_grad=True), Tensor(b, requires_grad=True)
        y = DenseOp(act)(xt, wt, bt)
        y.backward(gy)
        assert wt.grad.flags.f_contiguous  # small kernels: the fast product's layout, a Fortran kernel's own
        outs.append((y.data, xt.grad, wt.grad, bt.grad))
    for a, c in zip(*outs):
        np.testing.assert_allclose(a, c, rtol=2e-5, atol=2e-5)


def test_dense_op_gradcheck_with_a_fortran_kernel():
    r = np.random.default_rng(2)
    w = np.asfortranarray(r.normal(size=(7, 3)))
    for act in ("sigmoid", "relu", None):
        assert nr.gradcheck(lambda x, w, b, act=act: DenseOp(act)(x, w, b), r.normal(size=(5, 7)), w,
                            r.normal(size=3))


@pytest.mark.parametrize("opt", [lambda: optimizers.SGD(0.1), lambda: optimizers.SGD(0.1, momentum=0.9),
                                 lambda: optimizers.SGD(0.1, momentum=0.9, nesterov=True),
                                 lambda: optimizers.Adam(0.01)])
@pytest.mark.parametrize("shape", [(784, 10), (8192, 10)])  # small, and updated in pieces (> 65,536 values)
def test_update_of_a_fortran_weight_is_bitwise_the_c_update(opt, shape):
    r = np.random.default_rng(3)
    w0 = r.normal(size=shape).astype(np.float32)
    grads = [r.normal(size=shape).astype(np.float32) for _ in range(3)]
    results = []
    for order in ("C", "F"):
        w = Tensor(np.array(w0, order=order))
        o = opt()
        for g in grads:
            o.apply([np.array(g, order=order)], [w])
        assert w.data.flags[f"{order}_CONTIGUOUS"]  # updated in place, in its own layout
        results.append(w.data)
    np.testing.assert_array_equal(results[0], results[1])


def test_plain_tracker_leaves_the_state_of_the_general_path():
    r = np.random.default_rng(4)
    a, b = _mlp(), _mlp()
    x = r.random((30, 20)).astype(np.float32)
    y = np.eye(3, dtype=np.float32)[r.integers(0, 3, 30)]
    for m in (a, b):
        m.fit(x, y, batch_size=10, epochs=1, verbose=0, shuffle=False)
    track = plain_tracker(a._specs)
    assert track is not None
    for m in (a, b):
        m._reset_metrics()
    for i in range(0, 30, 10):
        out = r.random((10, 3)).astype(np.float32)
        loss = np.asarray(r.random(), np.float32)
        assert track(a._totals, y[i:i + 10], out, loss)
        b._track_arrays([y[i:i + 10]], [out], None, loss)
    assert a._totals == b._totals and a._current_logs() == b._current_logs()
    assert not track(a._totals, y[:10], r.random((10, 4)).astype(np.float32), loss)  # shapes differ: general path
    sparse = _mlp()
    sparse.compile(optimizer="sgd", loss="categorical_crossentropy", metrics=[metrics.SparseCategoricalAccuracy()])
    assert plain_tracker(sparse._build_specs()) is None
