"""A character-level text generator (deck 003, "Redes Recurrentes"): an LSTM reads text one character at a
time, learns to predict the next one, and then writes new text by sampling its own predictions.

The corpus is generated offline from a small grammar of Spanish sentences, so its words are known: the lab
measures next-character accuracy on held-out text and how many of the generated words are real words.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..i18n import _
from . import _common as c

_SUBJECTS = ("el gato", "la red", "el perro", "la neurona", "el modelo", "la capa")
_VERBS = ("aprende", "mira", "predice", "recuerda", "calcula", "olvida")
_OBJECTS = ("la secuencia", "el texto", "los datos", "la serie", "el patron", "las letras")
_ENDINGS = ("cada dia", "con cuidado", "muy rapido", "sin parar", "paso a paso")
SEQ = 40


def make_corpus(sentences: int, seed: int = 0) -> str:
    """Sentences 'subject verb object ending.' drawn at random from the grammar."""
    rng = np.random.default_rng(seed)
    pick = lambda words: words[rng.integers(len(words))]  # noqa: E731
    return " ".join(f"{pick(_SUBJECTS)} {pick(_VERBS)} {pick(_OBJECTS)} {pick(_ENDINGS)}."
                    for _k in range(sentences))


def words_of_grammar() -> set[str]:
    return {w for group in (_SUBJECTS, _VERBS, _OBJECTS, _ENDINGS) for phrase in group for w in phrase.split()}


def build_model(vocab: int, units: int = 96) -> Any:
    from .. import layers, models

    return models.Sequential([layers.Input((None,), dtype="int64"), layers.Embedding(vocab, 16),
                              layers.LSTM(units, return_sequences=True),
                              layers.Dense(vocab, activation="softmax")])


def sample(model: Any, chars: list[str], seed_text: str, length: int, temperature: float = 0.5,
           rng: np.random.Generator | None = None) -> str:
    """Extend `seed_text` by `length` characters, each drawn from the model's softmax at `temperature`."""
    rng = rng or np.random.default_rng(0)
    index = {ch: i for i, ch in enumerate(chars)}
    ids = [index[ch] for ch in seed_text]
    for _k in range(length):
        p = model.predict(np.array([ids[-SEQ:]]), verbose=0)[0, -1].astype(np.float64)
        logits = np.log(np.maximum(p, 1e-12)) / temperature
        p = np.exp(logits - logits.max())
        ids.append(int(rng.choice(len(chars), p=p / p.sum())))
    return "".join(chars[i] for i in ids)


def run(quick: bool = False, *, report: Any = None, verbose: int = 1) -> dict[str, float]:
    from ..optimizers import Adam

    c.start(0)
    sentences, epochs, generate = (80, 6, 60) if quick else (400, 10, 300)
    text = make_corpus(sentences)
    chars = sorted(set(text))
    ids = np.array([chars.index(ch) for ch in text])
    starts = np.arange(0, len(ids) - SEQ - 1, 4 if quick else 3)
    x = np.stack([ids[s:s + SEQ] for s in starts])
    y = np.stack([ids[s + 1:s + SEQ + 1] for s in starts])
    split = int(len(x) * 0.9)
    c.say(verbose, _("{n} characters, {v} distinct; {m} training sequences of {s}").format(
        n=len(text), v=len(chars), m=split, s=SEQ))

    model = build_model(len(chars))
    model.compile(optimizer=Adam(0.01), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x[:split], y[:split], batch_size=64, epochs=epochs, **c.fit_options(epochs, verbose))
    predicted = model.predict(x[split:], verbose=0).argmax(axis=-1)
    acc = float(np.mean(predicted == y[split:]))
    written = sample(model, chars, text[:SEQ], generate)
    new_words = written[SEQ:].replace(".", " ").split()[1:-1]  # the first and last may be cut
    known = words_of_grammar()
    valid = float(np.mean([w in known for w in new_words])) if new_words else 0.0
    c.say(verbose, _("Next-character accuracy on held-out text: {acc:.3f}").format(acc=acc))
    c.say(verbose, _("Generated text:") + "\n" + written)
    metrics = {"next_char_accuracy": acc, "valid_word_rate": valid}

    sec = c.section(report, "char-rnn")
    if sec is not None:
        c.metrics_table(sec, metrics)
        c.add_history(sec, history)
        sec.preformatted(written)
    return metrics
