"""Synthetic data for the labs: generated on the spot, seeded, so every run sees the same numbers.

- ``sum_pairs``: the slides' first regression network, "aprender a sumar 2 números";
- ``product4``: the lab exercise "multiplicar 4 números";
- ``logic_gate``, ``blobs``, ``moons``, ``xor``: two-dimensional classification for the perceptron lessons;
- ``sine_waves``: sequences for recurrent networks (predict the next value);
- ``shapes``: images of circles and rectangles with their masks, for segmentation (U-Net) examples.

All arrays are float32 except class labels and masks (uint8 / int64 as stated).
"""

from __future__ import annotations

import numpy as np

from ..random import get_rng


def _rng(seed: int | None) -> np.random.Generator:
    return np.random.default_rng(get_rng().integers(2**63) if seed is None else seed)


def _check_n(n: int) -> None:
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive number of samples, got {n!r}")


def sum_pairs(n: int = 1000, seed: int | None = 0, low: float = -10, high: float = 20,
              integers: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Pairs of numbers and their sum: ``x`` (n, 2), ``y = x1 + x2`` (n, 1).

    The slides' table (0, 1 → 1; 10, -2 → 8; 4, 12 → 16) uses small integers, hence the defaults:
    integers drawn uniformly from ``low..high`` inclusive; ``integers=False`` draws reals in [low, high).
    """
    _check_n(n)
    rng = _rng(seed)
    if integers:
        x = rng.integers(int(low), int(high), size=(n, 2), endpoint=True).astype(np.float32)
    else:
        x = rng.uniform(low, high, size=(n, 2)).astype(np.float32)
    return x, x.sum(axis=1, keepdims=True)


def product4(n: int = 1000, seed: int | None = 0, low: float = -1.0,
             high: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Four reals drawn uniformly from [low, high) and their product: ``x`` (n, 4), ``y`` (n, 1)."""
    _check_n(n)
    x = _rng(seed).uniform(low, high, size=(n, 4)).astype(np.float32)
    return x, x.prod(axis=1, keepdims=True)


_GATES = {"and": (0, 0, 0, 1), "or": (0, 1, 1, 1), "xor": (0, 1, 1, 0), "nand": (1, 1, 1, 0), "nor": (1, 0, 0, 0)}


def logic_gate(name: str = "and") -> tuple[np.ndarray, np.ndarray]:
    """The truth table of a two-input gate: ``x`` (4, 2) in {0, 1}, ``y`` (4,) int64.

    AND and OR are linearly separable (a single perceptron learns them); XOR is not.
    """
    key = name.lower()
    if key not in _GATES:
        raise ValueError(f"unknown gate {name!r}; choose one of {sorted(_GATES)}")
    x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
    return x, np.array(_GATES[key], dtype=np.int64)


def blobs(n: int = 200, centers: int | np.ndarray = 2, std: float = 1.0, seed: int | None = 0,
          box: float = 5.0) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian clusters: ``x`` (n, d) around `centers`, ``y`` (n,) int64 cluster index.

    `centers` is a count (2-D centres drawn uniformly in [-box, box]) or an array of centres (k, d).
    Samples are spread evenly over the clusters (the first ``n % k`` get one more).
    """
    _check_n(n)
    rng = _rng(seed)
    c = rng.uniform(-box, box, size=(int(centers), 2)) if np.ndim(centers) == 0 else np.asarray(centers, float)
    if c.ndim != 2 or len(c) < 1:
        raise ValueError(f"centers must be a count or an array of shape (k, d), got {np.shape(centers)}")
    y = np.arange(n) % len(c)
    x = c[y] + rng.normal(0.0, std, size=(n, c.shape[1]))
    perm = rng.permutation(n)
    return x[perm].astype(np.float32), y[perm].astype(np.int64)


def moons(n: int = 200, noise: float = 0.1, seed: int | None = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half circles (scikit-learn's ``make_moons`` shape): ``x`` (n, 2), ``y`` (n,) int64."""
    _check_n(n)
    rng = _rng(seed)
    y = np.arange(n) % 2
    t = rng.uniform(0, np.pi, size=n)
    x = np.where(y[:, None] == 0,
                 np.stack([np.cos(t), np.sin(t)], 1),
                 np.stack([1 - np.cos(t), 0.5 - np.sin(t)], 1))
    x = x + rng.normal(0.0, noise, size=x.shape)
    perm = rng.permutation(n)
    return x[perm].astype(np.float32), y[perm].astype(np.int64)


def xor(n: int = 200, noise: float = 0.1, seed: int | None = 0) -> tuple[np.ndarray, np.ndarray]:
    """Noisy XOR: points near the four corners of the unit square, ``y = x1 XOR x2`` (n,) int64."""
    _check_n(n)
    rng = _rng(seed)
    corners = rng.integers(0, 2, size=(n, 2))
    x = corners + rng.normal(0.0, noise, size=(n, 2))
    return x.astype(np.float32), (corners[:, 0] ^ corners[:, 1]).astype(np.int64)


def sine_waves(n: int = 1000, timesteps: int = 50, noise: float = 0.05,
               seed: int | None = 0) -> tuple[np.ndarray, np.ndarray]:
    """Sine waves of random frequency, phase and amplitude: ``x`` (n, timesteps, 1) and the next value ``y`` (n, 1).

    A recurrent network that predicts ``y`` from ``x`` must infer the wave's frequency and phase.
    """
    _check_n(n)
    rng = _rng(seed)
    freq = rng.uniform(0.05, 0.25, size=(n, 1))
    phase = rng.uniform(0, 2 * np.pi, size=(n, 1))
    amp = rng.uniform(0.5, 1.0, size=(n, 1))
    t = np.arange(timesteps + 1)[None, :]
    wave = amp * np.sin(2 * np.pi * freq * t + phase) + rng.normal(0.0, noise, size=(n, timesteps + 1))
    wave = wave.astype(np.float32)
    return wave[:, :timesteps, None], wave[:, timesteps:]


def shapes(n: int = 500, size: int = 32, noise: float = 0.1,
           seed: int | None = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Images with one circle or rectangle each, for segmentation: ``(x, masks, labels)``.

    ``x`` float32 (n, size, size, 1) in [0, 1]: the shape at brightness 0.5..1 on a dark noisy background;
    ``masks`` uint8 (n, size, size, 1), 1 inside the shape; ``labels`` int64 (n,), 0 circle, 1 rectangle.
    Built with broadcasting over the whole batch, not a loop over images.
    """
    _check_n(n)
    if size < 8:
        raise ValueError(f"size must be at least 8 pixels, got {size}")
    rng = _rng(seed)
    labels = rng.integers(0, 2, size=n)
    half = rng.uniform(size / 8, size / 4, size=(n, 2))  # radius, or half width / half height
    centre = rng.uniform(half.max(1, keepdims=True), size - half.max(1, keepdims=True), size=(n, 2))
    rows = np.arange(size)[None, :, None] + 0.5
    cols = np.arange(size)[None, None, :] + 0.5
    dr = rows - centre[:, 0, None, None]
    dc = cols - centre[:, 1, None, None]
    circle = dr**2 + dc**2 <= half[:, 0, None, None] ** 2
    rect = (np.abs(dr) <= half[:, 0, None, None]) & (np.abs(dc) <= half[:, 1, None, None])
    masks = np.where(labels[:, None, None] == 0, circle, rect)
    brightness = rng.uniform(0.5, 1.0, size=(n, 1, 1))
    x = masks * brightness + rng.normal(0.0, noise, size=masks.shape)
    x = np.clip(x, 0.0, 1.0).astype(np.float32)[..., None]
    return x, masks.astype(np.uint8)[..., None], labels.astype(np.int64)
