"""neurona.sklearn's MLPs against scikit-learn's own, fitting the same nets on the slides' problems.

Both run the same number of epochs (stopping disabled) with the same settings; times are medians of
interleaved repeats, ratio = scikit-learn time / neurona time (>1: neurona is faster). Accuracy / R² on a
held-out split is printed for both, from a normal fit (default stopping rules).

    python -m bench.sklearn_mlp            # all cases
    python -m bench.sklearn_mlp --quick    # fewer repeats
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np
from sklearn import neural_network as sk
from sklearn.datasets import load_wine
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from bench._timing import blas_info, interleaved, report
from neurona.sklearn import MLPClassifier, MLPRegressor


def wine():
    X, y = load_wine(return_X_y=True)
    return X, y


def sum_of_two(n=1000, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-10, 10, (n, 2))
    return X, X.sum(axis=1)


def product_of_four(n=2000, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.uniform(0, 2, (n, 4))
    return X, X.prod(axis=1)


def mnist_like(n=6000, seed=0):
    """784 features, 10 classes: the slides' MNIST MLP shape (784-10σ-10) without the download."""
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(10, 784))
    y = rng.integers(0, 10, n)
    return centers[y] + rng.normal(scale=7.0, size=(n, 784)), y  # noisy enough that accuracy is not 1


# name, data, estimator kind, shared parameters, epochs timed
CASES = [
    ("wine (13,13,13) adam", wine, "clf", dict(hidden_layer_sizes=(13, 13, 13), max_iter=500), 100),
    ("sum of two (10,) adam", sum_of_two, "reg", dict(hidden_layer_sizes=(10,), max_iter=500), 50),
    ("product of 4 (50,50) adam", product_of_four, "reg", dict(hidden_layer_sizes=(50, 50), max_iter=500), 20),
    ("MNIST-like 784-10σ-10 sgd b100", mnist_like, "clf",
     dict(hidden_layer_sizes=(10,), activation="logistic", solver="sgd", batch_size=100,
          learning_rate_init=0.1, max_iter=20), 5),
]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    args = parser.parse_args(argv)
    repeats = 3 if args.quick else 7
    warnings.simplefilter("ignore", ConvergenceWarning)
    print(blas_info())
    ratios = []
    for name, data, kind, params, epochs in CASES:
        X, y = data()
        Xtr, Xte, ytr, yte = train_test_split(X, y, random_state=0)
        scaler = StandardScaler().fit(Xtr)
        Xtr, Xte = scaler.transform(Xtr), scaler.transform(Xte)
        ours, theirs = (MLPClassifier, sk.MLPClassifier) if kind == "clf" else (MLPRegressor, sk.MLPRegressor)
        timed = dict(params, max_iter=epochs, tol=0.0, n_iter_no_change=epochs + 1, random_state=0)
        a, b = ours(**timed), theirs(**timed)
        times = interleaved({"neurona": lambda: a.fit(Xtr, ytr), "scikit-learn": lambda: b.fit(Xtr, ytr)},
                            repeats=repeats, min_time=0.3)
        print(report(f"{name}: fit, {epochs} epochs on {Xtr.shape}", times))
        ratios.append(times["scikit-learn"] / times["neurona"])
        scores = [est(**params, random_state=0).fit(Xtr, ytr).score(Xte, yte) for est in (ours, theirs)]
        metric = "accuracy" if kind == "clf" else "R²"
        print(f"  test {metric}: neurona {scores[0]:.4f}   scikit-learn {scores[1]:.4f}")
    print(f"fit speed-up over scikit-learn (median ratio, all cases): {np.median(ratios):.2f}x, "
          f"min {min(ratios):.2f}x")


if __name__ == "__main__":
    main()
