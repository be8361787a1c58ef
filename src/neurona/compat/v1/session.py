"""tf.Session: runs the part of a graph that the fetches need, with the placeholders fed from `feed_dict`.

One `run` evaluates every needed value once, in graph order, with neurona's engine ops; then runs the
needed operations (initialisers, training steps) in graph order. A training step backpropagates through
the values of this same run, so the fetched loss and predictions are those from before the update, as in
TensorFlow.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ...tensor import Tensor as EngineTensor
from ...tensor import enable_grad, no_grad
from .errors import FailedPreconditionError, InvalidArgumentError
from .graph import _TF_NAMES, Graph, Operation, Tensor, _needed, get_default_graph, shape_text

_DEFAULT: list[Session] = []


def _session_for(session: Session | None, node: Any) -> Session:
    if session is not None:
        return session
    if not _DEFAULT:
        raise ValueError(f"Cannot evaluate {node.name!r}: no default session is registered. Use "
                         f"`with tf.Session() as sess:` or pass session=sess")
    return _DEFAULT[-1]


def get_default_session() -> Session | None:
    return _DEFAULT[-1] if _DEFAULT else None


class Session:
    """Runs graph nodes and owns the values of the graph's variables."""

    def __init__(self, target: str = "", graph: Graph | None = None, config: Any = None) -> None:
        self.graph = graph if graph is not None else get_default_graph()
        self._values: dict[int, np.ndarray] = {}
        self.slots: dict[tuple[int, int, str], Any] = {}  # optimiser state, per (optimiser, variable, slot)
        self._closed = False
        self._graph_ctx: Any = None

    # ----------------------------------------------------------------- context
    def __enter__(self) -> Session:
        self._graph_ctx = self.graph.as_default()
        self._graph_ctx.__enter__()
        _DEFAULT.append(self)
        return self

    def __exit__(self, *exc: Any) -> None:
        _DEFAULT.remove(self)
        self._graph_ctx.__exit__(*exc)
        self.close()

    def as_default(self) -> Any:
        import contextlib

        @contextlib.contextmanager
        def ctx() -> Any:
            _DEFAULT.append(self)
            try:
                yield self
            finally:
                _DEFAULT.remove(self)

        return ctx()

    def close(self) -> None:
        self._closed = True

    # ----------------------------------------------------------------- variables
    def set_value(self, variable: Any, value: np.ndarray) -> None:
        if tuple(value.shape) != tuple(variable.shape):
            raise InvalidArgumentError(None, variable, f"Assign requires shapes of both tensors to match. lhs "
                                       f"shape= {list(variable.shape)} rhs shape= {list(value.shape)} "
                                       f"(variable {variable.name!r})")
        self._values[id(variable)] = value

    def get_value(self, variable: Any) -> np.ndarray:
        if id(variable) not in self._values:
            raise FailedPreconditionError(None, variable, f"Attempting to use uninitialized value "
                                          f"{variable.name}\n\t [[node {variable.name}]] (run "
                                          f"tf.global_variables_initializer() first)")
        return self._values[id(variable)]

    # ----------------------------------------------------------------- run
    def run(self, fetches: Any, feed_dict: Mapping[Any, Any] | None = None, options: Any = None,
            run_metadata: Any = None) -> Any:
        """The values of `fetches` (a node, a name, or a nested list/tuple/dict of them)."""
        if self._closed:
            raise RuntimeError("Attempted to use a closed Session.")
        flat: list[Any] = []
        rebuild = self._flatten(fetches, flat)
        feeds = self._feeds(feed_dict or {})
        order = self._order(flat, feeds)
        train = any(isinstance(n, Operation) and getattr(n, "needs_grad", False) for n in order)
        with enable_grad() if train else no_grad():
            cache = self._evaluate(order, feeds, train)
        results = [None if isinstance(n, Operation) else self._result(cache[id(n)]) for n in flat]
        return rebuild(iter(results))

    def _flatten(self, fetches: Any, flat: list[Any]) -> Any:
        """Collect the nodes of a nested fetch structure; returns a function that rebuilds it from values."""
        if isinstance(fetches, (list, tuple)):
            parts = [self._flatten(f, flat) for f in fetches]
            kind = type(fetches)
            if hasattr(fetches, "_fields"):  # namedtuple
                return lambda it: kind(*[p(it) for p in parts])
            return lambda it: kind(p(it) for p in parts)
        if isinstance(fetches, Mapping):
            keyed = [(k, self._flatten(v, flat)) for k, v in fetches.items()]
            return lambda it: {k: p(it) for k, p in keyed}
        flat.append(self._resolve(fetches, "Fetch argument"))
        return lambda it: next(it)

    def _resolve(self, item: Any, what: str) -> Tensor | Operation:
        if isinstance(item, str):
            try:
                return self.graph.get_tensor_by_name(item) if ":" in item else \
                    self.graph.get_operation_by_name(item)
            except KeyError as err:
                raise ValueError(f"{what} {item!r} cannot be interpreted as a Tensor. ({err.args[0]})") from None
        if hasattr(item, "value") and isinstance(getattr(item, "value", None), Tensor):
            item = item.value
        if not isinstance(item, (Tensor, Operation)):
            raise TypeError(f"{what} {item!r} has invalid type {type(item)}, must be a string or Tensor. "
                            f"(Can not convert a {type(item).__name__} into a Tensor or Operation.)")
        if item.graph is not self.graph:
            raise ValueError(f"{what} {item!r} cannot be interpreted as a Tensor. (Tensor {item!r} is not an "
                             f"element of this graph.)")
        return item

    def _feeds(self, feed_dict: Mapping[Any, Any]) -> dict[int, np.ndarray]:
        feeds = {}
        for key, value in feed_dict.items():
            node = self._resolve(key, "Cannot interpret feed_dict key as Tensor:")
            if isinstance(node, Operation):
                raise TypeError(f"Cannot interpret feed_dict key {key!r} as Tensor: it is an Operation")
            feeds[id(node)] = check_feed(node, value)
        return feeds

    def _order(self, flat: list[Any], feeds: dict[int, np.ndarray]) -> list[Any]:
        """The nodes the fetches need (not behind a fed tensor), in graph (creation) order."""
        seen = _needed(flat, stop=feeds)
        return [n for n in self.graph.nodes if id(n) in seen]

    def _evaluate(self, order: list[Any], feeds: dict[int, np.ndarray], train: bool) -> dict[int, Any]:
        cache: dict[int, Any] = {}
        for n in order:
            if isinstance(n, Operation):
                continue
            if id(n) in feeds:
                cache[id(n)] = EngineTensor(feeds[id(n)])
            elif n.kind == "Placeholder":
                raise InvalidArgumentError(None, n, f"You must feed a value for placeholder tensor {n.name!r} "
                                           f"with dtype {_TF_NAMES.get(n.dtype, n.dtype)} and shape "
                                           f"{shape_text(n.shape).replace('(', '[').replace(')', ']')}")
            elif n.kind == "VariableV2":
                cache[id(n)] = EngineTensor(self.get_value(n), requires_grad=train and n.trainable
                                            and n.dtype.kind == "f")
            else:
                out = n.fn(*[cache[id(i)] for i in n.inputs])
                cache[id(n)] = out if isinstance(out, EngineTensor) else EngineTensor(out)
        for n in order:
            if isinstance(n, Operation):
                n.effect(self, [cache.get(id(i)) for i in n.inputs], *([cache] if getattr(n, "needs_grad", False)
                                                                        else []))
        return cache

    @staticmethod
    def _result(value: EngineTensor) -> Any:
        data = value.data
        return data[()] if data.ndim == 0 else data.copy()


class InteractiveSession(Session):
    """A session that makes itself the default when created (for notebooks and shells)."""

    def __init__(self, target: str = "", graph: Graph | None = None, config: Any = None) -> None:
        super().__init__(target, graph, config)
        _DEFAULT.append(self)

    def close(self) -> None:
        if self in _DEFAULT:
            _DEFAULT.remove(self)
        super().close()


def check_feed(node: Tensor, value: Any) -> np.ndarray:
    """`value` as an array of the placeholder's dtype, or TensorFlow's error for a wrong shape or dtype."""
    arr = np.asarray(value.data if isinstance(value, EngineTensor) else value)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"Cannot feed value of dtype {arr.dtype} for Tensor {node.name + ':0'!r}, which has "
                        f"dtype {_TF_NAMES.get(node.dtype, node.dtype)} (only numbers and booleans can be fed)")
    if node.dtype.kind in "biu" and arr.dtype.kind == "f" and not np.array_equal(arr, np.round(arr)):
        raise TypeError(f"Cannot feed value of dtype {arr.dtype} with fractional values for Tensor "
                        f"{node.name + ':0'!r}, which has integer dtype {node.dtype}")
    if node.shape is not None:
        ok = arr.ndim == len(node.shape) and all(d is None or d == s for d, s in zip(node.shape, arr.shape))
        if not ok:
            raise ValueError(f"Cannot feed value of shape {arr.shape} for Tensor {node.name + ':0'!r}, which has "
                             f"shape {shape_text(node.shape)!r}")
    return arr.astype(node.dtype, copy=False)


__all__ = ["InteractiveSession", "Session", "get_default_session"]
