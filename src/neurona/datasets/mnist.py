"""MNIST handwritten digits: 60,000 training and 10,000 test images, 28x28 grayscale, labels 0-9.

``load_data()`` returns Keras's arrays exactly: ``x`` uint8 of shape (n, 28, 28) with values 0-255 and
``y`` uint8 of shape (n,). It reads, in order: the file or folder given as ``path``; ``mnist.npz`` in the
cache (``$NEURONA_HOME/datasets``, default ``~/.neurona/datasets``, or Keras's ``~/.keras/datasets``);
the four original IDX files in the cache folder ``mnist/``; and otherwise downloads ``mnist.npz``
(11 MB) from Keras's mirror, checking its SHA-256.

License: Yann LeCun and Corinna Cortes hold the copyright of MNIST, a derivative of NIST's data,
available under CC BY-SA 3.0.
"""

from __future__ import annotations

import os
from pathlib import Path

from ._files import KERAS_MIRROR, data_home, fetch
from ._mnist_format import Split, has_idx_files, read_idx_folder, read_mnist_npz, read_user_path

URL = KERAS_MIRROR + "mnist.npz"
SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"  # from Keras's mnist.py


def load_data(path: str | os.PathLike = "mnist.npz") -> Split:
    """Load MNIST as ``(x_train, y_train), (x_test, y_test)``, downloading it once if needed.

    ``path`` is a file name inside the cache (Keras's meaning) or a path to a Keras-format ``.npz``
    file or to a folder holding ``train-images-idx3-ubyte.gz`` and the three other IDX files.
    """
    given = Path(path).expanduser()
    if given.exists() or len(given.parts) > 1:
        return read_user_path(given)
    cached = data_home() / given
    if cached.is_file():
        return read_mnist_npz(cached)
    if has_idx_files(data_home() / "mnist"):
        return read_idx_folder(data_home() / "mnist")
    return read_mnist_npz(fetch(str(given), URL, SHA256))
