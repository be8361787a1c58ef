"""Segmentation metrics: intersection over union and the Dice coefficient, accumulated over batches.

`IoU`, `MeanIoU` and `BinaryIoU` have Keras 3's names, arguments and values: they add up a confusion matrix of
class ids pixel by pixel (`sparse_y_pred=False` takes the argmax of per-class scores first; `BinaryIoU`
thresholds a sigmoid output) and report, for each target class, TP / (TP + FP + FN), averaged over the target
classes that occurred. `Dice` reports 2 TP / (2 TP + FP + FN) the same way (the F1 score of the pixels).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .stateful import Metric


class _ConfusionIoU(Metric):
    """The shared state: a num_classes x num_classes confusion matrix (rows: truth, columns: prediction)."""

    def __init__(self, num_classes: int, target_class_ids: Sequence[int], name: str | None = None,
                 dtype: str = "float32", ignore_class: int | None = None, sparse_y_true: bool = True,
                 sparse_y_pred: bool = True, axis: int = -1) -> None:
        if int(num_classes) < 1:
            raise ValueError(f"{type(self).__name__}: num_classes must be at least 1, got {num_classes}")
        ids = [int(i) for i in target_class_ids]
        bad = [i for i in ids if not 0 <= i < num_classes]
        if bad or not ids:
            raise ValueError(f"{type(self).__name__}: target_class_ids must be class ids in [0, {num_classes}), "
                             f"got {list(target_class_ids)}")
        self.num_classes, self.target_class_ids = int(num_classes), ids
        self.ignore_class, self.sparse_y_true, self.sparse_y_pred, self.axis = \
            ignore_class, sparse_y_true, sparse_y_pred, axis
        super().__init__(name=name, dtype=dtype)

    def reset_state(self) -> None:
        self.total_cm = np.zeros((self.num_classes, self.num_classes), np.float64)

    def _class_ids(self, y_true: Any, y_pred: Any) -> tuple[np.ndarray, np.ndarray]:
        t, p = np.asarray(y_true), np.asarray(y_pred)
        if not self.sparse_y_true:
            t = np.argmax(t, axis=self.axis)
        if not self.sparse_y_pred:
            p = np.argmax(p, axis=self.axis)
        return t, p

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        t, p = self._class_ids(y_true, y_pred)
        t = np.asarray(t, np.float64).reshape(-1).astype(np.int64)  # Keras casts to float, then to int
        p = np.asarray(p, np.float64).reshape(-1).astype(np.int64)
        if t.size != p.size:
            raise ValueError(f"metric '{self.name}': y_true has {t.size} values but y_pred has {p.size} "
                             f"(after taking class ids)")
        w = np.ones(t.size) if sample_weight is None else \
            np.broadcast_to(np.asarray(sample_weight, np.float64).reshape(-1) if np.ndim(sample_weight) > 1
                            else np.asarray(sample_weight, np.float64), t.shape)
        keep = (t >= 0) & (t < self.num_classes) & (p >= 0) & (p < self.num_classes)
        if self.ignore_class is not None:
            keep &= t != self.ignore_class
        n = self.num_classes
        self.total_cm += np.bincount(t[keep] * n + p[keep], weights=w[keep], minlength=n * n).reshape(n, n)

    def _scores(self, tp: np.ndarray, fp: np.ndarray, fn: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return tp, tp + fp + fn

    def result(self) -> float:
        cm = self.total_cm
        tp = np.diag(cm)
        fp, fn = cm.sum(axis=0) - tp, cm.sum(axis=1) - tp
        num, den = self._scores(tp, fp, fn)
        num, den = num[self.target_class_ids], den[self.target_class_ids]
        valid = den != 0
        if not valid.any():
            return 0.0
        return float(np.sum(num[valid] / den[valid]) / valid.sum())

    def get_config(self) -> dict:
        return {**super().get_config(), "num_classes": self.num_classes, "target_class_ids": self.target_class_ids,
                "ignore_class": self.ignore_class, "sparse_y_true": self.sparse_y_true,
                "sparse_y_pred": self.sparse_y_pred, "axis": self.axis}


class IoU(_ConfusionIoU):
    """Intersection over union of the classes in `target_class_ids`, averaged (keras.metrics.IoU)."""

    def __init__(self, num_classes: int, target_class_ids: Sequence[int], name: str | None = None,
                 dtype: str = "float32", ignore_class: int | None = None, sparse_y_true: bool = True,
                 sparse_y_pred: bool = True, axis: int = -1) -> None:
        super().__init__(num_classes, target_class_ids, name or "io_u", dtype, ignore_class, sparse_y_true,
                         sparse_y_pred, axis)


class MeanIoU(_ConfusionIoU):
    """IoU averaged over every class (keras.metrics.MeanIoU)."""

    def __init__(self, num_classes: int, name: str | None = None, dtype: str = "float32",
                 ignore_class: int | None = None, sparse_y_true: bool = True, sparse_y_pred: bool = True,
                 axis: int = -1) -> None:
        super().__init__(num_classes, range(int(num_classes)), name or "mean_io_u", dtype, ignore_class,
                         sparse_y_true, sparse_y_pred, axis)

    def get_config(self) -> dict:
        config = super().get_config()
        del config["target_class_ids"]
        return config


class BinaryIoU(_ConfusionIoU):
    """IoU of a sigmoid output thresholded at `threshold` (keras.metrics.BinaryIoU); target [1]: the object."""

    def __init__(self, target_class_ids: Sequence[int] = (0, 1), threshold: float = 0.5, name: str | None = None,
                 dtype: str = "float32") -> None:
        self.threshold = float(threshold)
        super().__init__(2, target_class_ids, name or "binary_io_u", dtype)

    def _class_ids(self, y_true: Any, y_pred: Any) -> tuple[np.ndarray, np.ndarray]:
        return np.asarray(y_true), (np.asarray(y_pred, np.float32) >= self.threshold).astype(np.int64)

    def get_config(self) -> dict:
        return {"name": self.name, "dtype": self.dtype, "target_class_ids": self.target_class_ids,
                "threshold": self.threshold}


class Dice(_ConfusionIoU):
    """The Dice coefficient 2 TP / (2 TP + FP + FN) of the target classes, averaged over those that occur.

    For a sigmoid output give `threshold` (class 1 where the score is at least that); otherwise the inputs
    are read as IoU's are (class ids, or scores with `sparse_y_pred=False`).
    """

    def __init__(self, num_classes: int = 2, target_class_ids: Sequence[int] | None = None,
                 threshold: float | None = None, name: str | None = "dice", dtype: str = "float32",
                 ignore_class: int | None = None, sparse_y_true: bool = True, sparse_y_pred: bool = True,
                 axis: int = -1) -> None:
        if threshold is not None and num_classes != 2:
            raise ValueError(f"Dice: threshold is for a binary (sigmoid) output, num_classes must be 2, "
                             f"got {num_classes}")
        self.threshold = threshold
        ids = target_class_ids if target_class_ids is not None else ([1] if num_classes == 2 else range(num_classes))
        super().__init__(num_classes, ids, name, dtype, ignore_class, sparse_y_true, sparse_y_pred, axis)

    def _class_ids(self, y_true: Any, y_pred: Any) -> tuple[np.ndarray, np.ndarray]:
        t, p = super()._class_ids(y_true, y_pred)
        if self.threshold is not None:
            p = (np.asarray(p, np.float32) >= self.threshold).astype(np.int64)
        return t, p

    def _scores(self, tp: np.ndarray, fp: np.ndarray, fn: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return 2 * tp, 2 * tp + fp + fn

    def get_config(self) -> dict:
        return {**super().get_config(), "threshold": self.threshold}
