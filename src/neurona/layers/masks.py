"""Keras's mask propagation: a mask (bool array, (batch, timesteps) for sequences) travels with a tensor as
`tensor._keras_mask`. `masked_call` wraps a layer's call: the inputs' mask goes to `call(mask=...)` when the
call takes one, and the output carries `layer.compute_mask(inputs, mask)`. `Layer.__call__` and the models'
execution plans (Sequential, functional) call layers through it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..tensor import Tensor


def get_mask(x: Any) -> Any:
    """The Keras mask a tensor (or a list of tensors) carries: a bool array, a list of them, or None."""
    if isinstance(x, (list, tuple)):
        masks = [get_mask(t) for t in x]
        return None if all(m is None for m in masks) else masks
    return getattr(x, "_keras_mask", None)


def set_mask(x: Any, mask: Any) -> None:
    """Attach `mask` to a tensor (or each of a list of tensors) as Keras's `_keras_mask`."""
    if isinstance(x, (list, tuple)):
        masks = mask if isinstance(mask, (list, tuple)) else [mask] * len(x)
        for t, m in zip(x, masks):
            set_mask(t, m)
    elif isinstance(x, Tensor):
        x._keras_mask = None if mask is None else np.asarray(getattr(mask, "data", mask)).astype(bool)


def masked_call(layer: Any, call: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap f(inputs, training, ...) with Keras's mask propagation.

    The mask the inputs carry goes to `call(mask=...)` when `call` takes one (an explicit `mask=` wins);
    the output then carries `layer.compute_mask(inputs, mask)`. Layers that neither produce masks nor take
    them cost one attribute read.
    """
    produces = layer._makes_masks

    def run(inputs: Any, training: bool = False, *args: Any, **kwargs: Any) -> Any:
        mask = kwargs.pop("mask") if "mask" in kwargs else get_mask(inputs)
        if mask is not None and layer._call_has_mask:
            kwargs["mask"] = mask
        out = call(inputs, *args, training=training, **kwargs)
        if (mask is not None or produces) and out is not inputs:  # a tensor passed through keeps its mask
            set_mask(out, layer.compute_mask(inputs, mask))
        return out

    return run
