"""Every docstring example in src/neurona runs as a doctest, so the examples cannot drift from the code."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import numpy as np
import pytest

import neurona
from neurona import random as nrandom
from neurona.layers import base as layer_base

# Modules whose import needs an optional dependency that may be missing (their examples run when it is there).
OPTIONAL = {"neurona.export.onnx": "onnx", "neurona.export.onnx_layers": "onnx", "neurona.interop.keras_h5": "h5py"}


def _modules() -> list[str]:
    names = []
    for info in pkgutil.walk_packages(neurona.__path__, "neurona."):
        if info.name.endswith("__main__"):
            continue
        names.append(info.name)
    return sorted(names)


def _with_examples(name: str) -> bool:
    try:
        module = importlib.import_module(name)
    except ImportError:
        return True  # reported by the test itself (skipped when the dependency is optional)
    finder = doctest.DocTestFinder(exclude_empty=True)
    return any(t.examples for t in finder.find(module, name))


MODULES = [m for m in _modules() if _with_examples(m)]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    if name in OPTIONAL:
        pytest.importorskip(OPTIONAL[name])
    module = importlib.import_module(name)
    state = np.get_printoptions()
    rng, names = nrandom._rng, dict(layer_base._NAME_COUNTS)
    rng_state = rng.bit_generator.state
    try:
        result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False,
                                 report=False)
    finally:  # leave no trace for the tests that run next: printing, random stream, automatic layer names
        np.set_printoptions(**state)
        nrandom._rng = rng  # set_random_seed in an example replaces the generator: put the old one back
        rng.bit_generator.state = rng_state
        layer_base._NAME_COUNTS.clear()
        layer_base._NAME_COUNTS.update(names)
    assert result.failed == 0, f"{result.failed} of {result.attempted} docstring examples of {name} failed (see above)"


def test_examples_exist_in_many_modules():
    assert len(MODULES) >= 40
