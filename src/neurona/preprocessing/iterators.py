"""Batch iterators behind ``ImageDataGenerator.flow`` (and ``flow_from_directory``): Keras's contract.

An iterator is infinite: ``next(it)`` returns batch after batch, reshuffling at each new epoch, and
``len(it)`` is the number of batches per epoch (the last one may be smaller), which is what ``fit``
uses as ``steps_per_epoch``. ``it[i]`` returns batch ``i`` of the current epoch (``on_epoch_end()``
moves to the next). Randomness is derived from ``(seed, epoch, batch)``, so the stream of batches is
the same for the same seed however it is consumed; without a seed, one is drawn from neurona's
generator (repeatable after ``neurona.utils.set_random_seed``).
"""

from __future__ import annotations

import threading
import warnings
from typing import Any

import numpy as np

from ..random import get_rng


class Iterator:
    """Base class: index bookkeeping, shuffling and seeding; subclasses build the batches."""

    def __init__(self, n: int, batch_size: int, shuffle: bool, seed: int | None) -> None:
        if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        self.n = int(n)
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.seed = int(get_rng().integers(2**63)) if seed is None else int(seed)
        self.epoch = 0
        self.batch_index = 0
        self.total_batches_seen = 0
        self.lock = threading.Lock()
        self._cached_order: tuple[int, np.ndarray] = (-1, np.arange(0))

    def __len__(self) -> int:
        return -(-self.n // self.batch_size)  # ceil: the last batch holds the remainder

    def _epoch_order(self, epoch: int) -> np.ndarray:
        if not self.shuffle:
            return np.arange(self.n)
        return np.random.default_rng([self.seed, epoch]).permutation(self.n)

    def _batch(self, epoch: int, index: int) -> Any:
        cached_epoch, order = self._cached_order  # one tuple, so threads never see a mismatched pair
        if cached_epoch != epoch:
            order = self._epoch_order(epoch)
            self._cached_order = (epoch, order)
        indices = order[index * self.batch_size : (index + 1) * self.batch_size]
        rng = np.random.default_rng([self.seed, epoch, index, 1])
        return self._get_batches_of_transformed_samples(indices, rng)

    def __getitem__(self, index: int) -> Any:
        if not 0 <= index < len(self):
            raise IndexError(f"batch {index} out of range: this iterator has {len(self)} batches per epoch")
        return self._batch(self.epoch, index)

    def on_epoch_end(self) -> None:
        """Move ``it[i]`` on to the next epoch (a new shuffle, new random transforms)."""
        self.epoch += 1

    def reset(self) -> None:
        """Start again at the first batch of epoch 0."""
        with self.lock:
            self.epoch, self.batch_index = 0, 0

    def __iter__(self) -> Iterator:
        return self

    def __next__(self) -> Any:
        with self.lock:  # only the bookkeeping is locked; the batch is built outside, in parallel if threaded
            epoch, index = self.epoch, self.batch_index
            self.batch_index += 1
            if self.batch_index >= len(self):
                self.batch_index = 0
                self.epoch += 1
            self.total_batches_seen += 1
        return self._batch(epoch, index)

    def _get_batches_of_transformed_samples(self, indices: np.ndarray, rng: np.random.Generator) -> Any:
        raise NotImplementedError


def check_images(x: Any, where: str) -> np.ndarray:
    """A rank-4 numeric array of images, with an error that says how to fix the common rank-3 mistake."""
    x = np.asarray(x)
    if x.dtype.kind not in "fiub":
        raise TypeError(f"{where}: images must be a numeric array, got dtype {x.dtype}")
    if x.ndim != 4:
        hint = ""
        if x.ndim == 3:
            hint = f"; for grayscale images add a channel axis: x.reshape({(-1, *x.shape[1:], 1)}) or x[..., None]"
        raise ValueError(
            f"{where} expects images of rank 4 (samples, height, width, channels), got shape {x.shape}{hint}"
        )
    if x.shape[-1] not in (1, 3, 4):
        warnings.warn(
            f"{where}: images have {x.shape[-1]} channels on the last axis (shape {x.shape}); expected 1, 3 or 4 "
            f"with data_format='channels_last'", stacklevel=3,
        )
    return x


class NumpyArrayIterator(Iterator):
    """Batches of randomly transformed images (and their labels) from arrays in memory."""

    def __init__(
        self,
        x: Any,
        y: Any,
        image_data_generator: Any,
        batch_size: int = 32,
        shuffle: bool = False,
        sample_weight: Any = None,
        seed: int | None = None,
        subset: str | None = None,
        ignore_class_split: bool = False,
        dtype: str = "float32",
    ) -> None:
        gen = image_data_generator
        x = check_images(gen._to_channels_last(np.asarray(x)), "ImageDataGenerator.flow")
        y = None if y is None else np.asarray(y)
        sample_weight = None if sample_weight is None else np.asarray(sample_weight)
        for name, arr in (("y", y), ("sample_weight", sample_weight)):
            if arr is not None and (arr.ndim == 0 or len(arr) != len(x)):
                raise ValueError(
                    f"ImageDataGenerator.flow: x has {len(x)} images but {name} has shape {arr.shape}; "
                    f"they must have the same length"
                )
        if subset is not None:
            if subset not in ("training", "validation"):
                raise ValueError(f'subset must be "training" or "validation", got {subset!r}')
            if not gen._validation_split:
                raise ValueError("subset= needs an ImageDataGenerator created with validation_split > 0")
            split = int(len(x) * gen._validation_split)  # Keras: the first part is the validation subset
            same_classes = y is None or np.array_equal(np.unique(y[:split]), np.unique(y[split:]))
            if not ignore_class_split and not same_classes:
                raise ValueError(
                    "the training and validation subsets hold different classes after the split (the first "
                    f"{split} samples are the validation subset); shuffle x and y before flow(), or pass "
                    "ignore_class_split=True"
                )
            part = slice(None, split) if subset == "validation" else slice(split, None)
            x = x[part]
            y = None if y is None else y[part]
            sample_weight = None if sample_weight is None else sample_weight[part]
        self.x, self.y, self.sample_weight = x, y, sample_weight
        self.image_data_generator = gen
        self.dtype = np.dtype(dtype)
        super().__init__(len(x), batch_size, shuffle, seed)

    def _get_batches_of_transformed_samples(self, indices: np.ndarray, rng: np.random.Generator) -> Any:
        gen = self.image_data_generator
        batch = gen._augment_batch(self.x[indices], rng)
        batch = gen._from_channels_last(gen.standardize(batch)).astype(self.dtype, copy=False)
        if self.y is None:
            return batch
        if self.sample_weight is None:
            return batch, self.y[indices]
        return batch, self.y[indices], self.sample_weight[indices]
