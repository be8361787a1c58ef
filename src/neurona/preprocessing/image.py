"""``ImageDataGenerator``: Keras's data augmentation, with the random transforms done a whole batch at a time.

The slides' generator runs unchanged::

    train_datagen = ImageDataGenerator(rescale=1./255, rotation_range=40, width_shift_range=0.2,
                                       height_shift_range=0.2, shear_range=0.2, zoom_range=0.2,
                                       horizontal_flip=True, fill_mode='nearest')
    model.fit(train_datagen.flow(x_train, y_train, batch_size=32), epochs=10)

Per batch, every image's parameters are drawn at once and turned into one inverse matrix each, and the
batch is resampled with one gather (``transforms.apply_affine``): bilinear interpolation, as Keras's
scipy ``order=1``. Transforms run on the raw pixels, then ``standardize`` applies, in Keras's order,
``preprocessing_function``, ``rescale``, the sample-wise and the feature-wise normalisations.

One deliberate difference: Keras's ``height_shift_range`` moves images sideways and ``width_shift_range``
up and down (a long-standing mix-up in its parameter drawing); here height shifts rows and width shifts
columns, as the names say.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from ..random import get_rng
from .directory import DirectoryIterator, array_to_img, img_to_array, load_img
from .iterators import Iterator, NumpyArrayIterator, check_images
from .transforms import FILL_MODES, affine_matrices, apply_affine

__all__ = [
    "DirectoryIterator", "ImageDataGenerator", "Iterator", "NumpyArrayIterator", "apply_affine_transform",
    "array_to_img", "img_to_array", "load_img",
]


def _range_pair(value: Any, name: str, around: float) -> tuple[float, float] | None:
    """A float r means [around - r, around + r]; a pair is taken as is; 0/None means off."""
    if value is None or (np.isscalar(value) and value == 0):
        return None
    if np.isscalar(value):
        if value < 0:
            raise ValueError(f"{name} must be non-negative, got {value}")
        return around - float(value), around + float(value)
    pair = tuple(float(v) for v in value)
    if len(pair) != 2 or pair[0] > pair[1]:
        raise ValueError(f"{name} must be a number or a (low, high) pair, got {value!r}")
    return pair


class ImageDataGenerator:
    """Generate batches of images with real-time data augmentation (Keras's arguments and meaning).

    Shifts are fractions of the image size when below 1, pixels otherwise (an int ``r``: whole pixels in
    ``(-r, r)``; a list: one of its values with a random sign). ``rotation_range`` and ``shear_range`` are
    degrees; ``zoom_range`` ``z`` zooms by a factor in ``[1 - z, 1 + z]`` (each axis on its own);
    ``brightness_range`` multiplies the pixels by a factor drawn from it (clipped to 0..255, the pixels as
    loaded); ``fill_mode`` is one of ``"nearest"``, ``"constant"`` (with ``cval``), ``"reflect"``, ``"wrap"``.
    """

    def __init__(
        self,
        featurewise_center: bool = False,
        samplewise_center: bool = False,
        featurewise_std_normalization: bool = False,
        samplewise_std_normalization: bool = False,
        rotation_range: float = 0,
        width_shift_range: Any = 0.0,
        height_shift_range: Any = 0.0,
        brightness_range: tuple[float, float] | None = None,
        shear_range: float = 0.0,
        zoom_range: Any = 0.0,
        channel_shift_range: float = 0.0,
        fill_mode: str = "nearest",
        cval: float = 0.0,
        horizontal_flip: bool = False,
        vertical_flip: bool = False,
        rescale: float | None = None,
        preprocessing_function: Callable[[np.ndarray], np.ndarray] | None = None,
        data_format: str = "channels_last",
        validation_split: float = 0.0,
        interpolation_order: int = 1,
        dtype: str = "float32",
    ) -> None:
        if fill_mode not in FILL_MODES:
            raise ValueError(f"fill_mode must be one of {FILL_MODES}, got {fill_mode!r}")
        if data_format not in ("channels_last", "channels_first"):
            raise ValueError(f'data_format must be "channels_last" or "channels_first", got {data_format!r}')
        if not 0 <= validation_split < 1:
            raise ValueError(f"validation_split must be in [0, 1), got {validation_split}")
        if interpolation_order not in (0, 1):
            raise ValueError(f"interpolation_order must be 0 (nearest) or 1 (bilinear), got {interpolation_order}")
        for name, value in (("rotation_range", rotation_range), ("shear_range", shear_range),
                            ("channel_shift_range", channel_shift_range), ("width_shift_range", width_shift_range),
                            ("height_shift_range", height_shift_range)):
            if np.any(np.asarray(value, dtype=np.float64) < 0) and np.ndim(value) == 0:
                raise ValueError(f"{name} must be non-negative, got {value}")
        if brightness_range is not None and (np.ndim(brightness_range) != 1 or len(brightness_range) != 2):
            raise ValueError(f"brightness_range must be a (low, high) pair, got {brightness_range!r}")
        self.featurewise_center = featurewise_center or featurewise_std_normalization
        self.samplewise_center = samplewise_center or samplewise_std_normalization
        self.featurewise_std_normalization = featurewise_std_normalization
        self.samplewise_std_normalization = samplewise_std_normalization
        self.rotation_range = float(rotation_range)
        self.width_shift_range = width_shift_range
        self.height_shift_range = height_shift_range
        self.shear_range = float(shear_range)
        self.zoom_range = _range_pair(zoom_range, "zoom_range", 1.0) or (1.0, 1.0)
        self.channel_shift_range = float(channel_shift_range)
        self.brightness_range = None if brightness_range is None else tuple(map(float, brightness_range))
        self.fill_mode = fill_mode
        self.cval = float(cval)
        self.horizontal_flip = horizontal_flip
        self.vertical_flip = vertical_flip
        self.rescale = rescale
        self.preprocessing_function = preprocessing_function
        self.data_format = data_format
        self._validation_split = float(validation_split)
        self.interpolation_order = interpolation_order
        self.dtype = dtype
        self.mean: np.ndarray | None = None
        self.std: np.ndarray | None = None

    # ------------------------------------------------------------------ layout
    def _to_channels_last(self, x: np.ndarray) -> np.ndarray:
        return np.moveaxis(x, -3, -1) if self.data_format == "channels_first" and x.ndim >= 3 else x

    def _from_channels_last(self, x: np.ndarray) -> np.ndarray:
        return np.moveaxis(x, -1, -3) if self.data_format == "channels_first" and x.ndim >= 3 else x

    # ------------------------------------------------------------------ random parameters
    @staticmethod
    def _shift(spec: Any, size: int, n: int, rng: np.random.Generator) -> np.ndarray:
        if np.isscalar(spec) and not spec:
            return np.zeros(n)
        if isinstance(spec, (int, np.integer)) and not isinstance(spec, bool):
            return rng.integers(-spec + 1, spec, size=n).astype(np.float64)  # whole pixels in (-r, r)
        if np.isscalar(spec):
            shift = rng.uniform(-spec, spec, size=n)
        else:  # a list of allowed values, each with a random sign
            shift = rng.choice(np.asarray(spec, np.float64), size=n) * rng.choice([-1.0, 1.0], size=n)
        return shift * size if np.max(np.abs(spec)) < 1 else shift

    def _draw(self, n: int, height: int, width: int, channels: int, rng: np.random.Generator) -> dict:
        """Parameters for `n` images, as arrays; the draw order is fixed so a seed fixes everything."""
        r = self.rotation_range
        p = {
            "theta": rng.uniform(-r, r, size=n) if r else np.zeros(n),
            "tx": self._shift(self.width_shift_range, width, n, rng),
            "ty": self._shift(self.height_shift_range, height, n, rng),
            "shear": rng.uniform(-self.shear_range, self.shear_range, size=n) if self.shear_range else np.zeros(n),
        }
        if self.zoom_range == (1.0, 1.0):
            p["zx"] = p["zy"] = np.ones(n)
        else:
            p["zx"], p["zy"] = rng.uniform(*self.zoom_range, size=(2, n))
        p["flip_horizontal"] = (rng.random(n) < 0.5) & self.horizontal_flip
        p["flip_vertical"] = (rng.random(n) < 0.5) & self.vertical_flip
        if self.channel_shift_range:
            r = self.channel_shift_range
            p["channel_shift_intensity"] = rng.uniform(-r, r, size=n)
        if self.brightness_range is not None:
            p["brightness"] = rng.uniform(*self.brightness_range, size=n)
        return p

    # ------------------------------------------------------------------ applying them
    def _apply_batch(self, x: np.ndarray, p: dict) -> np.ndarray:
        """Transform a channels-last batch with per-image parameter arrays; returns float32."""
        n, h, w, _ = x.shape
        keys = ("theta", "tx", "ty", "shear", "zx", "zy", "flip_horizontal", "flip_vertical")
        defaults = (0.0, 0.0, 0.0, 0.0, 1.0, 1.0, False, False)
        args = {k: np.broadcast_to(np.asarray(p.get(k, d)), (n,)) for k, d in zip(keys, defaults)}
        out = apply_affine(x, affine_matrices(h, w, **args), self.fill_mode, self.cval, self.interpolation_order)
        shift = p.get("channel_shift_intensity")
        if shift is not None:  # Keras: add, then clip to the image's own range
            lo, hi = out.min(axis=(1, 2, 3), keepdims=True), out.max(axis=(1, 2, 3), keepdims=True)
            out = np.clip(out + np.reshape(shift, (-1, 1, 1, 1)).astype(np.float32), lo, hi)
        brightness = p.get("brightness")
        if brightness is not None:
            out = np.clip(out * np.reshape(brightness, (-1, 1, 1, 1)).astype(np.float32), 0, 255)
        return out

    def _augment_batch(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        n, h, w, c = x.shape
        return self._apply_batch(x, self._draw(n, h, w, c, rng))

    def get_random_transform(self, img_shape: tuple[int, ...], seed: int | None = None) -> dict:
        """Random parameters for one image of shape `img_shape` (Keras's dictionary of floats/bools)."""
        h, w, c = self._to_channels_last(np.empty(img_shape, dtype=np.uint8)).shape
        rng = np.random.default_rng(seed) if seed is not None else np.random.default_rng(_fresh_seed())
        return {k: v[0].item() for k, v in self._draw(1, h, w, c, rng).items()}

    def apply_transform(self, x: np.ndarray, transform_parameters: dict) -> np.ndarray:
        """Apply Keras-style parameters (``theta``, ``tx``, ``ty``, ``shear``, ``zx``, ``zy``, flips,
        ``channel_shift_intensity``, ``brightness``) to one image; ``tx`` moves columns, ``ty`` rows."""
        x = np.asarray(x)
        if x.ndim != 3:
            raise ValueError(f"apply_transform expects one image of rank 3, got shape {x.shape}")
        batch = self._to_channels_last(x)[None]
        params = {k: np.array([v]) for k, v in transform_parameters.items() if v is not None}
        return self._from_channels_last(self._apply_batch(batch, params)[0])

    def random_transform(self, x: np.ndarray, seed: int | None = None) -> np.ndarray:
        """One randomly transformed copy of the single image `x`."""
        return self.apply_transform(x, self.get_random_transform(np.shape(x), seed))

    # ------------------------------------------------------------------ normalisation
    def standardize(self, x: np.ndarray) -> np.ndarray:
        """Apply ``preprocessing_function``, ``rescale`` and the normalisations to a batch (or one image).

        A float32 `x` is modified in place, as in Keras (pass a copy to keep it).
        """
        x = np.array(x, dtype=np.float32) if np.asarray(x).dtype != np.float32 else x
        if self.preprocessing_function is not None:
            # Keras's contract: the function gets one image (rank 3) and returns one of the same shape.
            if x.ndim == 4:
                x = np.stack([self.preprocessing_function(img) for img in x]).astype(np.float32, copy=False)
            else:
                x = np.asarray(self.preprocessing_function(x), np.float32)
        if self.rescale:
            x *= np.float32(self.rescale)
        axes = tuple(range(x.ndim - 3, x.ndim))  # the axes of one image
        if self.samplewise_center:
            x -= x.mean(axis=axes, keepdims=True)
        if self.samplewise_std_normalization:
            x /= x.std(axis=axes, keepdims=True) + 1e-6
        if self.featurewise_center:
            if self.mean is None:
                warnings.warn("featurewise_center is set but fit(x) was never called: no centring done", stacklevel=2)
            else:
                x -= self.mean
        if self.featurewise_std_normalization and self.std is not None:
            x /= self.std + 1e-6  # the 1e-6 (Keras's) keeps constant channels finite
        return x

    def fit(self, x: Any, augment: bool = False, rounds: int = 1, seed: int | None = None) -> None:
        """Learn the per-channel mean/std for ``featurewise_*`` from training images (after ``rescale``)."""
        x = self._to_channels_last(check_images(x, "ImageDataGenerator.fit"))
        x = x.astype(np.float32)
        if self.rescale:
            x *= np.float32(self.rescale)
        if augment:
            rng = np.random.default_rng(seed if seed is not None else _fresh_seed())
            x = np.concatenate([self._augment_batch(x, rng) for _ in range(rounds)])
        self.mean = x.mean(axis=(0, 1, 2)).reshape(1, 1, -1)
        self.std = x.std(axis=(0, 1, 2)).reshape(1, 1, -1)

    # ------------------------------------------------------------------ iterators
    def flow(
        self,
        x: Any,
        y: Any = None,
        batch_size: int = 32,
        shuffle: bool = True,
        sample_weight: Any = None,
        seed: int | None = None,
        subset: str | None = None,
        ignore_class_split: bool = False,
    ) -> NumpyArrayIterator:
        """An endless iterator of augmented ``(x_batch, y_batch)`` (``len()`` = batches per epoch)."""
        return NumpyArrayIterator(
            x, y, self, batch_size=batch_size, shuffle=shuffle, sample_weight=sample_weight, seed=seed,
            subset=subset, ignore_class_split=ignore_class_split, dtype=self.dtype,
        )

    def flow_from_directory(
        self,
        directory: str,
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
    ) -> DirectoryIterator:
        """An endless iterator over images in one sub-folder per class, decoded with Pillow."""
        return DirectoryIterator(
            directory, self, target_size=target_size, color_mode=color_mode, classes=classes,
            class_mode=class_mode, batch_size=batch_size, shuffle=shuffle, seed=seed, follow_links=follow_links,
            subset=subset, interpolation=interpolation, keep_aspect_ratio=keep_aspect_ratio, dtype=self.dtype,
        )


def _fresh_seed() -> int:
    return int(get_rng().integers(2**63))


def apply_affine_transform(
    x: np.ndarray, theta: float = 0, tx: float = 0, ty: float = 0, shear: float = 0, zx: float = 1, zy: float = 1,
    fill_mode: str = "nearest", cval: float = 0.0, order: int = 1,
) -> np.ndarray:
    """Affine transform of one channels-last image (h, w, c); ``tx`` shifts columns, ``ty`` rows (Keras's)."""
    x = np.asarray(x)
    if x.ndim != 3:
        raise ValueError(f"apply_affine_transform expects one image (height, width, channels), got shape {x.shape}")
    m = affine_matrices(x.shape[0], x.shape[1], theta, tx, ty, shear, zx, zy)
    return apply_affine(x[None], m, fill_mode, cval, order)[0]
