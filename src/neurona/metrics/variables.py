"""Keras 3's metric subclassing contract: state Variables made with `add_variable`, reset by `reset_state`.

    class TruePositives(neurona.metrics.Metric):
        def __init__(self, name="tp", **kwargs):
            super().__init__(name=name, **kwargs)
            self.tp = self.add_variable(shape=(), initializer="zeros", name="tp")
        def update_state(self, y_true, y_pred, sample_weight=None):
            self.tp.assign_add(ops.sum(ops.cast((y_true == 1) & (y_pred > 0.5), "float32")))
        def result(self):
            return self.tp
"""

from __future__ import annotations

from typing import Any


class MetricState:
    """The state part of `Metric`: variables, and the default `reset_state` that restores them."""

    def reset_state(self) -> None:
        """Keras 3's default: every variable made by `add_variable` back to its initial value."""
        for v in self.__dict__.get("_state_variables", []):
            v.reset()

    def add_variable(self, shape: Any = (), initializer: Any = "zeros", dtype: Any = None, aggregation: str = "sum",
                     name: str | None = None) -> Any:
        """A state Variable of this metric (Keras 3's subclassing contract); `reset_state` restores it."""
        from ..variable import Variable

        variables = self.__dict__.setdefault("_state_variables", [])
        name = name or f"variable_{len(variables)}"
        v = Variable(initializer, shape=shape, dtype=dtype or getattr(self, "dtype", "float32"), trainable=False,
                     name=f"{self.name}/{name}")
        variables.append(v)
        return v

    def add_weight(self, name: str | None = None, shape: Any = (), initializer: Any = "zeros", dtype: Any = None,
                   aggregation: str = "sum", **kwargs: Any) -> Any:
        """Keras's older spelling of `add_variable`."""
        return self.add_variable(shape=shape, initializer=initializer, dtype=dtype, aggregation=aggregation,
                                 name=name)

    @property
    def variables(self) -> list:
        return list(self.__dict__.get("_state_variables", []))
