"""tf.train: optimisers whose `minimize(loss)` is one graph op, and a Saver writing safetensors (no pickle).

`minimize` records an op that, when a session runs it, backpropagates through the engine graph of that run
(`loss.backward()`) and applies TensorFlow 1's update rule to each variable's value in the session.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from ...saving.safetensors_io import load_file, save_file
from .errors import NotFoundError
from .graph import Operation, Tensor, _needed, convert_to_tensor
from .variables import Variable, global_variables


class Optimizer:
    """Base class: subclasses give `_update(session, variable, value, grad) -> new value`."""

    kind = "Optimizer"

    def __init__(self, learning_rate: float, use_locking: bool = False, name: str | None = None) -> None:
        self.learning_rate = float(learning_rate)
        self._name = name or self.kind

    def minimize(self, loss: Tensor, global_step: Variable | None = None, var_list: list[Variable] | None = None,
                 name: str | None = None, **_: Any) -> Operation:
        """The op that runs one step of gradient descent on `loss` over `var_list` (default: trainable ones)."""
        loss = convert_to_tensor(loss)
        if loss.dtype.kind != "f":
            raise TypeError(f"minimize() needs a floating loss, got {loss.name!r} of dtype {loss.dtype}")
        variables = list(loss.graph.trainable_variables if var_list is None else var_list)
        reached = _needed([loss])
        variables = [v for v in variables if id(v) in reached]
        if not variables:
            raise ValueError(f"No gradients provided for any variable: none of the trainable variables is an "
                             f"input of {loss.name!r}")
        op = Operation(self.kind, [loss], lambda s, vals, cache: self._step(s, vals[0], variables, cache,
                                                                              global_step),
                       name=name or self._name, control=variables)
        op.needs_grad = True
        return op

    def _step(self, session: Any, loss: Any, variables: list[Variable], cache: dict, global_step: Any) -> None:
        tensors = [cache[id(v)] for v in variables]
        for t in tensors:
            t.grad = None
        loss.backward(retain_graph=True)
        for v, t in zip(variables, tensors):
            if t.grad is not None:
                session.set_value(v, self._update(session, v, session.get_value(v), t.grad).astype(v.dtype))
        if global_step is not None:
            session.set_value(global_step, session.get_value(global_step) + 1)
        key = (id(self), 0, "t")
        session.slots[key] = session.slots.get(key, 0) + 1

    def _slot(self, session: Any, v: Variable, name: str) -> np.ndarray:
        key = (id(self), id(v), name)
        if key not in session.slots:
            session.slots[key] = np.zeros(v.shape, v.dtype)
        return session.slots[key]

    def _update(self, session: Any, v: Variable, value: np.ndarray, grad: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class GradientDescentOptimizer(Optimizer):
    """value -= learning_rate * grad."""

    kind = "GradientDescent"

    def _update(self, session: Any, v: Variable, value: np.ndarray, grad: np.ndarray) -> np.ndarray:
        return value - np.asarray(self.learning_rate, value.dtype) * grad


class MomentumOptimizer(Optimizer):
    """accum = momentum * accum + grad; value -= lr * accum (or TF's Nesterov form)."""

    kind = "Momentum"

    def __init__(self, learning_rate: float, momentum: float, use_locking: bool = False, name: str | None = None,
                 use_nesterov: bool = False) -> None:
        super().__init__(learning_rate, use_locking, name)
        self.momentum, self.use_nesterov = float(momentum), use_nesterov

    def _update(self, session: Any, v: Variable, value: np.ndarray, grad: np.ndarray) -> np.ndarray:
        lr, mu = np.asarray(self.learning_rate, value.dtype), np.asarray(self.momentum, value.dtype)
        accum = mu * self._slot(session, v, "momentum") + grad
        session.slots[(id(self), id(v), "momentum")] = accum
        return value - lr * (grad + mu * accum if self.use_nesterov else accum)


class AdamOptimizer(Optimizer):
    """TensorFlow 1's Adam: lr_t = lr * sqrt(1 - b2^t) / (1 - b1^t); value -= lr_t * m / (sqrt(v) + eps)."""

    kind = "Adam"

    def __init__(self, learning_rate: float = 0.001, beta1: float = 0.9, beta2: float = 0.999,
                 epsilon: float = 1e-8, use_locking: bool = False, name: str | None = None) -> None:
        super().__init__(learning_rate, use_locking, name)
        self.beta1, self.beta2, self.epsilon = beta1, beta2, epsilon

    def _update(self, session: Any, v: Variable, value: np.ndarray, grad: np.ndarray) -> np.ndarray:
        t = session.slots.get((id(self), 0, "t"), 0) + 1
        dt = value.dtype
        b1, b2 = np.asarray(self.beta1, dt), np.asarray(self.beta2, dt)
        lr_t = np.asarray(self.learning_rate * np.sqrt(1 - self.beta2 ** t) / (1 - self.beta1 ** t), dt)
        m = b1 * self._slot(session, v, "m") + (1 - b1) * grad
        s = b2 * self._slot(session, v, "v") + (1 - b2) * grad * grad
        session.slots[(id(self), id(v), "m")], session.slots[(id(self), id(v), "v")] = m, s
        return value - lr_t * m / (np.sqrt(s) + np.asarray(self.epsilon, dt))


class Saver:
    """Save and restore variable values as one .safetensors file: plain arrays, nothing executed on load."""

    def __init__(self, var_list: Any = None, max_to_keep: int = 5, **_: Any) -> None:
        if isinstance(var_list, dict):
            self._vars = dict(var_list)
        else:
            self._vars = {v.name: v for v in (global_variables() if var_list is None else var_list)}
        if not self._vars:
            raise ValueError("No variables to save")

    def save(self, sess: Any, save_path: str, global_step: Any = None, **_: Any) -> str:
        """Write the variables' values in `sess`; returns the path written."""
        path = os.fspath(save_path)
        if global_step is not None:
            step = sess.get_value(global_step) if isinstance(global_step, Variable) else global_step
            path = f"{path}-{int(step)}"
        arrays = {name: np.ascontiguousarray(sess.get_value(v)) for name, v in self._vars.items()}
        save_file(arrays, path, metadata={"format": "neurona.compat.v1 checkpoint"})
        return path

    def restore(self, sess: Any, save_path: str) -> None:
        """Set the variables in `sess` from a file written by `save`."""
        if not os.path.exists(save_path):
            raise NotFoundError(None, None, f"Unsuccessful TensorSliceReader constructor: failed to find any "
                                f"matching files for {save_path}")
        arrays, _ = load_file(save_path)
        for name, v in self._vars.items():
            if name not in arrays:
                raise NotFoundError(None, v, f"Key {name} not found in checkpoint {save_path}")
            sess.set_value(v, np.array(arrays[name], dtype=v.dtype))


__all__ = ["AdamOptimizer", "GradientDescentOptimizer", "MomentumOptimizer", "Optimizer", "Saver"]
