"""sigmoid_backward and tanh_backward work partly in place: the same bits and dtypes as the plain formulas,
with broadcasting either way and mixed precision."""

import numpy as np
import pytest

from neurona.numerics import sigmoid_backward, tanh_backward

rng = np.random.default_rng(0)
GY = rng.standard_normal((64, 33))
Y = rng.random((64, 33))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("pick", ["same", "gy row", "y row", "gy 1-d", "gy wider", "y wider"])
def test_same_bits_as_the_formulas(dtype, pick):
    gy, y = GY.astype(dtype), Y.astype(dtype)
    gy, y = {"same": (gy, y), "gy row": (gy[:1], y), "y row": (gy, y[:1]), "gy 1-d": (gy[0], y),
             "gy wider": (gy.astype(np.float64), y), "y wider": (gy, y.astype(np.float64))}[pick]
    for got, expected in ((sigmoid_backward(gy, y), gy * y * (1 - y)), (tanh_backward(gy, y), gy * (1 - y * y))):
        assert got.dtype == expected.dtype and got.shape == expected.shape
        assert np.array_equal(got, expected)
