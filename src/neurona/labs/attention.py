"""Attention on a toy task (deck 002 section 6: transformers learn context from relations in the sequence):
reverse, and copy, a sequence of 8 digits.

Each output position asks a question with a learned query (its position embedding) and reads, through
one MultiHeadAttention head, the input positions whose keys answer it. To reverse, output i must read
input 7 - i, and the learned attention weights show exactly that: an anti-diagonal (a diagonal for the copy).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..i18n import N_, _
from . import _common as c

LENGTH, VOCAB = 8, 10  # digits 1..9; 0 is left for padding


TASK_NAMES = {"reverse": N_("reverse"), "copy": N_("copy")}  # the two tasks, named in the figures


def build(length: int = LENGTH, vocab: int = VOCAB, dim: int = 32) -> tuple[Any, Any]:
    """(model, attention_model): token probabilities per output position, and the attention weights."""
    from ..layers import Add, Dense, Embedding, Input, MultiHeadAttention, PositionEmbedding
    from ..models import Model

    tokens = Input((length,), dtype="int64")
    embedded = Embedding(vocab, dim, embeddings_initializer="glorot_uniform")(tokens)
    keys = Add()([embedded, PositionEmbedding(length, initializer="random_normal")(embedded)])
    queries = PositionEmbedding(length, initializer="random_normal", name="output_positions")(embedded)
    context, weights = MultiHeadAttention(num_heads=1, key_dim=dim, name="attention")(
        queries, keys, return_attention_scores=True)
    probabilities = Dense(vocab, activation="softmax")(context)
    return Model(tokens, probabilities), Model(tokens, weights)


def attention_figure(weights: np.ndarray, source: np.ndarray, target: np.ndarray, title: str) -> Any:
    """Heat map of one sequence's attention weights: output positions (rows) over input positions (columns)."""
    from ..plot._base import figure

    fig = figure((4.6, 4.2))
    ax = fig.add_subplot()
    image = ax.imshow(weights, cmap="viridis", vmin=0, vmax=1)
    ax.set_xticks(range(len(source)), [f"{i}:{t}" for i, t in enumerate(source)], fontsize=8)
    ax.set_yticks(range(len(target)), [f"{i}:{t}" for i, t in enumerate(target)], fontsize=8)
    ax.set_xlabel(_("input position: digit"))
    ax.set_ylabel(_("output position: digit"))
    ax.set_title(title)
    fig.colorbar(image, ax=ax, fraction=0.046)
    return fig


def run(quick: bool = False, *, report: Any = None, verbose: int = 1) -> dict[str, float]:
    from ..optimizers import Adam

    c.start(0)
    rng = np.random.default_rng(0)
    n = 2000 if quick else 5000
    x = rng.integers(1, VOCAB, size=(n, LENGTH))
    split = int(0.8 * n)
    tasks = {"reverse": x[:, ::-1].copy(), "copy": x.copy()}
    epochs = 12 if quick else 20
    metrics, pictures = {}, {}
    for task, y in tasks.items():
        model, attention_model = build()
        model.compile(optimizer=Adam(learning_rate=0.01), loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        c.say(verbose, _("Task '{task}': training one attention head on {n} sequences of {k} digits").format(
            task=task, n=split, k=LENGTH))
        model.fit(x[:split], y[:split], batch_size=64, epochs=epochs, **c.fit_options(epochs, verbose))
        predicted = model.predict(x[split:], verbose=0).argmax(axis=-1)
        metrics[f"{task}_token_accuracy"] = float(np.mean(predicted == y[split:]))
        metrics[f"{task}_sequence_accuracy"] = float(np.mean(np.all(predicted == y[split:], axis=1)))
        pictures[task] = attention_model.predict(x[split:split + 1], verbose=0)[0, 0]
        c.say(verbose, _("Token accuracy on {n} held-out sequences: {acc:.4f}").format(
            n=n - split, acc=metrics[f"{task}_token_accuracy"]))
    wanted = np.arange(LENGTH)[::-1]  # reversing: output i should look at input 7 - i
    metrics["reverse_attention_on_target"] = float(pictures["reverse"][np.arange(LENGTH), wanted].mean())

    sec = c.section(report, "attention")
    if sec is not None:
        c.metrics_table(sec, metrics)
        src = x[split]
        for task, y in tasks.items():
            title = _("Attention weights: {task}").format(task=_(TASK_NAMES[task]))
            sec.plot(attention_figure, pictures[task], src, y[split], title,
                     caption=_("Each row is an output position; bright cells are the input positions it reads"))
    return metrics
