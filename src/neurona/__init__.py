"""neurona: a readable deep-learning framework on NumPy, with the Keras workflow of the courses.

`import neurona as keras` feels natural: `neurona.layers`, `neurona.models`, `neurona.Sequential`,
`neurona.Input` ... load on first use, so `import neurona` stays fast.
"""

import importlib

from . import ops
from .autodiff import GradcheckError, Graph, gradcheck, trace
from .function import function
from .tensor import Function, Tensor, as_tensor, enable_grad, is_grad_enabled, no_grad

__version__ = "0.1.0"

_SUBMODULES = (
    "activations", "applications", "callbacks", "data", "datasets", "export", "initializers", "interop",
    "layers", "losses", "metrics", "models", "optimizers", "plot", "preprocessing", "pretrained", "regularizers",
    "saving",
    "sklearn", "utils",
    "backend", "random", "variable",
)
_NAMES = {"Model": "models", "Sequential": "models", "Input": "layers"}
_NAMES.update({"Variable": "variable", "Layer": "layers", "Loss": "losses", "Metric": "metrics",
               "Optimizer": "optimizers", "Initializer": "initializers", "Regularizer": "regularizers",
               "InputSpec": "layers", "KerasTensor": "layers"})
_ALIASES = {"config": "backend"}  # keras.config.floatx() and friends
_NAMES["GradientTape"] = "gradient_tape"


def __getattr__(name: str):
    if name in _SUBMODULES:
        value = importlib.import_module(f".{name}", __name__)
    elif name in _ALIASES:
        value = importlib.import_module(f".{_ALIASES[name]}", __name__)
    elif name in _NAMES:
        value = getattr(importlib.import_module(f".{_NAMES[name]}", __name__), name)
    else:
        raise AttributeError(f"module 'neurona' has no attribute {name!r}")
    globals()[name] = value
    return value


def tensor(data, requires_grad: bool = False, dtype=None) -> Tensor:
    """Create a Tensor (float32 for Python numbers and lists)."""
    return Tensor(data, requires_grad=requires_grad, dtype=dtype)


__all__ = [
    "Function", "GradientTape", "Graph", "GradcheckError", "Input", "Layer", "Model", "Sequential", "Variable",
    "Tensor", "as_tensor",
    "enable_grad", "function", "gradcheck", "is_grad_enabled", "no_grad", "ops", "tensor", "trace", "__version__",
    *_SUBMODULES,
]
