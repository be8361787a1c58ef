"""PyTorch weights into neurona models: a `state_dict` saved as safetensors (`safetensors.torch.save_file(
model.state_dict(), "m.safetensors")`), or the state_dict itself, converted to Keras's layouts.

PyTorch and Keras store the same numbers in different orders:

| PyTorch module | PyTorch tensors | neurona weights |
| --- | --- | --- |
| Linear | weight (out, in), bias | kernel (in, out) = weight.T, bias |
| Conv2d | weight (out, in/groups, kh, kw), bias | kernel (kh, kw, in/groups, out) (OIHW -> HWIO), bias |
| Conv2d, groups=in | weight (in*m, 1, kh, kw) | DepthwiseConv2D kernel (kh, kw, in, m) |
| Conv1d | weight (out, in, k) | kernel (k, in, out) |
| BatchNorm | weight, bias, running_mean, running_var | gamma, beta, moving_mean, moving_variance |
| LSTM | weight_ih (4H, in), weight_hh (4H, H), bias_ih, bias_hh | kernel (in, 4H), recurrent_kernel (H, 4H), bias |

A Linear layer that reads flattened feature maps needs one more step: PyTorch flattens (C, H, W), Keras
(H, W, C), so its input rows are reordered too (detected from the Flatten layer in front of the Dense).

Modules are paired with the model's layers that have weights in order, the state_dict's module names sorted
naturally ("fc2" before "fc10"); when those names do not sort in the model's order, pass `mapping`
({torch module name: neurona layer name}). PyTorch's BatchNorm epsilon is 1e-5 (Keras's 1e-3): build the
neurona layer with `epsilon=1e-5` to compute the same thing.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

import numpy as np

_BN_NAMES = {"weight": "gamma", "bias": "beta", "running_mean": "moving_mean", "running_var": "moving_variance"}


# ------------------------------------------------------------------------------------------------ conversions
def linear_from_torch(weight: np.ndarray) -> np.ndarray:
    """Linear weight (out, in) -> Dense kernel (in, out)."""
    return np.ascontiguousarray(np.asarray(weight).T)


def conv_from_torch(weight: np.ndarray) -> np.ndarray:
    """Conv weight (out, in/groups, *kernel) -> Keras kernel (*kernel, in/groups, out): OIHW -> HWIO."""
    w = np.asarray(weight)
    return np.ascontiguousarray(np.moveaxis(w, (0, 1), (-1, -2)))


def depthwise_from_torch(weight: np.ndarray, channels: int) -> np.ndarray:
    """Depthwise Conv2d weight (in*m, 1, kh, kw) -> DepthwiseConv2D kernel (kh, kw, in, m)."""
    w = np.asarray(weight)
    m = w.shape[0] // channels
    return np.ascontiguousarray(w.reshape(channels, m, *w.shape[2:]).transpose(2, 3, 0, 1))


def flattened_linear_from_torch(weight: np.ndarray, feature_shape: tuple[int, int, int]) -> np.ndarray:
    """Linear weight reading flattened (C, H, W) maps -> Dense kernel reading flattened (H, W, C) maps."""
    h, w, c = feature_shape
    out = np.asarray(weight).shape[0]
    return np.ascontiguousarray(np.asarray(weight).reshape(out, c, h, w).transpose(2, 3, 1, 0).reshape(h * w * c, out))


def lstm_from_torch(weight_ih: np.ndarray, weight_hh: np.ndarray, bias_ih: np.ndarray | None = None,
                    bias_hh: np.ndarray | None = None) -> list[np.ndarray]:
    """LSTM tensors -> [kernel (in, 4H), recurrent_kernel (H, 4H), bias (4H,)].

    Both order the gates input, forget, cell, output; PyTorch has two biases that are always added.
    """
    out = [linear_from_torch(weight_ih), linear_from_torch(weight_hh)]
    if bias_ih is not None or bias_hh is not None:
        zeros = np.zeros(np.asarray(weight_ih).shape[0], np.asarray(weight_ih).dtype)
        out.append(np.asarray(bias_ih if bias_ih is not None else zeros) +
                   np.asarray(bias_hh if bias_hh is not None else zeros))
    return out


# ------------------------------------------------------------------------------------------------ pairing
def _natural_key(name: str) -> list[Any]:
    return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", name)]


def _modules(state: Mapping[str, np.ndarray]) -> dict[str, dict[str, np.ndarray]]:
    """{module name: {tensor name: array}} in natural order; BatchNorm's counter is dropped."""
    modules: dict[str, dict[str, np.ndarray]] = {}
    for key in sorted(state, key=_natural_key):
        prefix, _, leaf = key.rpartition(".")
        if leaf == "num_batches_tracked":
            continue
        modules.setdefault(prefix, {})[leaf] = np.asarray(state[key])
    return modules


def _flatten_input(layer: Any) -> tuple[int, int, int] | None:
    """(H, W, C) when `layer` (a Dense) reads the output of a Flatten of 4-D channels_last maps."""
    try:
        source = layer.input.layer
    except AttributeError:
        return None
    if type(source).__name__ != "Flatten" or getattr(source, "data_format", "channels_last") != "channels_last":
        return None
    shape = source.input.shape
    if len(shape) != 4 or None in shape[1:]:
        return None
    return tuple(shape[1:])


def _convert(layer: Any, tensors: dict[str, np.ndarray], where: str) -> list[np.ndarray]:
    """The arrays for `layer.weights` (in order) from one PyTorch module's tensors."""
    kind = type(layer).__name__
    names = [w.name.split("/")[-1] for w in layer.weights]

    class _Tensors(dict):
        def __missing__(self, key: str) -> Any:
            raise ValueError(f"{where}: the PyTorch module has no tensor {key!r} for {kind} '{layer.name}' (it has "
                             f"{sorted(tensors)})")

    tensors = _Tensors(tensors)
    if kind == "Dense":
        feature_shape = _flatten_input(layer)
        weight = tensors["weight"]
        kernel = (flattened_linear_from_torch(weight, feature_shape) if feature_shape is not None
                  and int(np.prod(feature_shape)) == weight.shape[1] else linear_from_torch(weight))
        by_name = {"kernel": kernel, "bias": tensors.get("bias")}
    elif kind in ("Conv1D", "Conv2D", "Conv3D"):
        by_name = {"kernel": conv_from_torch(tensors["weight"]), "bias": tensors.get("bias")}
    elif kind == "DepthwiseConv2D":
        channels = layer.weights[0].shape[2]
        by_name = {"kernel": depthwise_from_torch(tensors["weight"], channels), "bias": tensors.get("bias")}
    elif kind in ("BatchNormalization", "LayerNormalization"):
        by_name = {_BN_NAMES[k]: v for k, v in tensors.items() if k in _BN_NAMES}
    elif kind == "Embedding":
        by_name = {names[0]: tensors["weight"]}
    elif kind == "LSTM":
        arrays = lstm_from_torch(tensors["weight_ih_l0"], tensors["weight_hh_l0"], tensors.get("bias_ih_l0"),
                                 tensors.get("bias_hh_l0"))
        by_name = dict(zip(("kernel", "recurrent_kernel", "bias"), arrays))
    else:
        raise ValueError(f"{where}: no PyTorch conversion for {kind} layer '{layer.name}'")
    missing = [n for n in names if by_name.get(n) is None]
    if missing:
        raise ValueError(f"{where}: the PyTorch module has no tensors for {missing} of {kind} '{layer.name}' "
                         f"(it has {sorted(tensors)})")
    return [by_name[n] for n in names]


def load_torch_weights(model: Any, source: str | os.PathLike | Mapping[str, Any],
                       mapping: Mapping[str, str] | None = None) -> None:
    """Copy a PyTorch state_dict (a `.safetensors` file or the dict itself) into `model`, converting layouts.

    Every array is converted and its shape checked before any weight is written, so a state_dict that does
    not fit leaves the model as it was.
    """
    if isinstance(source, Mapping):
        state = {k: v.detach().cpu().numpy() if hasattr(v, "detach") else np.asarray(v) for k, v in source.items()}
        where = "the state_dict"
    else:
        from ..saving.safetensors_io import load_file

        where = os.fspath(source)
        state, _ = load_file(where)
    modules = _modules(state)
    targets = [layer for layer in _all_layers(model) if layer.weights]
    if mapping is not None:
        by_name = {la.name: la for la in targets}
        unknown = [n for n in mapping.values() if n not in by_name]
        if unknown or [m for m in mapping if m not in modules]:
            raise ValueError(f"{where}: mapping names unknown layers {unknown} or modules "
                             f"{[m for m in mapping if m not in modules]}; modules are {list(modules)[:8]}")
        pairs = [(by_name[layer], modules[module]) for module, layer in mapping.items()]
    else:
        if len(modules) != len(targets):
            raise ValueError(f"{where} has {len(modules)} modules with weights ({', '.join(list(modules)[:6])}), model "
                             f"'{model.name}' has {len(targets)} layers with weights "
                             f"({', '.join(la.name for la in targets[:6])}); pass mapping={{module: layer}}")
        pairs = list(zip(targets, modules.values()))
    assignments = []
    for (layer, tensors), module in zip(pairs, list(mapping or modules)):
        arrays = _convert(layer, tensors, f"{where} module {module!r}")
        for w, a in zip(layer.weights, arrays):
            if a.shape != w.shape:
                raise ValueError(f"{where}: module {module!r} gives '{w.name}' shape {a.shape}, the model's is "
                                 f"{w.shape}; if the modules are not in the model's order, pass mapping=")
            assignments.append((w, a))
    for w, a in assignments:
        w.data[...] = a


def _all_layers(model: Any) -> list[Any]:
    """The model's leaf layers in order, nested models expanded."""
    from ..models import Model

    out = []
    for layer in model.layers:
        out += _all_layers(layer) if isinstance(layer, Model) else [layer]
    return out
