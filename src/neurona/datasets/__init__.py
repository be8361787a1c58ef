"""Datasets: Keras's loaders (mnist, fashion_mnist, cifar10, cifar100), embedded data and lab generators.

``mnist.load_data()`` and friends read the standard files from the cache (``$NEURONA_HOME/datasets``,
default ``~/.neurona/datasets``) and download them once, checking SHA-256, only when called.
``wine`` and ``digits`` are embedded and need no network; ``synthetic`` generates the labs' data;
``ratings`` reads ratings files (CSV, MovieLens) for the recommenders.
"""

from . import cifar10, cifar100, digits, fashion_mnist, mnist, ratings, synthetic, wine
from ._files import DatasetError, data_home

__all__ = ["DatasetError", "cifar10", "cifar100", "data_home", "digits", "fashion_mnist", "mnist", "ratings",
           "synthetic", "wine"]
