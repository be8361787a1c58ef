"""Images from folders: ``flow_from_directory``'s iterator and Keras's ``load_img`` / ``img_to_array`` helpers.

The layout is one sub-folder per class (``train/cats/*.jpg``, ``train/dogs/*.jpg``); images are decoded
with Pillow (``pip install 'neurona[images]'``), resized to ``target_size``, augmented a batch at a time.
Files Pillow cannot open are skipped with a warning that names them, when the folder is scanned, and
an image that fails to decode later is dropped from its batch with a warning, so training never stops
halfway through an epoch.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from .iterators import Iterator

WHITE_LIST_FORMATS = ("png", "jpg", "jpeg", "bmp", "ppm", "tif", "tiff", "gif", "webp")
_COLOR_MODES = {"grayscale": ("L", 1), "rgb": ("RGB", 3), "rgba": ("RGBA", 4)}
_CLASS_MODES = ("categorical", "binary", "sparse", "input", None)


def _pil():
    try:
        from PIL import Image
    except ImportError:
        raise ImportError(
            "reading image files needs Pillow: pip install 'neurona[images]' (or pip install pillow)"
        ) from None
    return Image


def load_img(
    path: str | os.PathLike,
    color_mode: str = "rgb",
    target_size: tuple[int, int] | None = None,
    interpolation: str = "nearest",
    keep_aspect_ratio: bool = False,
) -> Any:
    """Load an image file as a Pillow image in `color_mode`, resized to ``(height, width)`` if given."""
    Image = _pil()
    if color_mode not in _COLOR_MODES:
        raise ValueError(f"color_mode must be one of {sorted(_COLOR_MODES)}, got {color_mode!r}")
    with Image.open(path) as img:
        img = img.convert(_COLOR_MODES[color_mode][0])
    if target_size is not None:
        height, width = target_size
        if img.size != (width, height):
            resample = getattr(Image.Resampling, interpolation.upper(), None)
            if resample is None:
                raise ValueError(
                    f"unknown interpolation {interpolation!r}; use nearest, bilinear, bicubic, lanczos, box or hamming"
                )
            box = None
            if keep_aspect_ratio:  # crop the centre to the target's aspect ratio before resizing
                w, h = img.size
                crop_w, crop_h = min(w, h * width // height), min(h, w * height // width)
                left, top = (w - crop_w) // 2, (h - crop_h) // 2
                box = (left, top, left + crop_w, top + crop_h)
            img = img.resize((width, height), resample, box=box)
    return img


def img_to_array(img: Any, dtype: str = "float32") -> np.ndarray:
    """A Pillow image as an array (height, width, channels)."""
    x = np.asarray(img, dtype=dtype)
    return x[..., None] if x.ndim == 2 else x


def array_to_img(x: Any, scale: bool = True) -> Any:
    """An array (height, width, 1|3|4) as a Pillow image; ``scale`` maps its min..max to 0..255."""
    Image = _pil()
    x = np.asarray(x, dtype=np.float32)
    if x.ndim != 3 or x.shape[-1] not in (1, 3, 4):
        raise ValueError(f"array_to_img expects (height, width, 1, 3 or 4 channels), got shape {x.shape}")
    if scale:
        x = x - x.min()
        x = x * (255.0 / x.max()) if x.max() > 0 else x
    x = np.clip(np.rint(x), 0, 255).astype(np.uint8)
    return Image.fromarray(x[..., 0] if x.shape[-1] == 1 else x)


def _list_images(folder: Path, follow_links: bool) -> list[Path]:
    found = []
    for root, _, files in sorted(os.walk(folder, followlinks=follow_links), key=lambda t: t[0]):
        found += [Path(root) / f for f in sorted(files) if f.lower().rsplit(".", 1)[-1] in WHITE_LIST_FORMATS]
    return found


def _readable(paths: list[Path]) -> tuple[list[Path], list[Path]]:
    """Split files into those whose header Pillow can read and the rest."""
    Image = _pil()
    good, bad = [], []
    for path in paths:
        try:
            with Image.open(path):
                pass
            good.append(path)
        except Exception:  # any Pillow or OS error means "unreadable": the file is reported, never fatal
            bad.append(path)
    return good, bad


class DirectoryIterator(Iterator):
    """Batches of augmented images read from one sub-folder per class (Keras's ``DirectoryIterator``).

    Attributes as in Keras: ``class_indices`` (name → index), ``classes`` (label of each file),
    ``filenames`` (relative to `directory`), ``filepaths``, ``samples``, ``num_classes``, ``image_shape``.
    """

    def __init__(
        self,
        directory: str | os.PathLike,
        image_data_generator: Any,
        target_size: tuple[int, int] = (256, 256),
        color_mode: str = "rgb",
        classes: list[str] | None = None,
        class_mode: str | None = "categorical",
        batch_size: int = 32,
        shuffle: bool = True,
        seed: int | None = None,
        follow_links: bool = False,
        subset: str | None = None,
        interpolation: str = "nearest",
        keep_aspect_ratio: bool = False,
        dtype: str = "float32",
    ) -> None:
        _pil()
        if color_mode not in _COLOR_MODES:
            raise ValueError(f"color_mode must be one of {sorted(_COLOR_MODES)}, got {color_mode!r}")
        if class_mode not in _CLASS_MODES:
            raise ValueError(f"class_mode must be one of {_CLASS_MODES}, got {class_mode!r}")
        if len(tuple(target_size)) != 2 or min(target_size) < 1:
            raise ValueError(f"target_size must be (height, width) in pixels, got {target_size!r}")
        root = Path(directory).expanduser()
        if not root.is_dir():
            raise FileNotFoundError(f"flow_from_directory: {root} is not a directory")
        if classes is None:
            classes = sorted(p.name for p in root.iterdir() if p.is_dir())
            if not classes:
                raise ValueError(
                    f"flow_from_directory: {root} has no sub-folders; it expects one per class, "
                    f"e.g. {root / 'cats'}/*.jpg and {root / 'dogs'}/*.jpg"
                )
        missing = [c for c in classes if not (root / c).is_dir()]
        if missing:
            raise ValueError(f"flow_from_directory: class folders {missing} do not exist in {root}")
        if class_mode == "binary" and len(classes) != 2:
            raise ValueError(f"class_mode='binary' needs exactly 2 class folders, found {len(classes)}: {classes}")
        gen = image_data_generator
        bounds = (0.0, 1.0)
        if subset is not None:
            if subset not in ("training", "validation"):
                raise ValueError(f'subset must be "training" or "validation", got {subset!r}')
            if not gen._validation_split:
                raise ValueError("subset= needs an ImageDataGenerator created with validation_split > 0")
            split = gen._validation_split
            bounds = (0.0, split) if subset == "validation" else (split, 1.0)  # Keras: per class, first part
        self.class_indices = {name: i for i, name in enumerate(classes)}
        paths, labels, empty, unreadable = [], [], [], []
        for name in classes:
            files = _list_images(root / name, follow_links)
            if not files:
                empty.append(name)
            start, stop = int(bounds[0] * len(files)), int(bounds[1] * len(files))
            good, bad = _readable(files[start:stop])
            unreadable += bad
            paths += good
            labels += [self.class_indices[name]] * len(good)
        if empty:
            warnings.warn(f"flow_from_directory: class folders with no images in {root}: {empty}", stacklevel=3)
        if unreadable:
            shown = ", ".join(str(p) for p in unreadable[:10]) + (" ..." if len(unreadable) > 10 else "")
            warnings.warn(
                f"flow_from_directory: skipped {len(unreadable)} unreadable image file(s): {shown}", stacklevel=3
            )
        if not paths:
            raise ValueError(
                f"flow_from_directory: found no readable images ({', '.join(WHITE_LIST_FORMATS)}) in the class "
                f"folders of {root}"
            )
        self.directory = str(root)
        self.filepaths = [str(p) for p in paths]
        self.filenames = [os.path.relpath(p, root) for p in paths]
        self.classes = np.asarray(labels, dtype=np.int32)
        self.samples = len(paths)
        self.num_classes = len(classes)
        self.target_size = tuple(int(t) for t in target_size)
        self.color_mode, self.class_mode = color_mode, class_mode
        self.interpolation, self.keep_aspect_ratio = interpolation, keep_aspect_ratio
        self.image_shape = (*self.target_size, _COLOR_MODES[color_mode][1])
        self.image_data_generator = gen
        self.dtype = np.dtype(dtype)
        self._failed: set[int] = set()
        print(f"Found {self.samples} images belonging to {self.num_classes} classes.")
        super().__init__(self.samples, batch_size, shuffle, seed)

    @property
    def labels(self) -> np.ndarray:
        return self.classes

    def _load(self, indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        images, kept = [], []
        for i in indices:  # decoding is per file by nature; everything after it is whole-batch
            if i in self._failed:
                continue
            try:
                img = load_img(self.filepaths[i], self.color_mode, self.target_size, self.interpolation,
                               self.keep_aspect_ratio)
            except Exception as exc:  # a corrupt file must not stop training: drop it, say which
                self._failed.add(int(i))
                warnings.warn(f"skipping unreadable image {self.filepaths[i]}: {exc}", stacklevel=4)
                continue
            images.append(img_to_array(img, "uint8"))
            kept.append(i)
        if not images:
            names = [self.filepaths[i] for i in indices]
            raise ValueError(f"none of the images of this batch could be decoded: {names}")
        return np.stack(images), np.asarray(kept)

    def _get_batches_of_transformed_samples(self, indices: np.ndarray, rng: np.random.Generator) -> Any:
        gen = self.image_data_generator
        x, indices = self._load(indices)
        batch = gen._from_channels_last(gen.standardize(gen._augment_batch(x, rng))).astype(self.dtype, copy=False)
        if self.class_mode is None:
            return batch
        if self.class_mode == "input":
            return batch, batch.copy()
        labels = self.classes[indices]
        if self.class_mode == "categorical":
            y = np.zeros((len(labels), self.num_classes), dtype=self.dtype)
            y[np.arange(len(labels)), labels] = 1
            return batch, y
        return batch, labels.astype(self.dtype)  # "binary" and "sparse", as Keras (float labels)
