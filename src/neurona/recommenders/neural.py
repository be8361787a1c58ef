"""NeuralMF: user and item embeddings into a neural network (He et al. 2017, "Neural collaborative filtering").

The model is a neurona functional `Model`, trained by `Model.fit` (so Keras's progress lines and any
callbacks work): the user's and the item's `Embedding`s go into two branches, their element-wise product
(generalised matrix factorisation, GMF) and an MLP tower over their concatenation, joined by a last `Dense`.

- Explicit ratings (default): the network learns r - mu with the mean squared error; `predict` adds mu back.
- ``implicit=True``: `y` marks interactions (omit it: every pair in `X` is one; or give 0/1, positives > 0).
  For each positive, `negatives` items the user never interacted with are drawn as 0 labels (negative
  sampling, drawn once before training), and the network learns the probability of an interaction with
  binary cross-entropy. `predict` then returns that probability and `recommend` ranks by it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ._base import Recommender
from ._data import Ratings, check_fit_data


class NeuralMF(Recommender):
    """Neural collaborative filtering (GMF + MLP tower on user and item embeddings), trained by neurona's fit."""

    method = "neural MF"

    def __init__(self, embedding_dim: int = 16, hidden: Sequence[int] = (64, 32), epochs: int = 10,
                 batch_size: int = 256, learning_rate: float = 0.003, l2: float = 1e-5, implicit: bool = False,
                 negatives: int = 4, callbacks: Sequence[Any] | None = None, verbose: int = 0,
                 random_state: int | None = None, rating_scale: tuple[float, float] | None = None,
                 duplicates: str = "last") -> None:
        self.embedding_dim = embedding_dim
        self.hidden = hidden
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.l2 = l2
        self.implicit = implicit
        self.negatives = negatives
        self.callbacks = callbacks
        self.verbose = verbose
        self.random_state = random_state
        self.rating_scale = rating_scale
        self.duplicates = duplicates

    def _check_params(self) -> None:
        name = type(self).__name__
        for what in ("embedding_dim", "epochs", "batch_size"):
            v = getattr(self, what)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise ValueError(f"{name}: {what} must be a positive integer, got {v!r}")
        if isinstance(self.negatives, bool) or not isinstance(self.negatives, (int, np.integer)) \
                or self.negatives < 0:
            raise ValueError(f"{name}: negatives must be a non-negative integer, got {self.negatives!r}")

    def fit(self, X: Any, y: Any = None) -> NeuralMF:
        """Train on the ratings `y` of the pairs `X` (implicit=True: `y` may be omitted, every pair is a positive)."""
        if y is None:
            if not self.implicit:
                raise ValueError("NeuralMF: y (the ratings) is required unless implicit=True")
            from ._data import id_columns

            y = np.ones(len(id_columns(X)[0]))
        self._check_params()
        scale = None if self.implicit else self.rating_scale
        data = check_fit_data(X, y, rating_scale=scale, duplicates=self.duplicates)
        if self.implicit:
            keep = data.ratings > 0
            if not keep.any():
                raise ValueError("NeuralMF(implicit=True): y has no positive interaction")
            data = Ratings(data.users[keep], data.items[keep], np.ones(int(keep.sum())), data.user_index,
                           data.item_index)
        self._store(data)
        if self.implicit:  # an unknown user or item gets the base rate of positives among the training pairs
            self.rating_scale_ = (0.0, 1.0)
            self.global_mean_ = 1.0 / (1.0 + self.negatives)
        self._fit(data)
        return self

    def _build(self, n_users: int, n_items: int) -> Any:
        from ..layers import Concatenate, Dense, Embedding, Flatten, Input, Multiply
        from ..models import Model
        from ..optimizers import Adam
        from ..regularizers import l2

        reg = l2(self.l2) if self.l2 else None
        u_in, i_in = Input((1,), name="user"), Input((1,), name="item")
        d = self.embedding_dim
        init = "random_normal"
        gu = Flatten()(Embedding(n_users, d, init, reg, name="gmf_user")(u_in))
        gi = Flatten()(Embedding(n_items, d, init, reg, name="gmf_item")(i_in))
        mu = Flatten()(Embedding(n_users, d, init, reg, name="mlp_user")(u_in))
        mi = Flatten()(Embedding(n_items, d, init, reg, name="mlp_item")(i_in))
        h = Concatenate()([mu, mi])
        for width in self.hidden:
            h = Dense(int(width), activation="relu")(h)
        joined = Concatenate()([Multiply()([gu, gi]), h])
        out = Dense(1, activation="sigmoid" if self.implicit else None, name="score")(joined)
        model = Model([u_in, i_in], out, name="neural_mf")
        model.compile(optimizer=Adam(learning_rate=self.learning_rate),
                      loss="binary_crossentropy" if self.implicit else "mse")
        return model

    def _negatives(self, data: Ratings, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """`negatives` items per positive, drawn uniformly among the items its user never interacted with."""
        m = self.negatives * data.users.size
        users = np.repeat(data.users, self.negatives)
        items = rng.integers(0, data.n_items, m)
        seen = set((data.users * data.n_items + data.items).tolist())
        for _ in range(20):  # redraw the few that hit a positive
            hit = np.fromiter(((a * data.n_items + b) in seen for a, b in zip(users, items)), bool, m)
            if not hit.any():
                break
            items[hit] = rng.integers(0, data.n_items, int(hit.sum()))
        else:
            users, items = users[~hit], items[~hit]
        return users, items

    def _fit(self, data: Ratings) -> None:
        from ..utils import set_random_seed

        rng = np.random.default_rng(self.random_state)
        if self.random_state is not None:
            set_random_seed(int(self.random_state))
        self.model_ = self._build(data.n_users, data.n_items)
        u, i = data.users, data.items
        if self.implicit:
            nu, ni = self._negatives(data, rng)
            u, i = np.concatenate([u, nu]), np.concatenate([i, ni])
            target = np.concatenate([np.ones(data.users.size), np.zeros(nu.size)])
        else:
            target = data.ratings - self.global_mean_
        x = [u.reshape(-1, 1).astype(np.int64), i.reshape(-1, 1).astype(np.int64)]
        self.history_ = self.model_.fit(x, target.reshape(-1, 1).astype(np.float32), batch_size=self.batch_size,
                                        epochs=self.epochs, verbose=self.verbose,
                                        callbacks=list(self.callbacks or []))

    def _estimate(self, u: np.ndarray, i: np.ndarray) -> np.ndarray:
        out = self.model_.predict([u.reshape(-1, 1), i.reshape(-1, 1)], batch_size=4096, verbose=0)
        out = np.asarray(out, dtype=np.float64).ravel()
        return out if self.implicit else out + self.global_mean_

    def _explain(self, u: int, i: int) -> str:
        if self.implicit:
            return "neural score: probability the user interacts with it"
        return f"neural score: {self.item_counts_[i]} ratings of this item, mean {self.item_means_[i]:.2f}"
