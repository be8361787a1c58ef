"""CIFAR-100: 60,000 32x32 colour images in 100 fine classes grouped into 20 coarse superclasses.

``load_data(label_mode="fine")`` returns Keras's arrays exactly: ``x`` uint8 (n, 32, 32, 3) channels last
and ``y`` uint8 (n, 1), 50,000 for training and 10,000 for test. neurona reads CIFAR's *binary version*
(``cifar-100-binary.tar.gz``, 161 MB; each record is a coarse label byte, a fine label byte and 3072
pixel bytes), never the pickled python version. The archive is looked for in the cache
(``$NEURONA_HOME/datasets``, default ``~/.neurona/datasets``; an unpacked ``cifar-100-binary/`` folder
there also works) and downloaded from the CIFAR homepage with its SHA-256 checked when absent.
"""

from __future__ import annotations

import os

from ._cifar_format import Split, load_split, locate

URL = "https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz"
ARCHIVE = "cifar-100-binary.tar.gz"
FOLDER = "cifar-100-binary"
SHA256 = "58a81ae192c23a4be8b1804d68e518ed807d710a4eb253b1f2a199162a40d8ec"  # TensorFlow Datasets' checksum


def load_data(label_mode: str = "fine", path: str | os.PathLike | None = None) -> Split:
    """Load CIFAR-100 as ``(x_train, y_train), (x_test, y_test)`` with fine (0-99) or coarse (0-19) labels.

    ``path`` (not in Keras) reads ``cifar-100-binary.tar.gz`` or its unpacked folder of ``.bin`` files.
    """
    if label_mode not in ("fine", "coarse"):
        raise ValueError(f'label_mode must be "fine" or "coarse", got {label_mode!r}')
    source = locate(path, ARCHIVE, FOLDER, URL, SHA256)
    index, n_classes = (1, 100) if label_mode == "fine" else (0, 20)
    return load_split(source, FOLDER, ["train.bin"], ["test.bin"], n_labels=2, label_index=index, n_classes=n_classes)
