"""Generative models on the Keras workflow: GAN (a custom train_step), VAE, autoencoders, RBM stacks (DBN).

`from neurona.generative import GAN, VAE` loads them on first use; the modules are `gan`, `vae`,
`autoencoders`, `dbn` and `images` (sample grids saved as PNG).
"""

from __future__ import annotations

import importlib
from typing import Any

_NAMES = {"GAN": "gan", "VAE": "vae", "Sampling": "vae", "SampleGrid": "images", "pretrain": "dbn", "to_dense": "dbn"}


def __getattr__(name: str) -> Any:
    if name not in _NAMES:
        raise AttributeError(f"module 'neurona.generative' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_NAMES[name]}", __name__), name)
    globals()[name] = value
    return value


__all__ = list(_NAMES)
