"""What MLPClassifier and MLPRegressor share: scikit-learn's training procedure on neurona's engine.

The epoch loop, batching, shuffling, L2 penalty, stopping rules, early stopping, warnings and messages
follow `sklearn/neural_network/_multilayer_perceptron.py` step for step (the same random draws, too: with
`dtype="float64"` the loss curve equals scikit-learn's). What differs is underneath: the maths runs through
neurona's fused ops in float32 by default, and the solvers update one flat parameter buffer.
"""

from __future__ import annotations

import warnings
from numbers import Integral, Real
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, is_classifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, Options, StrOptions
from sklearn.utils.validation import _check_sample_weight

from ..distributed.strategy import DataParallel
from ._distributed import ShardedSteps, allreduce_scalar, strategy_for, sync_random_state, sync_start
from ._network import Network, forward_fast
from ._solvers import AdamSolver, SGDSolver, minimize_lbfgs

_STOCHASTIC_SOLVERS = ("sgd", "adam")


class BaseMLP(BaseEstimator):
    """Base class of the MLP estimators; use MLPClassifier or MLPRegressor."""

    _parameter_constraints: dict = {
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions({"identity", "logistic", "tanh", "relu"})],
        "solver": [StrOptions({"lbfgs", "sgd", "adam"})],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "batch_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "learning_rate": [StrOptions({"constant", "invscaling", "adaptive"})],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "power_t": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "tol": [Interval(Real, 0, None, closed="left")],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "momentum": [Interval(Real, 0, 1, closed="both")],
        "nesterovs_momentum": ["boolean"],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="left")],
        "beta_1": [Interval(Real, 0, 1, closed="left")],
        "beta_2": [Interval(Real, 0, 1, closed="left")],
        "epsilon": [Interval(Real, 0, None, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left"), Options(Real, {np.inf})],
        "max_fun": [Interval(Integral, 1, None, closed="left")],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "batch_norm": ["boolean"],
        "callbacks": [list, tuple, None],
        "dtype": [StrOptions({"float32", "float64"})],
        "distribute": [StrOptions({"mpi"}), DataParallel, None],
    }

    # ------------------------------------------------------------------ set-up
    def _store_params(self, arguments: dict) -> None:
        """Store each __init__ argument under its own name; call it as ``self._store_params(locals())``.

        scikit-learn's contract: __init__ does no work but this, and `get_params` reads the parameter names
        back from the explicit __init__ signature each estimator keeps.
        """
        for name in self._get_param_names():
            setattr(self, name, arguments[name])

    def _check_extras(self) -> None:
        """Checks of neurona's own options that the declarative constraints cannot express."""
        for cb in self.callbacks or ():
            if not callable(cb):
                raise TypeError(
                    f"callbacks must be callables cb(estimator, epoch, loss); got {type(cb).__name__} {cb!r}"
                )
        if self.solver == "lbfgs" and (self.dropout or self.batch_norm):
            raise ValueError(
                "dropout and batch_norm need a stochastic solver ('sgd' or 'adam'); solver='lbfgs' evaluates "
                "the full-batch loss exactly and cannot use them"
            )

    def _init_coef(self, fan_in: int, fan_out: int) -> tuple[np.ndarray, np.ndarray]:
        # Glorot et al.'s uniform bound, with scikit-learn's factor 2 for the logistic activation.
        factor = 2.0 if self.activation == "logistic" else 6.0
        bound = np.sqrt(factor / (fan_in + fan_out))
        coef = self._random_state.uniform(-bound, bound, (fan_in, fan_out))
        intercept = self._random_state.uniform(-bound, bound, fan_out)
        return coef.astype(self.dtype), intercept.astype(self.dtype)

    def _initialize(self, y: np.ndarray, layer_units: list[int]) -> None:
        self.n_iter_ = 0
        self.t_ = 0
        self.n_outputs_ = y.shape[1]
        self.n_layers_ = len(layer_units)
        if not is_classifier(self):
            self.out_activation_ = "exp" if self.loss == "poisson" else "identity"
        elif self._label_binarizer.y_type_ == "multiclass":
            self.out_activation_ = "softmax"
        else:
            self.out_activation_ = "logistic"
        self.coefs_, self.intercepts_ = [], []
        for fan_in, fan_out in zip(layer_units[:-1], layer_units[1:]):
            coef, intercept = self._init_coef(fan_in, fan_out)
            self.coefs_.append(coef)
            self.intercepts_.append(intercept)
        if self.batch_norm:
            hidden = layer_units[1:-1]
            self.bn_gammas_ = [np.ones(u, self.dtype) for u in hidden]
            self.bn_betas_ = [np.zeros(u, self.dtype) for u in hidden]
            self.bn_moving_means_ = [np.zeros(u, self.dtype) for u in hidden]
            self.bn_moving_vars_ = [np.ones(u, self.dtype) for u in hidden]
        else:
            for name in ("bn_gammas_", "bn_betas_", "bn_moving_means_", "bn_moving_vars_"):
                self.__dict__.pop(name, None)
        self._best_params = None
        if self.solver in _STOCHASTIC_SOLVERS:
            self.loss_curve_ = []
            self._no_improvement_count = 0
            if self.early_stopping:
                self.validation_scores_ = []
                self.best_validation_score_ = -np.inf
                self.best_loss_ = None
            else:
                self.best_loss_ = np.inf
                self.validation_scores_ = None
                self.best_validation_score_ = None

    def _network(self, layer_units: list[int]) -> Network:
        """A Network holding the current coefs_/intercepts_ (and batch-norm parameters)."""
        net = Network(layer_units, self.activation, self.out_activation_, np.dtype(self.dtype),
                      batch_norm=self.batch_norm, dropout=self.dropout)
        arrays = list(self.coefs_) + list(self.intercepts_)
        if self.batch_norm:
            if not hasattr(self, "bn_gammas_"):
                raise ValueError("batch_norm=True with warm_start needs a previous fit that also used batch_norm=True")
            arrays += list(self.bn_gammas_) + list(self.bn_betas_)
            for pair, mean, var in zip(net.moving, self.bn_moving_means_, self.bn_moving_vars_):
                pair[0][...], pair[1][...] = mean, var
        got = [tuple(np.shape(a)) for a in arrays]
        if got != net.shapes:
            raise ValueError(
                f"{type(self).__name__}: the fitted parameters have shapes {got} but hidden_layer_sizes="
                f"{self.hidden_layer_sizes} with this X and y need {net.shapes}; refit without warm_start"
            )
        net.load(arrays)
        return net

    def _expose(self, net: Network) -> None:
        """Point coefs_, intercepts_ (and the batch-norm lists) at the network's live parameters."""
        coefs, intercepts, gammas, betas = net.split()
        self.coefs_, self.intercepts_ = list(coefs), list(intercepts)
        if self.batch_norm:
            self.bn_gammas_, self.bn_betas_ = list(gammas), list(betas)
            self.bn_moving_means_ = [m for m, _ in net.moving]
            self.bn_moving_vars_ = [v for _, v in net.moving]

    # ------------------------------------------------------------------ fit
    def _fit(self, X, y, sample_weight=None, incremental: bool = False):
        hidden = self.hidden_layer_sizes
        hidden = list(hidden) if hasattr(hidden, "__iter__") else [hidden]
        if np.any(np.array(hidden) <= 0):
            raise ValueError(f"hidden_layer_sizes must be > 0, got {hidden}.")
        self._check_extras()
        dp = strategy_for(self)
        first_pass = not hasattr(self, "coefs_") or (not self.warm_start and not incremental)
        X, y = self._validate_input(X, y, incremental, reset=first_pass)
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X)
        if y.ndim == 1:
            y = y.reshape(-1, 1)
        self.n_outputs_ = y.shape[1]
        layer_units = [X.shape[1], *hidden, self.n_outputs_]
        self._random_state = check_random_state(self.random_state)
        if dp is not None:
            self._random_state = sync_random_state(self._random_state)
        if first_pass:
            self._initialize(y, layer_units)
        net = self._network(layer_units)
        self._expose(net)
        Xd = np.ascontiguousarray(X, dtype=net.dtype)  # validate_data already converted: no copy
        Y = np.asarray(y, dtype=net.dtype)
        self._sharded = None if dp is None else ShardedSteps(dp, net)
        try:
            if self.solver in _STOCHASTIC_SOLVERS:
                self._fit_stochastic(net, Xd, Y, sample_weight, incremental)
            else:
                self._fit_lbfgs(net, Xd, Y, sample_weight)
        finally:
            del self._sharded
        if not np.isfinite(net.params).all():
            raise ValueError(
                "Solver produced non-finite parameter weights. The input data may"
                " contain large values and need to be preprocessed."
            )
        return self

    @staticmethod
    def _batch_weights(sw: np.ndarray | None, n: int, dtype: np.dtype) -> tuple[float | np.ndarray, float]:
        """Per-sample factor c of the loss (1/n or sw/sum(sw)) and the normaliser sw_sum."""
        if sw is None:
            return 1.0 / n, float(n)
        total = float(sw.sum())
        return (sw / total).astype(dtype).reshape(-1, 1), total

    def _fit_lbfgs(self, net: Network, X: np.ndarray, Y: np.ndarray, sw: np.ndarray | None) -> None:
        c, sw_sum = self._batch_weights(sw, X.shape[0], net.dtype)
        sharded = self._sharded
        if sharded is not None:
            sync_start(self, net, None)

        def fun(x: np.ndarray) -> tuple[float, np.ndarray]:
            net.params[...] = x
            if sharded is None:
                objective, _ = net.loss_and_grad(X, Y, c, sw_sum, self.alpha)
            else:
                objective = allreduce_scalar(sharded.loss_and_grad(net, X, Y, slice(None), c, sw_sum, self.alpha)[0])
            return objective, net.grads.astype(np.float64)

        x, value, self.n_iter_ = minimize_lbfgs(
            fun, net.params.astype(np.float64), self.max_iter, self.max_fun, self.tol, bool(self.verbose)
        )
        net.params[...] = x
        self.loss_ = value
        if self.out_activation_ == "identity" and self.n_outputs_ > 1:
            if sharded is None:
                self.loss_ = net.loss_and_grad(X, Y, c, sw_sum, self.alpha)[1]
            else:
                self.loss_ = allreduce_scalar(sharded.loss_and_grad(net, X, Y, slice(None), c, sw_sum, self.alpha)[1])

    def _make_solver(self, net: Network):
        if self.solver == "sgd":
            return SGDSolver(net.params.size, net.dtype, self.learning_rate_init, self.learning_rate,
                             self.momentum, self.nesterovs_momentum, self.power_t)
        return AdamSolver(net.params.size, net.dtype, self.learning_rate_init, self.beta_1, self.beta_2,
                          self.epsilon)

    def _fit_stochastic(self, net: Network, X, Y, sample_weight, incremental: bool) -> None:
        """Minibatch SGD/Adam epochs (scikit-learn's loop): data split, epochs, stopping rules."""
        solver = getattr(self, "_optimizer", None)
        if not incremental or solver is None or solver_size(solver) != net.params.size:
            solver = self._optimizer = self._make_solver(net)
        if self._sharded is not None:
            sync_start(self, net, solver)
        if self.early_stopping and incremental:
            raise ValueError("partial_fit does not support early_stopping=True")
        early_stopping = self.early_stopping
        train, val = self._stochastic_split(net, X, Y, sample_weight)
        batch_size = self._stochastic_batch_size(train[0].shape[0])
        rng = np.random.default_rng(self._random_state.randint(2**31 - 1)) if self.dropout else None
        state = {"sample_idx": np.arange(train[0].shape[0]), "full": self._batch_weights(None, batch_size, net.dtype)}
        try:
            self.n_iter_ = 0
            for _ in range(self.max_iter):
                self.loss_ = self._stochastic_epoch(net, solver, train, batch_size, rng, state)
                if self._stochastic_epoch_end(net, solver, train[0].shape[0], early_stopping, val, incremental):
                    break
        except KeyboardInterrupt:
            warnings.warn("Training interrupted by user.")
        if early_stopping:
            net.params[...] = self._best_params

    def _stochastic_split(self, net: Network, X, Y, sample_weight) -> tuple[tuple, tuple]:
        """(X, Y, sw) to train on and (X_val, y_val, sw_val) for early stopping (Nones without it)."""
        if not self.early_stopping:
            return (X, Y, sample_weight), (None, None, None)
        if self._best_params is None or self._best_params.size != net.params.size:
            self._best_params = net.params.copy()
        stratify = Y if is_classifier(self) and self.n_outputs_ == 1 else None
        arrays = (X, Y) if sample_weight is None else (X, Y, sample_weight)
        parts = train_test_split(*arrays, random_state=self._random_state,
                                 test_size=self.validation_fraction, stratify=stratify)
        X_train, X_val, Y_train, y_val = parts[:4]
        sw_train, sw_val = (parts[4], parts[5]) if sample_weight is not None else (None, None)
        if X_val.shape[0] < 2:
            raise ValueError(
                "The validation set is too small. Increase 'validation_fraction' "
                "or the size of your dataset."
            )
        if is_classifier(self):
            y_val = self._label_binarizer.inverse_transform(y_val)
        return (X_train, Y_train, sw_train), (X_val, y_val, sw_val)

    def _stochastic_batch_size(self, n_samples: int) -> int:
        if self.batch_size == "auto":
            return min(200, n_samples)
        if self.batch_size > n_samples:
            warnings.warn("Got `batch_size` less than 1 or larger than sample size. It is going to be clipped")
        return int(np.clip(self.batch_size, 1, n_samples))

    def _stochastic_epoch(self, net: Network, solver: Any, train: tuple, batch_size: int, rng: Any,
                          state: dict) -> float:
        """One pass over the (shuffled) training rows; returns the epoch's mean loss."""
        X_train, Y_train, sw_train = train
        n_samples = X_train.shape[0]
        if self.shuffle:
            # scikit-learn's shuffle(sample_idx, random_state=...): the same draw, without its overhead
            perm = np.arange(n_samples)
            self._random_state.shuffle(perm)
            state["sample_idx"] = state["sample_idx"][perm]
        sample_idx = state["sample_idx"]
        accumulated = 0.0
        for start in range(0, n_samples, batch_size):
            stop = min(start + batch_size, n_samples)
            if batch_size == n_samples:
                idx = slice(None)  # one batch of everything: the order of the rows cannot matter
            else:
                idx = sample_idx[start:stop] if self.shuffle else slice(start, stop)
            if sw_train is not None:
                c, sw_sum = self._batch_weights(sw_train[idx], stop - start, net.dtype)
            elif stop - start == batch_size:
                c, sw_sum = state["full"]
            else:
                c, sw_sum = self._batch_weights(None, stop - start, net.dtype)
            if self._sharded is None:
                _, batch_loss = net.loss_and_grad(X_train[idx], Y_train[idx], c, sw_sum, self.alpha, rng)
            else:  # this rank's part of the batch's loss; the sum over the ranks comes after the epoch
                _, batch_loss = self._sharded.loss_and_grad(net, X_train, Y_train, idx, c, sw_sum, self.alpha)
            accumulated += batch_loss * (stop - start)
            solver.update(net.params, net.grads)
        if self._sharded is not None:
            accumulated = allreduce_scalar(accumulated)
        return accumulated / n_samples

    def _stochastic_epoch_end(self, net: Network, solver: Any, n_samples: int, early_stopping: bool, val: tuple,
                              incremental: bool) -> bool:
        """Bookkeeping, callbacks and the stopping rules after one epoch; True to stop."""
        self.n_iter_ += 1
        self.t_ += n_samples
        self.loss_curve_.append(self.loss_)
        if self.verbose:
            print(f"Iteration {self.n_iter_:d}, loss = {self.loss_:.8f}")
        self._update_no_improvement_count(net, early_stopping, *val)
        solver.iteration_ends(self.t_)
        stop_now = False
        for cb in self.callbacks or ():
            stop_now = cb(self, self.n_iter_, self.loss_) is True or stop_now
        if self._no_improvement_count > self.n_iter_no_change:
            if early_stopping:
                msg = (f"Validation score did not improve more than tol={self.tol:f} for "
                       f"{self.n_iter_no_change:d} consecutive epochs.")
            else:
                msg = (f"Training loss did not improve more than tol={self.tol:f} for "
                       f"{self.n_iter_no_change:d} consecutive epochs.")
            if solver.trigger_stopping(msg, self.verbose):
                return True
            self._no_improvement_count = 0
        if incremental or stop_now:
            return True
        if self.n_iter_ == self.max_iter:
            warnings.warn(
                f"Stochastic Optimizer: Maximum iterations ({self.max_iter:d}) reached and the optimization "
                "hasn't converged yet.",
                ConvergenceWarning,
            )
        return False

    def _update_no_improvement_count(self, net: Network, early_stopping: bool, X_val, y_val, sw_val) -> None:
        if early_stopping:
            score = self._score(X_val, y_val, sample_weight=sw_val)
            self.validation_scores_.append(score)
            if self.verbose:
                print(f"Validation score: {self.validation_scores_[-1]:f}")
            if score < self.best_validation_score_ + self.tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            if score > self.best_validation_score_:
                self.best_validation_score_ = score
                self._best_params = net.params.copy()
        else:
            if self.loss_curve_[-1] > self.best_loss_ - self.tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            if self.loss_curve_[-1] < self.best_loss_:
                self.best_loss_ = self.loss_curve_[-1]

    # ------------------------------------------------------------------ prediction
    def _forward_pass_fast(self, X: np.ndarray) -> np.ndarray:
        bn = None
        if self.batch_norm and hasattr(self, "bn_gammas_"):
            bn = list(zip(self.bn_gammas_, self.bn_betas_, self.bn_moving_means_, self.bn_moving_vars_))
        return forward_fast(X, self.coefs_, self.intercepts_, self.activation, self.out_activation_, bn)

    def _check_solver(self) -> bool:
        if self.solver not in _STOCHASTIC_SOLVERS:
            raise AttributeError(
                f"partial_fit is only available for stochastic optimizers. {self.solver} is not stochastic."
            )
        return True

    def _score_with_function(self, X, y, sample_weight, score_function):
        y_pred = self._predict(X, check_input=False)
        if np.issubdtype(y_pred.dtype, np.floating) and not np.isfinite(y_pred).all():
            return np.nan
        return score_function(y, y_pred, sample_weight=sample_weight)


def solver_size(solver) -> int:
    """Number of parameters a solver's state was made for."""
    return (solver.velocity if isinstance(solver, SGDSolver) else solver.m).size
