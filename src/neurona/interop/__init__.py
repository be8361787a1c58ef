"""Weights and models from other frameworks: Keras `.h5`/`.keras` files and PyTorch state_dicts.

>>> from neurona.interop import load_keras_weights, load_keras_model, load_torch_weights  # doctest: +SKIP

Keras files need h5py (`pip install 'neurona[h5]'`); PyTorch state_dicts are read from safetensors files
(`safetensors.torch.save_file(model.state_dict(), path)`), so PyTorch itself is never needed.
"""

from .keras_config import load_keras_model, model_from_keras_config, read_keras_archive
from .keras_h5 import load_keras_weights
from .torch_weights import (
    conv_from_torch,
    depthwise_from_torch,
    flattened_linear_from_torch,
    linear_from_torch,
    load_torch_weights,
    lstm_from_torch,
)

__all__ = [
    "conv_from_torch", "depthwise_from_torch", "flattened_linear_from_torch", "linear_from_torch",
    "load_keras_model", "load_keras_weights", "load_torch_weights", "lstm_from_torch", "model_from_keras_config",
    "read_keras_archive",
]
