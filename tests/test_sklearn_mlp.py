"""neurona.sklearn's MLPClassifier / MLPRegressor against scikit-learn's own, step for step."""

import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn")

from sklearn import neural_network as sk  # noqa: E402
from sklearn.datasets import load_wine, make_blobs, make_multilabel_classification, make_regression  # noqa: E402
from sklearn.exceptions import ConvergenceWarning, NotFittedError  # noqa: E402
from sklearn.model_selection import GridSearchCV, train_test_split  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

import neurona  # noqa: E402
from neurona.sklearn import MLPClassifier, MLPRegressor  # noqa: E402
from neurona.sklearn._network import OutputLoss  # noqa: E402


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


def blobs(n=120, centers=3, seed=0):
    X, y = make_blobs(n, n_features=4, centers=centers, random_state=seed)
    return StandardScaler().fit_transform(X), y


def regression(n=120, outputs=1, seed=0):
    X, y = make_regression(n, n_features=4, n_targets=outputs, noise=0.1, random_state=seed)
    return StandardScaler().fit_transform(X), y / np.std(y)


# ---------------------------------------------------------------------------------------- the output op
@pytest.mark.parametrize("kind", ["softmax", "logistic", "identity", "exp"])
@pytest.mark.parametrize("weighted", [False, True])
def test_output_loss_gradcheck(kind, weighted):
    rng = np.random.default_rng(0)
    z = rng.normal(size=(5, 3))
    if kind == "softmax":
        y = np.eye(3)[rng.integers(0, 3, 5)]
    elif kind == "logistic":
        y = rng.integers(0, 2, (5, 3)).astype(float)
    else:
        y = rng.uniform(0, 2, (5, 3))
    sw = rng.uniform(0.5, 2, 5)
    c = (sw / sw.sum()).reshape(-1, 1) if weighted else 1 / 5
    neurona.gradcheck(lambda t: OutputLoss(kind, y, c)(t), z)


def test_output_loss_values_match_sklearn_losses():
    from sklearn.neural_network._base import binary_log_loss, log_loss, poisson_loss, squared_loss

    rng = np.random.default_rng(1)
    z = rng.normal(size=(6, 3))
    onehot = np.eye(3)[rng.integers(0, 3, 6)]
    bits = rng.integers(0, 2, (6, 3)).astype(float)
    target = rng.uniform(0, 2, (6, 3))
    p_soft = np.exp(z) / np.exp(z).sum(1, keepdims=True)
    p_log = 1 / (1 + np.exp(-z))
    n = 6
    assert OutputLoss("softmax", onehot, 1 / n)(z).item() == pytest.approx(log_loss(onehot, p_soft), rel=1e-10)
    assert OutputLoss("logistic", bits, 1 / n)(z).item() == pytest.approx(binary_log_loss(bits, p_log), rel=1e-10)
    # scikit-learn reports the squared error averaged over outputs; the op keeps the sum (its gradient)
    assert OutputLoss("identity", target, 1 / n)(z).item() / 3 == pytest.approx(squared_loss(target, z), rel=1e-10)
    assert OutputLoss("exp", target, 1 / n)(z).item() == pytest.approx(poisson_loss(target, np.exp(z)), rel=1e-10)


# ---------------------------------------------------------------------------------------- same numbers as sklearn
SOLVER_SETTINGS = [
    dict(solver="adam"),
    dict(solver="sgd", learning_rate_init=0.05),
    dict(solver="sgd", learning_rate="invscaling", learning_rate_init=0.5, nesterovs_momentum=False),
    dict(solver="sgd", learning_rate="adaptive", learning_rate_init=0.3, n_iter_no_change=2, tol=1e-2),
    dict(solver="adam", early_stopping=True, n_iter_no_change=3),
    dict(solver="adam", batch_size=32, alpha=0.1, activation="tanh"),
    dict(solver="adam", shuffle=False, activation="logistic"),
]


@pytest.mark.parametrize("settings", SOLVER_SETTINGS)
def test_float64_classifier_follows_sklearn_exactly(settings):
    X, y = blobs()
    params = dict(hidden_layer_sizes=(8, 6), max_iter=30, random_state=3, **settings)
    ours = MLPClassifier(dtype="float64", **params).fit(X, y)
    ref = sk.MLPClassifier(**params).fit(X, y)
    assert ours.n_iter_ == ref.n_iter_
    np.testing.assert_allclose(ours.loss_curve_, ref.loss_curve_, rtol=1e-9)
    for a, b in zip(ours.coefs_ + ours.intercepts_, ref.coefs_ + ref.intercepts_):
        np.testing.assert_allclose(a, b, rtol=1e-7, atol=1e-10)
    if settings.get("early_stopping"):
        np.testing.assert_allclose(ours.validation_scores_, ref.validation_scores_)
        assert ours.best_loss_ is None and ours.best_validation_score_ == ref.best_validation_score_
    else:
        assert ours.best_loss_ == pytest.approx(ref.best_loss_, rel=1e-9)
    np.testing.assert_allclose(ours.predict_proba(X), ref.predict_proba(X), rtol=1e-7, atol=1e-12)


@pytest.mark.parametrize("outputs", [1, 2])
@pytest.mark.parametrize("loss", ["squared_error", "poisson"])
def test_float64_regressor_follows_sklearn_exactly(outputs, loss):
    X, y = regression(outputs=outputs)
    if loss == "poisson":
        y = np.abs(y)
    params = dict(hidden_layer_sizes=(7,), max_iter=25, random_state=0, loss=loss, learning_rate_init=0.01)
    ours = MLPRegressor(dtype="float64", **params).fit(X, y)
    ref = sk.MLPRegressor(**params).fit(X, y)
    np.testing.assert_allclose(ours.loss_curve_, ref.loss_curve_, rtol=1e-9)
    np.testing.assert_allclose(ours.predict(X), ref.predict(X), rtol=1e-7, atol=1e-10)
    assert ours.out_activation_ == ref.out_activation_


def test_lbfgs_follows_sklearn():
    X, y = blobs()
    ours = MLPClassifier((10,), solver="lbfgs", max_iter=40, random_state=0, dtype="float64").fit(X, y)
    ref = sk.MLPClassifier((10,), solver="lbfgs", max_iter=40, random_state=0).fit(X, y)
    assert ours.n_iter_ == ref.n_iter_
    assert ours.loss_ == pytest.approx(ref.loss_, rel=1e-8)
    assert not hasattr(ours, "partial_fit") and not hasattr(ours, "loss_curve_")


def test_float32_default_stays_close_to_sklearn():
    X, y = blobs()
    ours = MLPClassifier((16,), max_iter=40, random_state=0).fit(X, y)
    ref = sk.MLPClassifier((16,), max_iter=40, random_state=0).fit(X, y)
    assert ours.coefs_[0].dtype == np.float32
    np.testing.assert_allclose(ours.loss_curve_, ref.loss_curve_, rtol=1e-4)


def test_wine_accuracy_matches_sklearn():
    X, y = load_wine(return_X_y=True)
    Xtr, Xte, ytr, yte = train_test_split(X, y, random_state=0)
    scaler = StandardScaler().fit(Xtr)
    Xtr, Xte = scaler.transform(Xtr), scaler.transform(Xte)
    scores = [M((13, 13, 13), max_iter=300, random_state=seed).fit(Xtr, ytr).score(Xte, yte)
              for M in (MLPClassifier, sk.MLPClassifier) for seed in (0, 1)]
    ours, theirs = np.mean(scores[:2]), np.mean(scores[2:])
    assert ours >= 0.9 and abs(ours - theirs) <= 0.05


# ---------------------------------------------------------------------------------------- targets and methods
def test_binary_multiclass_and_multilabel_outputs():
    X, y = blobs(centers=2)
    clf = MLPClassifier((5,), max_iter=20, random_state=0).fit(X, np.where(y, "yes", "no"))
    assert clf.out_activation_ == "logistic" and clf.n_outputs_ == 1
    assert clf.predict_proba(X).shape == (len(X), 2) and set(clf.predict(X)) <= {"yes", "no"}
    np.testing.assert_allclose(clf.predict_proba(X).sum(1), 1, rtol=1e-6)
    X, Y = make_multilabel_classification(60, n_features=5, n_classes=3, random_state=0)
    ml = MLPClassifier((5,), max_iter=20, random_state=0).fit(X, Y)
    assert ml.out_activation_ == "logistic" and ml.predict(X).shape == Y.shape
    X, y = blobs()
    mc = MLPClassifier((5,), max_iter=20, random_state=0).fit(X, y)
    assert mc.out_activation_ == "softmax"
    np.testing.assert_allclose(mc.predict_log_proba(X), np.log(mc.predict_proba(X)), rtol=1e-6)


def test_partial_fit_and_warm_start():
    X, y = blobs()
    clf = MLPClassifier((6,), random_state=0)
    with pytest.raises(ValueError, match="classes must be passed"):
        clf.partial_fit(X, y)
    clf.partial_fit(X[:50], y[:50], classes=[0, 1, 2])
    first = clf.coefs_[0].copy()
    clf.partial_fit(X[50:], y[50:])
    assert clf.n_iter_ == 1 and not np.array_equal(first, clf.coefs_[0])
    with pytest.raises(ValueError, match="classes not in"):
        clf.partial_fit(X, y + 5)
    warm = MLPClassifier((6,), max_iter=5, warm_start=True, random_state=0).fit(X, y)
    w5 = warm.coefs_[0].copy()
    warm.fit(X, y)
    assert not np.array_equal(w5, warm.coefs_[0])
    with pytest.raises(ValueError, match="warm_start can only be used"):
        warm.fit(X[y < 2], y[y < 2])
    warm.set_params(hidden_layer_sizes=(7,))
    with pytest.raises(ValueError, match="refit without warm_start"):
        warm.fit(X, y)


def test_sample_weight_matches_repetition_in_float64():
    X, y = regression(40)
    sw = np.random.default_rng(0).integers(0, 3, len(X))
    params = dict(hidden_layer_sizes=(5,), max_iter=20, random_state=0, dtype="float64")
    a = MLPRegressor(**params).fit(X, y, sample_weight=sw)
    b = MLPRegressor(**params).fit(np.repeat(X, sw, 0), np.repeat(y, sw))
    np.testing.assert_allclose(a.predict(X), b.predict(X), rtol=1e-9)


def test_grid_search_in_pipeline():
    X, y = blobs()
    pipe = make_pipeline(StandardScaler(), MLPClassifier(max_iter=30, learning_rate_init=0.01, random_state=0))
    grid = GridSearchCV(pipe, {"mlpclassifier__hidden_layer_sizes": [(4,), (8, 8)]}, cv=3).fit(X, y)
    assert grid.best_score_ > 0.8


# ---------------------------------------------------------------------------------------- neurona's extras
def test_dropout_is_reproducible_and_trains():
    X, y = blobs()
    a = MLPClassifier((32,), dropout=0.3, max_iter=60, random_state=0).fit(X, y)
    b = MLPClassifier((32,), dropout=0.3, max_iter=60, random_state=0).fit(X, y)
    plain = MLPClassifier((32,), max_iter=60, random_state=0).fit(X, y)
    np.testing.assert_array_equal(a.coefs_[0], b.coefs_[0])
    assert not np.allclose(a.loss_curve_, plain.loss_curve_)
    assert a.score(X, y) > 0.9


def test_batch_norm_trains_and_predicts_with_moving_statistics():
    X, y = blobs()
    clf = MLPClassifier((16, 16), batch_norm=True, max_iter=80, random_state=0).fit(X * 50 + 3, y)
    assert [g.shape for g in clf.bn_gammas_] == [(16,), (16,)]
    assert len(clf.bn_moving_means_) == 2 and not np.allclose(clf.bn_moving_means_[0], 0)
    assert clf.score(X * 50 + 3, y) > 0.9
    p_all = clf.predict_proba(X[:10] * 50 + 3)
    p_one = clf.predict_proba(X[:1] * 50 + 3)  # inference statistics do not depend on the batch
    np.testing.assert_allclose(p_all[:1], p_one, rtol=1e-5)


def test_callbacks_see_each_epoch_and_can_stop():
    X, y = blobs()
    seen = []

    def record(est, epoch, loss):
        seen.append((epoch, loss, est.score(X, y)))
        return epoch == 4

    clf = MLPClassifier((8,), max_iter=50, random_state=0, callbacks=[record]).fit(X, y)
    assert [s[0] for s in seen] == [1, 2, 3, 4] and clf.n_iter_ == 4
    assert [s[1] for s in seen] == clf.loss_curve_
    with pytest.raises(TypeError, match="callbacks must be callables"):
        MLPClassifier(callbacks=["not callable"]).fit(X, y)


def test_lbfgs_refuses_dropout_and_batch_norm():
    X, y = blobs()
    with pytest.raises(ValueError, match="stochastic solver"):
        MLPClassifier(solver="lbfgs", dropout=0.1).fit(X, y)


def test_verbose_and_convergence_warning(capsys):
    X, y = blobs()
    with pytest.warns(ConvergenceWarning, match=r"Maximum iterations \(3\) reached"):
        MLPClassifier((4,), max_iter=3, verbose=True, random_state=0).fit(X, y)
    assert "Iteration 1, loss = " in capsys.readouterr().out


def test_stops_when_loss_stalls():
    X, y = blobs()
    params = dict(hidden_layer_sizes=(4,), max_iter=500, tol=10.0, n_iter_no_change=2, random_state=0)
    clf = MLPClassifier(**params).fit(X, y)
    assert clf.n_iter_ == sk.MLPClassifier(**params).fit(X, y).n_iter_ == 4  # the first epoch sets best_loss_


# ---------------------------------------------------------------------------------------- errors as sklearn's
def _message(fn):
    with pytest.raises(Exception) as info:
        fn()
    return type(info.value), str(info.value)


BAD_FITS = {
    "nan": lambda X, y: (np.where(np.arange(X.size).reshape(X.shape) == 3, np.nan, X), y),
    "inf": lambda X, y: (np.where(np.arange(X.size).reshape(X.shape) == 3, np.inf, X), y),
    "empty": lambda X, y: (X[:0], y[:0]),
    "1-D X": lambda X, y: (X[:, 0], y),
    "lengths": lambda X, y: (X, y[:-1]),
}


@pytest.mark.parametrize("case", list(BAD_FITS))
@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_bad_input_gets_sklearns_errors(case, kind):
    X, y = blobs()
    Xb, yb = BAD_FITS[case](X, y)
    ours, ref = (MLPClassifier, sk.MLPClassifier) if kind == "classifier" else (MLPRegressor, sk.MLPRegressor)
    e1, m1 = _message(lambda: ours(max_iter=2).fit(Xb, yb))
    e2, m2 = _message(lambda: ref(max_iter=2).fit(Xb, yb))
    assert e1 is e2
    if case == "1-D X":  # the message echoes X, which neurona has already converted to float32
        m1, m2 = m1.split("array=")[0] + m1.split("]")[-1], m2.split("array=")[0] + m2.split("]")[-1]
    assert m1 == m2.replace("float64", "float32")


def test_continuous_target_wrong_features_and_not_fitted():
    X, y = blobs()
    e1, m1 = _message(lambda: MLPClassifier().fit(X, y + 0.5))
    e2, m2 = _message(lambda: sk.MLPClassifier().fit(X, y + 0.5))
    assert (e1, m1) == (e2, m2) and m1.startswith("Unknown label type")
    clf = MLPClassifier((3,), max_iter=2).fit(X, y)
    with pytest.raises(ValueError, match="X has 3 features, but MLPClassifier is expecting 4 features as input"):
        clf.predict(X[:, :3])
    with pytest.raises(NotFittedError, match="This MLPRegressor instance is not fitted yet"):
        MLPRegressor().predict(X)
    with pytest.raises(ValueError, match="hidden_layer_sizes must be > 0"):
        MLPRegressor(hidden_layer_sizes=(3, 0)).fit(X, y)
    with pytest.raises(ValueError, match="The 'dropout' parameter of MLPRegressor must be"):
        MLPRegressor(dropout=1.5).fit(X, y)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_non_finite_weights_are_reported():
    X, y = regression(40)
    with pytest.raises(ValueError, match="Solver produced non-finite parameter weights"):
        reg = MLPRegressor(hidden_layer_sizes=(4,), solver="sgd", learning_rate_init=1e3, max_iter=20, random_state=0)
        reg.fit(X * 1e6, y * 1e6)


# ---------------------------------------------------------------------------------------- the examples, shortened
def _example(name):
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "examples" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_wine_example_prints_the_report(capsys):
    ours, theirs = _example("sklearn_wine").main(max_iter=200)
    assert ours >= 0.93 and abs(ours - theirs) <= 0.05
    out = capsys.readouterr().out
    assert "precision" in out and "cultivator_1" in out


def test_regression_labs_example_matches_sklearn():
    scores = _example("sklearn_regression_labs").main(max_iter=150)
    for lab in ("sum", "product"):
        assert scores[lab]["neurona"] > 0.85
        assert abs(scores[lab]["neurona"] - scores[lab]["scikit-learn"]) < 0.02


def test_ensemble_example_runs():
    module = _example("sklearn_ensemble")
    single, averaged = module.bagged_product(n_nets=3, max_iter=100)
    assert single > 0.8 and averaged > 0.8
    members, voted = module.voting_wine(max_iter=150)
    assert len(members) == 3 and voted >= 0.9
