"""The LSTM's forward and backward scratch share one buffer (ops/lstm_rows.regions, #18 training memory): the
arrays of one request do not overlap, a workspace holds the larger set and not both, and reusing it changes no
result."""

import numpy as np

from neurona.ops import lstm_rows
from neurona.ops.recurrent import LSTMOp

RNG = np.random.default_rng(5)
B, T, D, H = 6, 9, 3, 5


def test_regions_are_aligned_separate_views_of_one_growing_buffer():
    ws: dict = {}
    a, b, c = lstm_rows.regions(ws, "s", np.dtype(np.float32), (3, 5), (7,), (2, 2, 2))
    buf = ws["s"]
    assert [v.shape for v in (a, b, c)] == [(3, 5), (7,), (2, 2, 2)]
    assert all(v.flags.c_contiguous and np.shares_memory(v, buf) for v in (a, b, c))
    starts = [v.__array_interface__["data"][0] - buf.__array_interface__["data"][0] for v in (a, b, c)]
    assert starts == [0, 64, 128]  # each on a 64-byte boundary from the buffer's start
    assert not any(np.shares_memory(p, q) for p, q in ((a, b), (a, c), (b, c)))
    (small,) = lstm_rows.regions(ws, "s", np.dtype(np.float32), (4,))
    assert ws["s"] is buf and np.shares_memory(small, buf)  # a smaller request reuses the buffer
    (big,) = lstm_rows.regions(ws, "s", np.dtype(np.float32), (1000,))
    assert ws["s"] is not buf and ws["s"].size == 1008  # a larger one grows it (to whole 64-byte blocks)
    (f64,) = lstm_rows.regions(ws, "s", np.dtype(np.float64), (4,))
    assert f64.dtype == np.float64 and ws["s"].dtype == np.float64


def _args(dtype=np.float32):
    x = RNG.standard_normal((B, T, D)).astype(dtype)
    w = (RNG.standard_normal((D, 4 * H)) * 0.5).astype(dtype)
    u = (RNG.standard_normal((H, 4 * H)) * 0.5).astype(dtype)
    b = (RNG.standard_normal(4 * H) * 0.5).astype(dtype)
    return x, w, u, b


def _step(ws: dict, x, w, u, b, g):
    z, hx = lstm_rows.forward(ws, x, w, u, b, None, None)
    dx = np.empty_like(x)
    grads = lstm_rows.backward(ws, z, hx, u, w, g.copy(), np.zeros((H, B), x.dtype), np.zeros((H, B), x.dtype),
                               dx.transpose(1, 0, 2))
    return [dx, *(np.array(a) for a in grads)]


def test_one_workspace_holds_the_larger_scratch_and_reuse_changes_no_bit():
    x, w, u, b = _args()
    g = RNG.standard_normal((T, H, B)).astype(np.float32)
    ws: dict = {}
    first = _step(ws, x, w, u, b, g)
    # forward: [U; W; b] (4H, H+D+1) and the products (3H, B); backward: the chunk's factors (CHUNK, 5, H, B),
    # U permuted (H, 4H) and W permuted (4H, D), each rounded up to 64 bytes: one buffer of the larger set
    def rounded(*shapes):
        return sum(-(-int(np.prod(s)) // 16) * 16 for s in shapes)

    fwd = rounded((4 * H, H + D + 1), (3 * H, B))
    bwd = rounded((lstm_rows.CHUNK, 5, H, B), (H, 4 * H), (4 * H, D))
    assert ws["scratch"].size == max(fwd, bwd)
    assert not {"wall", "p", "q"} & set(ws)  # no separate buffers besides it
    other = _step(ws, x * 0.5, w, u, b, g)  # another call in the same buffers
    again = _step(ws, x, w, u, b, g)
    fresh = _step({}, x, w, u, b, g)
    for a, e, f in zip(again, first, fresh):
        np.testing.assert_array_equal(a, e)
        np.testing.assert_array_equal(a, f)
    assert not np.array_equal(other[0], first[0])


def test_a_retained_graph_backward_twice_gives_the_same_gradients():
    x, w, u, b = _args(np.float64)
    op = LSTMOp("tanh", "sigmoid", return_sequences=True)
    op.forward(x, w, u, b)
    g_out = RNG.standard_normal((B, T, H))
    first = [None if a is None else a.copy() for a in op.backward(g_out, None, None)]
    second = op.backward(g_out, None, None)  # its buffers were handed back: the forward is recomputed first
    for a, e in zip(second, first):
        if e is not None:
            np.testing.assert_array_equal(a, e)
