"""KerasClassifier / KerasRegressor: neurona models inside scikit-learn's tools."""

import pickle
import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn")

from sklearn.base import clone  # noqa: E402
from sklearn.datasets import make_blobs, make_multilabel_classification, make_regression  # noqa: E402
from sklearn.exceptions import NotFittedError  # noqa: E402
from sklearn.model_selection import GridSearchCV, cross_val_score  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from neurona.layers import Dense, Input  # noqa: E402
from neurona.models import Sequential  # noqa: E402
from neurona.sklearn import KerasClassifier, KerasRegressor  # noqa: E402


def build(meta, units=16, activation="relu"):
    """The wrapper's suggested output layer: meta gives the units and the activation."""
    return Sequential([Input(shape=(meta["n_features_in_"],)), Dense(units, activation=activation),
                       Dense(meta["n_outputs_"], activation=meta["output_activation_"])])


def build_softmax(n_features_in_, n_classes_, hidden=8):
    """scikeras's habit: softmax over n_classes_ even for two classes, meta keys as arguments."""
    return Sequential([Input(shape=(n_features_in_,)), Dense(hidden, activation="tanh"),
                       Dense(n_classes_, activation="softmax")])


def build_compiled(meta):
    model = build(meta, units=12)
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    return model


def blobs(n=150, centers=3):
    X, y = make_blobs(n, n_features=4, centers=centers, random_state=0)
    return StandardScaler().fit_transform(X), y


CLF = dict(optimizer="adam", optimizer__learning_rate=0.02, epochs=15, batch_size=16, random_state=0)


def test_classifier_labels_probabilities_and_history():
    X, y = blobs()
    labels = np.array(["red", "green", "blue"])[y]
    clf = KerasClassifier(build, **CLF).fit(X, labels)
    assert list(clf.classes_) == ["blue", "green", "red"] and clf.n_classes_ == 3
    proba = clf.predict_proba(X)
    assert proba.shape == (150, 3) and proba.dtype == np.float64
    np.testing.assert_allclose(proba.sum(1), 1, rtol=1e-5)
    assert clf.score(X, labels) > 0.9 and set(clf.predict(X)) <= set(labels)
    assert len(clf.history_["loss"]) == 15 and clf.history_["loss"][-1] < clf.history_["loss"][0]
    assert clf.model_.loss == "sparse_categorical_crossentropy"


def test_binary_with_one_sigmoid_unit_or_a_softmax_pair():
    X, y = blobs(centers=2)
    one = KerasClassifier(build, **CLF).fit(X, y)
    assert one.model_.output_shape[-1] == 1 and one.model_.loss == "binary_crossentropy"
    assert one.predict_proba(X).shape == (150, 2) and one.score(X, y) > 0.9
    two = KerasClassifier(build_softmax, **CLF).fit(X, y)
    assert two.model_.output_shape[-1] == 2 and two.score(X, y) > 0.9


def test_user_compiled_model_gets_one_hot_targets():
    X, y = blobs()
    clf = KerasClassifier(build_compiled, epochs=20, random_state=0).fit(X, y)
    assert clf.model_.loss == "categorical_crossentropy" and clf.score(X, y) > 0.9


def test_multilabel_targets():
    X, Y = make_multilabel_classification(120, n_features=6, n_classes=3, random_state=0)
    clf = KerasClassifier(build, **CLF).fit(X, Y)
    assert clf.predict(X).shape == Y.shape and clf.predict_proba(X).shape == Y.shape
    assert clf.model_.loss == "binary_crossentropy"


def test_regressor_one_and_several_targets():
    X, y = make_regression(200, n_features=3, noise=0.1, random_state=0)
    reg = KerasRegressor(build, optimizer="adam", optimizer__learning_rate=0.02, epochs=30, random_state=0)
    reg.fit(X, y / y.std())
    assert reg.predict(X).shape == (200,) and reg.score(X, y / y.std()) > 0.9
    X2, Y2 = make_regression(100, n_features=3, n_targets=2, random_state=0)
    multi = KerasRegressor(build, optimizer="adam", epochs=2, random_state=0).fit(X2, Y2)
    assert multi.predict(X2).shape == (100, 2) and multi.model_.loss == "mse"


def test_parameters_route_to_build_compile_and_fit():
    X, y = blobs()
    clf = KerasClassifier(build, **CLF, model__units=5, activation="tanh", fit__validation_split=0.2).fit(X, y)
    assert clf.model_.layers[0].units == 5 and clf.model_.layers[0].get_config()["activation"] == "tanh"
    assert clf.model_.optimizer.learning_rate == pytest.approx(0.02) and "val_loss" in clf.history_
    assert clf.get_params()["model__units"] == 5
    clf.set_params(model__units=7, units=9)
    assert clf.get_params()["model__units"] == 7 and clf.get_params()["units"] == 9
    with pytest.raises(ValueError, match="Invalid parameter 'nonsense'"):
        clf.set_params(nonsense=1)
    with pytest.raises(ValueError, match="argument 'hidden' has no value"):
        KerasClassifier(lambda meta, hidden: build(meta, hidden)).fit(X, y)


def test_random_state_makes_fits_repeatable_and_leaves_the_generator_alone():
    from neurona.random import get_rng

    X, y = blobs()
    before = get_rng().bit_generator.state
    a = KerasClassifier(build, **CLF).fit(X, y).predict_proba(X)
    assert get_rng().bit_generator.state == before
    b = KerasClassifier(build, **CLF).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(a, b)


def test_clone_grid_search_cross_val_and_pipeline():
    X, y = blobs()
    clf = KerasClassifier(build, **CLF, model__units=4)
    copy = clone(clf)
    assert copy.get_params()["model__units"] == 4 and not hasattr(copy, "model_")
    pipe = make_pipeline(StandardScaler(), clf)
    assert cross_val_score(pipe, X, y, cv=3).mean() > 0.85
    grid = GridSearchCV(clf, {"model__units": [2, 8], "activation": ["relu", "tanh"]}, cv=2).fit(X, y)
    assert set(grid.best_params_) == {"model__units", "activation"} and grid.best_score_ > 0.85


def test_pickle_goes_through_the_neurona_archive():
    X, y = blobs()
    clf = KerasClassifier(build, **CLF).fit(X, y)
    state = clf.__getstate__()
    assert isinstance(state["model_"], dict) and isinstance(state["model_"]["neurona_archive"], bytes)
    back = pickle.loads(pickle.dumps(clf))
    np.testing.assert_allclose(back.predict_proba(X), clf.predict_proba(X), rtol=1e-6)
    back.partial_fit(X, y)  # still trainable after the round trip


def test_partial_fit_and_warm_start():
    X, y = blobs()
    clf = KerasClassifier(build, **CLF)
    clf.partial_fit(X[:60], y[:60], classes=[0, 1, 2])
    assert len(clf.history_["loss"]) == 1 and list(clf.classes_) == [0, 1, 2]
    clf.partial_fit(X[60:], y[60:])
    assert len(clf.history_["loss"]) == 2
    warm = KerasClassifier(build, **dict(CLF, epochs=2), warm_start=True).fit(X, y)
    model = warm.model_
    warm.fit(X, y)
    assert warm.model_ is model and len(warm.history_["loss"]) == 4


def test_errors_at_the_boundary():
    X, y = blobs()
    with pytest.raises(NotFittedError):
        KerasClassifier(build).predict(X)
    with pytest.raises(ValueError, match="needs model="):
        KerasClassifier().fit(X, y)
    with pytest.raises(TypeError, match="must return a neurona model"):
        KerasClassifier(lambda meta: "not a model").fit(X, y)
    with pytest.raises(ValueError, match="Unknown label type: continuous"):
        KerasClassifier(build).fit(X, y + 0.5)
    with pytest.raises(ValueError, match="Input X contains NaN"):
        KerasRegressor(build).fit(np.where(X > 1.5, np.nan, X), y)
    with pytest.raises(ValueError, match="only one class"):
        KerasClassifier(build).fit(X, np.zeros(len(X)))
    with pytest.raises(ValueError, match="2 output units but y has 3 classes"):
        KerasClassifier(lambda meta: build_softmax(meta["n_features_in_"], 2), **CLF).fit(X, y)
    clf = KerasClassifier(build, **dict(CLF, epochs=1)).fit(X, y)
    with pytest.raises(ValueError, match="X has 3 features, but KerasClassifier is expecting 4 features"):
        clf.predict(X[:, :3])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        clf.predict(X)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_grid_search_example_runs(capsys):
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "examples" / "sklearn_grid_search.py"
    spec = importlib.util.spec_from_file_location("sklearn_grid_search", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    mlp_test, keras_test = module.main(max_iter=100, epochs=20, cv=2)
    assert mlp_test >= 0.9 and keras_test >= 0.9
    assert "layers=2" in capsys.readouterr().out
