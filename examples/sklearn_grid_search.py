"""Trial and error, automated: a grid search over architectures and activations.

Seed 001: "Probad varias configuraciones (número neuronas, número de capas ocultas, funciones de
activación) y ver qué funciona mejor". `GridSearchCV` trains every combination with cross-validation on
the training set and keeps the best; the test set is touched only once, at the end. The scaler sits in
a `Pipeline`, so each fold standardises with its own training part. The same search works on a Keras-style
model: `KerasClassifier` wraps a function that builds it, and the grid reaches the function's arguments.

Run: python examples/sklearn_grid_search.py
"""

from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from neurona.datasets import wine
from neurona.layers import Dense, Input
from neurona.models import Sequential
from neurona.sklearn import KerasClassifier, MLPClassifier

GRID = {
    "net__hidden_layer_sizes": [(5,), (13,), (13, 13, 13), (50, 50)],
    "net__activation": ["relu", "tanh", "logistic"],
}


KERAS_GRID = {
    "net__model__layers": [1, 2],
    "net__model__units": [5, 13],
    "net__model__activation": ["relu", "tanh"],
}


def build(meta, layers=1, units=13, activation="relu"):
    """`layers` hidden Dense layers of `units` neurons, then the output layer the wrapper suggests."""
    model = Sequential([Input(shape=(meta["n_features_in_"],))])
    for _ in range(layers):
        model.add(Dense(units, activation=activation))
    model.add(Dense(meta["n_outputs_"], activation=meta["output_activation_"]))
    return model


def search(estimator, grid: dict, X_train, y_train, X_test, y_test, cv: int) -> tuple[dict, float]:
    """Cross-validated grid search with a scaler in front; prints every configuration, returns the best."""
    pipe = Pipeline([("scale", StandardScaler()), ("net", estimator)])
    found = GridSearchCV(pipe, grid, cv=cv).fit(X_train, y_train)
    results = found.cv_results_
    for params, mean, std in zip(results["params"], results["mean_test_score"], results["std_test_score"]):
        setting = "  ".join(f"{k.split('__')[-1]}={v}" for k, v in params.items())
        print(f"  {setting:<50s} cv accuracy {mean:.3f} ± {std:.3f}")
    test = found.score(X_test, y_test)
    print(f"best: {found.best_params_}  cv {found.best_score_:.3f}  test {test:.3f}")
    return found.best_params_, test


def main(max_iter: int = 300, epochs: int = 60, cv: int = 3) -> tuple[float, float]:
    """Both searches on wine; returns the test accuracy of the best MLPClassifier and KerasClassifier."""
    X, y = wine.load(dtype="float64")
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0, stratify=y)
    print("MLPClassifier:")
    _, mlp_test = search(MLPClassifier(max_iter=max_iter, random_state=0), GRID, X_train, y_train, X_test, y_test, cv)
    print("KerasClassifier:")
    keras = KerasClassifier(build, optimizer="adam", optimizer__learning_rate=0.01, epochs=epochs, batch_size=16,
                            random_state=0)
    _, keras_test = search(keras, KERAS_GRID, X_train, y_train, X_test, y_test, cv)
    return mlp_test, keras_test


if __name__ == "__main__":
    main()
