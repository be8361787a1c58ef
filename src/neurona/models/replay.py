"""The recorded default training step: fit replays it through `neurona.function` when that is safe.

Replay covers what the engine's ops compute (forward, loss, backward); anything a layer does in Python
during `call` would happen only while tracing. So the step is replayed only for neurona's own Sequential and
functional models made of layers whose `call` is pure engine ops (the list below), with one output, one loss
and no regularizers (`_simple_loss`); everything else runs eagerly, as before. `compile(run_eagerly=True)`
or `compile(jit_compile=False)` turns replay off.
"""

from __future__ import annotations

from typing import Any

from ..function import TracedFunction
from ..ops.conv_fused import fuse_conv_pool
from ..ops.conv_pool_train import relu_after_pool

PURE_LAYERS = frozenset({
    "InputLayer", "Dense", "Activation", "Flatten", "Reshape", "Permute", "Conv1D", "Conv2D",
    "MaxPooling1D", "MaxPooling2D", "AveragePooling1D", "AveragePooling2D", "GlobalAveragePooling1D",
    "GlobalAveragePooling2D", "GlobalMaxPooling1D", "GlobalMaxPooling2D", "LSTM", "GRU", "SimpleRNN",
    "Add", "Concatenate", "Multiply", "Subtract", "Average", "Maximum", "Minimum", "ReLU",
    "LeakyReLU", "ELU", "Softmax", "ZeroPadding2D", "UpSampling2D", "RepeatVector",
    "LayerNormalization", "TransformerEncoder",
})


def replayable(model: Any, for_training: bool = True) -> bool:
    """True when the model's default training step (or its inference forward) can be recorded and replayed."""
    if for_training and (not getattr(model, "_jit", False) or not model._simple_loss):
        return False
    if not for_training and getattr(model, "run_eagerly", False):
        return False
    if not type(model).__module__.startswith("neurona.models"):
        return False  # a subclassed model: its call() is arbitrary Python
    if type(model).__name__ == "Model" and getattr(model, "_graph", None) is None:
        return False
    for layer in model.layers:
        cls = type(layer)
        if cls.__name__ not in PURE_LAYERS or not cls.__module__.startswith("neurona.layers"):
            return False
        if getattr(layer, "stateful", False) or layer.non_trainable_weights:
            return False
    return True


def traced_train_forward(model: Any) -> TracedFunction:
    """forward + loss of the default step, as a traced function of (x, y, sample_weight)."""

    def train_forward(x: Any, y: Any, sw: Any) -> list[Any]:
        loss, outs = model._forward_loss(x, [y], sw, True)
        return [loss, *outs]

    # a relu conv feeding only a max-pool gets its relu after the pool, 4x fewer pixels (ops/conv_pool_train.py)
    return TracedFunction(train_forward, name=f"{model.name}_train_step", rewrite=relu_after_pool)


def traced_predict_forward(model: Any) -> TracedFunction:
    """The inference forward (training=False), as a traced function of x: predict_on_batch replays it."""
    forward = model._make_forward([])

    def predict_forward(x: Any) -> list[Any]:
        return list(forward(x, False))

    # no backward ever runs through it: a conv feeding only a max-pool runs fused (ops/conv_fused.py, #18)
    return TracedFunction(predict_forward, name=f"{model.name}_predict", rewrite=fuse_conv_pool)
