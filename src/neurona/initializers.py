"""Weight initializers with Keras's names and defaults: `init(shape, dtype="float32") -> ndarray`.

Random initializers draw from `neurona.random.get_rng()`, so `neurona.utils.set_random_seed(s)`
repeats a whole run; one built with `seed=` draws the same values at every call, as in Keras.

>>> from neurona import initializers
>>> w = initializers.get("glorot_uniform")((784, 10))
>>> w.shape, w.dtype.name, bool(abs(w).max() <= (6 / (784 + 10)) ** 0.5)
((784, 10), 'float32', True)
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

import numpy as np

from . import random as nrandom
from . import registry

# The std of a standard normal truncated to [-2, 2]: dividing by it restores the requested variance.
_TRUNCATED_STD = 0.87962566103423978


def compute_fans(shape: tuple[int, ...], input_axes: Any = None, output_axes: Any = None) -> tuple[int, int]:
    """(fan_in, fan_out) as Keras computes them: dense (in, out); conv (*kernel, in, out).

    `input_axes`/`output_axes` name the axes whose product is each fan (for weights of other layouts).
    """
    shape = tuple(shape)
    if input_axes is not None and output_axes is not None:
        return math.prod(shape[a] for a in input_axes), math.prod(shape[a] for a in output_axes)
    if len(shape) < 1:
        return 1, 1
    if len(shape) == 1:
        return int(shape[0]), int(shape[0])
    receptive = math.prod(shape[:-2])
    return int(shape[-2] * receptive), int(shape[-1] * receptive)


class Initializer(registry.Serializable):
    """Base class: `__call__(shape, dtype)` returns a fresh array; `get_config()` mirrors `__init__`."""

    registry_kind = "initializer"

    def __call__(self, shape: tuple[int, ...], dtype: Any = "float32") -> np.ndarray:
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        return {}


def _float_dtype(dtype: Any) -> np.dtype:
    dt = np.dtype("float32" if dtype is None else dtype)
    if dt.kind != "f":
        raise TypeError(f"initializers create floating-point weights, got dtype {dt}")
    return dt


def _shape(shape: Any) -> tuple[int, ...]:
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(int(s) for s in shape)
    if any(s < 0 for s in shape):
        raise ValueError(f"cannot initialize a weight of negative shape {shape}")
    return shape


# ----------------------------------------------------------------------------- constants
class Zeros(Initializer):
    """All zeros (Keras's default for biases)."""

    def __call__(self, shape, dtype="float32"):
        return np.zeros(_shape(shape), _float_dtype(dtype))


class Ones(Initializer):
    """All ones (the default scale of normalisation layers)."""

    def __call__(self, shape, dtype="float32"):
        return np.ones(_shape(shape), _float_dtype(dtype))


class Constant(Initializer):
    """Every value equal to `value`."""

    def __init__(self, value: float = 0.0) -> None:
        self.value = float(value)

    def __call__(self, shape, dtype="float32"):
        return np.full(_shape(shape), self.value, _float_dtype(dtype))

    def get_config(self):
        return {"value": self.value}


class Identity(Initializer):
    """`gain` times the identity matrix (2-D weights only)."""

    def __init__(self, gain: float = 1.0) -> None:
        self.gain = float(gain)

    def __call__(self, shape, dtype="float32"):
        shape = _shape(shape)
        if len(shape) != 2:
            raise ValueError(f"Identity initializer needs a 2-D shape, got {shape}")
        return (self.gain * np.eye(*shape)).astype(_float_dtype(dtype))

    def get_config(self):
        return {"gain": self.gain}


# ----------------------------------------------------------------------------- random
class RandomInitializer(Initializer):
    """Draws from neurona's generator, or from its own fixed `seed` (same values every call)."""

    def __init__(self, seed: int | None = None) -> None:
        if seed is not None and not isinstance(seed, (int, np.integer)):
            raise TypeError(f"seed must be an integer or None, got {seed!r}")
        self.seed = seed

    def _rng(self) -> np.random.Generator:
        return nrandom.get_rng() if self.seed is None else np.random.default_rng(self.seed)

    def get_config(self):
        return {"seed": self.seed}


def _normal(rng: np.random.Generator, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    return rng.standard_normal(shape, dtype=dtype if dtype in (np.float32, np.float64) else np.float64)


def _truncated_normal(rng: np.random.Generator, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """Standard normal values redrawn until all lie within two standard deviations (Keras's rule)."""
    z = _normal(rng, shape, dtype)
    bad = np.abs(z) > 2
    while bad.any():  # each round redraws ~5% of what is left: a handful of rounds
        z[bad] = _normal(rng, (int(bad.sum()),), z.dtype)
        bad = np.abs(z) > 2
    return z


class RandomNormal(RandomInitializer):
    """Normal values with `mean` and `stddev`."""

    def __init__(self, mean: float = 0.0, stddev: float = 0.05, seed: int | None = None) -> None:
        super().__init__(seed)
        self.mean, self.stddev = float(mean), float(stddev)

    def __call__(self, shape, dtype="float32"):
        dt = _float_dtype(dtype)
        z = _normal(self._rng(), _shape(shape), dt)
        return (z * self.stddev + self.mean).astype(dt, copy=False)

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, **super().get_config()}


class TruncatedNormal(RandomNormal):
    """Normal values with `mean` and `stddev`, redrawn when further than 2 stddev from the mean."""

    def __call__(self, shape, dtype="float32"):
        dt = _float_dtype(dtype)
        z = _truncated_normal(self._rng(), _shape(shape), dt)
        return (z * self.stddev + self.mean).astype(dt, copy=False)


class RandomUniform(RandomInitializer):
    """Uniform values in [minval, maxval)."""

    def __init__(self, minval: float = -0.05, maxval: float = 0.05, seed: int | None = None) -> None:
        super().__init__(seed)
        self.minval, self.maxval = float(minval), float(maxval)

    def __call__(self, shape, dtype="float32"):
        return _uniform(self._rng(), _shape(shape), _float_dtype(dtype), self.minval, self.maxval)

    def get_config(self):
        return {"minval": self.minval, "maxval": self.maxval, **super().get_config()}


def _uniform(rng: np.random.Generator, shape: tuple[int, ...], dtype: np.dtype, lo: float, hi: float) -> np.ndarray:
    u = rng.random(shape, dtype=dtype if dtype in (np.float32, np.float64) else np.float64)
    u *= hi - lo
    u += lo
    return u.astype(dtype, copy=False)


class VarianceScaling(RandomInitializer):
    """Values with variance `scale / n`, n the fan_in, fan_out or their average (`mode`).

    `distribution` is "truncated_normal" (also accepted as "normal"), "untruncated_normal" or
    "uniform" (limit sqrt(3 * scale / n)). Glorot, He and LeCun initializers are its special cases.
    """

    def __init__(self, scale: float = 1.0, mode: str = "fan_in", distribution: str = "truncated_normal",
                 seed: int | None = None, input_axes: Any = None, output_axes: Any = None) -> None:
        super().__init__(seed)
        self.input_axes, self.output_axes = input_axes, output_axes
        if not scale > 0:
            raise ValueError(f"VarianceScaling: scale must be positive, got {scale}")
        if mode not in ("fan_in", "fan_out", "fan_avg"):
            raise ValueError(f"VarianceScaling: mode must be 'fan_in', 'fan_out' or 'fan_avg', got {mode!r}")
        distribution = distribution.lower()
        distribution = "truncated_normal" if distribution == "normal" else distribution
        if distribution not in ("truncated_normal", "untruncated_normal", "uniform"):
            raise ValueError(f"VarianceScaling: distribution must be 'truncated_normal', 'untruncated_normal' "
                             f"or 'uniform', got {distribution!r}")
        self.scale, self.mode, self.distribution = float(scale), mode, distribution

    def __call__(self, shape, dtype="float32"):
        shape, dt = _shape(shape), _float_dtype(dtype)
        fan_in, fan_out = compute_fans(shape, self.input_axes, self.output_axes)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[self.mode]
        var = self.scale / max(1.0, n)
        rng = self._rng()
        if self.distribution == "uniform":
            limit = math.sqrt(3.0 * var)
            return _uniform(rng, shape, dt, -limit, limit)
        if self.distribution == "truncated_normal":
            z = _truncated_normal(rng, shape, dt)
            z *= math.sqrt(var) / _TRUNCATED_STD
        else:
            z = _normal(rng, shape, dt)
            z *= math.sqrt(var)
        return z.astype(dt, copy=False)

    def get_config(self):
        return {"scale": self.scale, "mode": self.mode, "distribution": self.distribution, **self._preset_config()}

    def _preset_config(self) -> dict[str, Any]:
        return {"seed": self.seed, "input_axes": self.input_axes, "output_axes": self.output_axes}


class _Preset(VarianceScaling):
    """A VarianceScaling whose scale, mode and distribution are fixed by its name."""

    preset: tuple[float, str, str] = (1.0, "fan_avg", "uniform")

    def __init__(self, seed: int | None = None, input_axes: Any = None, output_axes: Any = None) -> None:
        super().__init__(*self.preset, seed=seed, input_axes=input_axes, output_axes=output_axes)

    def get_config(self):
        return self._preset_config()


class GlorotUniform(_Preset):
    """Uniform in ±sqrt(6 / (fan_in + fan_out)) (Xavier); Keras's default kernel initializer."""

    preset = (1.0, "fan_avg", "uniform")


class GlorotNormal(_Preset):
    """Truncated normal with std sqrt(2 / (fan_in + fan_out))."""

    preset = (1.0, "fan_avg", "truncated_normal")


class HeUniform(_Preset):
    """Uniform in ±sqrt(6 / fan_in), suited to ReLU layers."""

    preset = (2.0, "fan_in", "uniform")


class HeNormal(_Preset):
    """Truncated normal with std sqrt(2 / fan_in), suited to ReLU layers."""

    preset = (2.0, "fan_in", "truncated_normal")


class LecunUniform(_Preset):
    """Uniform in ±sqrt(3 / fan_in), suited to SELU layers."""

    preset = (1.0, "fan_in", "uniform")


class LecunNormal(_Preset):
    """Truncated normal with std sqrt(1 / fan_in), suited to SELU layers."""

    preset = (1.0, "fan_in", "truncated_normal")


class Orthogonal(RandomInitializer):
    """A (semi-)orthogonal matrix times `gain`, from the QR decomposition of a normal draw."""

    def __init__(self, gain: float = 1.0, seed: int | None = None) -> None:
        super().__init__(seed)
        self.gain = float(gain)

    def __call__(self, shape, dtype="float32"):
        shape, dt = _shape(shape), _float_dtype(dtype)
        if len(shape) < 2:
            raise ValueError(f"Orthogonal initializer needs at least a 2-D shape, got {shape}")
        rows, cols = math.prod(shape[:-1]), shape[-1]
        a = self._rng().standard_normal((max(rows, cols), min(rows, cols)))
        q, r = np.linalg.qr(a)
        q *= np.sign(np.diag(r))  # makes the decomposition unique, so q is uniformly distributed
        if rows < cols:
            q = q.T
        return (self.gain * q).reshape(shape).astype(dt)

    def get_config(self):
        return {"gain": self.gain, **super().get_config()}


# ----------------------------------------------------------------------------- lookup
_CLASSES: dict[str, type[Initializer]] = {
    cls.__name__: cls
    for cls in (Zeros, Ones, Constant, Identity, RandomNormal, RandomUniform, TruncatedNormal, VarianceScaling,
                GlorotUniform, GlorotNormal, HeUniform, HeNormal, LecunUniform, LecunNormal, Orthogonal)
}


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


_NAMES: dict[str, type[Initializer]] = {**_CLASSES, **{_snake(n): c for n, c in _CLASSES.items()}}
_NAMES.update({"normal": RandomNormal, "uniform": RandomUniform, "zero": Zeros, "one": Ones,
               "IdentityInitializer": Identity, "OrthogonalInitializer": Orthogonal})

registry.alias_table("initializer", _NAMES)

zeros, ones, constant, identity = Zeros, Ones, Constant, Identity
random_normal, random_uniform, truncated_normal, variance_scaling = (RandomNormal, RandomUniform, TruncatedNormal,
                                                                     VarianceScaling)
glorot_uniform, glorot_normal, he_uniform, he_normal = GlorotUniform, GlorotNormal, HeUniform, HeNormal
lecun_uniform, lecun_normal, orthogonal = LecunUniform, LecunNormal, Orthogonal


def serialize(initializer: Initializer) -> dict[str, Any]:
    """{"class_name": ..., "config": ...}, the JSON form stored in model configs."""
    return registry.to_config(initializer)


def deserialize(config: dict[str, Any], custom_objects: dict[str, type] | None = None) -> Initializer:
    """Rebuild an initializer from `serialize`'s dict; unknown class names are refused."""
    return registry.from_config("initializer", config, custom_objects)


def get(identifier: str | dict | Initializer | Callable | None) -> Initializer | Callable | None:
    """An initializer from a name ("glorot_uniform", "HeNormal", ...), a config dict, a class or an instance."""
    return registry.get_instance("initializer", identifier, Initializer, deserialize=deserialize)


__all__ = ["Initializer", "compute_fans", "deserialize", "get", "serialize", *sorted(_CLASSES)]
