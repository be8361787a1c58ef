"""Synthetic road scenes for segmentation (the U-Net lab of deck 002): images and their road masks.

Each image is a bird's-eye view: a textured background (grass, soil or sand: smooth colour patches plus fine
grain), a road crossing it as a curved band of asphalt of varying width, with a dashed lane mark down the
middle and sometimes a side road, shadows (dark soft blobs falling on road and ground alike, as trees and
clouds do) and pixel noise. The mask is 1 on the road (lane marks included), 0 elsewhere. Seeded: the same
seed gives the same scenes, so a held-out set made with another seed is new data from the same world.
"""

from __future__ import annotations

import numpy as np

from .synthetic import _check_n, _rng

_GROUND = np.array([[0.30, 0.50, 0.20], [0.45, 0.35, 0.22], [0.70, 0.62, 0.42], [0.38, 0.45, 0.28]], np.float32)


def _smooth_noise(rng: np.random.Generator, size: int, cells: int, channels: int = 1) -> np.ndarray:
    """Value noise: a coarse random grid upsampled bilinearly to size x size (soft patches)."""
    grid = rng.random((cells + 1, cells + 1, channels)).astype(np.float32)
    pos = np.linspace(0, cells, size, dtype=np.float32)
    i = np.minimum(pos.astype(int), cells - 1)
    f = (pos - i)[:, None]
    rows = grid[i] * (1 - f)[..., None] + grid[i + 1] * f[..., None]  # (size, cells+1, ch)
    return rows[:, i] * (1 - f.T)[..., None] + rows[:, i + 1] * f.T[..., None]


def _band(size: int, rng: np.random.Generator, width: float) -> tuple[np.ndarray, np.ndarray]:
    """A curved band across the image: its distance field to the centre line, and the position along it."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size - 0.5
    angle = rng.uniform(0, np.pi)
    u = xx * np.cos(angle) + yy * np.sin(angle)  # along the road
    v = -xx * np.sin(angle) + yy * np.cos(angle)  # across
    offset = rng.uniform(-0.2, 0.2)
    bend = rng.uniform(0.04, 0.14) * rng.choice([-1, 1])
    freq = rng.uniform(1.5, 4.0)
    centre = offset + bend * np.sin(freq * u * np.pi + rng.uniform(0, 2 * np.pi)) + rng.uniform(-0.3, 0.3) * u ** 2
    half = width * (1 + 0.15 * np.sin(2 * np.pi * u + rng.uniform(0, 6)))  # the width varies a little
    return (v - centre) / half, u


def road_scene(size: int, rng: np.random.Generator, noise: float) -> tuple[np.ndarray, np.ndarray]:
    """One (size, size, 3) float32 image in [0, 1] and its (size, size) uint8 road mask."""
    ground = _GROUND[rng.integers(len(_GROUND))] + rng.normal(0, 0.04, 3).astype(np.float32)
    patches = _smooth_noise(rng, size, int(rng.integers(3, 7)), 3) - 0.5
    image = ground + 0.25 * patches + rng.normal(0, 0.05, (size, size, 3)).astype(np.float32)
    mask = np.zeros((size, size), bool)
    for k in range(1 + int(rng.random() < 0.35)):  # sometimes a side road
        d, u = _band(size, rng, rng.uniform(0.06, 0.13) * (0.7 if k else 1.0))
        road = np.abs(d) < 1
        tone = rng.uniform(0.25, 0.5)
        asphalt = tone + 0.06 * (_smooth_noise(rng, size, 8)[..., 0] - 0.5) + rng.normal(0, 0.03, (size, size))
        image[road] = asphalt[road][:, None] * np.array([1.0, 1.0, 1.03], np.float32)
        dashes = (np.abs(d) < 0.12) & (np.mod(u * rng.uniform(5, 9) + rng.random(), 1.0) < 0.55)
        lane = np.array([0.92, 0.92, 0.88] if rng.random() < 0.7 else [0.9, 0.8, 0.25], np.float32)
        image[road & dashes] = lane
        mask |= road
    shadow = _smooth_noise(rng, size, int(rng.integers(2, 5)))[..., 0]
    image *= 1 - 0.55 * np.clip((shadow - 0.55) * 4, 0, 1)[..., None]  # soft dark blobs
    image *= rng.uniform(0.8, 1.2)  # overall exposure
    image += rng.normal(0, noise, image.shape).astype(np.float32)
    return np.clip(image, 0, 1).astype(np.float32), mask.astype(np.uint8)


def roads(n: int = 500, size: int = 64, noise: float = 0.04, seed: int | None = 0) -> tuple[np.ndarray, np.ndarray]:
    """`n` road scenes: images (n, size, size, 3) float32 in [0, 1] and masks (n, size, size, 1) uint8 (1: road).

    >>> x, y = roads(4, size=32, seed=1)
    >>> x.shape, y.shape, sorted(set(y.ravel().tolist()))
    ((4, 32, 32, 3), (4, 32, 32, 1), [0, 1])
    """
    _check_n(n)
    if not isinstance(size, (int, np.integer)) or size < 8:
        raise ValueError(f"size must be an integer of at least 8 pixels, got {size!r}")
    if noise < 0:
        raise ValueError(f"noise must be a standard deviation >= 0, got {noise}")
    rng = _rng(seed)
    images = np.empty((n, size, size, 3), np.float32)
    masks = np.empty((n, size, size, 1), np.uint8)
    for i in range(n):
        images[i], masks[i, ..., 0] = road_scene(size, rng, noise)
    return images, masks
