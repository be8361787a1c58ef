"""Loss functions with Keras's names, formulas and reductions.

A `Loss` object is called as `loss(y_true, y_pred, sample_weight=None)` and returns a scalar Tensor:
the per-sample losses (`call`) weighted and reduced ("sum_over_batch_size" = the mean over the
batch, "sum", or "none"). The lowercase functions (`mean_squared_error`, `mse`, ...) return the
per-sample values, as in Keras. Probabilities are clipped to [1e-7, 1 - 1e-7] before the log, as
Keras does; with `from_logits=True` the engine's fused cross-entropy ops are used instead.

>>> import numpy as np, neurona as nr
>>> from neurona import losses
>>> round(losses.get("mse")(np.array([[1.0], [3.0]]), nr.tensor([[2.0], [3.0]])).item(), 6)
0.5
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .. import registry
from ..tensor import Tensor
from .base import EPSILON, Loss, LossFunctionWrapper
from .margin import Hinge, SquaredHinge, hinge, squared_hinge
from .probabilistic import (
    BinaryCrossentropy,
    CategoricalCrossentropy,
    KLDivergence,
    Poisson,
    SparseCategoricalCrossentropy,
    binary_crossentropy,
    categorical_crossentropy,
    kl_divergence,
    poisson,
    sparse_categorical_crossentropy,
)

# the fused ops, re-exported (X as X) so that they stay importable from here (MeanSquaredErrorMean below too)
from .probabilistic import SigmoidCrossEntropyElementwise as SigmoidCrossEntropyElementwise
from .probabilistic import SoftmaxCrossEntropyRows as SoftmaxCrossEntropyRows
from .probabilistic import SparseSoftmaxCrossEntropyRows as SparseSoftmaxCrossEntropyRows
from .regression import (
    CosineSimilarity,
    Huber,
    LogCosh,
    MeanAbsoluteError,
    MeanAbsolutePercentageError,
    MeanSquaredError,
    MeanSquaredLogarithmicError,
    cosine_similarity,
    huber,
    log_cosh,
    mean_absolute_error,
    mean_absolute_percentage_error,
    mean_squared_error,
    mean_squared_logarithmic_error,
)
from .regression import MeanSquaredErrorMean as MeanSquaredErrorMean
from .segmentation import Dice, dice

mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error
mape = MAPE = mean_absolute_percentage_error
msle = MSLE = mean_squared_logarithmic_error
kld = KLD = kullback_leibler_divergence = kl_divergence
logcosh = log_cosh
bce = binary_crossentropy


# ----------------------------------------------------------------------------- lookup
_CLASSES: dict[str, type[Loss]] = {
    cls.__name__: cls
    for cls in (MeanSquaredError, MeanAbsoluteError, MeanAbsolutePercentageError, MeanSquaredLogarithmicError,
                Huber, LogCosh, KLDivergence, Poisson, Hinge, SquaredHinge, CosineSimilarity, BinaryCrossentropy,
                CategoricalCrossentropy, SparseCategoricalCrossentropy)
}
_FUNCTIONS: dict[Callable[..., Tensor], type[Loss]] = {
    mean_squared_error: MeanSquaredError, mean_absolute_error: MeanAbsoluteError,
    mean_absolute_percentage_error: MeanAbsolutePercentageError,
    mean_squared_logarithmic_error: MeanSquaredLogarithmicError, huber: Huber, log_cosh: LogCosh,
    kl_divergence: KLDivergence, poisson: Poisson, hinge: Hinge, squared_hinge: SquaredHinge,
    cosine_similarity: CosineSimilarity, binary_crossentropy: BinaryCrossentropy,
    categorical_crossentropy: CategoricalCrossentropy, sparse_categorical_crossentropy: SparseCategoricalCrossentropy,
}
_NAMES: dict[str, type[Loss]] = {
    **_CLASSES, **{fn.__name__: cls for fn, cls in _FUNCTIONS.items()},
    "mse": MeanSquaredError, "MSE": MeanSquaredError, "mae": MeanAbsoluteError, "MAE": MeanAbsoluteError,
    "mape": MeanAbsolutePercentageError, "MAPE": MeanAbsolutePercentageError, "msle": MeanSquaredLogarithmicError,
    "MSLE": MeanSquaredLogarithmicError, "kld": KLDivergence, "KLD": KLDivergence,
    "kullback_leibler_divergence": KLDivergence, "logcosh": LogCosh, "huber_loss": Huber,
    "bce": BinaryCrossentropy, "BCE": BinaryCrossentropy,
}
_CLASSES["Dice"], _FUNCTIONS[dice] = Dice, Dice  # segmentation
_NAMES.update(Dice=Dice, dice=Dice)


registry.alias_table("loss", _NAMES)


def serialize(loss: Loss) -> dict[str, Any]:
    """{"class_name": ..., "config": ...}, the JSON form stored in model configs."""
    return registry.to_config(loss)


def deserialize(config: dict[str, Any], custom_objects: dict[str, Any] | None = None) -> Loss:
    """Rebuild a loss from `serialize`'s dict; unknown names are refused (configs never run code)."""
    custom_objects = custom_objects or {}
    name, kwargs = config.get("class_name"), dict(config.get("config") or {})
    if name == "LossFunctionWrapper":
        fn_name = kwargs.pop("fn", None)
        fn = custom_objects.get(fn_name) or next((f for f in _FUNCTIONS if f.__name__ == fn_name), None)
        if fn is None:
            raise ValueError(f"unknown loss function {fn_name!r}: pass it in custom_objects")
        return LossFunctionWrapper(fn, **kwargs)
    cls = custom_objects.get(name) or (registry.lookup("loss", name) if isinstance(name, str) else None)
    if cls is None:
        raise ValueError(f"unknown loss {name!r}; known: {', '.join(sorted(_CLASSES))}")
    return cls.from_config(kwargs)


def get(identifier: Any) -> Loss | None:
    """A Loss from a name ("mse", "categorical_crossentropy", "Huber"), a config dict, a class, a function
    or an instance; None stays None."""
    if callable(identifier) and not isinstance(identifier, (type, Loss)):
        cls = _FUNCTIONS.get(identifier)
        return cls() if cls is not None else LossFunctionWrapper(identifier)
    return registry.get_instance("loss", identifier, Loss, functions=False, deserialize=deserialize)


_FUSABLE = {"softmax": (CategoricalCrossentropy, SparseCategoricalCrossentropy), "sigmoid": (BinaryCrossentropy,)}


def fused(loss: Loss, activation_name: str | None) -> Loss | None:
    """The same loss computed on logits, when the model's last activation can be folded into it.

    softmax + (sparse) categorical cross-entropy and sigmoid + binary cross-entropy on probabilities
    become one stable op whose backward is simply p - y; the value equals the unfused loss (more
    exactly, since probabilities below 1e-7 are not clipped). Returns None when nothing can be fused.
    """
    if type(loss) not in _FUSABLE.get(activation_name, ()) or loss.from_logits:
        return None
    config = loss.get_config()
    config.pop("fn", None)
    return type(loss)(**{**config, "from_logits": True})


__all__ = [
    "EPSILON", "Loss", "LossFunctionWrapper", "bce", "deserialize", "fused", "get", "kld",
    "kullback_leibler_divergence", "logcosh", "mae", "mape", "mse", "msle", "serialize",
    *sorted(_CLASSES), *sorted(f.__name__ for f in _FUNCTIONS),
]
