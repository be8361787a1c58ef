"""Fixtures shared by the test modules."""

import os

import pytest


@pytest.fixture(scope="session")
def keras():
    """Keras 3 on its torch backend (no TensorFlow needed), for tests against Keras itself; skipped without it."""
    os.environ.setdefault("KERAS_BACKEND", "torch")
    return pytest.importorskip("keras")
