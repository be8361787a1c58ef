"""`neurona.Variable`: Keras 3's state holder, a Tensor that keeps its identity while its value changes.

Layers' weights and metrics' accumulators are Variables, so Keras code written as
`self.total.assign_add(ops.sum(values))` works unchanged; optimizers still update `.data` in place.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .tensor import Tensor


class Variable(Tensor):
    """A named, assignable tensor: `Variable(initializer, shape=None, dtype=None, trainable=True, name=None)`.

    `initializer` is a value (array, number, Tensor) or an initializer (name, object, callable of
    `(shape, dtype)`) used with `shape`. Trainable floating variables track gradients.
    """

    __slots__ = ("trainable", "_initial")

    def __init__(self, initializer: Any, shape: Any = None, dtype: Any = None, trainable: bool = True,
                 autocast: bool = True, aggregation: str = "none", name: str | None = None) -> None:
        value = _initial_value(initializer, shape, dtype)
        super().__init__(np.array(value, copy=True), name=name or "variable")
        self.trainable = bool(trainable)
        self._initial = self.data.copy()
        if self.trainable and self.data.dtype.kind == "f":
            self.requires_grad_(True)

    @classmethod
    def wrap(cls, value: np.ndarray, name: str, trainable: bool) -> Variable:
        """A Variable holding `value` itself (no copy): what `Layer.add_weight` creates."""
        v = cls.__new__(cls)
        Tensor.__init__(v, value, name=name)
        v.trainable = bool(trainable)
        v._initial = None
        return v

    @property
    def value(self) -> Variable:
        """The variable itself (Keras's `.value` is the current value)."""
        return self

    @property
    def path(self) -> str:
        return self.name or "variable"

    def assign(self, value: Any) -> Variable:
        """Replace the value in place (broadcast to this variable's shape); returns the variable."""
        new = np.asarray(value.data if isinstance(value, Tensor) else value)
        try:
            self.data[...] = np.broadcast_to(new, self.data.shape).astype(self.data.dtype, copy=False)
        except ValueError:
            raise ValueError(f"Variable '{self.name}' has shape {self.data.shape}; cannot assign a value of "
                             f"shape {new.shape}") from None
        return self

    def assign_add(self, value: Any) -> Variable:
        """`self += value`, in place."""
        return self.assign(self.data + np.asarray(value.data if isinstance(value, Tensor) else value))

    def assign_sub(self, value: Any) -> Variable:
        """`self -= value`, in place."""
        return self.assign(self.data - np.asarray(value.data if isinstance(value, Tensor) else value))

    def reset(self) -> None:
        """Back to the value it was created with (used by `Metric.reset_state`)."""
        if self._initial is not None:
            self.data[...] = self._initial

    def __repr__(self) -> str:
        return f"<Variable path={self.name}, shape={self.data.shape}, dtype={self.data.dtype.name}>"


def _initial_value(initializer: Any, shape: Any, dtype: Any) -> np.ndarray:
    from . import initializers

    if isinstance(initializer, Tensor):
        initializer = initializer.data
    if isinstance(initializer, (str, dict)) or (callable(initializer) and not isinstance(initializer, np.ndarray)):
        if shape is None:
            raise ValueError(f"Variable with initializer {initializer!r} needs a shape")
        init = initializers.get(initializer) if not callable(initializer) else initializer
        shape = (shape,) if isinstance(shape, int) else tuple(int(s) for s in shape)
        target = np.dtype(dtype or "float32")
        made = init(shape, dtype=target.name if target.kind == "f" else "float32")  # int zeros/ones: cast after
        return np.asarray(made).astype(target)
    value = np.asarray(initializer, dtype=dtype)
    if dtype is None and value.dtype.kind in "f":
        value = value.astype("float32")
    elif dtype is None and not isinstance(initializer, np.ndarray) and value.dtype.kind in "iu":
        value = value.astype("float32")
    if shape is not None and tuple(value.shape) != tuple(shape):
        value = np.broadcast_to(value, tuple(shape)).copy()
    return value
