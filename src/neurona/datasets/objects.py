"""Synthetic images for localisation: one object (circle, square or triangle) on a cluttered background,
with its class and its bounding box. Seeded, so a held-out set is made with another seed.

The clutter (thin random lines, small specks, smooth shading and noise) is drawn in the same colours as
the objects, so the network has to find the shape rather than a colour. Boxes are (x_min, y_min, x_max,
y_max) as fractions of the image width and height, the convention of `box_iou`.
"""

from __future__ import annotations

import numpy as np

from .synthetic import _check_n, _rng

SHAPES = ("circle", "square", "triangle")


def _shape_mask(kind: int, size: int, cx: float, cy: float, r: float) -> np.ndarray:
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) + 0.5
    if kind == 0:
        return (xx - cx) ** 2 + (yy - cy) ** 2 <= r * r
    if kind == 1:
        return (np.abs(xx - cx) <= r) & (np.abs(yy - cy) <= r)
    # an upright triangle with its apex at the top, base at the bottom, inside the same 2r x 2r square
    rel = (yy - (cy - r)) / (2 * r)  # 0 at the apex, 1 at the base
    return (rel >= 0) & (rel <= 1) & (np.abs(xx - cx) <= rel * r)


def _clutter(size: int, rng: np.random.Generator) -> np.ndarray:
    image = np.full((size, size, 3), rng.uniform(0.1, 0.4), np.float32)
    image += (np.linspace(0, 1, size)[:, None, None] * rng.uniform(-0.15, 0.15)).astype(np.float32)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    for _ in range(int(rng.integers(3, 7))):  # thin lines
        a, off = rng.uniform(0, np.pi), rng.uniform(0, size)
        d = np.abs(xx * np.sin(a) - yy * np.cos(a) - off + size * np.cos(a) / 2)
        image[d < 0.7] = rng.uniform(0.3, 1.0, 3)
    for _ in range(int(rng.integers(4, 10))):  # small specks
        x, y, s = rng.integers(0, size - 2), rng.integers(0, size - 2), int(rng.integers(1, 3))
        image[y:y + s, x:x + s] = rng.uniform(0.3, 1.0, 3)
    return image


def shapes_on_clutter(n: int = 1000, size: int = 48, noise: float = 0.05,
                      seed: int | None = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`n` images (n, size, size, 3) float32 in [0, 1], their classes (n,) int64 (0 circle, 1 square,
    2 triangle: `SHAPES`) and boxes (n, 4) float32 (x_min, y_min, x_max, y_max as fractions of the size).

    >>> x, labels, boxes = shapes_on_clutter(3, size=32, seed=1)
    >>> x.shape, labels.shape, boxes.shape
    ((3, 32, 32, 3), (3,), (3, 4))
    """
    _check_n(n)
    if not isinstance(size, (int, np.integer)) or size < 16:
        raise ValueError(f"size must be an integer of at least 16 pixels, got {size!r}")
    rng = _rng(seed)
    images = np.empty((n, size, size, 3), np.float32)
    labels = rng.integers(0, len(SHAPES), n)
    boxes = np.empty((n, 4), np.float32)
    for i in range(n):
        image = _clutter(size, rng)
        r = rng.uniform(0.12, 0.3) * size
        cx, cy = rng.uniform(r, size - r), rng.uniform(r, size - r)
        mask = _shape_mask(int(labels[i]), size, cx, cy, r)
        image[mask] = rng.uniform(0.55, 1.0, 3) * rng.uniform(0.8, 1.0)
        ys, xs = np.nonzero(mask)
        boxes[i] = (xs.min() / size, ys.min() / size, (xs.max() + 1) / size, (ys.max() + 1) / size)
        image += rng.normal(0, noise, image.shape).astype(np.float32)
        images[i] = np.clip(image, 0, 1)
    return images, labels.astype(np.int64), boxes
