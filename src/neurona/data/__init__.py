"""Input pipelines: ``neurona.data.Dataset`` (``from_tensor_slices``, ``shuffle``, ``batch``, ``map``, ``prefetch``)."""

from .dataset import INFINITE, UNKNOWN, Dataset

AUTOTUNE = -1  # tf.data's constant: prefetch(AUTOTUNE) prefetches one element ahead

__all__ = ["AUTOTUNE", "Dataset", "INFINITE", "UNKNOWN"]
