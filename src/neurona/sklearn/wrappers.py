"""KerasClassifier and KerasRegressor: a function that builds a neurona model, as a scikit-learn estimator.

The API is scikeras's, so a model can be tuned with the slides' trial and error automated by
`GridSearchCV`, cross-validated with `cross_val_score`, or put at the end of a `Pipeline`:

>>> from neurona.models import Sequential
>>> from neurona.layers import Dense, Input
>>> def build(meta, units=16, activation="relu"):
...     return Sequential([Input(shape=(meta["n_features_in_"],)), Dense(units, activation=activation),
...                        Dense(meta["n_outputs_"], activation=meta["output_activation_"])])
>>> clf = KerasClassifier(build, optimizer="adam", epochs=5, random_state=0, model__units=8)
>>> clf.fit([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0]], ["a", "b", "b", "a"]).classes_
array(['a', 'b'], dtype='<U1')

Parameters reach the build function by name: a parameter `units` of the function gets ``model__units``
if given, else the wrapper's own parameter of that name (``KerasClassifier(build, units=8)``), else its
default. It may also ask for ``meta`` (a dict: ``n_features_in_``, ``target_type_``, ``n_outputs_``: the
number of output units to use, ``output_activation_``: "sigmoid", "softmax" or "linear", and for
classifiers ``classes_`` and ``n_classes_``), any of those keys directly, or ``compile_kwargs``.
A model returned uncompiled is compiled with ``optimizer`` (plus ``optimizer__*`` settings), ``loss``
(by default binary or sparse categorical cross-entropy, chosen from the targets and the output units, or
"mse" for regression), ``metrics`` and ``compile__*``. ``fit__*`` and ``predict__*`` go to the model's
`fit` and `predict`; keyword arguments of the wrapper's `fit` (``sample_weight=``, ``validation_data=``)
go to the model's `fit` too. ``random_state`` seeds neurona's generator for the whole fit (weights,
shuffling, dropout) and restores it afterwards. ``distribute`` ("mpi" or a
``neurona.distributed.DataParallel``) goes to the model's `fit`: data-parallel training over MPI.
"""

from __future__ import annotations

import contextlib
import inspect
import os
import tempfile
from collections.abc import Iterator
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils import check_random_state, column_or_1d
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import check_is_fitted, validate_data

from .. import random as nrandom

ROUTES = ("model", "fit", "compile", "optimizer", "predict")


@contextlib.contextmanager
def _seeded(seed: int | None) -> Iterator[None]:
    """Run the block with neurona's generator seeded by `seed`, then give it back its previous state."""
    if seed is None:
        yield
        return
    gen = nrandom.get_rng()
    saved = gen.bit_generator.state
    gen.bit_generator.state = type(gen.bit_generator)(seed).state
    try:
        yield
    finally:
        gen.bit_generator.state = saved


def _loss_name(loss: Any) -> str:
    name = loss if isinstance(loss, str) else getattr(loss, "name", None) or getattr(loss, "__name__", "")
    return str(name).lower()


class BaseWrapper(BaseEstimator):
    """What KerasClassifier and KerasRegressor share: building, compiling, fitting and pickling the model."""

    def __init__(
        self,
        model=None,
        *,
        optimizer="rmsprop",
        loss=None,
        metrics=None,
        epochs=1,
        batch_size=None,
        verbose=0,
        callbacks=None,
        validation_split=0.0,
        shuffle=True,
        random_state=None,
        warm_start=False,
        distribute=None,
        **kwargs,
    ):
        self.model = model
        self.optimizer = optimizer
        self.loss = loss
        self.metrics = metrics
        self.epochs = epochs
        self.batch_size = batch_size
        self.verbose = verbose
        self.callbacks = callbacks
        self.validation_split = validation_split
        self.shuffle = shuffle
        self.random_state = random_state
        self.warm_start = warm_start
        self.distribute = distribute
        # routed parameters (model__units) and build-function arguments live here, outside the signature
        self._kwargs = dict(kwargs)

    # ------------------------------------------------------------------ parameters
    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The signature's parameters plus the keyword ones (routed `model__units`, build-function arguments)."""
        params = super().get_params(deep=False)
        params.update(self._kwargs)
        return params

    def set_params(self, **params: Any) -> BaseWrapper:
        """Set wrapper parameters, routed ones (`model__units`, `fit__...`) and build-function arguments."""
        named = set(self._get_param_names())
        valid = self.get_params()
        accepted = self._build_arguments()
        for key, value in params.items():
            route = key.split("__", 1)[0] if "__" in key else None
            if key in named:
                setattr(self, key, value)
            elif key in valid or route in ROUTES or key in accepted:
                self._kwargs[key] = value
            else:
                raise ValueError(
                    f"Invalid parameter {key!r} for estimator {type(self).__name__}. Valid parameters are: "
                    f"{sorted(valid)}, routed ones ({', '.join(r + '__*' for r in ROUTES)}) and the build "
                    f"function's arguments {sorted(accepted)}."
                )
        return self

    def _routed(self, route: str) -> dict[str, Any]:
        prefix = route + "__"
        return {k[len(prefix):]: v for k, v in self.get_params().items() if k.startswith(prefix)}

    def _build_arguments(self) -> list[str]:
        fn = self.model
        if fn is None or not callable(fn) or _is_model(fn):
            return []
        try:
            return [p for p in inspect.signature(fn).parameters if p not in ("meta", "compile_kwargs")]
        except (TypeError, ValueError):
            return []

    def _seed(self) -> int | None:
        if self.random_state is None:
            return None
        if isinstance(self.random_state, (int, np.integer)):
            return int(self.random_state)
        return int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))

    # ------------------------------------------------------------------ building
    def _compile_kwargs(self, model: Any) -> dict[str, Any]:
        from .. import optimizers

        opt = optimizers.get(self.optimizer)
        # a fresh optimizer each build, so clones and refits never share slot state
        opt = optimizers.deserialize({"class_name": type(opt).__name__,
                                      "config": {**opt.get_config(), **self._routed("optimizer")}})
        loss = self.loss if self.loss is not None else self._default_loss(model)
        return {"optimizer": opt, "loss": loss, "metrics": self.metrics, **self._routed("compile")}

    def _build_model(self) -> Any:
        fn = self.model
        if fn is None:
            raise ValueError(f"{type(self).__name__} needs model=: a function that returns a neurona model "
                             "(compiled or not), or a neurona model to copy")
        if _is_model(fn):
            model = type(fn).from_config(fn.get_config())
        elif callable(fn):
            model = fn(**self._call_arguments(fn))
        else:
            raise TypeError(f"model= must be a function that builds a neurona model, got {type(fn).__name__}")
        if not _is_model(model):
            raise TypeError(f"the model function {getattr(fn, '__name__', fn)!r} must return a neurona model, "
                            f"got {type(model).__name__}")
        try:
            model.output_shape
        except AttributeError:
            model.build((None, self.n_features_in_))
        if not model.compiled:
            model.compile(**self._compile_kwargs(model))
        return model

    def _call_arguments(self, fn: Any) -> dict[str, Any]:
        meta = self._meta()
        routed, params = self._routed("model"), self.get_params()
        args: dict[str, Any] = {}
        for name, p in inspect.signature(fn).parameters.items():
            if p.kind is p.VAR_KEYWORD:
                args.update({k: v for k, v in routed.items() if k not in args})
            elif name == "meta":
                args[name] = meta
            elif name == "compile_kwargs":
                args[name] = {"optimizer": self.optimizer, "loss": self.loss, "metrics": self.metrics,
                              **self._routed("compile")}
            elif name in routed:
                args[name] = routed[name]
            elif name in params and name != "model":
                args[name] = params[name]
            elif name in meta:
                args[name] = meta[name]
            elif p.default is p.empty and p.kind is not p.VAR_POSITIONAL:
                raise ValueError(f"the model function's argument {name!r} has no value: pass model__{name}=... "
                                 f"to {type(self).__name__}")
        return args

    # ------------------------------------------------------------------ fitting
    def _fit(self, X: Any, y: Any, kwargs: dict[str, Any], epochs: int, initialize: bool,
             classes: Any = None) -> BaseWrapper:
        X, y = validate_data(self, X, y, multi_output=True, dtype=np.float32, y_numeric=not self._is_classifier,
                             reset=initialize)
        Y = self._encode_targets(y, reset=initialize, classes=classes)
        fit_args = {"batch_size": self.batch_size, "epochs": epochs, "verbose": self.verbose,
                    "callbacks": self.callbacks, "validation_split": self.validation_split, "shuffle": self.shuffle,
                    "distribute": self.distribute,
                    **self._routed("fit"), **kwargs}
        with _seeded(self._seed()):
            if initialize:
                self.model_ = self._build_model()
                self.history_ = {}
            Y = self._adapt_targets(Y)
            history = self.model_.fit(X, Y, **fit_args)
        for key, values in history.history.items():
            self.history_.setdefault(key, []).extend(values)
        return self

    def fit(self, X: Any, y: Any, **kwargs: Any) -> BaseWrapper:
        """Build (unless warm_start and already fitted), compile and train for `epochs`; kwargs go to model.fit."""
        initialize = not (self.warm_start and hasattr(self, "model_"))
        return self._fit(X, y, kwargs, self.epochs, initialize)

    def _raw_predict(self, X: Any) -> np.ndarray:
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float32, reset=False)
        out = self.model_.predict(X, **{"verbose": 0, **self._routed("predict")})
        return np.asarray(out, dtype=np.float64)

    # ------------------------------------------------------------------ pickling through the safe file format
    def __getstate__(self) -> dict[str, Any]:
        state = dict(super().__getstate__())  # object.__getstate__ hands back __dict__ itself: copy it
        if "model_" in state:
            from ..saving import save_model

            with tempfile.TemporaryDirectory() as tmp:
                path = os.path.join(tmp, "model.neurona")
                save_model(state["model_"], path)
                with open(path, "rb") as f:
                    state["model_"] = {"neurona_archive": f.read()}
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        saved = state.get("model_")
        if isinstance(saved, dict) and "neurona_archive" in saved:
            from ..saving import load_model

            with tempfile.TemporaryDirectory() as tmp:
                path = os.path.join(tmp, "model.neurona")
                with open(path, "wb") as f:
                    f.write(saved["neurona_archive"])
                state = {**state, "model_": load_model(path)}
        super().__setstate__(state)


def _is_model(obj: Any) -> bool:
    from ..models import Model

    return isinstance(obj, Model)


class KerasClassifier(ClassifierMixin, BaseWrapper):
    """A neurona model as a scikit-learn classifier (labels of any type, binary, multiclass or multi-label).

    Fitted attributes: ``model_`` (the trained neurona model), ``history_`` (per-epoch logs), ``classes_``,
    ``n_classes_``, ``target_type_``, ``n_features_in_``.
    """

    _is_classifier = True

    def _encode_targets(self, y: np.ndarray, reset: bool, classes: Any = None) -> np.ndarray:
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        target_type = type_of_target(y)
        if reset:
            self.target_type_ = target_type
            if target_type.startswith("multilabel"):
                self.classes_ = np.arange(y.shape[1])
            else:
                self.classes_ = np.unique(y) if classes is None else np.unique(np.asarray(classes))
            self.n_classes_ = len(self.classes_)
            if self.n_classes_ < 2:
                raise ValueError(f"{type(self).__name__} can't train when only one class is present in y: "
                                 f"got only {self.classes_}")
        if self.target_type_.startswith("multilabel"):
            return np.asarray(y, dtype=np.float32)
        unseen = np.setdiff1d(np.unique(y), self.classes_)
        if unseen.size:
            raise ValueError(f"y has classes {unseen} that were not seen in the first fit; classes_ = {self.classes_}")
        return np.searchsorted(self.classes_, y)

    def _meta(self) -> dict[str, Any]:
        multilabel = self.target_type_.startswith("multilabel")
        binary = self.n_classes_ == 2 and not multilabel
        return {"n_features_in_": self.n_features_in_, "target_type_": self.target_type_,
                "classes_": self.classes_, "n_classes_": self.n_classes_,
                "n_outputs_": 1 if binary else self.n_classes_,
                "output_activation_": "sigmoid" if binary or multilabel else "softmax"}

    def _output_units(self, model: Any) -> int:
        shape = model.output_shape
        if isinstance(shape, list):
            raise ValueError(f"{type(self).__name__} needs a model with one output, got {len(shape)}")
        return int(shape[-1])

    def _default_loss(self, model: Any) -> str:
        if self.target_type_.startswith("multilabel") or self._output_units(model) == 1:
            return "binary_crossentropy"
        return "sparse_categorical_crossentropy"

    def _adapt_targets(self, codes: np.ndarray) -> np.ndarray:
        """Class codes in the form the compiled loss expects (one-hot, a 0/1 column or integers)."""
        if self.target_type_.startswith("multilabel"):
            return codes
        units = self._output_units(self.model_)
        name = _loss_name(self.model_.loss)
        if units != 1 and units != self.n_classes_:
            raise ValueError(f"the model has {units} output units but y has {self.n_classes_} classes: use "
                             f"meta['n_outputs_'] units ({self._meta()['n_outputs_']}) in the last layer")
        if units == 1:
            return codes.reshape(-1, 1).astype(np.float32)
        if "categorical" in name and "sparse" not in name:
            return np.eye(self.n_classes_, dtype=np.float32)[codes]
        return codes

    def partial_fit(self, X: Any, y: Any, classes: Any = None, **kwargs: Any) -> KerasClassifier:
        """Train one epoch, building the model on the first call (`classes` lists every label, optionally)."""
        return self._fit(X, y, kwargs, 1, initialize=not hasattr(self, "model_"), classes=classes)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, columns in the order of `classes_` (one column per label if multi-label)."""
        p = self._raw_predict(X)
        if self.target_type_.startswith("multilabel"):
            return p
        if p.shape[1] == 1:
            return np.hstack([1 - p, p])
        return p

    def predict(self, X: Any) -> np.ndarray:
        """The most probable class of each sample (an indicator matrix for multi-label targets)."""
        p = self.predict_proba(X)
        if self.target_type_.startswith("multilabel"):
            return (p > 0.5).astype(int)
        return self.classes_[np.argmax(p, axis=1)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


class KerasRegressor(RegressorMixin, BaseWrapper):
    """A neurona model as a scikit-learn regressor (one or several targets).

    Fitted attributes: ``model_``, ``history_``, ``n_outputs_``, ``target_type_``, ``n_features_in_``.
    """

    _is_classifier = False

    def _encode_targets(self, y: np.ndarray, reset: bool, classes: Any = None) -> np.ndarray:
        Y = np.asarray(y, dtype=np.float32)
        Y = Y.reshape(-1, 1) if Y.ndim == 1 else Y
        if reset:
            self.target_type_ = type_of_target(y)
            self.n_outputs_ = Y.shape[1]
            self._y_1d = np.ndim(y) == 1
        elif Y.shape[1] != self.n_outputs_:
            raise ValueError(f"y has {Y.shape[1]} targets but {type(self).__name__} was fitted with {self.n_outputs_}")
        return Y

    def _meta(self) -> dict[str, Any]:
        return {"n_features_in_": self.n_features_in_, "target_type_": self.target_type_,
                "n_outputs_": self.n_outputs_, "output_activation_": "linear"}

    def _default_loss(self, model: Any) -> str:
        return "mse"

    def _adapt_targets(self, Y: np.ndarray) -> np.ndarray:
        return Y

    def partial_fit(self, X: Any, y: Any, **kwargs: Any) -> KerasRegressor:
        """Train one epoch, building the model on the first call."""
        return self._fit(X, y, kwargs, 1, initialize=not hasattr(self, "model_"))

    def predict(self, X: Any) -> np.ndarray:
        """Predicted targets: shape (n_samples,) if fitted on a 1-D y, else (n_samples, n_outputs)."""
        p = self._raw_predict(X)
        return p.ravel() if self._y_1d else p

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
