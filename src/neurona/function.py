"""`neurona.function`: trace a Python step once per input signature, then replay the recorded plan.

The idea of `tf.function`, on neurona's eager engine. The first call with a new signature (the shapes and
dtypes of the array arguments, and the values of the others) runs the function eagerly and records the ops
it executed (the engine's graph). The second call runs it eagerly again and checks that it recorded the same
plan: the same ops, fed from the same places, with the same constants. From the third call on, the plan is
replayed: each op's `forward` runs on arrays (no Tensor objects, no graph building, no Python of the layers),
and `backward()` runs the ops' `backward` in the order the engine would, accumulating `.grad` into the
parameters exactly as `loss.backward()` does. The results are bit-identical to eager execution.

Python side effects happen only while tracing. Anything the function computes in Python rather than with
engine ops (a `print`, a counter, a NumPy random mask, a value read from a global) runs on the first two
calls and never again; a value computed in Python from the arguments becomes a constant of the plan. The
check on the second call catches constants that change between calls (a Dropout mask drawn with NumPy, an
input transformed in NumPy), and replays the first trace on the second call's inputs, which must give that
call's exact outputs (catching state an op was given when it was created, such as Embedding ids): a
function that fails either check runs eagerly for that signature from then on, so results stay right.
See docs/function.md.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .random import get_rng
from .tensor import Function, Tensor, _topological, _wrap, enable_grad, no_grad, sum_to

_ARG, _PARAM, _CONST = 0, 1, 2


class Plan:
    """The recorded ops of one traced call: where each op reads its inputs and writes its outputs."""

    def __init__(self, arrays: list[np.ndarray], outputs: list[Tensor]) -> None:
        self.slots: dict[tuple[int, int], int] = {}  # (id(op) or id(leaf), output index) -> slot
        self.leaves: list[tuple[int, int, Any]] = []  # (slot, kind, arg index | Tensor | array)
        self.ops: list[tuple[Function, list[int], list[int]]] = []
        self.need: list[bool] = []
        arg_of = {id(a): i for i, a in enumerate(arrays)}
        order = []
        for out in outputs:
            if out.creator is not None:
                order += [f for f in reversed(_topological(out.creator)) if f not in order]
        for f in order:
            ins = [self._slot_of(x, arg_of) for x in f.inputs]
            outs = [self._new((id(f), i)) for i in range(len(f.outs))]
            need = any(self.need[s] for s in ins)
            for s in outs:
                self.need[s] = need
            self.ops.append((f, ins, outs))
        self.outputs = [self._slot_of(o, arg_of) for o in outputs]
        self.backward_order: list[int] | None = None
        self.rewrite: Callable[[Plan], Any] | None = None  # run once, just before the plan's first replay
        self._fix_requires_grad()
        self.vals: list[Any] = [None] * len(self.need)  # the traced call's values, for its backward()
        for s, kind, v in self.leaves:
            self.vals[s] = arrays[v] if kind == _ARG else v.data if kind == _PARAM else v
        for f, _, outs in self.ops:
            for s, y in zip(outs, f.outs):
                self.vals[s] = y
        self._shape_only(self.vals)

    def forget_traced_arrays(self) -> None:
        """Drop the traced call's intermediate arrays that the recorded ops still point to (their `outs` and the
        Tensors among their `inputs`), keeping only shape and dtype (zero-strided views of one zero).

        Replay never reads them, and they were a dead copy of every activation kept for the whole fit (10.7 MiB
        of the slides' CNN, docs/performance.md "Convolutions", round three). Leaves (parameters, arguments,
        constants) and `vals` (this plan's own backward) are untouched.
        """
        for f, _, _ in self.ops:
            for x in f.inputs:
                if x.creator is not None and x.data.strides.count(0) != x.data.ndim:
                    x.data = _placeholder(x.data)
            f.outs = tuple(_placeholder(y) for y in f.outs)

    def _new(self, key: tuple[int, int]) -> int:
        self.slots[key] = len(self.need)
        self.need.append(False)
        return self.slots[key]

    def _slot_of(self, x: Tensor, arg_of: dict[int, int]) -> int:
        if x.creator is not None:
            return self.slots[(id(x.creator), x._index)]
        key = (id(x), -1)
        if key not in self.slots:
            s = self._new(key)
            if id(x.data) in arg_of:
                self.leaves.append((s, _ARG, arg_of[id(x.data)]))
            elif x.requires_grad:
                self.leaves.append((s, _PARAM, x))
                self.need[s] = True
            else:
                self.leaves.append((s, _CONST, x.data))
        return self.slots[key]

    def _fix_requires_grad(self) -> None:
        """Inputs that the engine would not differentiate must say so: ops skip their gradients."""
        for f, ins, _ in self.ops:
            for x, s in zip(f.inputs, ins):
                if x.creator is None and x.requires_grad != self.need[s]:
                    x.requires_grad = self.need[s]

    def same_as(self, other: Plan) -> bool:
        """True when `other` (the trace of another call) recorded the same computation."""
        if len(self.ops) != len(other.ops) or self.outputs != other.outputs or len(self.leaves) != len(other.leaves):
            return False
        for (f, i1, o1), (g, i2, o2) in zip(self.ops, other.ops):
            if (f if isinstance(f, type) else type(f)) is not type(g) or i1 != i2 or o1 != o2:
                return False
        for (s1, k1, v1), (s2, k2, v2) in zip(self.leaves, other.leaves):
            if s1 != s2 or k1 != k2:
                return False
            if k1 == _PARAM and v1 is not v2 or k1 == _ARG and v1 != v2:
                return False
            if k1 == _CONST and (v1.shape != v2.shape or v1.dtype != v2.dtype or not np.array_equal(v1, v2)):
                return False
        return True

    def keep_structure_only(self) -> None:
        """Keep what `same_as` compares (each op's type, slots, leaves) and let the ops and their arrays go."""
        self.ops = [(type(f), ins, outs) for f, ins, outs in self.ops]
        self.vals = None
        for name in ("_fwd", "_bwd", "_compiled"):
            self.__dict__.pop(name, None)

    # ----------------------------------------------------------------- replay
    def replace_ops(self, new: dict[int, Function]) -> None:
        """Run `new[k]` in place of op k, on the same slots (a rewrite of a confirmed plan; docs/function.md).

        The backward order is by op index, taken from the traced graph (which names the old ops): it is taken
        first, if no backward has run yet, and kept. The old ops forget what they saved for backward: never run
        again, they would hold the traced call's arrays for the whole fit (10.7 MiB in the slides' CNN).
        """
        if self.backward_order is None and self.need[self.outputs[0]]:
            self._order_backward()
        for k, f in new.items():
            old, ins, outs = self.ops[k]
            self.ops[k] = (f, ins, outs)
            drop = getattr(old, "drop_saved", None)
            if drop is not None:
                drop()
        self.__dict__.pop("_compiled", None)
        if self.backward_order is not None:
            self._flatten_backward()

    def _compile(self) -> None:
        """Flatten the plan into tuples the replay loops read without lookups (done once per plan)."""
        rewrite, self.rewrite = self.rewrite, None
        if rewrite is not None:  # after the traced call's backward, which ran on the traced ops' saved state
            rewrite(self)
        self._args = tuple((s, v) for s, kind, v in self.leaves if kind == _ARG)
        self._params = tuple((s, v) for s, kind, v in self.leaves if kind == _PARAM)
        template: list[Any] = [None] * len(self.need)
        for s, kind, v in self.leaves:
            if kind == _CONST:
                template[s] = v
        self._template = template
        self._fwd = tuple((f.forward, tuple(ins), outs[0] if len(outs) == 1 else tuple(outs))
                          for f, ins, outs in self.ops)
        self._big: tuple[int, ...] | None = None  # the slots held as placeholders: found again (a rewrite changes them)
        self._drops = tuple(f.drop_saved for f, _, _ in self.ops if hasattr(f, "drop_saved"))
        self._compiled = True

    def forward(self, arrays: list[np.ndarray]) -> list[np.ndarray]:
        if not self.__dict__.get("_compiled"):
            self._compile()
        self.vals = None  # the last call's activations go as this call's replace them, not all at its end
        for drop in self._drops:  # and what the ops saved for the last call's backward, before this call allocates
            drop()
        vals = self._template[:]
        for s, i in self._args:
            vals[s] = arrays[i]
        for s, t in self._params:
            vals[s] = t.data
        for fwd, ins, out in self._fwd:
            ys = fwd(*[vals[i] for i in ins])
            if type(out) is int:
                vals[out] = ys if type(ys) is np.ndarray else np.asarray(ys)
            else:
                for s, y in zip(out, ys):
                    vals[s] = y if type(y) is np.ndarray else np.asarray(y)
        outs = [vals[s] for s in self.outputs]
        if self._big != ():  # a model without large intermediates (the slide MLP) skips the call
            self._shape_only(vals)
        self.vals = vals
        return outs

    def _shape_only(self, vals: list[Any]) -> None:
        """Put placeholders in `vals` for the large intermediate arrays: backward reads vals for shapes and dtypes
        only, and an array the ops did not keep for their backward can then go as soon as the forward ends (#18:
        the transformer's training peak, -2 MiB). Placeholders are made once per slot and reused."""
        big = self.__dict__.get("_big")
        if big is None:  # the first call (of the trace, then of the replays): arrays of 64 KiB or more
            outs = set(self.outputs)
            big = self._big = tuple(s for _, _, o in self.ops for s in o
                                    if s not in outs and getattr(vals[s], "nbytes", 0) >= 1 << 16)
            self._likes: dict[int, np.ndarray] = {}
        likes = self._likes
        for s in big:
            a, like = vals[s], likes.get(s)
            if like is None or like.shape != a.shape or like.dtype != a.dtype:
                like = likes[s] = _placeholder(a)
            vals[s] = like

    def backward(self, into: dict[int, np.ndarray] | None = None, scale: float = 1.0) -> None:
        """d(first output)/d(parameters) into each parameter's `.grad`, in the engine's order.

        With `into`, the gradients go into that dict (id of the parameter Tensor -> array) instead, and with
        `scale` they are of scale x the first output: a half batch's share of the batch mean (models/parallel.py).
        """
        vals, root = self.vals, self.outputs[0]
        if not self.need[root]:
            raise RuntimeError("backward() of a traced function whose first output does not depend on any "
                               "parameter that requires grad")
        if self.backward_order is None:
            self._order_backward()
        seed = self._seed
        if seed is None or seed.shape != vals[root].shape or seed.dtype != vals[root].dtype:
            seed = self._seed = np.ones_like(vals[root])
            seed.flags.writeable = False  # ops never write into an incoming gradient; a parameter copies it
        if scale != 1.0:
            scaled = self._scaled
            if scaled is None or scaled[0] != scale or scaled[1].shape != seed.shape or scaled[1].dtype != seed.dtype:
                scaled = self._scaled = (scale, np.full_like(seed, scale))
                scaled[1].flags.writeable = False
            seed = scaled[1]
        grads: list[Any] = [None] * len(vals)
        grads[root] = seed
        for bwd, outs, ins in self._bwd:
            if type(outs) is int:
                g = grads[outs]
                grads[outs] = None
                gxs = bwd(np.zeros_like(vals[outs]) if g is None else g)
            else:
                gys = [grads[s] for s in outs]
                for s in outs:
                    grads[s] = None
                gxs = bwd(*[np.zeros_like(vals[s]) if g is None else g for s, g in zip(outs, gys)])
            if type(gxs) is not tuple:
                gxs = (gxs,)
            for (s, t), gx in zip(ins, gxs):
                if gx is None or s < 0:
                    continue
                if gx.shape != vals[s].shape:
                    gx = sum_to(gx, vals[s].shape)
                if t is None:
                    prev = grads[s]
                    grads[s] = gx if prev is None else prev + gx
                elif into is not None:  # a replica's own gradients, added to the other's by the caller
                    prev = into.get(id(t))
                    into[id(t)] = gx if prev is None else prev + gx
                elif t.grad is not None:
                    t.grad = t.grad + gx
                else:
                    t.grad = gx if gx.flags.writeable else gx.copy()

    def _order_backward(self) -> None:
        """The engine's reverse topological order from the first output (`_topological`), flattened: for each op
        its backward, its output slots and, per input, (slot, parameter Tensor or None), slot -1 when unneeded."""
        root = self.outputs[0]
        creator = next(f for f, _, outs in self.ops if root in outs)
        index = {id(f): k for k, (f, _, _) in enumerate(self.ops)}
        self.backward_order = [index[id(f)] for f in _topological(creator) if self.need[self.ops[index[id(f)]][2][0]]]
        self._flatten_backward()
        self._seed: np.ndarray | None = None
        self._scaled: tuple[float, np.ndarray] | None = None

    def _flatten_backward(self) -> None:
        """`_bwd`: per op of `backward_order`, its backward, output slot(s) and (slot or -1, parameter or None)s."""
        params = {s: v for s, kind, v in self.leaves if kind == _PARAM}
        self._bwd = []
        for k in self.backward_order:
            f, ins, outs = self.ops[k]
            self._bwd.append((f.backward, outs[0] if len(outs) == 1 else tuple(outs),
                              tuple((s if self.need[s] else -1, params.get(s)) for s in ins)))


def _placeholder(a: np.ndarray) -> np.ndarray:
    """A read-only array of a's shape and dtype that holds one element."""
    return np.broadcast_to(np.zeros((), a.dtype), a.shape)


def _drop_saved(plan: Plan) -> None:
    """Let the plan's ops that can forget their saved state (`drop_saved`) do so; it keeps them runnable."""
    plan.vals = None
    for f, _, _ in plan.ops:
        drop = getattr(f, "drop_saved", None)
        if drop is not None:
            drop()


def _replay_values(plan: Plan, arrays: list[np.ndarray]) -> list[np.ndarray]:
    """The first trace's plan replayed on the second call's arrays: they must equal that call's outputs.

    This catches state an op was given in Python when it was created (a Dropout mask, Embedding ids), which
    no input or constant of the plan shows. The random generator is restored, so the check draws nothing.
    """
    _drop_saved(plan)  # its own backward ran a call ago: what its ops saved for it is dead weight now
    rng = get_rng().bit_generator
    state = rng.state
    try:
        with no_grad():  # a check, never backpropagated: ops that keep state for backward need not (LSTM, #18)
            return plan.forward(arrays)
    finally:
        rng.state = state
        _drop_saved(plan)  # the first plan is reduced to its structure after this (its ops may sit in cycles)


class TracedFunction:
    """A Python function of arrays that returns Tensors, traced per signature and then replayed."""

    def __init__(self, fn: Callable[..., Any], name: str | None = None,
                 rewrite: Callable[[Plan], Any] | None = None) -> None:
        self.fn = fn
        # applied to each confirmed plan just before its first replay (predict's conv-pool fusion; fit's relu after
        # the pool): after the traced call and its backward, which ran the traced ops as they were
        self.rewrite = rewrite
        self.__name__ = name or getattr(fn, "__name__", "function")
        self.__doc__ = getattr(fn, "__doc__", None)
        self._plans: dict[Any, Any] = {}  # signature -> Plan (confirmed), [Plan] (seen once) or None (eager)
        self.trace_count = 0
        self._last: Plan | None = None
        self._last_eager: list[Tensor] | None = None
        self._structures: dict[Any, Any] = {}
        self.replayed = False  # whether the last call replayed a recorded plan

    @staticmethod
    def _split(args: tuple) -> tuple[list[np.ndarray], tuple]:
        arrays, sig = [], []
        for a in args:
            items = a if isinstance(a, (list, tuple)) and a and all(isinstance(v, (np.ndarray, Tensor)) for v in a) \
                else [a]
            for v in items:
                if isinstance(v, (np.ndarray, Tensor)):
                    arr = v.data if isinstance(v, Tensor) else v
                    arrays.append(arr)
                    sig.append((arr.shape, arr.dtype.str))
                else:
                    sig.append(("static", v if v is None or isinstance(v, (bool, int, float, str)) else id(v)))
        return arrays, tuple(sig)

    @staticmethod
    def _split_fast(args: tuple) -> tuple[list[np.ndarray], tuple] | None:
        """The signature of plain arrays and Nones (fit's and predict's calls) without the general walk."""
        arrays, sig = [], []
        for a in args:
            if type(a) is np.ndarray:
                arrays.append(a)
                sig.append((a.shape, a.dtype.str))
            elif a is None:
                sig.append(("static", None))
            else:
                return None
        return arrays, tuple(sig)

    def __call__(self, *args: Any) -> Any:
        arrays, sig = self._split_fast(args) or self._split(args)
        plan = self._plans.get(sig, ())
        if isinstance(plan, Plan):
            self._last, self._last_eager, self.replayed = plan, None, True
            return self._wrap(plan.forward(arrays), self._structures[sig])
        return self._trace(sig, plan, arrays, args)

    def arrays(self, *args: Any) -> list[np.ndarray]:
        """The call's outputs as a list of arrays (no Tensors made): what fit and predict read."""
        arrays, sig = self._split_fast(args) or self._split(args)
        plan = self._plans.get(sig, ())
        if isinstance(plan, Plan):
            self._last, self._last_eager, self.replayed = plan, None, True
            return plan.forward(arrays)
        out = self._trace(sig, plan, arrays, args)
        return [o.data for o in ([out] if isinstance(out, Tensor) else out)]

    def _trace(self, sig: Any, seen: Any, arrays: list[np.ndarray], args: tuple) -> Any:
        self.trace_count += 1
        self.replayed = False
        if isinstance(self._last, Plan):
            self._last.vals = None  # backward() follows the last call only: its values go before this call runs
        got = None
        if isinstance(seen, list):
            # The second call: the first trace is replayed on this call's arrays BEFORE this call is traced, then
            # kept as its structure only, so two traces never hold their activations at once (#18: peak memory)
            got = _replay_values(seen[0], arrays)
            seen[0].keep_structure_only()
            self._plans[sig] = ()  # until this call is traced: should it raise, the next call starts afresh
            self._last = None
        with enable_grad():
            out = self.fn(*args)
        outs = [out] if isinstance(out, Tensor) else list(out)
        if seen is None or not all(isinstance(o, Tensor) for o in outs):
            self._plans[sig] = None  # eager for this signature
            self._last, self._last_eager = None, outs
            return out
        plan = Plan(arrays, outs)
        if seen == ():
            self._plans[sig] = [plan]
        else:
            same = seen[0].same_as(plan) and all(g.shape == o.data.shape and np.array_equal(g, o.data)
                                                 for g, o in zip(got, outs))
            self._plans[sig] = plan if same else None
        self._last, self._last_eager = plan, None
        self._structures[sig] = None if isinstance(out, Tensor) else type(out)
        result = self._wrap([o.data for o in outs], self._structures[sig])
        plan.forget_traced_arrays()  # its backward() reads plan.vals and the ops' saved state only
        if self._plans[sig] is plan:
            plan.rewrite = self.rewrite
        return result

    @staticmethod
    def _wrap(arrays: list[np.ndarray], structure: Any) -> Any:
        outs = [_wrap(a) for a in arrays]
        return outs[0] if structure is None else structure(outs)

    def backward(self) -> None:
        """Gradients of the last call's first output into the parameters' `.grad` (as `out.backward()`)."""
        if self._last_eager is not None:
            self._last_eager[0].backward()
        elif self._last is not None:
            self._last.backward()
        else:
            raise RuntimeError("backward() before any call of the traced function")


def function(fn: Callable[..., Any] | None = None, *, name: str | None = None) -> Any:
    """Trace `fn` once per input signature and replay it afterwards (usable as `@neurona.function`).

    `fn(*args)` takes arrays (or lists of arrays) and other values, and returns a Tensor or a list/tuple of
    Tensors. Call the result like `fn`; after a call, `.backward()` backpropagates from the first output.
    """
    if fn is None:
        return lambda f: TracedFunction(f, name)
    return TracedFunction(fn, name)


__all__ = ["Plan", "TracedFunction", "function"]
