"""Tensor behaviour: dtypes, operators, backward, errors, memory, the slides' worked example."""

import gc
import resource
import sys

import numpy as np
import pytest

import neurona as nr
from neurona import ops


def test_slides_worked_example():
    # seed 000, "Programando una red neuronal": bias input 1, then x = [5, 3, 2]
    x = nr.Tensor([1, 5, 3, 2])
    w = nr.Tensor([[-2, 3], [1, 0], [-2, -1], [0, 3]])
    y = x @ w
    np.testing.assert_array_equal(y.numpy(), [-3, 6])
    np.testing.assert_array_equal(ops.relu(y).numpy(), [0, 6])


def test_default_dtype_is_float32_and_arrays_keep_theirs():
    assert nr.Tensor([1, 2]).dtype == np.float32
    assert nr.Tensor(3.5).dtype == np.float32
    assert nr.Tensor(np.zeros(2)).dtype == np.float64
    assert nr.Tensor(np.arange(3)).dtype == np.arange(3).dtype
    assert (nr.Tensor([1.0]) * 2).dtype == np.float32
    assert ops.sum(nr.Tensor(np.ones(3))).dtype == np.float64


def test_attributes_and_conversions():
    t = nr.Tensor([[1, 2, 3], [4, 5, 6]])
    assert t.shape == (2, 3) and t.ndim == 2 and t.size == 6 and len(t) == 2
    assert t.sum().item() == 21 and t.mean().item() == 3.5
    assert t.max(axis=0).tolist() == [4, 5, 6]
    assert t.T.shape == (3, 2) and t.reshape(3, 2).shape == (3, 2) and t.reshape((6,)).shape == (6,)
    assert t.transpose(1, 0).shape == (3, 2)
    assert isinstance(t.numpy(), np.ndarray)
    assert np.asarray(t).shape == (2, 3)
    assert (t > 3).numpy().tolist() == [[False, False, False], [True, True, True]]
    assert (t == 2).numpy().sum() == 1
    assert "Tensor(" in repr(nr.Tensor([1.0], requires_grad=True))
    with pytest.raises(ValueError, match="one element"):
        t.item()


def test_operators_with_numbers_on_both_sides():
    a = nr.Tensor([1.0, 2.0, 4.0])
    np.testing.assert_allclose((2 - a).numpy(), [1, 0, -2])
    np.testing.assert_allclose((1 / a).numpy(), [1, 0.5, 0.25])
    np.testing.assert_allclose((2**a).numpy(), [2, 4, 16])
    np.testing.assert_allclose((a**2).numpy(), [1, 4, 16])
    np.testing.assert_allclose((-a + 3 * a).numpy(), [2, 4, 8])
    np.testing.assert_allclose(abs(-a).numpy(), [1, 2, 4])


def test_backward_accumulates_over_shared_subexpressions():
    x = nr.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = x * 3
    z = y * y + y  # y used three times
    z.sum().backward()
    np.testing.assert_allclose(x.grad, (2 * 3 * x.data * 3) + 3)


def test_backward_broadcast_gradient_is_summed_to_shape():
    w = nr.Tensor(np.ones((1, 3)), requires_grad=True)
    b = nr.Tensor(np.ones(3), requires_grad=True)
    (nr.Tensor(np.ones((4, 3))) * w + b).sum().backward()
    np.testing.assert_array_equal(w.grad, [[4, 4, 4]])
    np.testing.assert_array_equal(b.grad, [4, 4, 4])


def test_grad_accumulates_across_calls_until_cleared():
    x = nr.Tensor(2.0, requires_grad=True)
    (x * x).backward()
    (x * x).backward()
    assert x.grad == pytest.approx(8.0)
    x.zero_grad()
    assert x.grad is None


def test_no_grad_and_detach():
    x = nr.Tensor([1.0], requires_grad=True)
    with nr.no_grad():
        y = x * 2
    assert not y.requires_grad and y.creator is None
    d = (x * 2).detach()
    assert not d.requires_grad and d.creator is None
    assert nr.is_grad_enabled()


def test_errors_are_clear():
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(4, 5\)"):
        nr.Tensor(np.ones((2, 3))) @ nr.Tensor(np.ones((4, 5)))
    x = nr.Tensor(np.ones(3), requires_grad=True)
    with pytest.raises(RuntimeError, match="scalar"):
        (x * 2).backward()
    with pytest.raises(TypeError, match="floating-point"):
        nr.Tensor(np.arange(3), requires_grad=True)
    with pytest.raises(RuntimeError, match="does not require grad"):
        nr.Tensor([1.0]).sum().backward()
    y = (x * 2).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph"):
        y.backward()
    with pytest.raises(ValueError, match=r"shape \(2,\)"):
        (x * 2).backward(np.ones(2))
    with pytest.raises(ValueError, match="reshape"):
        x.reshape(2, 2)


def test_retain_graph_allows_second_backward():
    x = nr.Tensor(1.5, requires_grad=True)
    y = ops.exp(x)
    y.backward(retain_graph=True)
    y.backward()
    assert x.grad == pytest.approx(2 * np.exp(1.5))


def test_explicit_gradient_argument():
    x = nr.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    (x * x).backward(np.array([1.0, 10.0]))
    np.testing.assert_allclose(x.grad, [2, 40])


def test_deep_graph_does_not_recurse():
    x = nr.Tensor(1.0, requires_grad=True)
    y = x
    for _ in range(5000):
        y = y * 1.0001
    y.backward()
    assert x.grad == pytest.approx(1.0001**5000, rel=1e-3)


def _rss_mb():
    if sys.platform.startswith("linux"):
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * resource.getpagesize() / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**10


def test_training_loop_memory_is_flat():
    w = nr.Tensor(np.zeros(1_000_000, np.float32), requires_grad=True)
    x = nr.Tensor(np.ones(1_000_000, np.float32))

    def step():
        loss = ops.mean(ops.square(ops.tanh(x * w) - 0.5))
        loss.backward()
        w.data -= 0.1 * w.grad
        w.grad = None

    for _ in range(20):
        step()
    gc.collect()
    before = _rss_mb()
    for _ in range(1000):
        step()
    gc.collect()
    assert _rss_mb() - before < 20  # MB; a leaked graph would hold ~8 MB per step


def test_python_numbers_take_the_tensor_dtype():
    x = nr.Tensor(np.array([1.0]))
    assert (x * 0.3).data[0] == 0.3  # exactly the float64 0.3, not a float32 rounding
    assert (0.3 - x).dtype == np.float64
    assert (nr.Tensor([1.0]) * 0.3).dtype == np.float32
