"""Judging a network: metric functions on whole arrays and stateful metrics for `compile(metrics=[...])`.

Functions (values and warnings as scikit-learn's): `accuracy`, `precision`, `recall`, `f1_score`,
`confusion_matrix`, `classification_report`, `mean_squared_error`, `mean_absolute_error`,
`root_mean_squared_error`, `r2_score`, `pearson_r`, `top_k_accuracy`, `roc_auc`, `roc_curve`, `log_loss`,
and `report(model, x, y)` for everything at once. They take class labels, one-hot rows or probabilities:
2-D inputs with several columns become their argmax; 1-D (or one-column) floats that are not whole numbers are
probabilities of the positive class, thresholded at 0.5.

Stateful metrics (Keras 3's names and values): `Mean`, `Sum`, `Accuracy`, `BinaryAccuracy`,
`CategoricalAccuracy`, `SparseCategoricalAccuracy`, `TopKCategoricalAccuracy`, `SparseTopKCategoricalAccuracy`,
`Precision`, `Recall`, `F1Score`, `AUC`, `MeanSquaredError`, `MeanAbsoluteError`, `RootMeanSquaredError`,
`R2Score`; segmentation: `IoU`, `MeanIoU`, `BinaryIoU`, `Dice`; `get(identifier)` resolves what compile() receives.

This package imports nothing from neurona above the engine: it works on NumPy arrays.
"""

from ._inputs import UndefinedMetricWarning
from .boxes import box_iou
from .confusion import AUC, F1Score, FBetaScore, Precision, Recall
from .counts import FalseNegatives, FalsePositives, TrueNegatives, TruePositives
from .functions import (
    accuracy,
    confusion_matrix,
    f1_score,
    fbeta_score,
    precision,
    precision_recall_fscore_support,
    recall,
)
from .ranking import auc, log_loss, roc_auc, roc_curve, top_k_accuracy
from .registry import deserialize, get, serialize
from .regression import mean_absolute_error, mean_squared_error, pearson_r, r2_score, root_mean_squared_error
from .report import classification_report, report
from .segmentation import BinaryIoU, Dice, IoU, MeanIoU
from .stateful import (
    Accuracy,
    ArrayMetric,
    AutoAccuracy,
    BinaryAccuracy,
    BinaryCrossentropy,
    CategoricalAccuracy,
    CategoricalCrossentropy,
    Mean,
    MeanAbsoluteError,
    MeanMetricWrapper,
    MeanSquaredError,
    Metric,
    R2Score,
    RootMeanSquaredError,
    SparseCategoricalAccuracy,
    SparseCategoricalCrossentropy,
    SparseTopKCategoricalAccuracy,
    Sum,
    TopKCategoricalAccuracy,
)

# scikit-learn's names, so `from sklearn.metrics import ...` code runs after changing the import
accuracy_score = accuracy
precision_score = precision
recall_score = recall
roc_auc_score = roc_auc
top_k_accuracy_score = top_k_accuracy

__all__ = [
    "AUC", "Accuracy", "ArrayMetric", "AutoAccuracy", "BinaryAccuracy", "BinaryCrossentropy", "CategoricalAccuracy",
    "CategoricalCrossentropy", "F1Score", "FBetaScore", "Mean", "MeanAbsoluteError", "MeanMetricWrapper",
    "MeanSquaredError", "Metric", "Precision", "R2Score", "Recall", "RootMeanSquaredError",
    "SparseCategoricalAccuracy", "SparseCategoricalCrossentropy", "SparseTopKCategoricalAccuracy", "Sum",
    "TopKCategoricalAccuracy", "UndefinedMetricWarning", "accuracy", "accuracy_score", "auc",
    "classification_report", "confusion_matrix", "deserialize", "f1_score", "fbeta_score", "get", "log_loss",
    "mean_absolute_error", "mean_squared_error", "pearson_r", "precision", "precision_recall_fscore_support",
    "precision_score", "r2_score", "recall", "recall_score", "report", "roc_auc", "roc_auc_score", "roc_curve",
    "root_mean_squared_error", "serialize", "top_k_accuracy", "top_k_accuracy_score",
    "BinaryIoU", "Dice", "IoU", "MeanIoU", "box_iou",
    "FalseNegatives", "FalsePositives", "TrueNegatives", "TruePositives",
]
