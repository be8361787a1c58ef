"""Keras's input-rank leniency for models with declared inputs: data one axis short of an input whose last
axis is 1 gets that axis added ((N, 28, 28) for Input((28, 28, 1))); data with one extra trailing axis of
size 1 loses it. Any other mismatch is left to the shape check, which names both shapes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def adjust_input_rank(declared: Sequence[tuple[int | None, ...]] | None, xs: list[Any]) -> list[Any]:
    """`xs` with a trailing axis of size 1 added or removed where Keras's functional models do it."""
    if declared is None or len(declared) != len(xs):
        return xs
    out = []
    for x, want in zip(xs, declared):
        shape = getattr(x, "shape", None)
        if shape is not None and len(want) >= 2:
            if len(shape) == len(want) - 1 and want[-1] == 1:
                x = np.expand_dims(x, -1) if isinstance(x, np.ndarray) else _tensor_op("expand_dims", x)
            elif len(shape) == len(want) + 1 and shape[-1] == 1:
                x = np.squeeze(x, -1) if isinstance(x, np.ndarray) else _tensor_op("squeeze", x)
        out.append(x)
    return out


def _tensor_op(name: str, x: Any) -> Any:
    from .. import ops

    if isinstance(x, _Shape):
        return _shape_op(name, x)
    return getattr(ops, name)(x, -1)


def adjust_shapes(declared: Sequence[tuple[int | None, ...]] | None, shapes: list[Any]) -> list[Any]:
    """The shapes `adjust_input_rank` turns `shapes` into (for the checks before a call)."""
    return [x.shape for x in adjust_input_rank(declared, [_Shape(tuple(s)) for s in shapes])]


class _Shape:
    """A stand-in with only a shape, so the rank rule runs on shapes alone."""

    def __init__(self, shape: tuple[Any, ...]) -> None:
        self.shape = shape


def _shape_op(name: str, x: _Shape) -> _Shape:
    return _Shape(x.shape + (1,) if name == "expand_dims" else x.shape[:-1])
