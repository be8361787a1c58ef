"""Fashion-MNIST: 70,000 28x28 grayscale images of 10 kinds of clothing, a drop-in replacement for MNIST.

``load_data()`` returns Keras's arrays exactly: ``x`` uint8 (n, 28, 28), ``y`` uint8 (n,), 60,000 for
training and 10,000 for test. The four IDX files live in the cache folder ``fashion-mnist/``
(``$NEURONA_HOME/datasets``, default ``~/.neurona/datasets``, or Keras's ``~/.keras/datasets``) and are
downloaded from Keras's mirror with their SHA-256 checked when absent.

License: copyright Zalando SE, MIT license.
"""

from __future__ import annotations

import os

from ._files import KERAS_MIRROR, fetch
from ._mnist_format import IDX_FILES, Split, read_idx_files, read_user_path

CLASS_NAMES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)
SUBDIR = "fashion-mnist"
# SHA-256 of each archive, as published in Keras's fashion_mnist.py (and TensorFlow Datasets' checksums).
SHA256 = {
    "train-labels-idx1-ubyte.gz": "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
    "train-images-idx3-ubyte.gz": "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
    "t10k-labels-idx1-ubyte.gz": "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
    "t10k-images-idx3-ubyte.gz": "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
}


def load_data(path: str | os.PathLike | None = None) -> Split:
    """Load Fashion-MNIST as ``(x_train, y_train), (x_test, y_test)``, downloading it once if needed.

    ``path`` (not in Keras) reads a Keras-format ``.npz`` file or a folder with the four IDX files instead.
    """
    if path is not None:
        return read_user_path(path)
    files = {}
    for key, stem in IDX_FILES.items():
        fname = stem + ".gz"
        files[key] = fetch(fname, KERAS_MIRROR + fname, SHA256[fname], subdir=SUBDIR)
    return read_idx_files(files, files["x_train"].parent)
