"""`metrics.get(identifier)`: metric objects from the strings, classes, instances and functions compile() takes."""

from __future__ import annotations

import inspect

from .. import registry
from ..suggest import did_you_mean
from . import confusion as _confusion  # noqa: F401  (defines and registers Precision, Recall, F1Score, AUC)
from .stateful import ArrayMetric, MeanMetricWrapper, Metric

# Strings Keras 3 understands (plus "rmse"), mapped to the class that computes them.
ALIASES = {
    "accuracy": "AutoAccuracy", "acc": "AutoAccuracy",
    "binary_accuracy": "BinaryAccuracy", "categorical_accuracy": "CategoricalAccuracy",
    "sparse_categorical_accuracy": "SparseCategoricalAccuracy",
    "top_k_categorical_accuracy": "TopKCategoricalAccuracy",
    "sparse_top_k_categorical_accuracy": "SparseTopKCategoricalAccuracy",
    "precision": "Precision", "recall": "Recall", "f1_score": "F1Score", "fbeta_score": "FBetaScore", "auc": "AUC",
    "mse": "MeanSquaredError", "mean_squared_error": "MeanSquaredError", "MSE": "MeanSquaredError",
    "mae": "MeanAbsoluteError", "mean_absolute_error": "MeanAbsoluteError", "MAE": "MeanAbsoluteError",
    "rmse": "RootMeanSquaredError", "root_mean_squared_error": "RootMeanSquaredError",
    "r2_score": "R2Score", "r2": "R2Score",
    "binary_crossentropy": "BinaryCrossentropy", "bce": "BinaryCrossentropy", "BCE": "BinaryCrossentropy",
    "categorical_crossentropy": "CategoricalCrossentropy",
    "sparse_categorical_crossentropy": "SparseCategoricalCrossentropy",
    "mean": "Mean", "sum": "Sum",
}


def get(identifier) -> Metric:
    """A fresh Metric for `identifier`, named as Keras 3 names it in the training history.

    - a string ("accuracy", "acc", "precision", "f1_score", "auc", "mse", "mae", "rmse", a class name, ...):
      the metric is named by that string, as `compile(metrics=["mse"])` reports "mse" / "val_mse";
      "accuracy"/"acc" pick binary, sparse or categorical accuracy from the first batch's shapes;
    - a Metric class: a new instance with its default name ("precision", "mean_squared_error", ...);
    - a Metric instance: returned as is;
    - one of neurona.metrics' whole-array functions (f1_score, roc_auc, ...): computed on all batches seen
      (ArrayMetric), named fn.__name__;
    - another function fn(y_true, y_pred) -> one value per sample: averaged by MeanMetricWrapper, as in Keras;
    - a dict {"class_name": ..., "config": {...}} from `serialize`.

    >>> get("mse").name, type(get("mse")).__name__
    ('mse', 'MeanSquaredError')
    """
    if identifier is None:
        raise ValueError("metric identifier is None; pass a name such as 'accuracy', a Metric or a function")
    if isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        cls = registry.lookup("metric", ALIASES.get(identifier, identifier))
        if cls is None:
            known = sorted(set(ALIASES) | set(registry.names("metric")))
            hint = did_you_mean(identifier, [k for k in known if k.islower()]) or did_you_mean(identifier, known)
            raise ValueError(f"unknown metric {identifier!r}; {hint + ' ' if hint else ''}known metrics: "
                             f"{', '.join(known)}")
        return cls(name=identifier)
    if inspect.isclass(identifier) and issubclass(identifier, Metric):
        return identifier()
    if callable(identifier) and getattr(identifier, "__module__", "").startswith("neurona.metrics."):
        return ArrayMetric(identifier)
    if callable(identifier):
        return MeanMetricWrapper(identifier, name=getattr(identifier, "__name__", None))
    raise ValueError(f"could not interpret metric identifier {identifier!r}: expected a string, a Metric "
                     "class or instance, or a function fn(y_true, y_pred)")


def serialize(metric: Metric) -> dict:
    """{"class_name", "config"} of a metric, JSON-ready (the inverse of `deserialize`)."""
    return registry.to_config(metric)


def deserialize(config: dict) -> Metric:
    """A metric from `serialize`'s dict; only neurona's registered metric classes are accepted."""
    name = config.get("class_name")
    cls = registry.lookup("metric", name) if isinstance(name, str) else None
    if cls is None or cls in (MeanMetricWrapper, ArrayMetric):
        raise ValueError(f"unknown metric class {name!r} in config; known: {registry.names('metric')}")
    return cls.from_config(dict(config.get("config", {})))


__all__ = ["ALIASES", "deserialize", "get", "serialize"]
