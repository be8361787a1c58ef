"""Images and their segmentation masks: pairs loaded from folders, and batches augmented identically.

The layout is that of the public road-segmentation sets: ``root/images/x.jpg`` with ``root/masks/x.png``
(the same file name, any image extension, optionally with a suffix such as ``x_mask.png``). A mask holds one
class id per pixel (0..num_classes-1); binary masks saved as 0/255 are read as 0/1. Images are resized
bilinearly and masks by nearest neighbour (a class id must never be blended), both to ``target_size``.

`ImageMaskIterator` draws one random transform per sample and applies it to the image and to its mask, so
they stay aligned pixel for pixel: horizontal and vertical flips, quarter turns (square images).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from .directory import WHITE_LIST_FORMATS, _pil, img_to_array, load_img
from .iterators import Iterator


def _images_by_stem(folder: Path, suffix: str = "") -> dict[str, Path]:
    found = {}
    for path in sorted(folder.iterdir()):
        if path.is_file() and path.suffix.lower().lstrip(".") in WHITE_LIST_FORMATS:
            stem = path.stem
            if suffix and stem.endswith(suffix):
                stem = stem[: -len(suffix)]
            found.setdefault(stem, path)
    return found


def read_mask(path: str | os.PathLike, num_classes: int, size: tuple[int, int] | None = None) -> np.ndarray:
    """A mask file as (height, width, 1) uint8 class ids, checked against `num_classes` (0/255 -> 0/1 when
    binary); `size` = (height, width) resizes it by nearest neighbour."""
    Image = _pil()
    with Image.open(path) as img:
        img = img.convert("L")
        if size is not None and img.size != (size[1], size[0]):
            img = img.resize((size[1], size[0]), Image.Resampling.NEAREST)
        m = np.asarray(img, dtype=np.int64)
    values = np.unique(m)
    if num_classes == 2 and set(values.tolist()) <= {0, 255}:
        m = m // 255
        values = np.unique(m)
    bad = values[(values < 0) | (values >= num_classes)]
    if bad.size:
        raise ValueError(f"mask {path} has values {bad[:10].tolist()} outside the class range 0..{num_classes - 1} "
                         f"(num_classes={num_classes}); binary masks may be 0/1 or 0/255")
    return m.astype(np.uint8)[..., None]


def load_image_mask_pairs(directory: str | os.PathLike, images: str = "images", masks: str = "masks",
                          num_classes: int = 2, target_size: tuple[int, int] | None = None,
                          color_mode: str = "rgb", mask_suffix: str = "") -> tuple[np.ndarray, np.ndarray]:
    """Every image of ``directory/images`` with its mask from ``directory/masks``, as arrays.

    Returns x (n, height, width, channels) float32 in 0..255 (as `flow_from_directory`; rescale it yourself)
    and y (n, height, width, 1) uint8 class ids. Without `target_size` every image must have the same size.
    Raises a clear error naming the file for an image without a mask, a mask whose size differs from its
    image's, and mask values outside 0..num_classes-1.
    """
    root = Path(directory)
    image_dir, mask_dir = root / images, root / masks
    for folder, what in ((image_dir, "images"), (mask_dir, "masks")):
        if not folder.is_dir():
            raise FileNotFoundError(f"no folder of {what} at {folder} (expected {root}/{images} and {root}/{masks})")
    if num_classes < 2:
        raise ValueError(f"num_classes must be at least 2 (background and one class), got {num_classes}")
    image_files, mask_files = _images_by_stem(image_dir), _images_by_stem(mask_dir, mask_suffix)
    if not image_files:
        raise ValueError(f"no images in {image_dir} (extensions: {', '.join(WHITE_LIST_FORMATS)})")
    missing = [p for stem, p in image_files.items() if stem not in mask_files]
    if missing:
        more = f" and {len(missing) - 1} more" if len(missing) > 1 else ""
        raise FileNotFoundError(f"image {missing[0]} has no mask in {mask_dir} (looked for "
                                f"{missing[0].stem}{mask_suffix}.<png|jpg|...>){more}")
    xs, ys = [], []
    for stem, image_path in image_files.items():
        Image = _pil()
        with Image.open(image_path) as img:
            image_size = img.size
        with Image.open(mask_files[stem]) as img:
            mask_size = img.size
        if image_size != mask_size:
            raise ValueError(f"mask {mask_files[stem]} is {mask_size[0]}x{mask_size[1]} (width x height) but its "
                             f"image {image_path} is {image_size[0]}x{image_size[1]}: they must be the same size")
        xs.append(img_to_array(load_img(image_path, color_mode, target_size, interpolation="bilinear")))
        ys.append(read_mask(mask_files[stem], num_classes, target_size))
    shapes = {x.shape for x in xs}
    if len(shapes) > 1:
        raise ValueError(f"the images of {image_dir} have different sizes {sorted(shapes)}: give target_size")
    return np.stack(xs), np.stack(ys)


def transform_pair(image: np.ndarray, mask: np.ndarray, flip_h: bool, flip_v: bool,
                   turns: int) -> tuple[np.ndarray, np.ndarray]:
    """The same flips and quarter turns applied to one (h, w, c) image and its (h, w, 1) mask."""
    out = []
    for a in (image, mask):
        if flip_h:
            a = a[:, ::-1]
        if flip_v:
            a = a[::-1]
        out.append(np.rot90(a, turns, axes=(0, 1)))
    return out[0], out[1]


class ImageMaskIterator(Iterator):
    """Batches (images, masks) with one random transform per sample applied to both, for `model.fit`.

    `rescale` multiplies the images (e.g. 1/255); `horizontal_flip`, `vertical_flip` and `rot90` (random
    quarter turns, square images only) are drawn per sample from the iterator's seed.
    """

    def __init__(self, x: Any, y: Any, batch_size: int = 32, shuffle: bool = True, seed: int | None = None,
                 horizontal_flip: bool = False, vertical_flip: bool = False, rot90: bool = False,
                 rescale: float | None = None) -> None:
        x, y = np.asarray(x), np.asarray(y)
        if x.ndim != 4 or y.ndim != 4:
            raise ValueError(f"images and masks must be (n, height, width, channels), got {x.shape} and {y.shape}")
        if x.shape[:3] != y.shape[:3]:
            raise ValueError(f"images {x.shape} and masks {y.shape} must have the same number, height and width")
        if rot90 and x.shape[1] != x.shape[2]:
            raise ValueError(f"rot90 needs square images, got {x.shape[1]}x{x.shape[2]}")
        self.x, self.y = x, y
        self.horizontal_flip, self.vertical_flip, self.rot90, self.rescale = \
            horizontal_flip, vertical_flip, rot90, rescale
        super().__init__(len(x), batch_size, shuffle, seed)

    def _get_batches_of_transformed_samples(self, indices: np.ndarray, rng: np.random.Generator) -> Any:
        bx = np.empty((len(indices), *self.x.shape[1:]), np.float32)
        by = np.empty((len(indices), *self.y.shape[1:]), self.y.dtype)
        for j, i in enumerate(indices):
            flip_h = self.horizontal_flip and rng.random() < 0.5
            flip_v = self.vertical_flip and rng.random() < 0.5
            turns = int(rng.integers(4)) if self.rot90 else 0
            bx[j], by[j] = transform_pair(self.x[i], self.y[i], flip_h, flip_v, turns)
        if self.rescale is not None:
            bx *= self.rescale
        return bx, by


def flow_from_directory(directory: str | os.PathLike, images: str = "images", masks: str = "masks",
                        num_classes: int = 2, target_size: tuple[int, int] | None = None, color_mode: str = "rgb",
                        mask_suffix: str = "", batch_size: int = 32, shuffle: bool = True, seed: int | None = None,
                        **augmentation: Any) -> ImageMaskIterator:
    """`load_image_mask_pairs` then `ImageMaskIterator`: image+mask pairs from folders, ready for `fit`.
    The pairs are read into memory once (checked then), and augmented batch by batch."""
    x, y = load_image_mask_pairs(directory, images, masks, num_classes, target_size, color_mode, mask_suffix)
    return ImageMaskIterator(x, y, batch_size=batch_size, shuffle=shuffle, seed=seed, **augmentation)
