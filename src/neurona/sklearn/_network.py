"""The multi-layer perceptron behind the estimators, computed with neurona's ops.

All trainable parameters live in one flat buffer, in scikit-learn's order (coefs, then intercepts, then
the batch-norm scales and shifts), so a solver updates every layer with a handful of NumPy calls per
step; each layer's weight is a view of that buffer wrapped in a Tensor. A training step runs the layers
as fused `ops.dense` calls, ends in `OutputLoss` and calls `backward()` once.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .. import ops
from ..ops.losses import OutputLoss, _xlogy_self  # noqa: F401  (moved to ops/losses.py)
from ..ops.norm import batch_norm
from ..tensor import Tensor, no_grad

# scikit-learn's activation names → the names of neurona's fused dense activations.
HIDDEN = {"identity": None, "logistic": "sigmoid", "tanh": "tanh", "relu": "relu"}
UNFUSED = {"identity": ops.linear, "logistic": ops.sigmoid, "tanh": ops.tanh, "relu": ops.relu}
BN_MOMENTUM, BN_EPSILON = 0.99, 1e-3  # Keras's BatchNormalization defaults


class Network:
    """Parameters and maths of an MLP with layer sizes `units` (inputs, hidden..., outputs)."""

    def __init__(
        self,
        units: Sequence[int],
        activation: str,
        out_activation: str,
        dtype: np.dtype,
        batch_norm: bool = False,
        dropout: float = 0.0,
    ) -> None:
        self.units, self.activation, self.out_activation = list(units), activation, out_activation
        self.dtype, self.batch_norm, self.dropout = np.dtype(dtype), batch_norm, dropout
        pairs = list(zip(self.units[:-1], self.units[1:]))
        shapes: list[tuple[int, ...]] = [*pairs, *[(o,) for _, o in pairs]]
        if batch_norm:
            hidden = [(u,) for u in self.units[1:-1]]
            shapes += hidden + hidden
        self.shapes = shapes
        sizes = [int(np.prod(s)) for s in shapes]
        self.offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(int)
        self.n_coef = int(self.offsets[len(pairs)])
        self.params = np.zeros(int(self.offsets[-1]), self.dtype)
        self.grads = np.zeros_like(self.params)
        self.views = self._views(self.params)
        self.grad_views = self._views(self.grads)
        self.tensors = [Tensor(v, requires_grad=True) for v in self.views]
        self.moving = [[np.zeros(u, self.dtype), np.ones(u, self.dtype)] for u in self.units[1:-1]]
        self.n_layers = len(pairs)

    def _views(self, flat: np.ndarray) -> list[np.ndarray]:
        # Weight matrices are stored column-major (views of a (fan_out, fan_in) block, transposed): the dense
        # op's gradient arrives in that layout, so copying it in is a straight copy, and OpenBLAS multiplies
        # x @ W faster this way for the wide first layers (1.03-1.09x per fit in bench/sklearn_mlp.py).
        return [flat[a:b].reshape(s[::-1]).T if len(s) == 2 else flat[a:b].reshape(s)
                for a, b, s in zip(self.offsets[:-1], self.offsets[1:], self.shapes)]

    # ------------------------------------------------------------------ parameters as scikit-learn lists
    def split(self) -> tuple[list, list, list, list]:
        """coefs, intercepts, batch-norm gammas, betas: views of the flat buffer."""
        n = self.n_layers
        v = self.views
        if not self.batch_norm:
            return v[:n], v[n:2 * n], [], []
        h = n - 1
        return v[:n], v[n:2 * n], v[2 * n:2 * n + h], v[2 * n + h:]

    def load(self, arrays: Sequence[np.ndarray]) -> None:
        """Copy parameter arrays (in `shapes` order) into the flat buffer."""
        for view, a in zip(self.views, arrays):
            np.copyto(view, np.asarray(a).reshape(view.shape), casting="same_kind")

    # ------------------------------------------------------------------ training step
    def loss_and_grad(
        self,
        X: np.ndarray,
        Y: np.ndarray,
        c: float | np.ndarray,
        sw_sum: float,
        alpha: float,
        rng: np.random.Generator | None = None,
    ) -> tuple[float, float]:
        """Forward and backward on one batch; fills `self.grads`.

        Returns (objective, loss): the objective whose gradient is in `grads` (data term plus the L2
        penalty alpha/(2 sw_sum) ||W||²) and the loss as scikit-learn reports it (the squared error
        averaged over outputs).
        """
        t = self.tensors
        n = self.n_layers
        h = X
        fused = HIDDEN[self.activation]
        for i in range(n):
            w, b = t[i], t[n + i]
            if i == n - 1:
                h = ops.dense(h, w, b)
                break
            if self.batch_norm:
                z = batch_norm(ops.dense(h, w, b), t[2 * n + i], t[3 * n - 1 + i], *self.moving[i],
                               training=True, momentum=BN_MOMENTUM, epsilon=BN_EPSILON)
                h = UNFUSED[self.activation](z)
            else:
                h = ops.dense(h, w, b, activation=fused)
            if self.dropout:
                h = ops.dropout(h, self.dropout, training=True, rng=rng)
        loss = OutputLoss(self.out_activation, Y, c)(h)
        loss.backward()
        for tensor, gv in zip(t, self.grad_views):
            np.copyto(gv, tensor.grad)
            tensor.grad = None
        data = float(loss.data)
        reported = data / Y.shape[1] if self.out_activation == "identity" else data
        if alpha:
            w = self.params[: self.n_coef]
            penalty = 0.5 * alpha * float(np.dot(w, w)) / sw_sum
            self.grads[: self.n_coef] += (alpha / sw_sum) * w
            return data + penalty, reported + penalty
        return data, reported


def forward_fast(
    X: np.ndarray,
    coefs: Sequence[np.ndarray],
    intercepts: Sequence[np.ndarray],
    activation: str,
    out_activation: str,
    bn: Sequence[Sequence[np.ndarray]] | None = None,
) -> np.ndarray:
    """The network's output activations for X, in X's dtype, without recording a graph.

    `bn` holds (gamma, beta, moving_mean, moving_var) per hidden layer when batch norm is on.
    """
    dt = X.dtype
    fused = HIDDEN[activation]
    last = len(coefs) - 1
    with no_grad():
        h = Tensor(X)
        for i, (w, b) in enumerate(zip(coefs, intercepts)):
            w, b = w.astype(dt, copy=False), b.astype(dt, copy=False)
            if i == last:
                h = ops.dense(h, w, b)
            elif bn:
                g, be, mm, mv = (a.astype(dt, copy=False) for a in bn[i])
                h = UNFUSED[activation](batch_norm(ops.dense(h, w, b), g, be, mm, mv, epsilon=BN_EPSILON))
            else:
                h = ops.dense(h, w, b, activation=fused)
        z = h.data
    if out_activation == "softmax":
        return ops.softmax(z).data
    if out_activation == "logistic":
        return ops.sigmoid(z).data
    if out_activation == "exp":
        return np.exp(z)
    return z
