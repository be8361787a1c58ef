"""Adam and its relatives (AdamW, Nadam, Adamax), with Keras's exact update formulas.

Keras folds Adam's bias corrections into the step size, alpha = lr * sqrt(1 - beta_2^t) / (1 - beta_1^t),
and adds epsilon outside the square root: w -= alpha * m / (sqrt(v) + epsilon). So does neurona,
so that a model trained here follows the same trajectory as in Keras.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .base import Optimizer


class Adam(Optimizer):
    """Adaptive moments: m and v are running means of g and g², the step is alpha * m / (sqrt(v) + eps).

    `amsgrad=True` uses the running maximum of v instead of v.
    """

    def __init__(self, learning_rate: Any = 0.001, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-7, amsgrad: bool = False, weight_decay: float | None = None,
                 clipnorm: float | None = None, clipvalue: float | None = None, global_clipnorm: float | None = None,
                 name: str | None = None, **kwargs: Any) -> None:
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, name=name, **kwargs)
        self.beta_1, self.beta_2, self.epsilon, self.amsgrad = float(beta_1), float(beta_2), float(epsilon), amsgrad

    def _make_slots(self, w):
        z = np.zeros_like
        return (z(w), z(w), z(w)) if self.amsgrad else (z(w), z(w))  # m, v (, max v); one scratch

    def _begin_step(self):
        t = self.iterations + 1
        self._bias = math.sqrt(1 - self.beta_2**t) / (1 - self.beta_1**t)

    def _update(self, w, g, slots, lr):
        m, v, s = slots[0], slots[1], slots[-1]
        m += np.multiply(np.subtract(g, m, out=s), 1 - self.beta_1, out=s)  # m += (g - m) (1 - beta_1)
        np.square(g, out=s)
        v += np.multiply(np.subtract(s, v, out=s), 1 - self.beta_2, out=s)  # v += (g² - v) (1 - beta_2)
        if self.amsgrad:
            v = np.maximum(slots[2], v, out=slots[2])
        np.sqrt(v, out=s)
        s += self.epsilon
        np.divide(m, s, out=s)
        s *= lr * self._bias
        w -= s

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon,
                "amsgrad": self.amsgrad}


class AdamW(Adam):
    """Adam with decoupled weight decay (default 0.004): each step also shrinks w by lr * weight_decay * w."""

    def __init__(self, learning_rate: Any = 0.001, weight_decay: float = 0.004, beta_1: float = 0.9,
                 beta_2: float = 0.999, epsilon: float = 1e-7, amsgrad: bool = False, clipnorm: float | None = None,
                 clipvalue: float | None = None, global_clipnorm: float | None = None, name: str | None = None,
                 **kwargs: Any) -> None:
        if weight_decay is None:
            raise ValueError("AdamW needs a float weight_decay, got None (use Adam for no decay)")
        super().__init__(learning_rate=learning_rate, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon, amsgrad=amsgrad,
                         weight_decay=weight_decay, clipnorm=clipnorm, clipvalue=clipvalue,
                         global_clipnorm=global_clipnorm, name=name, **kwargs)


class Nadam(Optimizer):
    """Adam with Nesterov momentum and Keras's momentum schedule u_t = beta_1 (1 - 0.5 * 0.96^t)."""

    def __init__(self, learning_rate: Any = 0.001, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-7, weight_decay: float | None = None, clipnorm: float | None = None,
                 clipvalue: float | None = None, global_clipnorm: float | None = None, name: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, name=name, **kwargs)
        self.beta_1, self.beta_2, self.epsilon = float(beta_1), float(beta_2), float(epsilon)
        self._u_product = 1.0

    _n_scratch = 2

    def _make_slots(self, w):
        return np.zeros_like(w), np.zeros_like(w)

    def _begin_step(self):
        t, b1 = self.iterations + 1, self.beta_1
        u_t = b1 * (1.0 - 0.5 * 0.96**t)
        u_next = b1 * (1.0 - 0.5 * 0.96 ** (t + 1))
        self._u_product *= u_t
        # m_hat = c_m * m + c_g * g ; v_hat = v / (1 - beta_2^t)
        self._c_m = u_next / (1 - self._u_product * u_next)
        self._c_g = (1 - u_t) / (1 - self._u_product)
        self._v_scale = 1.0 / (1 - self.beta_2**t)

    def _update(self, w, g, slots, lr):
        m, v, s, step = slots
        m += np.multiply(np.subtract(g, m, out=s), 1 - self.beta_1, out=s)
        np.square(g, out=s)
        v += np.multiply(np.subtract(s, v, out=s), 1 - self.beta_2, out=s)
        np.multiply(v, self._v_scale, out=s)
        np.sqrt(s, out=s)
        s += self.epsilon  # s = sqrt(v_hat) + eps; the step lr * m_hat / s is taken in its m and g parts
        w -= np.divide(np.multiply(m, lr * self._c_m, out=step), s, out=step)
        w -= np.divide(np.multiply(g, lr * self._c_g, out=step), s, out=step)

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon}


class Adamax(Optimizer):
    """Adam with the infinity norm: u = max(beta_2 u, |g|), w -= lr m / ((1 - beta_1^t)(u + eps))."""

    def __init__(self, learning_rate: Any = 0.001, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-7, weight_decay: float | None = None, clipnorm: float | None = None,
                 clipvalue: float | None = None, global_clipnorm: float | None = None, name: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, name=name, **kwargs)
        self.beta_1, self.beta_2, self.epsilon = float(beta_1), float(beta_2), float(epsilon)

    def _make_slots(self, w):
        return np.zeros_like(w), np.zeros_like(w)

    def _begin_step(self):
        self._correction = 1 - self.beta_1 ** (self.iterations + 1)

    def _update(self, w, g, slots, lr):
        m, u, s = slots
        m += np.multiply(np.subtract(g, m, out=s), 1 - self.beta_1, out=s)
        u *= self.beta_2
        np.maximum(u, np.abs(g, out=s), out=u)
        np.add(u, self.epsilon, out=s)
        np.divide(m, s, out=s)
        s *= lr / self._correction
        w -= s

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon}
