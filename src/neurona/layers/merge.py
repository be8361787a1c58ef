"""Layers that join several tensors into one: Add, Subtract, Multiply, Average, Maximum, Minimum,
Concatenate and Dot. They take a list of inputs, which is what makes graphs non-linear."""

from __future__ import annotations

from functools import reduce
from typing import Any

from .. import ops
from .base import Layer


def _broadcast_shapes(layer: Layer, shapes: list[tuple[int | None, ...]]) -> tuple[int | None, ...]:
    """Keras's rule: equal sizes, or 1 or unknown on one side; ranks may differ (aligned on the right)."""
    nd = max(len(s) for s in shapes)
    out: list[int | None] = []
    for axis in range(-nd, 0):
        sizes = {s[axis] for s in shapes if -len(s) <= axis and s[axis] not in (None, 1)}
        if len(sizes) > 1:
            raise ValueError(f"{type(layer).__name__} '{layer.name}' needs inputs of the same shape, got "
                             f"{', '.join(str(tuple(s)) for s in shapes)}")
        if sizes:
            out.append(sizes.pop())
        elif any(-len(s) <= axis and s[axis] is None for s in shapes):
            out.append(None)
        else:
            out.append(1)
    return tuple(out)


class _Merge(Layer):
    """Elementwise merge of a list of tensors of the same shape."""

    min_inputs = 2
    max_inputs: int | None = None

    def _check_list(self, shapes: Any) -> list[tuple[int | None, ...]]:
        if not isinstance(shapes, list) or len(shapes) < self.min_inputs or (
                self.max_inputs is not None and len(shapes) > self.max_inputs):
            many = self.max_inputs == self.min_inputs
            count = f"exactly {self.max_inputs}" if many else f"at least {self.min_inputs}"
            got = f"{len(shapes)} inputs" if isinstance(shapes, list) else f"a single input of shape {shapes}"
            raise ValueError(f"{type(self).__name__} '{self.name}' needs a list of {count} inputs, got {got}")
        return shapes

    def build(self, input_shape):
        self.compute_output_shape(input_shape)

    def compute_output_shape(self, input_shape):
        return _broadcast_shapes(self, self._check_list(input_shape))

    def call(self, inputs, training=False):
        self._check_list([tuple(x.shape) for x in inputs] if isinstance(inputs, (list, tuple)) else inputs.shape)
        return self._merge(list(inputs))

    def _merge(self, inputs):
        raise NotImplementedError


class Add(_Merge):
    """Sum of the inputs (residual connections)."""

    def _merge(self, inputs):
        return reduce(ops.add, inputs)


class Subtract(_Merge):
    """inputs[0] - inputs[1]."""

    max_inputs = 2

    def _merge(self, inputs):
        return ops.sub(inputs[0], inputs[1])


class Multiply(_Merge):
    """Elementwise product of the inputs."""

    def _merge(self, inputs):
        return reduce(ops.mul, inputs)


class Average(_Merge):
    """Elementwise mean of the inputs (averaging several nets, as slide 001 suggests)."""

    def _merge(self, inputs):
        return ops.mul(reduce(ops.add, inputs), 1.0 / len(inputs))


class Maximum(_Merge):
    """Elementwise maximum of the inputs."""

    def _merge(self, inputs):
        return reduce(ops.maximum, inputs)


class Minimum(_Merge):
    """Elementwise minimum of the inputs."""

    def _merge(self, inputs):
        return reduce(ops.minimum, inputs)


class Concatenate(_Merge):
    """Join the inputs along `axis` (the last one by default); the other sizes must match."""

    def __init__(self, axis: int = -1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.axis = int(axis)

    def compute_output_shape(self, input_shape):
        shapes = self._check_list(input_shape)
        nd = len(shapes[0])
        if any(len(s) != nd for s in shapes) or not -nd <= self.axis < nd:
            raise ValueError(f"Concatenate '{self.name}' (axis={self.axis}) needs inputs of the same rank that "
                             f"have that axis, got {', '.join(str(tuple(s)) for s in shapes)}")
        axis = self.axis % nd
        out: list[int | None] = []
        for i in range(nd):
            if i == axis:
                sizes = [s[i] for s in shapes]
                out.append(None if None in sizes else sum(sizes))
                continue
            known = {s[i] for s in shapes if s[i] is not None}
            if len(known) > 1:
                raise ValueError(f"Concatenate '{self.name}' (axis={self.axis}) needs inputs whose other axes "
                                 f"match, got {', '.join(str(tuple(s)) for s in shapes)}")
            out.append(known.pop() if known else None)
        return tuple(out)

    def _merge(self, inputs):
        return ops.concatenate(inputs, axis=self.axis)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


class Dot(_Merge):
    """Dot product of two batches of tensors along `axes` (per sample, like Keras's batch_dot).

    With `normalize=True` each input is L2-normalised first, so the result is the cosine similarity.
    """

    min_inputs = max_inputs = 2

    def __init__(self, axes: int | tuple[int, int], normalize: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.axes = (int(axes), int(axes)) if isinstance(axes, int) else tuple(int(a) for a in axes)
        if len(self.axes) != 2:
            raise ValueError(f"Dot '{self.name}': axes must be an int or a pair of ints, got {axes}")
        self.normalize = bool(normalize)

    def _axes(self, shapes: list[tuple[int | None, ...]]) -> tuple[int, int]:
        axes = []
        for a, s in zip(self.axes, shapes):
            a = a % len(s)
            if a == 0:
                raise ValueError(f"Dot '{self.name}' cannot contract the batch axis (axes={self.axes})")
            axes.append(a)
        sx, sy = shapes
        if sx[axes[0]] is not None and sy[axes[1]] is not None and sx[axes[0]] != sy[axes[1]]:
            raise ValueError(f"Dot '{self.name}': axis {axes[0]} of {tuple(sx)} and axis {axes[1]} of {tuple(sy)} "
                             f"have different sizes")
        return axes[0], axes[1]

    def compute_output_shape(self, input_shape):
        shapes = self._check_list(input_shape)
        ax, ay = self._axes(shapes)
        sx, sy = shapes
        rest = tuple(s for i, s in enumerate(sx) if i not in (0, ax)) + tuple(
            s for i, s in enumerate(sy) if i not in (0, ay))
        return (sx[0],) + (rest or (1,))

    def _merge(self, inputs):
        x, y = inputs
        ax, ay = self._axes([tuple(x.shape), tuple(y.shape)])
        if self.normalize:
            x = x / ops.sqrt(ops.maximum(ops.sum(ops.square(x), axis=ax, keepdims=True), 1e-12))
            y = y / ops.sqrt(ops.maximum(ops.sum(ops.square(y), axis=ay, keepdims=True), 1e-12))
        # Move the contracted axes next to each other and let one batched matmul do the sum.
        xm = ops.transpose(x, [0] + [i for i in range(1, x.ndim) if i != ax] + [ax])
        ym = ops.transpose(y, [0, ay] + [i for i in range(1, y.ndim) if i != ay])
        rx, ry = xm.shape[1:-1], ym.shape[2:]
        b, k = x.shape[0], x.shape[ax]
        out = ops.matmul(ops.reshape(xm, (b, -1, k)), ops.reshape(ym, (b, k, -1)))
        return ops.reshape(out, (b,) + (tuple(rx) + tuple(ry) or (1,)))

    def get_config(self):
        return {**super().get_config(), "axes": list(self.axes), "normalize": self.normalize}


def add(inputs: list[Any], **kwargs: Any) -> Any:
    """Functional form of `Add`: `add([a, b])`."""
    return Add(**kwargs)(inputs)


def subtract(inputs: list[Any], **kwargs: Any) -> Any:
    """Functional form of `Subtract`."""
    return Subtract(**kwargs)(inputs)


def multiply(inputs: list[Any], **kwargs: Any) -> Any:
    """Functional form of `Multiply`."""
    return Multiply(**kwargs)(inputs)


def average(inputs: list[Any], **kwargs: Any) -> Any:
    """Functional form of `Average`."""
    return Average(**kwargs)(inputs)


def maximum(inputs: list[Any], **kwargs: Any) -> Any:
    """Functional form of `Maximum`."""
    return Maximum(**kwargs)(inputs)


def minimum(inputs: list[Any], **kwargs: Any) -> Any:
    """Functional form of `Minimum`."""
    return Minimum(**kwargs)(inputs)


def concatenate(inputs: list[Any], axis: int = -1, **kwargs: Any) -> Any:
    """Functional form of `Concatenate`."""
    return Concatenate(axis=axis, **kwargs)(inputs)


def dot(inputs: list[Any], axes: int | tuple[int, int], normalize: bool = False, **kwargs: Any) -> Any:
    """Functional form of `Dot`."""
    return Dot(axes=axes, normalize=normalize, **kwargs)(inputs)
