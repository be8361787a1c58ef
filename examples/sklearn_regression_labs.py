"""The regression labs of the slides with MLPRegressor: add two numbers, multiply four.

Seed 001: "Queremos entrenar una red para que aprenda a sumar 2 números" (2 inputs, 1 output, a
least-squares fit) and "Ejercicio I: entrenad una red para que aprenda a multiplicar 4 números". As the
slides advise, inputs and outputs of the training set are standardised, and the fit is judged on an
independent test set with the mean squared error E and the Pearson correlation ρ between targets and
predictions (plus R²). scikit-learn's MLPRegressor is trained alongside for comparison.

Run: python examples/sklearn_regression_labs.py
"""

import numpy as np
from sklearn import neural_network
from sklearn.compose import TransformedTargetRegressor
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from neurona.datasets import synthetic
from neurona.sklearn import MLPRegressor


def lab(name: str, X: np.ndarray, y: np.ndarray, **params):
    """Fit neurona's and scikit-learn's nets on the same split; print both, return (test R² by name, our model)."""
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    scores, models = {}, {}
    for label, cls in (("neurona", MLPRegressor), ("scikit-learn", neural_network.MLPRegressor)):
        net = cls(random_state=0, **params)
        # standardise the inputs (pipeline) and the target (TransformedTargetRegressor), as the slides advise
        model = TransformedTargetRegressor(make_pipeline(StandardScaler(), net), transformer=StandardScaler())
        model.fit(X_train, y_train)
        pred = model.predict(X_test)
        mse = float(np.mean((y_test - pred) ** 2))
        rho = float(np.corrcoef(y_test, pred)[0, 1])
        scores[label], models[label] = model.score(X_test, y_test), model
        print(f"{name:<14s} {label:<13s} E = {mse:.5f}   ρ = {rho:.5f}   R² = {scores[label]:.5f}")
    return scores, models["neurona"]


def main(max_iter: int = 1000) -> dict[str, dict[str, float]]:
    """Both labs; returns the test R² of neurona and scikit-learn for each."""
    x, t = synthetic.sum_pairs(1000, integers=False)
    # tol=1e-6: the loss of a standardised sum gets small, and 1e-4 would stop before the last digits
    sums, net = lab("sum of 2", x.astype(np.float64), t.ravel().astype(np.float64), hidden_layer_sizes=(10,),
                    max_iter=max_iter, tol=1e-6)
    table = np.array([[0, 1], [10, -2], [4, 12], [5, 1]], dtype=np.float64)  # the slides' training table
    print("the net adds:", ", ".join(f"{a:g} + {b:g} = {p:.2f}" for (a, b), p in zip(table, net.predict(table))))
    x, t = synthetic.product4(2000)
    products, _ = lab("product of 4", x.astype(np.float64), t.ravel().astype(np.float64), hidden_layer_sizes=(50, 50),
                      max_iter=max_iter)
    return {"sum": sums, "product": products}


if __name__ == "__main__":
    main()
