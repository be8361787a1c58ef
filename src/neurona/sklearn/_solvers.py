"""scikit-learn's MLP solvers (SGD with momentum, Adam, L-BFGS) on a flat parameter buffer.

The update rules and learning-rate schedules are exactly those of
`sklearn/neural_network/_stochastic_optimizers.py`; working on one flat array instead of a list of
per-layer arrays turns each rule into a few NumPy calls per step, whatever the depth of the net.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np


class SGDSolver:
    """Stochastic gradient descent with (Nesterov) momentum and scikit-learn's schedules."""

    def __init__(
        self,
        size: int,
        dtype: np.dtype,
        learning_rate_init: float = 0.1,
        lr_schedule: str = "constant",
        momentum: float = 0.9,
        nesterov: bool = True,
        power_t: float = 0.5,
    ) -> None:
        self.learning_rate_init = learning_rate_init
        self.learning_rate = float(learning_rate_init)
        self.lr_schedule, self.momentum, self.nesterov, self.power_t = lr_schedule, momentum, nesterov, power_t
        self.velocity = np.zeros(size, dtype)

    def update(self, params: np.ndarray, grads: np.ndarray) -> None:
        """velocity = momentum * velocity - lr * grad; params += velocity (or its Nesterov look-ahead)."""
        v, lr, mu = self.velocity, self.learning_rate, self.momentum
        step = grads * lr
        v *= mu
        v -= step
        if self.nesterov:
            look = mu * v
            look -= step
            params += look
        else:
            params += v

    def iteration_ends(self, time_step: int) -> None:
        """'invscaling': lr = lr_init / (samples seen + 1) ** power_t, once per epoch."""
        if self.lr_schedule == "invscaling":
            self.learning_rate = float(self.learning_rate_init) / (time_step + 1) ** self.power_t

    def trigger_stopping(self, msg: str, verbose: bool) -> bool:
        """Stop, unless the schedule is 'adaptive': then divide lr by 5 until it falls below 1e-6."""
        if self.lr_schedule != "adaptive":
            if verbose:
                print(msg + " Stopping.")
            return True
        if self.learning_rate <= 1e-6:
            if verbose:
                print(msg + " Learning rate too small. Stopping.")
            return True
        self.learning_rate /= 5.0
        if verbose:
            print(msg + f" Setting learning rate to {self.learning_rate:f}")
        return False


class AdamSolver:
    """Adam (Kingma & Ba) with the bias correction folded into the learning rate, as scikit-learn does."""

    def __init__(
        self,
        size: int,
        dtype: np.dtype,
        learning_rate_init: float = 0.001,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-8,
    ) -> None:
        self.learning_rate_init = learning_rate_init
        self.learning_rate = float(learning_rate_init)
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon
        self.t = 0
        self.m = np.zeros(size, dtype)
        self.v = np.zeros(size, dtype)

    def update(self, params: np.ndarray, grads: np.ndarray) -> None:
        """m, v = moving averages of g and g²; params -= lr_t * m / (sqrt(v) + eps)."""
        self.t += 1
        b1, b2 = self.beta_1, self.beta_2
        m, v = self.m, self.v
        m *= b1
        m += (1 - b1) * grads
        g2 = grads * grads
        g2 *= 1 - b2
        v *= b2
        v += g2
        self.learning_rate = self.learning_rate_init * math.sqrt(1 - b2**self.t) / (1 - b1**self.t)
        denom = np.sqrt(v)
        denom += self.epsilon
        step = m * -self.learning_rate
        step /= denom
        params += step

    def iteration_ends(self, time_step: int) -> None:
        """Adam's rate needs no per-epoch schedule."""

    def trigger_stopping(self, msg: str, verbose: bool) -> bool:
        """Always stop when the loss stalls."""
        if verbose:
            print(msg + " Stopping.")
        return True


def minimize_lbfgs(
    fun: Callable[[np.ndarray], tuple[float, np.ndarray]],
    x0: np.ndarray,
    max_iter: int,
    max_fun: int,
    tol: float,
    verbose: bool,
) -> tuple[np.ndarray, float, int]:
    """Run scipy's L-BFGS-B on `fun` (value and gradient); returns (x, value, iterations).

    Warns with scikit-learn's ConvergenceWarning when it stops before converging.
    """
    from scipy.optimize import minimize
    from sklearn.utils.optimize import _check_optimize_result

    callback = None
    if verbose:
        count = [0]

        def callback(intermediate_result) -> None:
            count[0] += 1
            print(f"Iteration {count[0]:d}, loss = {intermediate_result.fun:.8f}")

    res = minimize(
        fun, x0, method="L-BFGS-B", jac=True, callback=callback,
        options={"maxfun": max_fun, "maxiter": max_iter, "gtol": tol},
    )
    n_iter = _check_optimize_result("lbfgs", res, max_iter)
    return res.x, float(res.fun), n_iter
