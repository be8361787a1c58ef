"""tf.Variable and its initialisers: the graph names the variable, each Session holds its value."""

from __future__ import annotations

from typing import Any

import numpy as np

from .graph import Operation, Tensor, as_dtype, convert_to_tensor, get_default_graph


class Variable(Tensor):
    """A value that persists across `session.run` calls; set by its initialiser, changed by optimisers."""

    def __init__(self, initial_value: Any = None, trainable: bool = True, name: str | None = None,
                 dtype: Any = None, **_: Any) -> None:
        if initial_value is None:
            raise ValueError("initial_value must be specified: tf.Variable(tf.zeros([10]), name='b')")
        if callable(initial_value) and not isinstance(initial_value, Tensor):
            initial_value = initial_value()
        init = convert_to_tensor(initial_value, dtype=dtype)
        if init.shape is None or None in init.shape:
            raise ValueError(f"the initial value of a Variable needs a fully known shape, got {init.shape} "
                             f"from {init.name!r}")
        dt = init.dtype if dtype is None else as_dtype(dtype)
        with_graph = init.graph if init.graph is not get_default_graph() else get_default_graph()
        with with_graph.as_default():
            super().__init__("VariableV2", [], None, init.shape, dt, name or "Variable")
        self.trainable = bool(trainable)
        self.initial_value = init
        self.initializer = Operation("Assign", [init], self._assign_initial, name=f"{self.name}/Assign")
        self.graph.variables.append(self)
        if self.trainable:
            self.graph.trainable_variables.append(self)

    def _assign_initial(self, session: Any, values: list[Any]) -> None:
        session.set_value(self, np.array(values[0].data, dtype=self.dtype))

    def assign(self, value: Any, name: str | None = None) -> Operation:
        """An op that sets the variable to `value` when run."""
        v = convert_to_tensor(value, dtype=self.dtype)
        return Operation("Assign", [v], lambda s, vals: s.set_value(self, np.array(vals[0].data, self.dtype)),
                         name=name)

    def load(self, value: Any, session: Any = None) -> None:
        """Set the value in `session` directly from an array (no graph node)."""
        from .session import _session_for

        _session_for(session, self).set_value(self, np.array(value, dtype=self.dtype))

    def initialized_value(self) -> Tensor:
        return self.initial_value

    def __repr__(self) -> str:
        return f"<tf.Variable '{self.name}:0' shape={self.shape} dtype={self.dtype}>"


def global_variables() -> list[Variable]:
    return list(get_default_graph().variables)


def trainable_variables() -> list[Variable]:
    return list(get_default_graph().trainable_variables)


def variables_initializer(var_list: list[Variable], name: str = "init") -> Operation:
    """One op that runs the initialiser of each variable in `var_list`."""
    return Operation("NoOp", [], lambda s, vals: None, name=name, control=[v.initializer for v in var_list])


def global_variables_initializer() -> Operation:
    """One op that initialises every variable of the default graph created so far."""
    return variables_initializer(global_variables())


initialize_all_variables = global_variables_initializer

__all__ = ["Variable", "global_variables", "global_variables_initializer", "initialize_all_variables",
           "trainable_variables", "variables_initializer"]
