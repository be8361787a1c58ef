"""Keras's confusion-count metrics: TruePositives, FalsePositives, TrueNegatives, FalseNegatives.

Every entry of y_pred is one binary prediction `y_pred > threshold` (default 0.5) against `y_true != 0`;
the (weighted) counts accumulate over batches. Several thresholds give one count per threshold.
"""

from __future__ import annotations

import numpy as np

from .confusion import _counts_above, _parse_thresholds, _weights
from .stateful import Metric, squeeze_or_expand


class _CountMetric(Metric):
    _which = ""

    def __init__(self, thresholds=None, name: str | None = None, dtype: str = "float32"):
        self.init_thresholds = thresholds
        self.thresholds = _parse_thresholds(thresholds, 0.5)
        self._order = np.argsort(self.thresholds)
        super().__init__(name=name, dtype=dtype)

    def reset_state(self) -> None:
        self.accumulator = np.zeros(len(self.thresholds))

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        t, p = self._pair(y_true, y_pred)
        p, t = squeeze_or_expand(p.astype(np.float64), t)
        if t.shape != p.shape:
            raise ValueError(f"metric '{self.name}': y_true of shape {t.shape} does not match y_pred of shape "
                             f"{p.shape}")
        w = _weights(sample_weight, p.shape)
        tp, fp, pos, neg = _counts_above(t, p, w, self.thresholds[self._order])
        counts = {"tp": tp, "fp": fp, "fn": pos - tp, "tn": neg - fp}[self._which]
        self.accumulator += counts[np.argsort(self._order)]

    def result(self):
        return float(self.accumulator[0]) if len(self.accumulator) == 1 else self.accumulator.copy()

    def get_config(self) -> dict:
        return {**super().get_config(), "thresholds": self.init_thresholds}


class TruePositives(_CountMetric):
    """How many (weighted) predictions are above the threshold where the label is positive."""

    _which = "tp"


class FalsePositives(_CountMetric):
    """How many (weighted) predictions are above the threshold where the label is negative."""

    _which = "fp"
    direction = "down"


class TrueNegatives(_CountMetric):
    """How many (weighted) predictions are at or below the threshold where the label is negative."""

    _which = "tn"


class FalseNegatives(_CountMetric):
    """How many (weighted) predictions are at or below the threshold where the label is positive."""

    _which = "fn"
    direction = "down"
