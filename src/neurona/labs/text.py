"""Text classification (deck 003, "Redes Recurrentes"; deck 002 section 6, transformers): the sentiment of
short reviews, learned by an Embedding + LSTM network and by a small transformer encoder, side by side.

The reviews are generated here, offline, from templates: positive and negative words, intensifiers
("very good"), negations that flip the meaning ("not good" is negative, "did not hate" positive) and
contrasts where the clause after "but" decides ("the plot was dull but the acting was superb").
A bag of words cannot solve the negations and contrasts; both sequence models must read the order.
`TextVectorization` turns the texts into token ids, as a Keras program would.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..i18n import _
from . import _common as c

SUBJECTS = ("the movie", "the film", "the plot", "the acting", "the soundtrack", "the ending", "the story",
            "this book", "the service", "the food", "the hotel", "the camera", "the game", "the show")
ADJECTIVES = {+1: ("good", "great", "excellent", "wonderful", "amazing", "brilliant", "delightful", "enjoyable",
                   "superb", "lovely", "fantastic", "charming"),
              -1: ("bad", "terrible", "awful", "boring", "horrible", "dreadful", "poor", "disappointing", "dull",
                   "mediocre", "annoying", "weak")}
VERBS = {+1: ("loved", "enjoyed", "liked", "adored"), -1: ("hated", "disliked", "despised", "regretted")}
BASE_VERBS = {+1: ("like", "enjoy", "love"), -1: ("hate", "dislike", "regret")}
INTENSIFIERS = ("", "", "very ", "really ", "truly ", "quite ", "extremely ")
OPENERS = ("", "", "", "honestly ", "overall ", "to be fair ", "in the end ")
ENDINGS = ("", ".", "!", "!!", " .")


def clause(rng: np.random.Generator, sentiment: int) -> str:
    """One clause with the given sentiment (+1 / -1), possibly said through a negation."""
    subject = SUBJECTS[rng.integers(len(SUBJECTS))]
    intens = INTENSIFIERS[rng.integers(len(INTENSIFIERS))]
    kind = rng.integers(4)
    if kind == 0:
        words = ADJECTIVES[sentiment]
        return f"{subject} {'was' if rng.random() < 0.5 else 'is'} {intens}{words[rng.integers(len(words))]}"
    if kind == 1:  # the negation flips the adjective's sentiment
        words = ADJECTIVES[-sentiment]
        return f"{subject} was not {intens}{words[rng.integers(len(words))]}"
    if kind == 2:
        verbs = VERBS[sentiment]
        return f"i {intens.strip() + ' ' if intens else ''}{verbs[rng.integers(len(verbs))]} {subject}"
    verbs = BASE_VERBS[-sentiment]
    return f"i did not {verbs[rng.integers(len(verbs))]} {subject}"


def make_reviews(n: int, seed: int = 0) -> tuple[list[str], np.ndarray]:
    """`n` distinct reviews and their labels (1 = positive); about a third are "A but B", labelled by B."""
    rng = np.random.default_rng(seed)
    texts: dict[str, int] = {}
    while len(texts) < n:
        label = int(rng.integers(2))
        sentiment = 1 if label else -1
        body = clause(rng, sentiment)
        if rng.random() < 0.35:
            body = f"{clause(rng, -sentiment if rng.random() < 0.7 else sentiment)} but {body}"
        text = OPENERS[rng.integers(len(OPENERS))] + body + ENDINGS[rng.integers(len(ENDINGS))]
        texts.setdefault(text, label)
    items = list(texts.items())
    return [t for t, _ in items], np.array([y for _, y in items], dtype=np.float32)


def run(quick: bool = False, *, report: Any = None, verbose: int = 1) -> dict[str, float]:
    from ..layers import (
        LSTM,
        Dense,
        Embedding,
        GlobalAveragePooling1D,
        Input,
        TextVectorization,
        TokenAndPositionEmbedding,
        TransformerEncoder,
    )
    from ..models import Sequential
    from ..optimizers import Adam

    c.start(0)
    n = 2400 if quick else 6000
    texts, labels = make_reviews(n, seed=0)
    split = int(0.8 * n)  # the reviews are distinct, so the test reviews were never seen in training
    length = 20
    vectorizer = TextVectorization(max_tokens=200, output_sequence_length=length)
    vectorizer.adapt(texts[:split])
    ids = vectorizer(texts).data
    x_train, y_train, x_test, y_test = ids[:split], labels[:split], ids[split:], labels[split:]
    vocab = vectorizer.vocabulary_size()
    c.say(verbose, _("{n} generated reviews, vocabulary of {v} tokens, for example: \"{example}\"").format(
        n=n, v=vocab, example=texts[0]))

    models = {
        "lstm": Sequential([Input((length,), dtype="int64"), Embedding(vocab, 32), LSTM(48), Dense(1, "sigmoid")],
                           name="embedding_lstm"),
        "transformer": Sequential([Input((length,), dtype="int64"), TokenAndPositionEmbedding(vocab, length, 32),
                                   TransformerEncoder(64, 4), GlobalAveragePooling1D(), Dense(1, "sigmoid")],
                                  name="transformer_encoder"),
    }
    epochs = 10 if quick else 15
    rates = {"lstm": 0.005, "transformer": 0.002}  # attention is the touchier of the two at high rates
    metrics, histories = {}, {}
    for key, model in models.items():
        model.compile(optimizer=Adam(learning_rate=rates[key]), loss="binary_crossentropy", metrics=["accuracy"])
        c.say(verbose, _("Training {name} ({params} parameters) for {epochs} epochs").format(
            name=model.name, params=f"{model.count_params():,}", epochs=epochs))
        histories[key] = model.fit(x_train, y_train, batch_size=32, epochs=epochs, validation_split=0.1,
                                   **c.fit_options(epochs, verbose))
        predicted = (model.predict(x_test, verbose=0)[:, 0] > 0.5).astype(np.float32)
        metrics[f"{key}_accuracy"] = float(np.mean(predicted == y_test))
    c.say(verbose, _("Held-out accuracy: LSTM {lstm:.3f}, transformer encoder {tr:.3f} on {n} reviews").format(
        lstm=metrics["lstm_accuracy"], tr=metrics["transformer_accuracy"], n=len(y_test)))

    sec = c.section(report, "text")
    if sec is not None:
        c.metrics_table(sec, metrics)
        rows = []
        for text, x, y in list(zip(texts[split:], x_test, y_test))[:8]:
            probs = [float(m.predict(x[None], verbose=0)[0, 0]) for m in models.values()]
            rows.append([text, int(y)] + [f"{p:.2f}" for p in probs])
        sec.table([_("review"), _("label"), "LSTM", _("transformer")], rows,
                  _("Test reviews with the probability each model gives to 'positive'"))
        for key, model in models.items():
            c.add_history(sec, histories[key], model.name)
    return metrics
