"""MLPClassifier and MLPRegressor: scikit-learn's estimators, trained on neurona's engine.

They take scikit-learn's parameters with the same names, defaults and meanings, set the same fitted
attributes and raise the same errors, so the slides' code runs with only the import changed:

>>> from neurona.sklearn import MLPClassifier
>>> X = [[0, 0], [0, 1], [1, 0], [1, 1]]
>>> MLPClassifier(hidden_layer_sizes=(8,), solver="lbfgs", random_state=0).fit(X, [0, 1, 1, 0]).predict(X)
array([0, 1, 1, 0])

Training runs in float32 (`dtype="float64"` reproduces scikit-learn's numbers), which with the fused ops
makes `fit` several times faster. Beyond scikit-learn they accept:

- ``dropout`` (float in [0, 1), default 0): inverted dropout on every hidden layer while training.
- ``batch_norm`` (bool, default False): batch normalisation between each hidden layer's affine map and
  its activation (Keras's momentum 0.99 and epsilon 1e-3); fitted ``bn_gammas_``, ``bn_betas_``,
  ``bn_moving_means_``, ``bn_moving_vars_``.
- ``callbacks`` (list of callables, default None): each is called after every epoch as
  ``cb(estimator, epoch, loss)``, with the estimator's ``coefs_`` already holding the current weights
  (so ``estimator.score(X_test, y_test)`` works inside); returning True stops training.
- ``dtype`` ("float32" or "float64", default "float32"): the precision of training and of ``coefs_``.
- ``distribute`` (None, "mpi" or a ``neurona.distributed.DataParallel``, default None): data-parallel
  training over MPI (start the script with ``mpirun -n N``); every rank gets the same X and y and
  trains on its part of each batch; see docs/distributed.md.

dropout and batch_norm need solver "sgd" or "adam".
"""

from __future__ import annotations

import numpy as np
from sklearn.base import ClassifierMixin, RegressorMixin, _fit_context
from sklearn.metrics import accuracy_score, r2_score
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import column_or_1d
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import _check_partial_fit_first_call, type_of_target, unique_labels
from sklearn.utils.validation import check_is_fitted, validate_data

from ._base import BaseMLP

_COMMON_DOC = """
    Parameters are scikit-learn's (hidden_layer_sizes, activation, solver, alpha, batch_size, learning_rate,
    learning_rate_init, power_t, max_iter, shuffle, random_state, tol, verbose, warm_start, momentum,
    nesterovs_momentum, early_stopping, validation_fraction, beta_1, beta_2, epsilon, n_iter_no_change,
    max_fun), plus neurona's dropout, batch_norm, callbacks, dtype and distribute (see the module docstring).

    Fitted attributes are scikit-learn's: coefs_, intercepts_, loss_, n_iter_, n_layers_, n_outputs_,
    out_activation_, n_features_in_, t_ and, with the stochastic solvers, loss_curve_, best_loss_,
    validation_scores_, best_validation_score_.
"""


class MLPClassifier(ClassifierMixin, BaseMLP):
    """Multi-layer perceptron classifier minimising the log-loss, scikit-learn's API on neurona's engine.

    Binary and multi-label targets get logistic outputs, multiclass targets a softmax; ``classes_`` holds
    the labels in the order of ``predict_proba``'s columns.
    """

    __doc__ = (__doc__ or "") + _COMMON_DOC

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        max_fun=15000,
        dropout=0.0,
        batch_norm=False,
        callbacks=None,
        dtype="float32",
        distribute=None,
    ):
        self._store_params(locals())

    def _validate_input(self, X, y, incremental, reset):
        # converting to the training dtype first makes the finite check and the copy happen once, in float32
        X, y = validate_data(self, X, y, multi_output=True, dtype=self.dtype, reset=reset)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if (not hasattr(self, "classes_")) or (not self.warm_start and not incremental):
            self._label_binarizer = LabelBinarizer()
            self._label_binarizer.fit(y)
            self.classes_ = self._label_binarizer.classes_
        else:
            classes = unique_labels(y)
            if self.warm_start:
                if set(classes) != set(self.classes_):
                    raise ValueError(
                        "warm_start can only be used where `y` has the same classes as in the previous call "
                        f"to fit. Previously got {self.classes_}, `y` has {classes}"
                    )
            elif len(np.setdiff1d(classes, self.classes_, assume_unique=True)):
                raise ValueError(
                    "`y` has classes not in `self.classes_`. "
                    f"`self.classes_` has {self.classes_}. 'y' has {classes}."
                )
        return X, self._label_binarizer.transform(y).astype(bool)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Train on X (n_samples, n_features) and class labels y; returns self."""
        return self._fit(X, y, sample_weight=sample_weight, incremental=False)

    @available_if(lambda est: est._check_solver())
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """One epoch over (X, y); `classes` (all labels) is required on the first call."""
        if _check_partial_fit_first_call(self, classes):
            self._label_binarizer = LabelBinarizer()
            if type_of_target(y).startswith("multilabel"):
                self._label_binarizer.fit(y)
            else:
                self._label_binarizer.fit(classes)
        return self._fit(X, y, sample_weight=sample_weight, incremental=True)

    def predict(self, X):
        """Predicted class labels (an indicator matrix for multi-label targets)."""
        check_is_fitted(self)
        return self._predict(X)

    def _predict(self, X, check_input=True):
        if check_input:
            X = validate_data(self, X, dtype=(np.float64, np.float32), reset=False)
        y_pred = self._forward_pass_fast(X)
        if self.n_outputs_ == 1:
            y_pred = y_pred.ravel()
        return self._label_binarizer.inverse_transform(y_pred)

    def _score(self, X, y, sample_weight=None):
        return self._score_with_function(X, y, sample_weight, accuracy_score)

    def predict_proba(self, X):
        """Probability of each class, columns in the order of `classes_`."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=(np.float64, np.float32), reset=False)
        y_pred = self._forward_pass_fast(X)
        if self.n_outputs_ == 1:
            y_pred = y_pred.ravel()
        if y_pred.ndim == 1:
            return np.vstack([1 - y_pred, y_pred]).T
        return y_pred

    def predict_log_proba(self, X):
        """log(predict_proba(X))."""
        y_prob = self.predict_proba(X)
        return np.log(y_prob, out=y_prob)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


class MLPRegressor(RegressorMixin, BaseMLP):
    """Multi-layer perceptron regressor minimising half the squared error (or Poisson deviance).

    ``loss`` is "squared_error" (identity output) or "poisson" (exp output, y >= 0); several target
    columns give a multi-output net.
    """

    __doc__ = (__doc__ or "") + _COMMON_DOC

    _parameter_constraints: dict = {
        **BaseMLP._parameter_constraints,
        "loss": [StrOptions({"squared_error", "poisson"})],
    }

    def __init__(
        self,
        loss="squared_error",
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        max_fun=15000,
        dropout=0.0,
        batch_norm=False,
        callbacks=None,
        dtype="float32",
        distribute=None,
    ):
        self._store_params(locals())

    def _validate_input(self, X, y, incremental, reset):
        X, y = validate_data(self, X, y, multi_output=True, y_numeric=True, dtype=self.dtype, reset=reset)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        return X, y

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Train on X (n_samples, n_features) and targets y (n_samples,) or (n_samples, n_outputs)."""
        return self._fit(X, y, sample_weight=sample_weight, incremental=False)

    @available_if(lambda est: est._check_solver())
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None):
        """One epoch over (X, y), continuing from the current weights."""
        return self._fit(X, y, sample_weight=sample_weight, incremental=True)

    def predict(self, X):
        """Predicted targets, shape (n_samples,) for one output, else (n_samples, n_outputs)."""
        check_is_fitted(self)
        return self._predict(X)

    def _predict(self, X, check_input=True):
        if check_input:
            X = validate_data(self, X, dtype=(np.float64, np.float32), reset=False)
        y_pred = self._forward_pass_fast(X)
        if y_pred.shape[1] == 1:
            return y_pred.ravel()
        return y_pred

    def _score(self, X, y, sample_weight=None):
        return self._score_with_function(X, y, sample_weight, r2_score)
