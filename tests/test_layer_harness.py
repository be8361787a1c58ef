"""The shared layer harness: every layer class found by discovery runs the same checks from its entry in
tests/layer_cases.py — forward against an independent reference, float64 gradients (input and weights),
config round trip, batch size 1 — and must be exported by `neurona.layers`. (Save/load of every case is
tests/test_saving_models.py::test_layer_save_load_predict_bitwise.)"""

from __future__ import annotations

import inspect
from pathlib import Path

import numpy as np
import pytest
from layer_cases import CASES, COVERED_ELSEWHERE

import neurona
from neurona import ops, registry
from neurona.layers import _import_families
from neurona.layers.base import Layer
from neurona.tensor import Tensor, enable_grad

TESTS = Path(__file__).resolve().parent
RNG = np.random.default_rng(7)


def _layer_classes() -> dict[str, type]:
    """Every public Layer subclass neurona.layers defines (registered automatically when imported)."""
    _import_families()
    out = {}
    for name in registry.names("layer", package="neurona"):
        cls = registry.lookup("layer", f"neurona>{name}")
        if not name.startswith("_") and isinstance(cls, type) and issubclass(cls, Layer) \
                and cls.__module__.startswith("neurona.layers"):
            out[name] = cls
    return out


def _x(case, n: int = 3, dtype=np.float32) -> np.ndarray:
    if case.kind == "int":
        return RNG.integers(0, 10, size=(n, *case.shape))
    return (RNG.standard_normal((n, *case.shape)) * 2 + 0.3).astype(dtype)


def _randomize(layer) -> None:
    for w in layer.weights:
        values = RNG.standard_normal(w.shape) * 0.5
        if "variance" in (w.name or ""):
            values = np.abs(values) + 0.5
        w.data[...] = values.astype(w.dtype)


def _test_exists(ref: str) -> bool:
    path, _, name = ref.partition("::")
    file = TESTS.parent / path
    return file.is_file() and f"def {name}(" in file.read_text(encoding="utf-8")


# ----------------------------------------------------------------------------- discovery
def test_every_layer_class_has_a_case():
    covered = {name.split("_")[0] for name in CASES} | set(CASES) | set(COVERED_ELSEWHERE)
    missing = sorted(set(_layer_classes()) - covered)
    assert not missing, (f"add an entry to tests/layer_cases.py CASES for {missing} "
                         f"(format: see its docstring and docs/architecture.md)")


def test_every_layer_class_is_exported():
    exported = set(dir(neurona.layers))
    missing = sorted(name for name, cls in _layer_classes().items()
                     if name not in exported and not any(getattr(neurona.layers, n, None) is cls
                                                         for n in neurona.layers.__all__))
    assert not missing, f"add {missing} to neurona.layers._EXPORTS (src/neurona/layers/__init__.py)"


def test_covered_elsewhere_points_at_real_tests():
    for name, ref in COVERED_ELSEWHERE.items():
        assert ref == "the base class" or _test_exists(ref), f"{name}: no test {ref}"


# ----------------------------------------------------------------------------- per case
@pytest.mark.parametrize("name", sorted(CASES))
def test_forward_matches_the_reference(name):
    case = CASES[name]
    layer = case.make()
    x = _x(case)
    layer(x)
    _randomize(layer)
    if isinstance(case.reference, str):
        assert _test_exists(case.reference), f"{name}: reference test {case.reference} not found"
        return
    assert case.reference is not None, f"{name}: give the case a reference"
    got = layer(x, training=False).data
    np.testing.assert_allclose(got, case.reference(layer, x), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", sorted(CASES))
def test_batch_of_one_equals_the_row_of_a_batch(name):
    case = CASES[name]
    layer = case.make()
    x = _x(case, n=4)
    full = layer(x, training=False).data
    one = layer(x[:1], training=False).data
    np.testing.assert_allclose(one, full[:1], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", sorted(CASES))
def test_config_round_trip(name):
    layer = CASES[name].make()
    layer(_x(CASES[name]))
    config = layer.get_config()
    clone = type(layer).from_config(config)
    assert clone.get_config() == config


@pytest.mark.parametrize("name", sorted(n for n, c in CASES.items() if isinstance(c.float64, str)))
def test_float64_gradient_checks_named_elsewhere_exist(name):
    assert _test_exists(CASES[name].float64), f"{name}: no test {CASES[name].float64}"


@pytest.mark.parametrize("name", sorted(n for n, c in CASES.items() if c.float64 is True))
def test_float64_gradients_of_inputs_and_weights(name):
    case = CASES[name]
    layer = case.make(dtype="float64")
    x = _x(case, n=2, dtype=np.float64)
    layer(x)
    _randomize(layer)
    assert all(w.dtype == np.float64 for w in layer.weights), f"{name}: make(dtype='float64') kept float32 weights"
    with enable_grad():
        depends_on_x = layer(Tensor(x, requires_grad=case.kind == "float"), training=False).requires_grad
    if case.kind == "float" and depends_on_x:
        neurona.gradcheck(lambda t: layer(t, training=False), x, rtol=1e-5, atol=1e-8)
    elif case.kind == "float":  # an output that ignores the input's values (SinePositionEncoding): truly constant
        np.testing.assert_array_equal(layer(x + 1.0, training=False).data, layer(x, training=False).data)
    _check_weight_gradients(layer, x)


def _check_weight_gradients(layer, x: np.ndarray, per_weight: int = 6, eps: float = 1e-6) -> None:
    """Central differences on a few entries of every trainable weight against backward()."""
    weights = layer.trainable_weights
    if not weights:
        return
    r = np.random.default_rng(3).standard_normal(layer(x, training=False).shape)

    def loss() -> float:
        return float((layer(x, training=False).data * r).sum())

    for w in weights:
        w.grad = None
    with enable_grad():
        ops.sum(ops.mul(layer(x, training=False), Tensor(r))).backward()
    for w in weights:
        assert w.grad is not None, f"{layer.name}: no gradient reached {w.name}"
        order = "F" if w.data.flags.f_contiguous and not w.data.flags.c_contiguous else "C"  # narrow Dense kernels
        flat = w.data.reshape(-1, order=order)  # a view in the weight's own layout
        for i in np.random.default_rng(5).choice(flat.size, min(per_weight, flat.size), replace=False):
            old = flat[i]
            flat[i] = old + eps
            up = loss()
            flat[i] = old - eps
            down = loss()
            flat[i] = old
            numeric = (up - down) / (2 * eps)
            analytic = w.grad.reshape(-1, order=order)[i]
            assert abs(numeric - analytic) <= 1e-5 * max(1.0, abs(numeric)), \
                f"{w.name}[{i}]: analytic {analytic} vs numeric {numeric}"


def test_cases_build_the_class_they_are_named_after():
    for name, case in CASES.items():
        cls_name = name.split("_")[0]
        assert type(case.make()).__name__ == cls_name or inspect.isclass(registry.lookup("layer", cls_name)), name
