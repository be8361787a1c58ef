"""neurona.initializers: Keras's fans, the statistics of large draws, determinism, lookup and configs."""

import math

import numpy as np
import pytest

from neurona import initializers as I
from neurona import random as nrandom


def test_fans_as_keras_computes_them():
    assert I.compute_fans(()) == (1, 1)
    assert I.compute_fans((7,)) == (7, 7)
    assert I.compute_fans((784, 10)) == (784, 10)
    assert I.compute_fans((3, 5, 16, 32)) == (3 * 5 * 16, 3 * 5 * 32)  # conv kernel (kh, kw, in, out)
    assert I.compute_fans((4, 8, 16)) == (4 * 8, 4 * 16)  # conv1d (k, in, out)
    assert I.compute_fans((4, 8, 16), input_axes=(0,), output_axes=(1, 2)) == (4, 8 * 16)


SHAPE = (400, 600)  # fan_in 400, fan_out 600, fan_avg 500
DENSE, CONV = (400, 600), (3, 3, 40, 60)  # the conv kernel has fan_in 360, fan_out 540


def _std_of_variance_scaling(scale, n):
    return math.sqrt(scale / n)


@pytest.mark.parametrize("cls,scale,mode,dist", [
    (I.GlorotUniform, 1.0, "fan_avg", "uniform"), (I.GlorotNormal, 1.0, "fan_avg", "truncated"),
    (I.HeUniform, 2.0, "fan_in", "uniform"), (I.HeNormal, 2.0, "fan_in", "truncated"),
    (I.LecunUniform, 1.0, "fan_in", "uniform"), (I.LecunNormal, 1.0, "fan_in", "truncated"),
])
@pytest.mark.parametrize("shape", [DENSE, CONV])
def test_variance_scaling_presets_statistics(cls, scale, mode, dist, shape):
    fan_in, fan_out = I.compute_fans(shape)
    n = {"fan_in": fan_in, "fan_avg": (fan_in + fan_out) / 2}[mode]
    std = _std_of_variance_scaling(scale, n)
    w = cls(seed=1)(shape)
    assert w.shape == shape and w.dtype == np.float32
    assert abs(w.mean()) < 0.02 * std * 10
    np.testing.assert_allclose(w.std(), std, rtol=0.02)
    if dist == "uniform":
        limit = math.sqrt(3 * scale / n)
        assert np.abs(w).max() <= limit and np.abs(w).max() > 0.99 * limit
    else:  # truncated at two standard deviations of the underlying normal (std / 0.8796...)
        assert np.abs(w).max() <= 2 * std / 0.87962566103423978 * (1 + 1e-6)


def test_glorot_uniform_limit_of_the_slides_layer():
    w = I.GlorotUniform()((784, 10))
    limit = math.sqrt(6 / (784 + 10))
    assert np.abs(w).max() <= limit and np.abs(w).max() > 0.98 * limit


def test_variance_scaling_modes_and_distributions():
    w = I.VarianceScaling(scale=3.0, mode="fan_out", distribution="untruncated_normal", seed=0)(SHAPE)
    np.testing.assert_allclose(w.std(), math.sqrt(3.0 / 600), rtol=0.02)
    assert np.abs(w).max() > 2.5 * w.std()  # really untruncated
    w = I.VarianceScaling(distribution="normal", seed=0)(SHAPE)  # Keras's alias for truncated_normal
    np.testing.assert_allclose(w.std(), math.sqrt(1 / 400), rtol=0.02)
    with pytest.raises(ValueError, match="mode"):
        I.VarianceScaling(mode="fan_sum")
    with pytest.raises(ValueError, match="distribution"):
        I.VarianceScaling(distribution="cauchy")
    with pytest.raises(ValueError, match="scale must be positive"):
        I.VarianceScaling(scale=0)


def test_random_normal_uniform_truncated():
    w = I.RandomNormal(mean=1.0, stddev=2.0, seed=0)((500, 400))
    np.testing.assert_allclose([w.mean(), w.std()], [1.0, 2.0], rtol=0.01, atol=0.01)
    w = I.RandomUniform(minval=-1.0, maxval=3.0, seed=0)((500, 400))
    assert w.min() >= -1 and w.max() < 3
    np.testing.assert_allclose([w.mean(), w.std()], [1.0, 4 / math.sqrt(12)], rtol=0.01, atol=0.01)
    w = I.TruncatedNormal(mean=0.5, stddev=0.1, seed=0)((500, 400))
    assert np.abs(w - 0.5).max() <= 0.2 + 1e-6
    np.testing.assert_allclose(w.std(), 0.1 * 0.87962566103423978, rtol=0.01)
    assert I.RandomNormal()((3,)).std() < 0.2  # Keras's default stddev 0.05


def test_constants():
    np.testing.assert_array_equal(I.Zeros()((2, 3)), np.zeros((2, 3)))
    np.testing.assert_array_equal(I.Ones()(4), np.ones(4))
    np.testing.assert_array_equal(I.Constant(0.5)((2, 2)), np.full((2, 2), 0.5))
    np.testing.assert_array_equal(I.Identity(gain=2.0)((2, 3)), 2 * np.eye(2, 3))
    with pytest.raises(ValueError, match="2-D"):
        I.Identity()((2, 2, 2))


@pytest.mark.parametrize("shape", [(6, 4), (4, 6), (3, 3, 2, 5)])
def test_orthogonal(shape):
    w = I.Orthogonal(gain=1.5, seed=0)(shape, dtype="float64")
    m = w.reshape(-1, shape[-1]) / 1.5
    small = min(m.shape)
    gram = m.T @ m if m.shape[0] >= m.shape[1] else m @ m.T
    np.testing.assert_allclose(gram, np.eye(small), atol=1e-12)
    with pytest.raises(ValueError, match="2-D"):
        I.Orthogonal()((5,))


def test_dtypes():
    for name in ("glorot_uniform", "he_normal", "zeros", "orthogonal", "truncated_normal"):
        assert I.get(name)((3, 4)).dtype == np.float32
        assert I.get(name)((3, 4), dtype="float64").dtype == np.float64
    with pytest.raises(TypeError, match="floating-point"):
        I.GlorotUniform()((3, 4), dtype="int32")


def test_determinism_under_set_seed():
    nrandom.set_seed(123)
    a = [I.GlorotUniform()((5, 4)), I.HeNormal()((5, 4)), I.Orthogonal()((4, 4))]
    nrandom.set_seed(123)
    b = [I.GlorotUniform()((5, 4)), I.HeNormal()((5, 4)), I.Orthogonal()((4, 4))]
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(I.GlorotUniform()((5, 4)), a[0])  # the stream moves on


def test_fixed_seed_repeats_and_differs_between_seeds():
    init = I.HeUniform(seed=7)
    np.testing.assert_array_equal(init((3, 3)), init((3, 3)))
    assert not np.array_equal(init((3, 3)), I.HeUniform(seed=8)((3, 3)))


def test_get_by_name_class_dict_and_instance():
    assert isinstance(I.get("glorot_uniform"), I.GlorotUniform)
    assert isinstance(I.get("GlorotUniform"), I.GlorotUniform)
    assert isinstance(I.get("he_normal"), I.HeNormal)
    assert isinstance(I.get("lecun_uniform"), I.LecunUniform)
    assert isinstance(I.get("random_normal"), I.RandomNormal)
    assert isinstance(I.get("normal"), I.RandomNormal)
    assert isinstance(I.get("zero"), I.Zeros)
    assert isinstance(I.get(I.Ones), I.Ones)
    init = I.Constant(3.0)
    assert I.get(init) is init
    assert I.get(None) is None
    with pytest.raises(ValueError, match="unknown initializer 'glorot'.*glorot_uniform"):
        I.get("glorot")
    with pytest.raises(TypeError):
        I.get(5)


@pytest.mark.parametrize("init", [I.Zeros(), I.Constant(2.5), I.Identity(3.0), I.RandomNormal(1.0, 0.5, seed=3),
                                  I.RandomUniform(-2, 2), I.TruncatedNormal(seed=1), I.GlorotNormal(seed=2),
                                  I.HeUniform(), I.VarianceScaling(2.0, "fan_avg", "uniform", seed=4),
                                  I.Orthogonal(0.5, seed=5)])
def test_config_round_trip(init):
    again = I.deserialize(I.serialize(init))
    assert type(again) is type(init) and again.get_config() == init.get_config()
    if "seed" in init.get_config() and init.get_config()["seed"] is not None:
        np.testing.assert_array_equal(again((4, 4)), init((4, 4)))


def test_unknown_class_in_config_is_refused():
    with pytest.raises(ValueError, match="unknown initializer 'os.system'"):
        I.deserialize({"class_name": "os.system", "config": {}})


def test_keras_config_compatibility():
    keras = _keras()
    K = keras.initializers
    for init in (K.GlorotUniform(), K.HeNormal(seed=3), K.RandomNormal(0.5, 2.0), K.TruncatedNormal(),
                 K.Constant(2.0), K.Orthogonal(gain=2.0), K.VarianceScaling(2.0, "fan_out", "uniform")):
        config = K.serialize(init)
        assert I.deserialize(config).get_config() == config["config"], config


def _keras():
    import os

    os.environ.setdefault("KERAS_BACKEND", "torch")
    return pytest.importorskip("keras")
