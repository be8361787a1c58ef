"""CIFAR-10: 60,000 32x32 colour images in 10 classes (50,000 for training, 10,000 for test).

``load_data()`` returns Keras's arrays exactly: ``x`` uint8 (n, 32, 32, 3) channels last, values 0-255,
and ``y`` uint8 (n, 1). neurona reads CIFAR's *binary version* (``cifar-10-binary.tar.gz``, 163 MB),
never the python version, whose batches are pickles that could run code. The archive is looked for in
the cache (``$NEURONA_HOME/datasets``, default ``~/.neurona/datasets``; an unpacked
``cifar-10-batches-bin/`` folder there also works) and downloaded from the CIFAR homepage with its
SHA-256 checked when absent.
"""

from __future__ import annotations

import os

from ._cifar_format import Split, load_split, locate

URL = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"
ARCHIVE = "cifar-10-binary.tar.gz"
FOLDER = "cifar-10-batches-bin"
SHA256 = "c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd"  # TensorFlow Datasets' checksum
CLASS_NAMES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


def load_data(path: str | os.PathLike | None = None) -> Split:
    """Load CIFAR-10 as ``(x_train, y_train), (x_test, y_test)``, downloading it once if needed.

    ``path`` (not in Keras) reads ``cifar-10-binary.tar.gz`` or its unpacked folder of ``.bin`` files.
    """
    source = locate(path, ARCHIVE, FOLDER, URL, SHA256)
    train = [f"data_batch_{i}.bin" for i in range(1, 6)]
    return load_split(source, FOLDER, train, ["test_batch.bin"], n_labels=1, label_index=0, n_classes=10)
