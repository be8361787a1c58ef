"""The wine lab of the slides: classify wines by cultivator with MLPClassifier.

Seed 001, "Ejercicio 2. Usar red neuronal para clasificar vino según su cultivador": standardise the 13
measurements, train `MLPClassifier(hidden_layer_sizes=(13, 13, 13), max_iter=500)`, then read the
`confusion_matrix` and the `classification_report` (precision, recall, F1 per cultivator). The same net
from scikit-learn is trained alongside, to compare accuracy and fit time.

Run: python examples/sklearn_wine.py
"""

import time

from sklearn import neural_network
from sklearn.metrics import classification_report, confusion_matrix
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from neurona.datasets import wine
from neurona.sklearn import MLPClassifier


def main(max_iter: int = 500, seed: int = 0) -> tuple[float, float]:
    """Train on 75 % of the wines, report on the other 25 %; returns (neurona, scikit-learn) accuracy."""
    X, y = wine.load(dtype="float64")
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=seed)
    scaler = StandardScaler().fit(X_train)  # fitted on the training set only
    X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)

    mlp = MLPClassifier(hidden_layer_sizes=(13, 13, 13), max_iter=max_iter, random_state=seed)
    start = time.perf_counter()
    mlp.fit(X_train, y_train)
    ours_time = time.perf_counter() - start
    predictions = mlp.predict(X_test)
    print(confusion_matrix(y_test, predictions))
    print(classification_report(y_test, predictions, target_names=wine.CLASS_NAMES))

    reference = neural_network.MLPClassifier(hidden_layer_sizes=(13, 13, 13), max_iter=max_iter, random_state=seed)
    start = time.perf_counter()
    reference.fit(X_train, y_train)
    ref_time = time.perf_counter() - start
    ours, theirs = mlp.score(X_test, y_test), reference.score(X_test, y_test)
    print(f"accuracy: neurona {ours:.3f} ({mlp.n_iter_} epochs, {ours_time:.3f} s)   "
          f"scikit-learn {theirs:.3f} ({reference.n_iter_} epochs, {ref_time:.3f} s)")
    return ours, theirs


if __name__ == "__main__":
    main()
