"""Stochastic gradient descent, with momentum and Nesterov momentum (Keras's formulas)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .base import Optimizer


class SGD(Optimizer):
    """w -= lr * g; with momentum: m = momentum * m - lr * g, w += m (Nesterov: w += momentum * m - lr * g).

    The slides' `SGD(lr=0.01, decay=1e-6, momentum=0.9, nesterov=True)` works as in Keras 2: `lr` is the
    learning rate and `decay` lowers it as lr / (1 + decay * iterations).

    >>> import neurona as nr
    >>> w = nr.Tensor([1.0, 2.0])
    >>> SGD(learning_rate=0.1).apply([nr.tensor([1.0, -1.0]).data], [w])
    >>> w.tolist()
    [0.8999999761581421, 2.0999999046325684]
    """

    def __init__(self, learning_rate: Any = 0.01, momentum: float = 0.0, nesterov: bool = False,
                 weight_decay: float | None = None, clipnorm: float | None = None, clipvalue: float | None = None,
                 global_clipnorm: float | None = None, name: str | None = None, **kwargs: Any) -> None:
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, name=name, **kwargs)
        if isinstance(momentum, bool) or not isinstance(momentum, (int, float)) or not 0 <= momentum <= 1:
            raise ValueError(f"momentum must be a float in [0, 1], got {momentum!r}")
        self.momentum, self.nesterov = float(momentum), bool(nesterov)

    def _make_slots(self, w):
        return (np.zeros_like(w),) if self.momentum else ()  # momentum; the scratch is not state

    def _update(self, w, g, slots, lr):
        step = np.multiply(g, lr, out=slots[-1])  # lr * g, written to scratch: g itself stays untouched
        if not self.momentum:
            w -= step
            return
        m = slots[0]
        m *= self.momentum
        m -= step
        if self.nesterov:
            w -= step
            w += np.multiply(m, self.momentum, out=step)
        else:
            w += m

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}
