"""neurona: a readable deep-learning framework on NumPy, with the Keras workflow of the courses."""

from . import ops
from .autodiff import GradcheckError, Graph, gradcheck, trace
from .tensor import Function, Tensor, as_tensor, enable_grad, is_grad_enabled, no_grad

__version__ = "0.1.0"


def tensor(data, requires_grad: bool = False, dtype=None) -> Tensor:
    """Create a Tensor (float32 for Python numbers and lists)."""
    return Tensor(data, requires_grad=requires_grad, dtype=dtype)


__all__ = [
    "Function", "Graph", "GradcheckError", "Tensor", "as_tensor", "enable_grad", "gradcheck",
    "is_grad_enabled", "no_grad", "ops", "tensor", "trace", "__version__",
]
