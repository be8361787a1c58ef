"""`timeseries_dataset_from_array`: sliding windows over a series as a Dataset of batches, Keras's rule.

Window `k` starts at `start_index + p_k` (p_k = 0, stride, 2*stride, ...) and takes `sequence_length` rows
`sampling_rate` apart; its target is `targets[start_index + p_k]`. Windows are gathered per batch, so a long
series is never copied window by window.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .dataset import Dataset


def timeseries_dataset_from_array(data: Any, targets: Any, sequence_length: int, sequence_stride: int = 1,
                                  sampling_rate: int = 1, batch_size: int | None = 128, shuffle: bool = False,
                                  seed: int | None = None, start_index: int | None = None,
                                  end_index: int | None = None) -> Dataset:
    """Batches `(windows, targets)` (or `windows` when `targets` is None) of shape (batch, sequence_length, ...)."""
    data = np.asarray(data)
    n = len(data)
    for label, v in (("sequence_length", sequence_length), ("sequence_stride", sequence_stride),
                     ("sampling_rate", sampling_rate)):
        if not isinstance(v, (int, np.integer)) or v <= 0:
            raise ValueError(f"timeseries_dataset_from_array: {label} must be a positive integer, got {v!r}")
    start = start_index or 0
    end = n if end_index is None else end_index
    if not 0 <= start < n or not start < end <= n:
        raise ValueError(f"timeseries_dataset_from_array: need 0 <= start_index < end_index <= {n} (len(data)), "
                         f"got start_index={start_index}, end_index={end_index}")
    num = end - start - (sequence_length - 1) * sampling_rate
    if targets is not None:
        targets = np.asarray(targets)
        num = min(num, len(targets))
    positions = np.arange(0, max(num, 0), sequence_stride)
    if shuffle:
        np.random.RandomState(seed if seed is not None else np.random.randint(10**6)).shuffle(positions)
    offsets = np.arange(sequence_length) * sampling_rate

    def windows(pos: np.ndarray) -> Any:
        x = data[start + pos[:, None] + offsets[None, :]]
        return x if targets is None else (x, targets[start + pos])

    if batch_size is None:
        return Dataset.from_tensor_slices(positions).map(lambda p: windows(np.asarray([p]))).map(_unbatch)
    return Dataset.from_tensor_slices(positions).batch(int(batch_size)).map(windows)


def _unbatch(element: Any) -> Any:
    return tuple(e[0] for e in element) if isinstance(element, tuple) else element[0]
