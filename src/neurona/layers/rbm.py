"""The restricted Boltzmann machine (Bernoulli visible and hidden units), the brick of deep belief nets.

An RBM is an energy model, E(v, h) = -v.b_v - h.b_h - v.W.h, over binary visible units v and hidden units h;
it is trained without labels by contrastive divergence (Hinton 2002): raise the probability of the data,
lower that of the samples the model dreams up after k Gibbs steps. For a weight,

    dW = learning_rate * (<v h>_data - <v h>_model) / batch_size,

with <v h>_data = v0^T p(h|v0) and <v h>_model = vk^T p(h|vk). CD-k starts each chain at the batch;
persistent CD (Tieleman 2008, scikit-learn's BernoulliRBM) keeps one chain running across batches.

As a layer, `RBM(units)(x)` gives the hidden probabilities sigmoid(x W + b_h), so a stack of trained RBMs
becomes a Dense network (see `neurona.generative.dbn`).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..numerics import sigmoid as _sigmoid
from ..random import get_rng
from ..tensor import Tensor
from .base import Layer


class RBM(Layer):
    """Bernoulli-Bernoulli restricted Boltzmann machine with `units` hidden units.

    Train it with `fit(x, epochs=..., learning_rate=..., batch_size=..., k=1, persistent=False)` on data in
    [0, 1] (binary, or grey levels read as probabilities); `score_samples` is scikit-learn's
    pseudo-likelihood, `free_energy` F(v) = -log sum_h exp(-E(v, h)), `gibbs` one sampling step.
    """

    def __init__(self, units: int, kernel_initializer: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if isinstance(units, bool) or not isinstance(units, (int, np.integer)) or units < 1:
            raise ValueError(f"RBM '{self.name}': units must be a positive integer, got {units!r}")
        self.units = int(units)
        self.kernel_initializer = kernel_initializer
        self._chain: np.ndarray | None = None  # persistent CD's hidden samples

    def build(self, input_shape: Any) -> None:
        from ..initializers import RandomNormal

        n_visible = int(input_shape[-1])
        init = self.kernel_initializer or RandomNormal(0.0, 0.01)  # scikit-learn's BernoulliRBM start
        self.kernel = self.add_weight("kernel", (n_visible, self.units), initializer=init)
        self.hidden_bias = self.add_weight("hidden_bias", (self.units,), initializer="zeros")
        # Not trainable by backpropagation: the feed-forward call (v -> hidden probabilities) never reads it;
        # contrastive divergence updates it in place, as BatchNormalization does its moving statistics.
        self.visible_bias = self.add_weight("visible_bias", (n_visible,), initializer="zeros", trainable=False)

    def call(self, inputs: Any, training: bool = False) -> Tensor:
        from ..activations import sigmoid
        from ..ops import matmul

        return sigmoid(matmul(inputs, self.kernel) + self.hidden_bias)

    def compute_output_shape(self, input_shape: Any) -> Any:
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "units": self.units}

    # ------------------------------------------------------------------ input checks
    def _check(self, v: Any, what: str = "x") -> np.ndarray:
        v = np.asarray(v.data if isinstance(v, Tensor) else v)
        if v.ndim != 2:
            raise ValueError(f"RBM '{self.name}': {what} must be a 2-D array (samples, visible units), got shape "
                             f"{v.shape}; flatten images first (x.reshape(len(x), -1))")
        if not self.built:
            self._maybe_build((None, v.shape[1]))
        n_visible = self.kernel.shape[0]
        if v.shape[1] != n_visible:
            raise ValueError(f"RBM '{self.name}' has {n_visible} visible units, got {what} with {v.shape[1]} "
                             f"columns")
        if v.dtype.kind not in "biuf":
            raise TypeError(f"RBM '{self.name}': {what} must hold numbers, got dtype {v.dtype}")
        v = v.astype(self.kernel.dtype, copy=False)
        bad = ~((v >= 0) & (v <= 1))
        if bad.any():
            i, j = np.argwhere(bad)[0]
            raise ValueError(f"RBM '{self.name}' models Bernoulli units, so {what} must lie in [0, 1]; "
                             f"{what}[{i}, {j}] = {float(v[i, j]):g}. Scale the data first (images: x / 255, or "
                             f"binarise with x > 0.5)")
        return v

    # ------------------------------------------------------------------ conditionals and sampling
    def propup(self, v: np.ndarray) -> np.ndarray:
        """p(h = 1 | v) for every hidden unit."""
        return _sigmoid(v @ self.kernel.data + self.hidden_bias.data)

    def propdown(self, h: np.ndarray) -> np.ndarray:
        """p(v = 1 | h) for every visible unit."""
        return _sigmoid(h @ self.kernel.data.T + self.visible_bias.data)

    def transform(self, x: Any) -> np.ndarray:
        """The hidden probabilities for `x` (the features the next RBM of a stack learns from)."""
        return self.propup(self._check(x))

    def gibbs(self, v: Any, rng: np.random.Generator | None = None) -> np.ndarray:
        """One Gibbs step v -> h ~ p(h|v) -> v' ~ p(v|h); returns the binary v'."""
        rng = rng or get_rng()
        v = self._check(v, "v")
        h = self.propup(v)
        h = (rng.random(h.shape) < h).astype(v.dtype)
        p = self.propdown(h)
        return (rng.random(p.shape) < p).astype(v.dtype)

    def free_energy(self, v: Any) -> np.ndarray:
        """F(v) = -v.b_v - sum_j log(1 + exp(b_h + v W)_j), per sample (lower means more probable)."""
        v = self._check(v, "v").astype(np.float64)
        w, bh, bv = (a.data.astype(np.float64) for a in (self.kernel, self.hidden_bias, self.visible_bias))
        return -(v @ bv) - np.logaddexp(0.0, v @ w + bh).sum(axis=1)

    def score_samples(self, x: Any, rng: Any = None) -> np.ndarray:
        """Pseudo-likelihood per sample, as scikit-learn's BernoulliRBM.score_samples: flip one random
        visible unit per sample and return n_visible * log sigmoid(F(v_flipped) - F(v)).

        `rng` may be a NumPy Generator or a RandomState (with scikit-learn's `RandomState(random_state)` the
        flipped units, hence the values, are scikit-learn's)."""
        rng = rng or get_rng()
        v = self._check(x).astype(np.float64)
        n, d = v.shape
        cols = rng.integers(0, d, n) if hasattr(rng, "integers") else rng.randint(0, d, n)
        flipped = v.copy()
        flipped[np.arange(n), cols] = 1.0 - flipped[np.arange(n), cols]
        return -d * np.logaddexp(0.0, -(self.free_energy(flipped) - self.free_energy(v)))

    def pseudo_likelihood(self, x: Any) -> float:
        """The mean of `score_samples` over every choice of flipped unit: its expectation, without the noise
        of one random flip per sample (for comparing models)."""
        v = self._check(x).astype(np.float64)
        fe = self.free_energy(v)
        total = 0.0
        for j in range(v.shape[1]):
            flipped = v.copy()
            flipped[:, j] = 1.0 - flipped[:, j]
            total += float(np.mean(-np.logaddexp(0.0, -(self.free_energy(flipped) - fe))))
        return total

    # ------------------------------------------------------------------ training
    def contrastive_divergence(self, v0: Any, learning_rate: float = 0.1, k: int = 1, persistent: bool = False,
                               rng: np.random.Generator | None = None) -> float:
        """One update from the batch `v0` by CD-k (or persistent CD); returns the reconstruction MSE.

        Random numbers are drawn in this order: the hidden samples of v0 (CD only), then for each of the k
        steps the visible samples and, except after the last step, the hidden samples.
        """
        rng = rng or get_rng()
        v0 = self._check(v0, "v0")
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise ValueError(f"RBM '{self.name}': k (Gibbs steps) must be a positive integer, got {k!r}")
        h0 = self.propup(v0)
        if persistent:
            if self._chain is None or self._chain.shape[0] < len(v0):
                self._chain = np.zeros((len(v0), self.units), v0.dtype)  # as scikit-learn: a chain of zeros
            h = self._chain
        else:
            h = (rng.random(h0.shape) < h0).astype(v0.dtype)
        for step in range(k):
            p_v = self.propdown(h)
            vk = (rng.random(p_v.shape) < p_v).astype(v0.dtype)
            hk = self.propup(vk)
            if step < k - 1:
                h = (rng.random(hk.shape) < hk).astype(v0.dtype)
        if persistent:
            self._chain = (rng.random(hk.shape) < hk).astype(v0.dtype)
        w, bh, bv = self.kernel.data, self.hidden_bias.data, self.visible_bias.data
        n, m = len(v0), len(vk)
        w += learning_rate * (v0.T @ h0 / n - vk.T @ hk / m)
        bh += learning_rate * (h0.sum(axis=0) / n - hk.sum(axis=0) / m)
        bv += learning_rate * (v0.sum(axis=0) / n - vk.sum(axis=0) / m)
        return float(np.mean((v0 - self.propdown(h0)) ** 2))

    def fit(self, x: Any, epochs: int = 10, batch_size: int = 10, learning_rate: float = 0.1, k: int = 1,
            persistent: bool = False, shuffle: bool = False, verbose: int = 0,
            rng: np.random.Generator | None = None) -> dict[str, list[float]]:
        """Train on `x` for `epochs` passes; returns {"reconstruction_error": [...], "pseudo_likelihood": [...]}.

        The defaults of batch_size and learning_rate are scikit-learn's; `persistent=True, shuffle=False`
        is exactly its training schedule (the batches in order, persistent CD with one Gibbs step).
        """
        rng = rng or get_rng()
        x = self._check(x)
        if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 0:
            raise ValueError(f"RBM '{self.name}': epochs must be a non-negative integer, got {epochs!r}")
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"RBM '{self.name}': batch_size must be a positive integer, got {batch_size!r}")
        self._chain = None
        history: dict[str, list[float]] = {"reconstruction_error": [], "pseudo_likelihood": []}
        n = len(x)
        n_batches = math.ceil(n / batch_size)
        for epoch in range(epochs):
            order = rng.permutation(n) if shuffle else np.arange(n)
            errors = [self.contrastive_divergence(x[order[b * batch_size:(b + 1) * batch_size]], learning_rate, k,
                                                  persistent, rng) for b in range(n_batches)]
            history["reconstruction_error"].append(float(np.mean(errors)))
            history["pseudo_likelihood"].append(float(self.score_samples(x, rng).mean()))
            if verbose:
                print(f"RBM '{self.name}' epoch {epoch + 1}/{epochs}: reconstruction error "
                      f"{history['reconstruction_error'][-1]:.4f}, pseudo-likelihood "
                      f"{history['pseudo_likelihood'][-1]:.2f}", flush=True)
        return history
