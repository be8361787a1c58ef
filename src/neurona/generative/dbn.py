"""Deep belief nets: greedy layer-wise pre-training of stacked RBMs, then a Dense network fine-tuned by fit.

Hinton, Osindero and Teh (2006): train an RBM on the data, then a second RBM on the first one's hidden
probabilities, and so on; each layer learns features of the features below without any label. The stack's
weights then initialise a feed-forward network of sigmoid Dense layers, topped by a softmax classifier, and
backpropagation fine-tunes it all with the labels.

>>> import numpy as np
>>> x = (np.random.default_rng(0).random((50, 8)) > 0.5).astype("float32")
>>> rbms = pretrain(x, (6, 4), epochs=1)
>>> to_dense(rbms, num_classes=3).output_shape
(None, 3)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..layers.rbm import RBM


def pretrain(x: Any, units: Sequence[int], epochs: int = 10, batch_size: int = 10, learning_rate: float = 0.1,
             k: int = 1, persistent: bool = False, shuffle: bool = True, verbose: int = 0) -> list[RBM]:
    """Greedy stacking: one RBM per entry of `units`, each trained on the hidden probabilities of the last."""
    if not units:
        raise ValueError("pretrain() needs at least one layer size in units, e.g. units=(128, 64)")
    rbms: list[RBM] = []
    data = np.asarray(x)
    for i, n in enumerate(units):
        rbm = RBM(n, name=f"rbm_{i + 1}")
        history = rbm.fit(data, epochs=epochs, batch_size=batch_size, learning_rate=learning_rate, k=k,
                          persistent=persistent, shuffle=shuffle)
        rbm.history = history
        if verbose:
            print(f"RBM {i + 1} ({data.shape[1]} -> {n}): reconstruction error "
                  f"{history['reconstruction_error'][0]:.4f} -> {history['reconstruction_error'][-1]:.4f}",
                  flush=True)
        rbms.append(rbm)
        data = rbm.transform(data)
    return rbms


def to_dense(rbms: Sequence[RBM], num_classes: int | None = None, output_activation: str = "softmax") -> Any:
    """A Sequential of sigmoid Dense layers holding the RBMs' weights (and hidden biases), plus a new
    `num_classes`-unit output layer when `num_classes` is given, ready to be compiled and fine-tuned."""
    from ..layers import Dense, Input
    from ..models import Sequential

    if not rbms:
        raise ValueError("to_dense() needs at least one trained RBM")
    for i, rbm in enumerate(rbms):
        if not rbm.built:
            raise ValueError(f"RBM {i} ('{rbm.name}') is not trained yet: pretrain() or rbm.fit(x) first")
    model = Sequential([Input((rbms[0].kernel.shape[0],))], name="dbn")
    for i, rbm in enumerate(rbms):
        dense = Dense(rbm.units, activation="sigmoid", name=f"dbn_dense_{i + 1}")
        model.add(dense)
        dense.set_weights([rbm.kernel.data.copy(), rbm.hidden_bias.data.copy()])
    if num_classes is not None:
        model.add(Dense(num_classes, activation=output_activation, name="dbn_output"))
    return model


def scratch_like(rbms: Sequence[RBM], num_classes: int, output_activation: str = "softmax") -> Any:
    """The same architecture as `to_dense(rbms, num_classes)`, freshly initialised (the baseline)."""
    from ..layers import Dense, Input
    from ..models import Sequential

    model = Sequential([Input((rbms[0].kernel.shape[0],))], name="scratch")
    for rbm in rbms:
        model.add(Dense(rbm.units, activation="sigmoid"))
    model.add(Dense(num_classes, activation=output_activation))
    return model
