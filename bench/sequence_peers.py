"""The suite's sequence workloads (#13, #18): layer kinds for the LSTM and small-transformer rows, built for each
peer, with their shapes, parameter counts and FLOPs, and the LSTM row's hand-written floor.

Layer kinds: ("lstm", units) -> the last step's h; ("transformer", heads, intermediate) -> an encoder block
(self-attention + feed-forward, post-norm, as KerasHub / torch's TransformerEncoderLayer); ("gap1d",) -> the
mean over steps. `bench.peers` dispatches these kinds here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

SEQUENCE_KINDS = ("lstm", "transformer", "gap1d")


def sequence_shape_after(layer: tuple, shape: tuple[int, ...]) -> tuple[int, ...]:
    """Per-sample output shape of a sequence layer kind on (steps, features)."""
    if layer[0] == "lstm":
        return (layer[1],)
    if layer[0] == "gap1d":
        return (shape[-1],)
    return shape


def sequence_params(layer: tuple, shape: tuple[int, ...]) -> int:
    """Trainable parameters of a sequence layer kind on (steps, features)."""
    d = shape[-1]
    if layer[0] == "lstm":
        return 4 * layer[1] * (d + layer[1] + 1)
    if layer[0] == "transformer":
        ff = layer[2]
        return 4 * (d * d + d) + 2 * (2 * d) + (d * ff + ff) + (ff * d + d)
    return 0


def sequence_flops(layer: tuple, shape: tuple[int, ...]) -> tuple[float, float]:
    """(forward multiply-add FLOPs per sample, the part that multiplies the layer's input by its weights)."""
    steps, d = shape
    if layer[0] == "lstm":
        h = layer[1]
        return 2.0 * steps * (d + h) * 4 * h, 2.0 * steps * d * 4 * h
    if layer[0] == "transformer":
        proj = 2.0 * steps * d * 4 * d  # q, k, v and output projections
        return proj + 2 * 2.0 * steps * steps * d + 2 * 2.0 * steps * d * layer[2], 2.0 * steps * d * 3 * d
    return 0.0, 0.0


def _neurona_sequence_layer(layers: Any, layer: tuple) -> Any:
    if layer[0] == "lstm":
        return layers.LSTM(layer[1])
    if layer[0] == "transformer":
        return layers.TransformerEncoder(layer[2], layer[1])
    return layers.GlobalAveragePooling1D()


def _torch_sequence_module(torch: Any, layer: tuple, shape: tuple[int, ...]) -> Any:
    if layer[0] == "lstm":
        class LastStep(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.lstm = torch.nn.LSTM(shape[-1], layer[1], batch_first=True)

            def forward(self, x: Any) -> Any:
                return self.lstm(x)[0][:, -1]
        return LastStep()
    if layer[0] == "transformer":
        return torch.nn.TransformerEncoderLayer(shape[-1], layer[1], layer[2], dropout=0.0, batch_first=True)

    class MeanOverSteps(torch.nn.Module):
        def forward(self, x: Any) -> Any:
            return x.mean(dim=1)
    return MeanOverSteps()


def _keras_sequence_layer(keras: Any, layer: tuple) -> Any:
    if layer[0] == "lstm":
        return keras.layers.LSTM(layer[1])
    if layer[0] == "transformer":
        from .peers import Unavailable

        raise Unavailable("Keras has no built-in transformer encoder block (it is in keras_hub)")
    return keras.layers.GlobalAveragePooling1D()


def lstm_floor(wl: Any, data: dict[str, np.ndarray], task: str) -> Callable[[], object]:
    """The hand-written NumPy LSTM -> Dense(softmax) of bench/lstm.py (`LSTMFloor`), trained like the MLP floor."""
    from .lstm import LSTMFloor

    steps, features = wl.input_shape
    net = LSTMFloor(features, wl.layers[0][1], wl.layers[1][1], wl.lr, loss="softmax")
    x, y = data["x"], data["onehot"]
    rng = np.random.default_rng(0)
    if task == "train":
        def epoch() -> None:
            perm = rng.permutation(len(x))
            for i in range(0, len(x), wl.batch):
                idx = perm[i:i + wl.batch]
                net.step(np.take(x, idx, axis=0), np.take(y, idx, axis=0))
        return epoch
    if task == "predict":
        return lambda: np.concatenate([net.predict(x[i:i + 1000]) for i in range(0, len(x), 1000)])
    x1 = x[:1]
    return lambda: net.predict(x1)
