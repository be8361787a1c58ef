"""Per-weight adaptive learning rates from running sums of squared gradients: RMSprop, Adagrad, Adadelta.

Unlike Adam, these three add epsilon inside the square root, exactly as Keras does.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .base import Optimizer


class RMSprop(Optimizer):
    """v = rho v + (1 - rho) g²; w -= lr g / sqrt(v + eps), with optional momentum and centering.

    `centered=True` divides by the running variance v - mean(g)² instead of v.
    """

    def __init__(self, learning_rate: Any = 0.001, rho: float = 0.9, momentum: float = 0.0, epsilon: float = 1e-7,
                 centered: bool = False, weight_decay: float | None = None, clipnorm: float | None = None,
                 clipvalue: float | None = None, global_clipnorm: float | None = None, name: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, name=name, **kwargs)
        self.rho, self.momentum, self.epsilon, self.centered = float(rho), float(momentum), float(epsilon), centered

    def _make_slots(self, w):
        slots = [np.zeros_like(w)]  # velocity
        if self.momentum > 0:
            slots.append(np.zeros_like(w))
        if self.centered:
            slots.append(np.zeros_like(w))  # average gradient
        return tuple(slots)  # one scratch follows

    def _update(self, w, g, slots, lr):
        rho, v, s = self.rho, slots[0], slots[-1]
        v *= rho
        v += np.multiply(np.square(g, out=s), 1 - rho, out=s)
        if self.centered:
            a = slots[-2]
            a *= rho
            a += np.multiply(g, 1 - rho, out=s)
            np.subtract(v, np.square(a, out=s), out=s)
            s += self.epsilon
        else:
            np.add(v, self.epsilon, out=s)
        np.sqrt(s, out=s)
        np.divide(g, s, out=s)
        s *= lr  # s = lr g / sqrt(denominator), the increment
        if self.momentum > 0:
            mom = slots[1]
            mom *= self.momentum
            mom += s
            w -= mom
        else:
            w -= s

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "momentum": self.momentum, "epsilon": self.epsilon,
                "centered": self.centered}


class Adagrad(Optimizer):
    """acc += g²; w -= lr g / sqrt(acc + eps): weights with large past gradients move less."""

    def __init__(self, learning_rate: Any = 0.001, initial_accumulator_value: float = 0.1, epsilon: float = 1e-7,
                 weight_decay: float | None = None, clipnorm: float | None = None, clipvalue: float | None = None,
                 global_clipnorm: float | None = None, name: str | None = None, **kwargs: Any) -> None:
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, name=name, **kwargs)
        self.initial_accumulator_value, self.epsilon = float(initial_accumulator_value), float(epsilon)

    def _make_slots(self, w):
        return (np.full_like(w, self.initial_accumulator_value),)  # one scratch follows

    def _update(self, w, g, slots, lr):
        acc, s = slots
        acc += np.square(g, out=s)
        np.add(acc, self.epsilon, out=s)
        np.sqrt(s, out=s)
        np.divide(g, s, out=s)
        s *= lr
        w -= s

    def get_config(self):
        return {**super().get_config(), "initial_accumulator_value": self.initial_accumulator_value,
                "epsilon": self.epsilon}


class Adadelta(Optimizer):
    """Step = -sqrt(E[dx²] + eps) / sqrt(E[g²] + eps) * g, scaled by lr (Keras keeps a learning rate)."""

    def __init__(self, learning_rate: Any = 0.001, rho: float = 0.95, epsilon: float = 1e-7,
                 weight_decay: float | None = None, clipnorm: float | None = None, clipvalue: float | None = None,
                 global_clipnorm: float | None = None, name: str | None = None, **kwargs: Any) -> None:
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, name=name, **kwargs)
        self.rho, self.epsilon = float(rho), float(epsilon)

    _n_scratch = 2

    def _make_slots(self, w):
        return np.zeros_like(w), np.zeros_like(w)

    def _update(self, w, g, slots, lr):
        rho, eps = self.rho, self.epsilon
        acc_g, acc_dx, s, delta = slots
        acc_g *= rho
        acc_g += np.multiply(np.square(g, out=s), 1 - rho, out=s)
        np.sqrt(np.add(acc_dx, eps, out=delta), out=delta)
        np.multiply(delta, g, out=delta)
        np.sqrt(np.add(acc_g, eps, out=s), out=s)
        np.divide(delta, s, out=delta)  # delta = -(the update direction)
        acc_dx *= rho
        acc_dx += np.multiply(np.square(delta, out=s), 1 - rho, out=s)
        delta *= lr
        w -= delta

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "epsilon": self.epsilon}
