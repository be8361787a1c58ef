"""tf.matmul, tf.reduce_mean, tf.argmax ... and the random initialisers, as graph nodes over neurona.ops.

Each function checks what it can at build time (static shapes, as TensorFlow does) and records a node whose
function calls the engine op when a Session runs it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ... import ops
from ...random import get_rng
from ...tensor import Tensor as EngineTensor
from .graph import Shape, Tensor, as_dtype, convert_to_tensor, get_default_graph, shape_text


def node(kind: str, inputs: Sequence[Any], fn: Callable[..., Any], shape: Shape | None, dtype: Any = None,
         name: str | None = None) -> Tensor:
    """Record one op: `fn(*engine_tensors) -> engine tensor` runs when a session needs the value."""
    ts = [convert_to_tensor(x) for x in inputs]
    return Tensor(kind, ts, fn, shape, ts[0].dtype if dtype is None else dtype, name)


def _float_operands(a: Any, b: Any) -> tuple[Tensor, Tensor]:
    """Python numbers take the dtype of the tensor beside them (TF converts them the same way)."""
    if isinstance(a, Tensor) and not isinstance(b, Tensor):
        b = convert_to_tensor(np.asarray(b, dtype=a.dtype))
    elif isinstance(b, Tensor) and not isinstance(a, Tensor):
        a = convert_to_tensor(np.asarray(a, dtype=b.dtype))
    return convert_to_tensor(a), convert_to_tensor(b)


def broadcast_shape(a: Shape | None, b: Shape | None, what: str) -> Shape | None:
    if a is None or b is None:
        return None
    out = []
    for i in range(1, max(len(a), len(b)) + 1):
        x = a[-i] if i <= len(a) else 1
        y = b[-i] if i <= len(b) else 1
        if x == 1:
            out.append(y)
        elif y == 1 or x == y:
            out.append(x)
        elif x is None or y is None:
            out.append(x if y is None else y)
        else:
            raise ValueError(f"Dimensions must be equal, but are {x} and {y} for '{what}' with input shapes: "
                             f"{shape_text(a)}, {shape_text(b)}.")
    return tuple(reversed(out))


def _binary(kind: str, fn: Callable[..., Any], a: Any, b: Any, name: str | None) -> Tensor:
    x, y = _float_operands(a, b)
    if x.dtype != y.dtype:
        raise TypeError(f"Input 'y' of '{kind}' Op has type {y.dtype} that does not match type {x.dtype} of "
                        f"argument 'x' ({x.name} and {y.name}); use tf.cast first")
    return node(kind, [x, y], fn, broadcast_shape(x.shape, y.shape, kind), x.dtype, name)


def add(x: Any, y: Any, name: str | None = None) -> Tensor:
    return _binary("Add", ops.add, x, y, name)


def subtract(x: Any, y: Any, name: str | None = None) -> Tensor:
    return _binary("Sub", ops.sub, x, y, name)


def multiply(x: Any, y: Any, name: str | None = None) -> Tensor:
    return _binary("Mul", ops.mul, x, y, name)


def divide(x: Any, y: Any, name: str | None = None) -> Tensor:
    return _binary("RealDiv", ops.div, x, y, name)


def maximum(x: Any, y: Any, name: str | None = None) -> Tensor:
    return _binary("Maximum", ops.maximum, x, y, name)


def pow(x: Any, y: Any, name: str | None = None) -> Tensor:  # noqa: A001 - TensorFlow's name
    return _binary("Pow", ops.pow, x, y, name)


def negative(x: Any, name: str | None = None) -> Tensor:
    x = convert_to_tensor(x)
    return node("Neg", [x], ops.neg, x.shape, name=name)


def _unary(kind: str, fn: Callable[..., Any]) -> Callable[..., Tensor]:
    def op(x: Any, name: str | None = None) -> Tensor:
        x = convert_to_tensor(x)
        return node(kind, [x], fn, x.shape, name=name)

    op.__name__ = kind.lower()
    op.__doc__ = f"Elementwise {kind.lower()} (a graph node over neurona.ops)."
    return op


square, sqrt, exp, log = (_unary("Square", ops.square), _unary("Sqrt", ops.sqrt), _unary("Exp", ops.exp),
                          _unary("Log", ops.log))
identity = _unary("Identity", lambda t: t)


def matmul(a: Any, b: Any, transpose_a: bool = False, transpose_b: bool = False, name: str | None = None) -> Tensor:
    """Matrix product; inner dimensions are checked now when they are known."""
    a, b = convert_to_tensor(a), convert_to_tensor(b)
    sa = None if a.shape is None else (a.shape[::-1] if transpose_a else a.shape)
    sb = None if b.shape is None else (b.shape[::-1] if transpose_b else b.shape)
    if sa is not None and sb is not None:
        if len(sa) != 2 or len(sb) != 2:
            raise ValueError(f"Shape must be rank 2 but is rank {len(sa) if len(sa) != 2 else len(sb)} for "
                             f"'MatMul' with input shapes: {shape_text(sa)}, {shape_text(sb)}.")
        if sa[1] is not None and sb[0] is not None and sa[1] != sb[0]:
            raise ValueError(f"Dimensions must be equal, but are {sa[1]} and {sb[0]} for 'MatMul' (op: 'MatMul') "
                             f"with input shapes: {shape_text(sa)}, {shape_text(sb)}.")
    if a.dtype != b.dtype:
        raise TypeError(f"Input 'b' of 'MatMul' Op has type {b.dtype} that does not match type {a.dtype} of 'a'")

    def fn(x: EngineTensor, y: EngineTensor) -> EngineTensor:
        return ops.matmul(x.T if transpose_a else x, y.T if transpose_b else y)

    shape = None if sa is None or sb is None else (sa[0], sb[1])
    return node("MatMul", [a, b], fn, shape, a.dtype, name)


def _axes(axis: Any, reduction_indices: Any) -> Any:
    axis = reduction_indices if axis is None else axis
    return tuple(axis) if isinstance(axis, (list, tuple)) else axis


def _reduced(shape: Shape | None, axis: Any, keepdims: bool) -> Shape | None:
    if shape is None:
        return None
    axes = range(len(shape)) if axis is None else [a % len(shape) for a in (axis if isinstance(axis, tuple)
                                                                              else (axis,))]
    return tuple(1 if i in axes else d for i, d in enumerate(shape)) if keepdims else \
        tuple(d for i, d in enumerate(shape) if i not in axes)


def _reduction(kind: str, fn: Callable[..., Any]) -> Callable[..., Tensor]:
    def op(input_tensor: Any, axis: Any = None, keepdims: bool = False, name: str | None = None,
           reduction_indices: Any = None, keep_dims: bool | None = None) -> Tensor:
        x = convert_to_tensor(input_tensor)
        ax, keep = _axes(axis, reduction_indices), bool(keepdims or keep_dims)
        return node(kind, [x], lambda t: fn(t, ax, keep), _reduced(x.shape, ax, keep), name=name)

    op.__name__ = f"reduce_{kind.lower()}"
    op.__doc__ = f"{kind} over `axis` (all axes when None), as tf.reduce_{kind.lower()}."
    return op


reduce_mean, reduce_sum, reduce_max = _reduction("Mean", ops.mean), _reduction("Sum", ops.sum), \
    _reduction("Max", ops.max)


def argmax(input: Any, axis: Any = None, name: str | None = None, dimension: Any = None,  # noqa: A002
           output_type: Any = np.int64) -> Tensor:
    """Index of the largest value along `axis` (not differentiable)."""
    x = convert_to_tensor(input)
    ax = 0 if axis is None and dimension is None else (dimension if axis is None else axis)
    dtype = as_dtype(output_type)
    return node("ArgMax", [x], lambda t: EngineTensor(np.argmax(t.data, axis=ax).astype(dtype)),
                _reduced(x.shape, ax, False), dtype, name)


def equal(x: Any, y: Any, name: str | None = None) -> Tensor:
    """Elementwise x == y, a bool tensor."""
    a, b = _float_operands(x, y)
    return node("Equal", [a, b], lambda p, q: EngineTensor(p.data == q.data),
                broadcast_shape(a.shape, b.shape, "Equal"), np.bool_, name)


def cast(x: Any, dtype: Any, name: str | None = None) -> Tensor:
    """Convert to `dtype` (floating casts pass gradients back)."""
    x, dt = convert_to_tensor(x), as_dtype(dtype)

    def fn(t: EngineTensor) -> EngineTensor:
        return ops.cast(t, dt) if t.dtype.kind == "f" and dt.kind == "f" else EngineTensor(t.data.astype(dt))

    return node("Cast", [x], fn, x.shape, dt, name)


def reshape(tensor: Any, shape: Any, name: str | None = None) -> Tensor:
    """Same values, new shape; one dimension may be -1."""
    x = convert_to_tensor(tensor)
    target = tuple(int(d) for d in shape)
    known = x.shape is not None and None not in x.shape
    static = tuple(np.empty(x.shape, np.bool_).reshape(target).shape) if known else \
        tuple(None if d == -1 else d for d in target)
    if known and int(np.prod(x.shape)) != int(np.prod(static)):
        raise ValueError(f"Cannot reshape a tensor with {int(np.prod(x.shape))} elements to shape {list(target)}")
    return node("Reshape", [x], lambda t: ops.reshape(t, target), static, name=name)


def transpose(a: Any, perm: Any = None, name: str | None = None) -> Tensor:
    x = convert_to_tensor(a)
    axes = None if perm is None else tuple(perm)
    shape = None if x.shape is None else tuple(x.shape[i] for i in (axes or reversed(range(len(x.shape)))))
    return node("Transpose", [x], lambda t: ops.transpose(t, axes), shape, name=name)


# ------------------------------------------------------------------------------------------------ initialisers
def _rng(seed: int | None) -> np.random.Generator:
    graph = get_default_graph()
    if graph.seed is None and seed is None:
        return np.random.default_rng(get_rng().integers(2**63))
    return np.random.default_rng([graph.seed or 0, seed if seed is not None else len(graph.nodes)])


def _random(kind: str, shape: Any, dtype: Any, seed: int | None, name: str | None,
            draw: Callable[[np.random.Generator, tuple], np.ndarray]) -> Tensor:
    dims, dt, rng = tuple(int(d) for d in shape), as_dtype(dtype), _rng(seed)
    return Tensor(kind, [], lambda: draw(rng, dims).astype(dt), dims, dt, name)


def truncated_normal(shape: Any, mean: float = 0.0, stddev: float = 1.0, dtype: Any = np.float32,
                     seed: int | None = None, name: str | None = None) -> Tensor:
    """Normal values, redrawn while more than two standard deviations from the mean (as TensorFlow)."""
    def draw(rng: np.random.Generator, dims: tuple) -> np.ndarray:
        z = rng.standard_normal(dims)
        bad = np.abs(z) > 2
        while bad.any():
            z[bad] = rng.standard_normal(int(bad.sum()))
            bad = np.abs(z) > 2
        return mean + stddev * z

    return _random("TruncatedNormal", shape, dtype, seed, name, draw)


def random_normal(shape: Any, mean: float = 0.0, stddev: float = 1.0, dtype: Any = np.float32,
                  seed: int | None = None, name: str | None = None) -> Tensor:
    return _random("RandomStandardNormal", shape, dtype, seed, name,
                   lambda rng, dims: mean + stddev * rng.standard_normal(dims))


def random_uniform(shape: Any, minval: float = 0.0, maxval: float | None = None, dtype: Any = np.float32,
                   seed: int | None = None, name: str | None = None) -> Tensor:
    high = 1.0 if maxval is None else maxval
    return _random("RandomUniform", shape, dtype, seed, name, lambda rng, dims: rng.uniform(minval, high, dims))


def zeros(shape: Any, dtype: Any = np.float32, name: str | None = None) -> Tensor:
    dims, dt = tuple(int(d) for d in shape), as_dtype(dtype)
    return Tensor("Zeros", [], lambda: np.zeros(dims, dt), dims, dt, name)


def ones(shape: Any, dtype: Any = np.float32, name: str | None = None) -> Tensor:
    dims, dt = tuple(int(d) for d in shape), as_dtype(dtype)
    return Tensor("Ones", [], lambda: np.ones(dims, dt), dims, dt, name)


def set_random_seed(seed: int) -> None:
    """The graph-level seed: with it, every random op of the default graph draws a repeatable sequence."""
    get_default_graph().seed = int(seed)
