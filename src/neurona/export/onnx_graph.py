"""The ONNX graph under construction: nodes, weights (initializers), and where each tensor's channels are.

neurona images are channels-last (N, H, W, C) and ONNX's Conv, pooling and BatchNormalization are
channels-first (N, C, H, W). Rather than transposing around every convolution, each value remembers
whether it is held *permuted* (channels moved to axis 1). Convolutional layers ask for the permuted form,
layers that care about the order of the other axes (Flatten, Reshape, Dense, the outputs) for the
logical form, and elementwise layers take whatever they get; a Transpose is emitted only where the form
changes, and at most once per value.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class Value:
    """One tensor of the graph: its ONNX name, rank, and whether it is held channels-first."""

    name: str
    rank: int
    permuted: bool = False
    _other: dict[bool, str] = field(default_factory=dict)  # the same tensor in the other form, once made


def to_first(rank: int) -> list[int]:
    """Permutation (N, d1, ..., C) -> (N, C, d1, ...)."""
    return [0, rank - 1] + list(range(1, rank - 1))


def to_last(rank: int) -> list[int]:
    """Permutation (N, C, d1, ...) -> (N, d1, ..., C)."""
    return [0] + list(range(2, rank)) + [1]


class GraphBuilder:
    """Collects ONNX nodes and initializers; names are unique and readable (`<layer>/<what>`)."""

    def __init__(self, onnx: Any, dtype: np.dtype) -> None:
        self.onnx = onnx
        self.dtype = np.dtype(dtype)
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self._names: set[str] = set()

    def fresh(self, hint: str) -> str:
        name, k = hint, 0
        while name in self._names:
            k += 1
            name = f"{hint}_{k}"
        self._names.add(name)
        return name

    def const(self, hint: str, array: Any, dtype: Any = None) -> str:
        """An initializer holding `array` (in the model's float dtype unless `dtype` is given)."""
        arr = np.ascontiguousarray(np.asarray(array, dtype=dtype or self.dtype))
        name = self.fresh(hint)
        self.initializers.append(self.onnx.numpy_helper.from_array(arr, name))
        return name

    def ints(self, hint: str, values: Any) -> str:
        return self.const(hint, np.asarray(values, dtype=np.int64), dtype=np.int64)

    def op(self, op_type: str, inputs: list[str], hint: str, out: str | None = None, **attrs: Any) -> str:
        """Append one node with one output (named `out`, or after `hint`); returns the output's name."""
        out = out or self.fresh(hint)
        self.nodes.append(self.onnx.helper.make_node(op_type, inputs, [out], name=out, **attrs))
        return out

    # ----------------------------------------------------------------- layouts
    def first(self, v: Value, hint: str) -> str:
        """`v` held channels-first (N, C, ...)."""
        return self._form(v, True, hint)

    def logical(self, v: Value, hint: str) -> str:
        """`v` in neurona's own axis order."""
        return self._form(v, False, hint)

    def _form(self, v: Value, permuted: bool, hint: str) -> str:
        if v.permuted == permuted or v.rank < 3:
            return v.name
        if permuted not in v._other:
            perm = to_last(v.rank) if v.permuted else to_first(v.rank)
            v._other[permuted] = self.op("Transpose", [v.name], f"{hint}/transpose", perm=perm)
        return v._other[permuted]
