"""The framework's random generator, so one seed makes a whole run repeatable."""

from __future__ import annotations

import random as _pyrandom

import numpy as np

from .numerics import softmax

_rng = np.random.default_rng()


def set_seed(seed: int | None) -> None:
    """Seed neurona's generator (weights, dropout, shuffling, augmentation), NumPy's and Python's."""
    global _rng
    _rng = np.random.default_rng(seed)
    if seed is not None:
        np.random.seed(seed % 2**32)
        _pyrandom.seed(seed)


def get_rng() -> np.random.Generator:
    """The generator every random choice in neurona draws from."""
    return _rng


# ------------------------------------------------------------------------------------------------ keras.random
class SeedGenerator:
    """Keras's stateful seed: each draw that takes `seed=generator` advances it, so draws differ but a run
    started from the same seed repeats exactly."""

    def __init__(self, seed: int | None = None, **kwargs: object) -> None:
        self._initial = seed
        self._rng = np.random.default_rng(seed if seed is not None else get_rng().integers(2**31))

    def next(self) -> np.random.Generator:
        """A generator for one draw."""
        return np.random.default_rng(self._rng.integers(2**63))

    def get_config(self) -> dict:
        return {"seed": self._initial}


def _generator(seed: object) -> np.random.Generator:
    """neurona's generator (no seed), a fresh one from an int seed, or the next one of a SeedGenerator."""
    if seed is None:
        return get_rng()
    if isinstance(seed, SeedGenerator):
        return seed.next()
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        return np.random.default_rng(int(seed))
    raise TypeError(f"seed must be None, an int or a neurona.random.SeedGenerator, got {type(seed).__name__}")


def _shape(shape: object) -> tuple[int, ...]:
    return (int(shape),) if isinstance(shape, (int, np.integer)) else tuple(int(s) for s in shape)


def _out(values: np.ndarray, dtype: object, default: str = "float32") -> object:
    from .tensor import Tensor

    return Tensor(np.asarray(values).astype(dtype or default))


def normal(shape: object, mean: float = 0.0, stddev: float = 1.0, dtype: object = None, seed: object = None) -> object:
    """Samples of N(mean, stddev**2) as a float32 Tensor."""
    return _out(_generator(seed).normal(mean, stddev, _shape(shape)), dtype)


def uniform(shape: object, minval: float = 0.0, maxval: float = 1.0, dtype: object = None,
            seed: object = None) -> object:
    """Samples of U[minval, maxval)."""
    return _out(_generator(seed).uniform(minval, maxval, _shape(shape)), dtype)


def truncated_normal(shape: object, mean: float = 0.0, stddev: float = 1.0, dtype: object = None,
                     seed: object = None) -> object:
    """N(mean, stddev**2) samples redrawn until within two standard deviations of the mean."""
    rng, size = _generator(seed), _shape(shape)
    z = rng.standard_normal(size)
    bad = np.abs(z) > 2
    while bad.any():
        z[bad] = rng.standard_normal(int(bad.sum()))
        bad = np.abs(z) > 2
    return _out(mean + stddev * z, dtype)


def randint(shape: object, minval: int, maxval: int, dtype: object = "int32", seed: object = None) -> object:
    """Integers in [minval, maxval)."""
    return _out(_generator(seed).integers(minval, maxval, _shape(shape)), dtype, "int32")


def categorical(logits: object, num_samples: int, dtype: object = "int32", seed: object = None) -> object:
    """`num_samples` class indices per row of `logits` (unnormalised log-probabilities)."""
    z = np.asarray(getattr(logits, "data", logits), dtype=np.float64)
    p = softmax(z)
    rng = _generator(seed)
    draws = np.stack([rng.choice(p.shape[-1], size=num_samples, p=row) for row in p.reshape(-1, p.shape[-1])])
    return _out(draws.reshape(p.shape[:-1] + (num_samples,)), dtype, "int32")


def shuffle(x: object, axis: int = 0, seed: object = None) -> object:
    """`x` with its entries along `axis` in a random order."""
    a = np.asarray(getattr(x, "data", x))
    order = _generator(seed).permutation(a.shape[axis])
    return _out(np.take(a, order, axis=axis), a.dtype)


def gamma(shape: object, alpha: float, dtype: object = None, seed: object = None) -> object:
    return _out(_generator(seed).gamma(alpha, 1.0, _shape(shape)), dtype)


def beta(shape: object, alpha: float, beta: float, dtype: object = None, seed: object = None) -> object:
    return _out(_generator(seed).beta(alpha, beta, _shape(shape)), dtype)


def binomial(shape: object, counts: object, probabilities: object, dtype: object = None, seed: object = None) -> object:
    return _out(_generator(seed).binomial(counts, probabilities, _shape(shape)), dtype)


def dropout(inputs: object, rate: float, noise_shape: object = None, seed: object = None) -> object:
    """Zero each entry with probability `rate` and scale the rest by 1/(1-rate) (differentiable in `inputs`)."""
    from . import ops
    from .tensor import as_tensor

    if not 0 <= rate < 1:
        raise ValueError(f"dropout rate must be in [0, 1), got {rate}")
    t = as_tensor(inputs)
    shape = t.shape if noise_shape is None else tuple(t.shape[i] if s is None else int(s)
                                                      for i, s in enumerate(noise_shape))
    keep = (_generator(seed).random(shape) >= rate).astype(t.data.dtype) / (1 - rate)
    return ops.mul(t, keep)
