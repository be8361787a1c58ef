"""Average several nets, as the slides advise, with scikit-learn's ensembles around neurona's estimators.

Seed 001, "Observaciones": "En ocasiones puede ser útil entrenar varias redes con training sets distintos
y hacer promedio de los resultados." That is bagging: `BaggingRegressor` trains each net on a bootstrap
sample of the training set and averages their predictions. `VotingClassifier(voting="soft")` averages the
class probabilities of nets that differ in architecture or initial weights.

Run: python examples/sklearn_ensemble.py
"""

import numpy as np
from sklearn.ensemble import BaggingRegressor, VotingClassifier
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from neurona.datasets import synthetic, wine
from neurona.sklearn import MLPClassifier, MLPRegressor


def bagged_product(n_nets: int = 5, max_iter: int = 500) -> tuple[float, float]:
    """Product of 4 numbers: test R² of one net and of the average of `n_nets` nets on different subsets."""
    x, t = synthetic.product4(2000)
    X_train, X_test, y_train, y_test = train_test_split(x.astype(np.float64), 10 * t.ravel(), random_state=0)
    net = MLPRegressor(hidden_layer_sizes=(50, 50), max_iter=max_iter, random_state=0)
    single = net.fit(X_train, y_train).score(X_test, y_test)
    bag = BaggingRegressor(net, n_estimators=n_nets, max_samples=0.8, bootstrap=False, random_state=0)
    bag.fit(X_train, y_train)
    averaged = bag.score(X_test, y_test)
    print(f"product of 4: one net R² = {single:.4f}   average of {n_nets} nets R² = {averaged:.4f}")
    return single, averaged


def voting_wine(max_iter: int = 300) -> tuple[list[float], float]:
    """Wine: accuracy of three different nets and of their soft vote (averaged probabilities)."""
    X, y = wine.load(dtype="float64")
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.4, random_state=1)
    members = [
        ("small", MLPClassifier((5,), max_iter=max_iter, random_state=0)),
        ("deep", MLPClassifier((13, 13, 13), max_iter=max_iter, random_state=1)),
        ("tanh", MLPClassifier((20,), activation="tanh", max_iter=max_iter, random_state=2)),
    ]
    scores = []
    for name, est in members:
        model = make_pipeline(StandardScaler(), est).fit(X_train, y_train)
        scores.append(model.score(X_test, y_test))
        print(f"wine: net {name:<6s} accuracy = {scores[-1]:.3f}")
    vote = make_pipeline(StandardScaler(), VotingClassifier(members, voting="soft")).fit(X_train, y_train)
    voted = vote.score(X_test, y_test)
    print(f"wine: soft vote of the three nets accuracy = {voted:.3f}")
    return scores, voted


def main() -> None:
    bagged_product()
    voting_wine()


if __name__ == "__main__":
    main()
