"""Recurrent layers with Keras's names, defaults and weight layouts: SimpleRNN, LSTM, GRU.

Each runs the whole sequence as one fused op (`neurona.ops.recurrent`) with a hand-written backward
through time. Inputs are (batch, timesteps, features); the output is the last hidden state, or every
step's with `return_sequences=True`; `return_state=True` adds the final state(s) as extra outputs.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import ops
from ..ops import recurrent as rops
from ..ops.nn import DropoutMask
from ..ops.recurrent_gru import GRUV1Op
from ..tensor import Tensor
from .base import InputSpec, Layer, _Init, _is_symbolic, get, serialize_object
from .core import _activation_name
from .masking import check_mask


class _RNN(Layer):
    """Shared arguments, weights and config of SimpleRNN, LSTM and GRU."""

    _gates = 1
    _op: type[rops._Recurrent] = rops.SimpleRNNOp
    _n_states = 1

    def __init__(self, units: int, activation: Any = "tanh", recurrent_activation: Any = "sigmoid",
                 use_bias: bool = True, kernel_initializer: Any = "glorot_uniform",
                 recurrent_initializer: Any = "orthogonal", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, recurrent_regularizer: Any = None, bias_regularizer: Any = None,
                 return_sequences: bool = False, return_state: bool = False, go_backwards: bool = False,
                 dropout: float = 0.0, recurrent_dropout: float = 0.0, stateful: bool = False,
                 zero_output_for_mask: bool = False, unroll: bool = False, seed: int | None = None,
                 **kwargs: Any) -> None:
        from .. import activations, initializers, regularizers

        super().__init__(**kwargs)
        kind = type(self).__name__
        for what, rate in (("dropout", dropout), ("recurrent_dropout", recurrent_dropout)):
            if not 0 <= float(rate) < 1:
                raise ValueError(f"{kind} '{self.name}': {what} must be in [0, 1), got {rate!r}")
        self.dropout, self.recurrent_dropout = float(dropout), float(recurrent_dropout)
        self.stateful = bool(stateful)
        self.zero_output_for_mask = bool(zero_output_for_mask)
        self.unroll = bool(unroll)  # accepted for Keras programs: the fused loop is always used
        self.seed = seed
        self._rng = None if seed is None else np.random.default_rng(seed)
        self.states: list[np.ndarray] | None = None  # the carried states of a stateful layer
        if isinstance(units, bool) or not isinstance(units, (int, np.integer)) or units <= 0:
            raise ValueError(f"{kind} '{self.name}': units must be a positive integer, got {units!r}")
        self.units = int(units)
        self.activation = activations.get(activation)
        self.recurrent_activation = activations.get(recurrent_activation)
        for what, fn in (("activation", self.activation), ("recurrent_activation", self.recurrent_activation)):
            name = _activation_name(fn)
            if name not in rops.RECURRENT_ACTIVATIONS:
                raise ValueError(f"{kind} '{self.name}': {what} must be one of {rops.RECURRENT_ACTIVATIONS}, "
                                 f"got {name or fn!r}")
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self.go_backwards = bool(go_backwards)
        self.input_spec = InputSpec(ndim=3, hint="(batch, timesteps, features)")

    def _bias_shape(self) -> tuple[int, ...]:
        return (self._gates * self.units,)

    def __call__(self, inputs: Any, *args: Any, initial_state: Any = None, **kwargs: Any) -> Any:
        if initial_state is not None and not isinstance(initial_state, (list, tuple)):
            initial_state = [initial_state]
        if initial_state is not None and _is_symbolic(inputs):  # states become inputs of the graph node
            return super().__call__([inputs, *initial_state], *args, **kwargs)
        return super().__call__(inputs, *args, initial_state=initial_state, **kwargs)

    def build(self, input_shape):
        if isinstance(input_shape, list):  # [inputs, *initial states]
            input_shape = input_shape[0]
        in_dim = input_shape[-1]
        if in_dim is None:
            raise ValueError(f"{type(self).__name__} '{self.name}' needs the features axis of its input to be "
                             f"known, got input shape {tuple(input_shape)}")
        k = self._gates * self.units
        self.kernel = self.add_weight("kernel", (in_dim, k), self.kernel_initializer, self.kernel_regularizer)
        self.recurrent_kernel = self.add_weight("recurrent_kernel", (self.units, k), self.recurrent_initializer,
                                                self.recurrent_regularizer)
        self.bias = (self.add_weight("bias", self._bias_shape(), self.bias_initializer, self.bias_regularizer)
                     if self.use_bias else None)
        self.input_spec = InputSpec(ndim=3, axes={-1: in_dim}, hint="(batch, timesteps, features)")

    def _op_class(self) -> type[rops._Recurrent]:
        return self._op

    def _random(self) -> np.random.Generator:
        from ..random import get_rng

        return self._rng if self._rng is not None else get_rng()

    def _initial_states(self, initial_state: Any, batch: int) -> list[Any]:
        """The initial states to start from: given ones (checked), a stateful layer's carried ones, or none."""
        kind = type(self).__name__
        if initial_state is not None:
            states = list(initial_state) if isinstance(initial_state, (list, tuple)) else [initial_state]
            if len(states) != self._n_states:
                raise ValueError(f"{kind} '{self.name}' has {self._n_states} state(s), got {len(states)} initial "
                                 f"state(s)")
            for k, st in enumerate(states):
                if tuple(np.shape(st.data if isinstance(st, Tensor) else st)) != (batch, self.units):
                    raise ValueError(f"{kind} '{self.name}': initial state {k} must have shape (batch, units) = "
                                     f"{(batch, self.units)}, got {tuple(np.shape(getattr(st, 'data', st)))}")
            return states
        if self.stateful and self.states is not None:
            if self.states[0].shape[0] != batch:
                raise ValueError(f"{kind} '{self.name}' is stateful with a batch of {self.states[0].shape[0]}: "
                                 f"got a batch of {batch} (call reset_states() to start over)")
            return list(self.states)
        return []

    def call(self, inputs, training=False, mask=None, initial_state=None):
        if isinstance(inputs, list):  # [inputs, *initial states], from the functional API
            inputs, initial_state = inputs[0], inputs[1:]
        if isinstance(mask, list):
            mask = mask[0]
        if inputs.ndim != 3:
            raise ValueError(f"{type(self).__name__} '{self.name}' expects inputs with 3 dimensions (batch, "
                             f"timesteps, features), got shape {tuple(inputs.shape)}")
        batch = inputs.shape[0]
        mask = check_mask(self, mask, inputs.shape)
        if training and self.dropout > 0:  # the same dropped input features at every step
            keep = self._random().random((batch, 1, inputs.shape[2])) >= self.dropout
            inputs = DropoutMask((keep / (1 - self.dropout)).astype(inputs.dtype))(inputs)
        dropout_mask = None
        if training and self.recurrent_dropout > 0:
            keep = self._random().random((batch, self.units)) >= self.recurrent_dropout
            dropout_mask = keep / (1 - self.recurrent_dropout)
        init = self._initial_states(initial_state, batch)
        op = self._op_class()(_activation_name(self.activation), _activation_name(self.recurrent_activation),
                              self.return_sequences, self.go_backwards, n_init=len(init), mask=mask,
                              dropout_mask=dropout_mask, zero_output_for_mask=self.zero_output_for_mask)
        args = [inputs, self.kernel, self.recurrent_kernel] + ([self.bias] if self.bias is not None else []) + init
        outs = op(*args)
        if self.stateful:
            self.states = [o.data.copy() for o in outs[1:]]
        if self.return_state:
            return list(outs)
        return outs[0]

    def reset_states(self, states: Any = None) -> None:
        """Forget the carried states of a stateful layer (or set them to `states`)."""
        if not self.stateful:
            raise AttributeError(f"{type(self).__name__} '{self.name}' is not stateful: reset_states() needs "
                                 f"stateful=True")
        if states is None:
            self.states = None
            return
        states = list(states) if isinstance(states, (list, tuple)) else [states]
        batch = np.shape(states[0])[0]
        self._initial_states(states, batch)
        self.states = [np.array(getattr(s, "data", s), dtype=self.dtype) for s in states]

    reset_state = reset_states

    def compute_mask(self, inputs, mask=None):
        if isinstance(mask, list):
            mask = mask[0]
        out = mask if (self.return_sequences and mask is not None) else None
        if out is not None:
            out = np.asarray(getattr(out, "data", out)).astype(bool)
            if self.go_backwards:
                out = out[:, ::-1]
        return [out] + [None] * self._n_states if self.return_state else out

    def compute_output_shape(self, input_shape):
        if isinstance(input_shape, list):
            input_shape = input_shape[0]
        batch = input_shape[0]
        out = (batch, input_shape[1], self.units) if self.return_sequences else (batch, self.units)
        if self.return_state:
            return [out] + [(batch, self.units)] * self._n_states
        return out

    def get_config(self):
        from .. import initializers, regularizers

        return {**super().get_config(), "units": self.units,
                "activation": _activation_name(self.activation),
                "recurrent_activation": _activation_name(self.recurrent_activation),
                "use_bias": self.use_bias,
                "kernel_initializer": serialize_object(self.kernel_initializer, initializers),
                "recurrent_initializer": serialize_object(self.recurrent_initializer, initializers),
                "bias_initializer": serialize_object(self.bias_initializer, initializers),
                "kernel_regularizer": serialize_object(self.kernel_regularizer, regularizers),
                "recurrent_regularizer": serialize_object(self.recurrent_regularizer, regularizers),
                "bias_regularizer": serialize_object(self.bias_regularizer, regularizers),
                "return_sequences": self.return_sequences, "return_state": self.return_state,
                "go_backwards": self.go_backwards, "dropout": self.dropout,
                "recurrent_dropout": self.recurrent_dropout, "stateful": self.stateful,
                "zero_output_for_mask": self.zero_output_for_mask, "unroll": self.unroll, "seed": self.seed}


class SimpleRNN(_RNN):
    """A fully connected recurrence: h_t = activation(x_t W + h_{t-1} U + b).

    >>> import numpy as np
    >>> SimpleRNN(4)(np.zeros((2, 5, 3), dtype="float32")).shape
    (2, 4)
    """

    def __init__(self, units: int, activation: Any = "tanh", use_bias: bool = True, **kwargs: Any) -> None:
        kwargs.pop("recurrent_activation", None)
        super().__init__(units, activation=activation, use_bias=use_bias, **kwargs)

    def get_config(self):
        config = super().get_config()
        config.pop("recurrent_activation")
        return config


class LSTM(_RNN):
    """Long short-term memory (Hochreiter & Schmidhuber 1997), Keras's gate order i, f, c, o.

    `unit_forget_bias=True` starts the forget gate's bias at 1 (so the cell remembers by default).

    >>> import numpy as np
    >>> LSTM(4, return_sequences=True)(np.zeros((2, 5, 3), dtype="float32")).shape
    (2, 5, 4)
    """

    _gates = 4
    _op = rops.LSTMOp
    _n_states = 2

    def __init__(self, units: int, unit_forget_bias: bool = True, **kwargs: Any) -> None:
        super().__init__(units, **kwargs)
        self.unit_forget_bias = bool(unit_forget_bias)

    def build(self, input_shape):
        super().build(input_shape)
        if self.bias is not None and self.unit_forget_bias and not _Init.deferred:
            self.bias.data[self.units:2 * self.units] = 1.0

    def get_config(self):
        return {**super().get_config(), "unit_forget_bias": self.unit_forget_bias}


class GRU(_RNN):
    """Gated recurrent unit (Cho et al. 2014) as Keras 3 computes it: gates z, r, h, `reset_after=True`
    (the reset gate multiplies the recurrent projection, which has its own bias: bias shape (2, 3 units));
    `reset_after=False` applies it to the previous state before the matmul (bias shape (3 units,)).

    >>> import numpy as np
    >>> GRU(4)(np.zeros((2, 5, 3), dtype="float32")).shape
    (2, 4)
    """

    _gates = 3
    _op = rops.GRUOp

    def __init__(self, units: int, reset_after: bool = True, **kwargs: Any) -> None:
        super().__init__(units, **kwargs)
        self.reset_after = bool(reset_after)

    def _op_class(self) -> type[rops._Recurrent]:
        return rops.GRUOp if self.reset_after else GRUV1Op

    def _bias_shape(self) -> tuple[int, ...]:
        return (2, 3 * self.units) if self.reset_after else (3 * self.units,)

    def get_config(self):
        return {**super().get_config(), "reset_after": self.reset_after}


# ------------------------------------------------------------------------------------------------- wrappers
def _layer_spec(layer: Layer) -> dict[str, Any]:
    return {"class_name": type(layer).__name__, "config": layer.get_config()}


def _layer_from_spec(spec: Any, where: str) -> Layer:
    if isinstance(spec, Layer):
        return spec
    if not isinstance(spec, dict) or not isinstance(spec.get("class_name"), str):
        raise ValueError(f"{where}: expected a layer or {{'class_name': ..., 'config': ...}}, got {spec!r:.200}")
    return get(spec["class_name"]).from_config(dict(spec.get("config", {})))


_MERGES = ("concat", "sum", "mul", "ave", None)


class Bidirectional(Layer):
    """Runs a recurrent layer forwards and a copy of it backwards, and merges both outputs.

    The backward copy's sequence output is flipped back, so step t of both halves refers to input step t.
    `merge_mode` is 'concat' (default), 'sum', 'mul', 'ave' or None (a list of both outputs).

    >>> import numpy as np
    >>> Bidirectional(LSTM(4))(np.zeros((2, 5, 3), dtype="float32")).shape
    (2, 8)
    """

    def __init__(self, layer: Any, merge_mode: str | None = "concat", backward_layer: Any = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        layer = _layer_from_spec(layer, f"Bidirectional '{self.name}'")
        if not isinstance(layer, _RNN):
            raise ValueError(f"Bidirectional '{self.name}' wraps SimpleRNN, LSTM or GRU, got {type(layer).__name__}")
        if merge_mode not in _MERGES:
            raise ValueError(f"Bidirectional '{self.name}': merge_mode must be one of {_MERGES}, got {merge_mode!r}")
        self.merge_mode = merge_mode
        self._layer_config = _layer_spec(layer)
        config = layer.get_config()
        self.forward_layer = type(layer).from_config({**config, "name": f"forward_{layer.name}"})
        if backward_layer is None:
            self._backward_config = None
            backward_layer = type(layer).from_config({**config, "name": f"backward_{layer.name}",
                                                      "go_backwards": not layer.go_backwards})
        else:
            backward_layer = _layer_from_spec(backward_layer, f"Bidirectional '{self.name}'")
            if not isinstance(backward_layer, _RNN) or not backward_layer.go_backwards:
                raise ValueError(f"Bidirectional '{self.name}': backward_layer must be a recurrent layer with "
                                 f"go_backwards=True")
            self._backward_config = _layer_spec(backward_layer)
        self.backward_layer = backward_layer
        for sub in (self.forward_layer, self.backward_layer):  # Keras: padded steps output zeros
            sub.zero_output_for_mask = sub.return_sequences
        self.return_sequences = layer.return_sequences
        self.return_state = layer.return_state
        self.input_spec = InputSpec(ndim=3, hint="(batch, timesteps, features)")

    def build(self, input_shape):
        self.forward_layer._maybe_build(input_shape)
        self.backward_layer._maybe_build(input_shape)

    def _merge(self, a, b):
        if self.merge_mode == "concat":
            return ops.concatenate([a, b], axis=-1)
        if self.merge_mode == "sum":
            return a + b
        if self.merge_mode == "mul":
            return a * b
        if self.merge_mode == "ave":
            return (a + b) * 0.5
        return [a, b]

    def call(self, inputs, training=False, mask=None, initial_state=None):
        f_init = b_init = None
        if initial_state is not None:
            states = list(initial_state)
            half = len(states) // 2
            if len(states) % 2 or half != self.forward_layer._n_states:
                raise ValueError(f"Bidirectional '{self.name}' needs {2 * self.forward_layer._n_states} initial "
                                 f"states (forward ones, then backward ones), got {len(states)}")
            f_init, b_init = states[:half], states[half:]
        fwd = self.forward_layer(inputs, training=training, mask=mask, initial_state=f_init)
        bwd = self.backward_layer(inputs, training=training, mask=mask, initial_state=b_init)
        fwd_states, bwd_states = [], []
        if self.return_state:
            fwd, fwd_states = fwd[0], fwd[1:]
            bwd, bwd_states = bwd[0], bwd[1:]
        if self.return_sequences:
            bwd = ops.getitem(bwd, (slice(None), slice(None, None, -1)))
        out = self._merge(fwd, bwd)
        if self.return_state:
            return (out if isinstance(out, list) else [out]) + list(fwd_states) + list(bwd_states)
        return out

    def compute_mask(self, inputs, mask=None):
        out = mask if (self.return_sequences and mask is not None) else None
        outs = [out, out] if self.merge_mode is None else [out]
        n = self.forward_layer._n_states * 2
        return outs + [None] * n if self.return_state else (outs if self.merge_mode is None else out)

    def reset_states(self) -> None:
        self.forward_layer.reset_states()
        self.backward_layer.reset_states()

    def compute_output_shape(self, input_shape):
        f = self.forward_layer.compute_output_shape(input_shape)
        b = self.backward_layer.compute_output_shape(input_shape)
        fo, fs = (f[0], f[1:]) if self.return_state else (f, [])
        bo, bs = (b[0], b[1:]) if self.return_state else (b, [])
        if self.merge_mode == "concat":
            out = [tuple(fo[:-1]) + (fo[-1] + bo[-1],)]
        elif self.merge_mode is None:
            out = [tuple(fo), tuple(bo)]
        else:
            out = [tuple(fo)]
        if self.return_state:
            return out + [tuple(s) for s in fs] + [tuple(s) for s in bs]
        return out[0] if len(out) == 1 else out

    def get_config(self):
        config = {**super().get_config(), "layer": self._layer_config, "merge_mode": self.merge_mode}
        if self._backward_config is not None:
            config["backward_layer"] = self._backward_config
        return config


class TimeDistributed(Layer):
    """Applies the same layer to every time step: (batch, time, ...) -> (batch, time, ...out).

    The steps are folded into the batch axis, so the wrapped layer runs once on (batch * time, ...).

    >>> import numpy as np
    >>> from neurona.layers import Dense
    >>> TimeDistributed(Dense(2))(np.zeros((4, 5, 3), dtype="float32")).shape
    (4, 5, 2)
    """

    supports_masking = True

    def __init__(self, layer: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.layer = _layer_from_spec(layer, f"TimeDistributed '{self.name}'")
        self.input_spec = InputSpec(min_ndim=3, hint="(batch, time, ...)")

    def build(self, input_shape):
        self.layer._maybe_build((None,) + tuple(input_shape[2:]))

    def call(self, inputs, training=False):
        b, t = inputs.shape[:2]
        y = self.layer(ops.reshape(inputs, (b * t,) + tuple(inputs.shape[2:])), training=training)
        return ops.reshape(y, (b, t) + tuple(y.shape[1:]))

    def compute_output_shape(self, input_shape):
        inner = self.layer.compute_output_shape((None,) + tuple(input_shape[2:]))
        return tuple(input_shape[:2]) + tuple(inner[1:])

    def get_config(self):
        return {**super().get_config(), "layer": _layer_spec(self.layer)}


__all__ = ["GRU", "LSTM", "Bidirectional", "SimpleRNN", "TimeDistributed"]
