"""GradientTape: TensorFlow's way of asking for gradients in a hand-written training loop.

neurona's engine records every operation on tensors that require gradients (trainable weights do), so
the tape only has to (1) make sure recording is on inside its block, (2) let you `watch` other tensors
(inputs, for saliency maps or gradient penalties), and (3) answer `gradient(target, sources)` without
touching any `.grad` attribute, so several losses can share one forward pass (a GAN's two players):

>>> import numpy as np
>>> from neurona import GradientTape, Tensor
>>> x = Tensor(np.array([3.0]))
>>> with GradientTape() as tape:
...     tape.watch(x)
...     y = x * x
>>> tape.gradient(y, x)
array([6.])
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .tensor import Tensor, _Config, _topological


class GradientTape:
    """Record operations inside `with GradientTape() as tape:` and differentiate them with `tape.gradient`.

    `persistent=True` allows several `gradient` calls (the graph is kept until the tape is deleted).
    `watch_accessed_variables=False` records only what `watch` names: then trainable weights that were not
    watched are treated as constants.
    """

    def __init__(self, persistent: bool = False, watch_accessed_variables: bool = True) -> None:
        self.persistent = bool(persistent)
        self.watch_accessed_variables = bool(watch_accessed_variables)
        self._watched: list[Tensor] = []  # tensors whose requires_grad this tape switched on
        self._watched_ids: set[int] = set()
        self._recording = False
        self._used = False
        self._old_grad_mode = True

    # ------------------------------------------------------------------ recording
    def __enter__(self) -> GradientTape:
        self._old_grad_mode = _Config.grad_enabled
        _Config.grad_enabled = True
        self._recording = True
        return self

    def __exit__(self, *exc: Any) -> None:
        _Config.grad_enabled = self._old_grad_mode
        self._recording = False

    def _release(self) -> None:
        """Switch gradients off again on the tensors `watch` switched on (after the last gradient call)."""
        for t in self._watched:
            t.requires_grad = False
        self._watched = []

    def __del__(self) -> None:
        self._release()

    def watch(self, tensor: Any) -> None:
        """Record operations on `tensor` (or each tensor of a list) so gradients with respect to it exist."""
        for t in _flatten(tensor):
            if not isinstance(t, Tensor):
                raise TypeError(f"GradientTape.watch() needs neurona Tensors (wrap arrays with neurona.Tensor(x) "
                                f"and compute from that Tensor), got {type(t).__name__}")
            if t.data.dtype.kind != "f":
                raise TypeError(f"GradientTape.watch(): only floating-point tensors have gradients, got dtype "
                                f"{t.data.dtype}")
            self._watched_ids.add(id(t))
            if not t.requires_grad:
                t.requires_grad = True
                self._watched.append(t)

    def stop_recording(self) -> Any:
        """A context in which operations are not recorded (TF's name for `no_grad`)."""
        from .tensor import no_grad

        return no_grad()

    # ------------------------------------------------------------------ gradients
    def gradient(self, target: Any, sources: Any, output_gradients: Any = None,
                 unconnected_gradients: str = "none") -> Any:
        """d(target)/d(source) for each source, in the structure of `sources` (a Tensor, list or dict).

        A non-scalar target is summed first (as TensorFlow does). A source the target does not depend on
        gets None (or zeros with `unconnected_gradients="zero"`). `.grad` attributes are left as they were.
        """
        if self._used and not self.persistent:
            raise RuntimeError("this GradientTape already computed gradients once: a non-persistent tape can "
                               "only be used for one gradient() call; create it with GradientTape(persistent=True) "
                               "to ask for several")
        if unconnected_gradients not in ("none", "zero"):
            raise ValueError(f"unconnected_gradients must be 'none' or 'zero', got {unconnected_gradients!r}")
        targets = [t for t in _flatten(target)]
        for t in targets:
            if not isinstance(t, Tensor):
                raise TypeError(f"GradientTape.gradient(): the target must be a Tensor computed inside the tape's "
                                f"block, got {type(t).__name__}")
        flat_sources = _flatten(sources)
        for i, s in enumerate(flat_sources):
            if not isinstance(s, Tensor):
                raise TypeError(f"GradientTape.gradient(): source {i} is a {type(s).__name__}; sources must be "
                                f"Tensors (model.trainable_weights, or tensors passed to tape.watch)")
            if not s.requires_grad or (not self.watch_accessed_variables and id(s) not in self._watched_ids):
                where = f" '{s.name}'" if s.name else ""
                raise ValueError(
                    f"GradientTape.gradient(): source {i}{where} of shape {s.shape} was not watched, so the tape "
                    f"recorded nothing about it. Call tape.watch(x) inside the `with GradientTape() as tape:` block "
                    f"before computing from x (trainable weights are watched automatically; frozen layers' weights "
                    f"are not)")
        self._used = True
        leaves = _leaves(targets)
        saved = {id(v): (v, v.grad) for v in leaves}
        saved.update({id(s): (s, s.grad) for s in flat_sources})
        for v, _ in saved.values():
            v.grad = None
        try:
            for i, t in enumerate(targets):
                if not t.requires_grad:
                    continue  # a constant target: every gradient is unconnected
                seed = np.ones_like(t.data) if output_gradients is None else \
                    np.asarray(_flatten(output_gradients)[i], dtype=t.data.dtype)
                t.backward(seed, retain_graph=self.persistent)
            grads = []
            for s in flat_sources:
                g = s.grad
                if g is None and unconnected_gradients == "zero":
                    g = np.zeros_like(s.data)
                grads.append(g)
        finally:
            for v, g in saved.values():
                v.grad = g
            if not self.persistent:
                self._release()
        return _unflatten(sources, grads)


def _flatten(x: Any) -> list[Any]:
    if isinstance(x, dict):
        return [v for k in x for v in _flatten(x[k])]
    if isinstance(x, (list, tuple)):
        return [v for item in x for v in _flatten(item)]
    return [x]


def _unflatten(structure: Any, values: list[Any]) -> Any:
    it = iter(values)

    def build(s: Any) -> Any:
        if isinstance(s, dict):
            return {k: build(s[k]) for k in s}
        if isinstance(s, (list, tuple)):
            return type(s)(build(item) for item in s) if isinstance(s, list) else tuple(build(i) for i in s)
        return next(it)

    return build(structure)


def _leaves(targets: list[Tensor]) -> list[Tensor]:
    """Every leaf tensor the targets' graph reaches (their .grad must not be disturbed)."""
    out, seen = [], set()
    for t in targets:
        if t.creator is None:
            continue
        for f in _topological(t.creator):
            for x in f.inputs:
                if x.creator is None and x.requires_grad and id(x) not in seen:
                    seen.add(id(x))
                    out.append(x)
    return out
