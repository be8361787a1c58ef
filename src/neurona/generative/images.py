"""Pictures of generated digits without any plotting library: a grid of images and a PNG writer.

`SampleGrid` is a callback that saves such a grid after every epoch (a GAN's or a VAE's samples), so the
progress of a generative model can be watched epoch by epoch.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ..callbacks import Callback


def image_grid(images: Any, ncols: int | None = None, pad: int = 1, scale: int = 1) -> np.ndarray:
    """(n, h, w) or (n, h, w, 1) images with values in [0, 1] -> one (H, W) uint8 picture, `scale` times larger."""
    x = np.asarray(images, dtype=np.float64)
    if x.ndim == 4 and x.shape[-1] == 1:
        x = x[..., 0]
    if x.ndim != 3:
        raise ValueError(f"image_grid needs (n, height, width) grey images, got shape {x.shape}")
    n, h, w = x.shape
    ncols = ncols or int(np.ceil(np.sqrt(n)))
    nrows = int(np.ceil(n / ncols))
    grid = np.ones((nrows * (h + pad) + pad, ncols * (w + pad) + pad))
    for i in range(n):
        r, c = divmod(i, ncols)
        grid[pad + r * (h + pad):pad + r * (h + pad) + h, pad + c * (w + pad):pad + c * (w + pad) + w] = x[i]
    grid = np.kron(grid, np.ones((scale, scale))) if scale > 1 else grid
    return (np.clip(grid, 0.0, 1.0) * 255 + 0.5).astype(np.uint8)


def save_png(path: str | Path, gray: np.ndarray) -> Path:
    """Write a (H, W) uint8 array as an 8-bit greyscale PNG (zlib from the standard library only)."""
    gray = np.ascontiguousarray(gray, dtype=np.uint8)
    if gray.ndim != 2:
        raise ValueError(f"save_png needs a 2-D uint8 array, got shape {gray.shape}")
    h, w = gray.shape
    raw = b"".join(b"\x00" + gray[i].tobytes() for i in range(h))  # filter type 0 per row

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)) + \
        chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(png)
    return path


class SampleGrid(Callback):
    """After each epoch, draw `n` samples with `sample(n)` and keep their grid; with `directory`, also save
    it as `directory/epoch_001.png`, `epoch_002.png`, ... (`grids` holds the pictures in memory)."""

    def __init__(self, sample: Callable[[int], np.ndarray], n: int = 25, directory: str | Path | None = None,
                 scale: int = 2, ncols: int | None = None) -> None:
        super().__init__()
        self.sample, self.n, self.scale, self.ncols = sample, int(n), int(scale), ncols
        self.directory = None if directory is None else Path(directory)
        self.grids: list[np.ndarray] = []
        self.paths: list[Path] = []

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        grid = image_grid(self.sample(self.n), ncols=self.ncols, scale=self.scale)
        self.grids.append(grid)
        if self.directory is not None:
            self.paths.append(save_png(self.directory / f"epoch_{epoch + 1:03d}.png", grid))


def picture(gray: np.ndarray, size: float = 4.5) -> Any:
    """A matplotlib figure showing a grid made by `image_grid` (for reports)."""
    from ..plot._base import figure

    fig = figure((size, size * gray.shape[0] / gray.shape[1]))
    fig.set_layout_engine("none")  # one full-figure image: no layout to constrain
    ax = fig.add_axes((0, 0, 1, 1))
    ax.imshow(gray, cmap="gray", vmin=0, vmax=255, interpolation="nearest")
    ax.axis("off")
    return fig
