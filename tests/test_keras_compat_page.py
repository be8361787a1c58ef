"""The Keras compatibility pages are generated from the code: they must equal what the generator produces now,
and the checked-in list of Keras's names must equal the installed Keras's when it is the listed version."""

from __future__ import annotations

import os
import types
from pathlib import Path

import pytest

from neurona.interop import keras_compat
from neurona.interop.keras_api_list import KERAS_VERSION, NAMESPACES

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("lang", ["en", "es"])
def test_pages_match_the_code(lang):
    path = keras_compat.page_paths(str(ROOT))[lang]
    assert keras_compat.generated_part(path) == keras_compat.render(lang), (
        f"{path} is out of date: run `PYTHONPATH=src python -m neurona.interop.keras_compat`")


def test_status_reflects_the_code():
    assert keras_compat.status("keras.ops", "tensordot") == ("supported", None)
    assert keras_compat.status("keras.ops", "median")[0] == "partial"
    assert keras_compat.status("keras.ops", "shape")[0] == "supported"  # the function, not neurona.ops.shape
    assert keras_compat.status("keras", "Variable")[0] == "supported"
    assert keras_compat.status("keras.ops", "no_such_op")[0] == "missing"
    counts = keras_compat.summary()["keras.ops"]
    assert counts["supported"] + counts["partial"] >= 0.9 * sum(counts.values())


def test_checked_in_names_are_keras_names():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    keras = pytest.importorskip("keras")
    if keras.__version__ != KERAS_VERSION:
        pytest.skip(f"the list was made from Keras {KERAS_VERSION}, Keras {keras.__version__} is installed")
    for namespace, names in NAMESPACES.items():
        module = keras
        for part in namespace.split(".")[1:]:
            module = getattr(module, part)
        public = {n for n in dir(module) if not n.startswith("_") and n != "src"}
        if namespace != "keras":
            public = {n for n in public if not isinstance(getattr(module, n), types.ModuleType)}
        assert sorted(public) == names, namespace
