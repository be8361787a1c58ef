"""scikit-learn's own estimator checks, with no expected failures, for all four estimators.

The instances use small settings (max_iter, epochs) so the whole suite runs in seconds; with
`random_state` set every fit is reproducible, which several checks require.
"""

import pytest

pytest.importorskip("sklearn")

from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

from neurona.layers import Dense, Input  # noqa: E402
from neurona.models import Sequential  # noqa: E402
from neurona.sklearn import KerasClassifier, KerasRegressor, MLPClassifier, MLPRegressor  # noqa: E402


def build(meta, units=16):
    """A one-hidden-layer net sized from the data, as a user's build function would be."""
    return Sequential([Input(shape=(meta["n_features_in_"],)), Dense(units, activation="relu"),
                       Dense(meta["n_outputs_"], activation=meta["output_activation_"])])


KERAS = dict(optimizer="adam", optimizer__learning_rate=0.02, epochs=20, random_state=0)

ESTIMATORS = [
    MLPClassifier(max_iter=50, random_state=0),
    MLPRegressor(max_iter=50, random_state=0),
    MLPClassifier(solver="sgd", max_iter=50, random_state=0),
    KerasClassifier(build, **KERAS),
    KerasRegressor(build, **KERAS),
]


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@parametrize_with_checks(ESTIMATORS)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


SLOW_ESTIMATORS = [  # scipy's L-BFGS-B makes these take ~20 s together
    MLPClassifier(solver="lbfgs", dtype="float64", max_iter=50, random_state=0),
    MLPRegressor(solver="lbfgs", dtype="float64", max_iter=50, random_state=0),
]


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@parametrize_with_checks(SLOW_ESTIMATORS)
def test_sklearn_compatible_lbfgs(estimator, check):
    check(estimator)
