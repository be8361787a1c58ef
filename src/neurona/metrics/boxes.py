"""Intersection over union of bounding boxes, the measure of a localisation (and of detections)."""

from __future__ import annotations

from typing import Any

import numpy as np


def box_iou(boxes_a: Any, boxes_b: Any) -> np.ndarray:
    """IoU of corresponding boxes (x_min, y_min, x_max, y_max), row by row: area of the intersection over
    the area of the union, 1 for identical boxes, 0 for disjoint ones. Shapes (..., 4) -> (...)."""
    a, b = np.asarray(boxes_a, np.float64), np.asarray(boxes_b, np.float64)
    if a.shape[-1:] != (4,) or b.shape[-1:] != (4,):
        raise ValueError(f"box_iou: boxes must be (..., 4) as (x_min, y_min, x_max, y_max), got {a.shape} "
                         f"and {b.shape}")
    for boxes, name in ((a, "boxes_a"), (b, "boxes_b")):
        if np.any(boxes[..., 2] < boxes[..., 0]) or np.any(boxes[..., 3] < boxes[..., 1]):
            raise ValueError(f"box_iou: {name} has a box with x_max < x_min or y_max < y_min")
    w = np.clip(np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0]), 0, None)
    h = np.clip(np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1]), 0, None)
    inter = w * h
    area = (a[..., 2] - a[..., 0]) * (a[..., 3] - a[..., 1]) + (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])
    union = area - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
