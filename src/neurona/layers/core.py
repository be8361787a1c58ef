"""The core layers of the slides: Input, Dense (x @ W + b, then the activation), Activation, Dropout,
Flatten, Reshape, and small helpers (Lambda, Permute, RepeatVector).

`from neurona.layers.core import Dense, Activation` works as the slides' `keras.layers.core` import.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .. import ops
from ..ops.nn import FUSED_ACTIVATIONS, NARROW_UNITS, DropoutMask
from ..ops.nn import Dense as DenseOp
from ..random import get_rng
from ..tensor import Tensor
from .base import InputSpec, Layer, Node, SymbolicTensor, prod, serialize_object


def _activation_name(fn: Callable[..., Any]) -> str | None:
    from .. import activations

    try:
        return activations.serialize(fn)
    except ValueError:
        return None


def _shape_tuple(shape: Any, what: str, layer: str) -> tuple[int | None, ...]:
    """`shape` as a tuple of ints and Nones; anything else (3.5, "abc", True) is a clear error, not a guess."""
    if isinstance(shape, (str, bytes)) or not isinstance(shape, Sequence) and not hasattr(shape, "__iter__"):
        raise ValueError(f"InputLayer '{layer}': {what} must be a tuple of sizes such as (28, 28, 1), "
                         f"got {shape!r:.60}")
    out = []
    for s in shape:
        if s is None:
            out.append(None)
        elif isinstance(s, (int, np.integer)) and not isinstance(s, (bool, np.bool_)):
            out.append(int(s))
        else:
            raise ValueError(f"InputLayer '{layer}': {what} {tuple(shape)!r:.60} holds {s!r:.30}; every size must be "
                             f"a whole number (or None for a size known only at run time)")
    return tuple(out)


class InputLayer(Layer):
    """The entry point of a graph: holds the shape of one sample (plus a None batch axis)."""

    def __init__(self, shape: Sequence[int | None] | int | None = None, batch_size: int | None = None,
                 dtype: Any = None, batch_shape: Sequence[int | None] | None = None, name: str | None = None,
                 input_shape: Sequence[int | None] | None = None, batch_input_shape: Any = None,
                 **kwargs: Any) -> None:
        super().__init__(name=name, dtype=dtype, **kwargs)
        shape = shape if shape is not None else input_shape
        batch_shape = batch_shape if batch_shape is not None else batch_input_shape
        if batch_shape is None:
            if shape is None:
                raise ValueError("InputLayer needs shape= (the shape of one sample, without the batch size)")
            if isinstance(shape, (int, np.integer)) and not isinstance(shape, bool):
                shape = (int(shape),)
            batch_shape = (batch_size,) + _shape_tuple(shape, "shape", self.name)
        self.batch_shape = _shape_tuple(batch_shape, "batch_shape", self.name)
        for s in self.batch_shape[1:]:
            if s is not None and s <= 0:
                raise ValueError(f"InputLayer '{self.name}': sizes must be positive, got shape {self.batch_shape}")
        self.built = True
        self._build_shape = self.batch_shape
        out = SymbolicTensor(self.batch_shape, self.dtype, name=self.name)
        Node(self, [], out)

    def call(self, inputs, training=False):
        return inputs

    def compute_output_shape(self, input_shape):
        return self.batch_shape

    def get_config(self):
        return {"batch_shape": list(self.batch_shape), "dtype": self.dtype, "name": self.name}


def Input(shape: Sequence[int | None] | int | None = None, batch_size: int | None = None,  # noqa: N802 - Keras's name
          dtype: Any = None, name: str | None = None,
          batch_shape: Sequence[int | None] | None = None) -> SymbolicTensor:
    """A symbolic input of the given per-sample `shape` (Keras's `keras.Input`).

    >>> Input(shape=(28, 28)).shape
    (None, 28, 28)
    """
    layer = InputLayer(shape=shape, batch_size=batch_size, dtype=dtype, name=name, batch_shape=batch_shape)
    return layer.output


class Dense(Layer):
    """A fully connected layer: `activation(x @ kernel + bias)` over the last axis of x.

    relu/sigmoid/tanh/softmax/linear run inside one fused op (forward and backward together).

    >>> import numpy as np
    >>> layer = Dense(2, kernel_initializer="ones")
    >>> layer(np.array([[1.0, 5.0, 3.0, 2.0]], dtype="float32")).tolist()
    [[11.0, 11.0]]
    """

    supports_masking = True

    def __init__(self, units: int, activation: Any = None, use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, bias_regularizer: Any = None, **kwargs: Any) -> None:
        from .. import initializers, regularizers

        super().__init__(**kwargs)
        if isinstance(units, bool) or not isinstance(units, (int, np.integer)) or units <= 0:
            raise ValueError(f"Dense '{self.name}': units must be a positive integer, got {units!r}")
        self.units = int(units)
        self.activation = activation
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.input_spec = InputSpec(min_ndim=2)

    @property
    def activation(self) -> Callable[..., Any]:
        return self._activation

    @activation.setter
    def activation(self, value: Any) -> None:
        """Set (or replace, as `layer.activation = activations.linear`) the activation; the fused path follows."""
        from .. import activations

        self._activation = activations.get(value)
        name = _activation_name(self._activation)
        # A name the fused op knows runs inside it; anything else is applied after the affine map.
        self._fused = name if name in FUSED_ACTIVATIONS else None
        self._linear = name == "linear"

    def build(self, input_shape):
        in_dim = input_shape[-1]
        if in_dim is None:
            raise ValueError(f"Dense '{self.name}' needs the last axis of its input to be known, "
                             f"got input shape {tuple(input_shape)}")
        self.kernel = self.add_weight("kernel", (in_dim, self.units), self.kernel_initializer,
                                      self.kernel_regularizer)
        if self.units <= NARROW_UNITS:  # stored column by column (PyTorch's (out, in) layout), same values (#17)
            self.kernel.data = np.asfortranarray(self.kernel.data)
        self.bias = (self.add_weight("bias", (self.units,), self.bias_initializer, self.bias_regularizer)
                     if self.use_bias else None)
        self.input_spec = InputSpec(min_ndim=2, axes={-1: in_dim})

    def call(self, inputs, training=False):
        if self._fused is not None or self._linear:
            args = (inputs, self.kernel) if self.bias is None else (inputs, self.kernel, self.bias)
            return DenseOp(self._fused)(*args)
        return self.activation(self.call_logits(inputs))

    def call_logits(self, inputs, training=False):
        """x @ kernel + bias without the activation (the model pairs it with a fused loss)."""
        args = (inputs, self.kernel) if self.bias is None else (inputs, self.kernel, self.bias)
        return DenseOp(None)(*args)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        from .. import initializers, regularizers

        return {**super().get_config(), "units": self.units, "activation": _activation_name(self.activation),
                "use_bias": self.use_bias,
                "kernel_initializer": serialize_object(self.kernel_initializer, initializers),
                "bias_initializer": serialize_object(self.bias_initializer, initializers),
                "kernel_regularizer": serialize_object(self.kernel_regularizer, regularizers),
                "bias_regularizer": serialize_object(self.bias_regularizer, regularizers)}


class Activation(Layer):
    """Applies an activation function by name ('relu', 'softmax', ...) or a callable."""

    supports_masking = True

    def __init__(self, activation: Any, **kwargs: Any) -> None:
        from .. import activations

        super().__init__(**kwargs)
        self.activation = activations.get(activation)

    def call(self, inputs, training=False):
        return self.activation(inputs)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "activation": _activation_name(self.activation)}


class Dropout(Layer):
    """While training, zeroes each value with probability `rate` and scales the rest by 1/(1-rate).

    At inference it is the identity ("inverted" dropout, as Keras).
    """

    supports_masking = True

    def __init__(self, rate: float, noise_shape: Sequence[int | None] | None = None, seed: int | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not 0 <= rate < 1:
            raise ValueError(f"Dropout '{self.name}': rate must be in [0, 1), got {rate}")
        self.rate = float(rate)
        self.noise_shape = None if noise_shape is None else tuple(noise_shape)
        self.seed = seed
        self._rng = None if seed is None else np.random.default_rng(seed)

    def call(self, inputs, training=False):
        if not training or self.rate == 0:
            return inputs
        rng = self._rng or get_rng()
        if self.noise_shape is None:
            return ops.dropout(inputs, self.rate, training=True, rng=rng)
        x = inputs.data
        shape = tuple(x.shape[i] if s is None else s for i, s in enumerate(self.noise_shape))
        keep = rng.random(shape, dtype=np.float32) >= self.rate
        return DropoutMask(keep.astype(x.dtype) * x.dtype.type(1 / (1 - self.rate)))(inputs)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        noise = None if self.noise_shape is None else list(self.noise_shape)
        return {**super().get_config(), "rate": self.rate, "noise_shape": noise, "seed": self.seed}


class Flatten(Layer):
    """(batch, d1, d2, ...) -> (batch, d1 * d2 * ...): images to vectors for Dense layers."""

    def __init__(self, data_format: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.data_format = data_format or "channels_last"
        if self.data_format not in ("channels_last", "channels_first"):
            raise ValueError(f"Flatten '{self.name}': data_format must be 'channels_last' or 'channels_first', "
                             f"got {data_format!r}")

    def call(self, inputs, training=False):
        if self.data_format == "channels_first" and inputs.ndim > 2:
            # Keras orders values channels-last before flattening, so weights transfer between formats.
            inputs = ops.transpose(inputs, (0,) + tuple(range(2, inputs.ndim)) + (1,))
        return ops.reshape(inputs, (inputs.shape[0], -1))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], prod(input_shape[1:]))

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format}


class Reshape(Layer):
    """Reshape each sample to `target_shape` (one entry may be -1)."""

    def __init__(self, target_shape: Sequence[int], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.target_shape = tuple(int(s) for s in target_shape)
        if sum(s == -1 for s in self.target_shape) > 1 or any(s == 0 or s < -1 for s in self.target_shape):
            raise ValueError(f"Reshape '{self.name}': target_shape may hold positive sizes and at most one -1, "
                             f"got {self.target_shape}")

    def _resolve(self, sample_shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        n = prod(sample_shape)
        known = int(np.prod([s for s in self.target_shape if s != -1]))
        if n is None:
            return tuple(None if s == -1 else s for s in self.target_shape)
        if (-1 in self.target_shape and n % known) or (-1 not in self.target_shape and n != known):
            raise ValueError(f"Reshape '{self.name}' cannot reshape inputs of shape (None, "
                             f"{', '.join(map(str, sample_shape))}) ({n} values per sample) into {self.target_shape}")
        return tuple(n // known if s == -1 else s for s in self.target_shape)

    def build(self, input_shape):
        self._resolve(tuple(input_shape[1:]))

    def call(self, inputs, training=False):
        target = self._resolve(tuple(inputs.shape[1:]))
        return ops.reshape(inputs, (inputs.shape[0],) + target)

    def compute_output_shape(self, input_shape):
        return (input_shape[0],) + self._resolve(tuple(input_shape[1:]))

    def get_config(self):
        return {**super().get_config(), "target_shape": list(self.target_shape)}


class Permute(Layer):
    """Reorder the non-batch axes; `dims` counts from 1 as in Keras (Permute((2, 1)) swaps them)."""

    def __init__(self, dims: Sequence[int], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.dims = tuple(int(d) for d in dims)
        if sorted(self.dims) != list(range(1, len(self.dims) + 1)):
            raise ValueError(f"Permute '{self.name}': dims must be a permutation of 1..{len(self.dims)}, "
                             f"got {self.dims}")
        self.input_spec = InputSpec(ndim=len(self.dims) + 1)

    def call(self, inputs, training=False):
        return ops.transpose(inputs, (0,) + self.dims)

    def compute_output_shape(self, input_shape):
        return (input_shape[0],) + tuple(input_shape[d] for d in self.dims)

    def get_config(self):
        return {**super().get_config(), "dims": list(self.dims)}


class RepeatVector(Layer):
    """(batch, features) -> (batch, n, features): the same vector n times (encoder-decoder models)."""

    def __init__(self, n: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if int(n) <= 0:
            raise ValueError(f"RepeatVector '{self.name}': n must be positive, got {n}")
        self.n = int(n)
        self.input_spec = InputSpec(ndim=2)

    def call(self, inputs, training=False):
        x = ops.expand_dims(inputs, 1)
        return ops.broadcast_to(x, (x.shape[0], self.n, x.shape[2]))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.n, input_shape[1])

    def get_config(self):
        return {**super().get_config(), "n": self.n}


class Lambda(Layer):
    """Wrap a function of tensors as a layer: `Lambda(lambda x: x * 2)`.

    Its config stores only the function's name: a saved model with a Lambda layer loads only when the
    function is passed back in `custom_objects` (files never carry code).
    """

    def __init__(self, function: Callable[..., Tensor], output_shape: Any = None,
                 arguments: dict[str, Any] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not callable(function):
            raise TypeError(f"Lambda '{self.name}' needs a callable, got {type(function).__name__}")
        self.function = function
        self.output_shape_arg = output_shape
        self.arguments = dict(arguments or {})

    def call(self, inputs, training=False):
        out = self.function(inputs, **self.arguments)
        if not isinstance(out, (Tensor, list, tuple)):
            out = Tensor(np.asarray(out, dtype=self.dtype))
        return out

    def compute_output_shape(self, input_shape):
        if self.output_shape_arg is None:
            return super().compute_output_shape(input_shape)
        if callable(self.output_shape_arg):
            return tuple(self.output_shape_arg(input_shape))
        return (input_shape[0] if not isinstance(input_shape, list) else input_shape[0][0],) + tuple(
            self.output_shape_arg)

    def get_config(self):
        shape = self.output_shape_arg
        return {**super().get_config(), "function": getattr(self.function, "__name__", "<lambda>"),
                "output_shape": list(shape) if isinstance(shape, (tuple, list)) else None,
                "arguments": self.arguments}

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: dict[str, Any] | None = None) -> Lambda:
        config = dict(config)
        name = config.pop("function")
        fn = (custom_objects or {}).get(name)
        if fn is None:
            raise ValueError(f"Lambda layer '{config.get('name')}' wraps the function {name!r}, whose code is not "
                             f"stored in configs: pass custom_objects={{{name!r}: the_function}} to load it")
        return cls(fn, **config)
