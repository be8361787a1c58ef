"""Run by tests/test_distributed_sklearn.py under `mpirun -n N`: the scikit-learn estimators with distribute="mpi".

Usage: mpi_sklearn_worker.py OUT_DIR; rank 0 writes OUT_DIR/sklearn.npz with the fitted coefficients.
"""

from __future__ import annotations

import os
import sys
import warnings

import numpy as np

import neurona
from neurona import distributed, layers


def data() -> tuple[np.ndarray, np.ndarray]:
    """101 samples: with batches of 20 the last batch has 1 sample, so rank 1 gets none of it."""
    rng = np.random.default_rng(5)
    x = rng.normal(size=(101, 6)).astype(np.float32)
    return x, (x[:, 0] + x[:, 1] > 0).astype(np.int64) + (x[:, 2] > 0.8)


def estimators(distribute: object) -> dict[str, object]:
    from neurona.sklearn import KerasClassifier, MLPClassifier, MLPRegressor

    def build(meta):
        return neurona.Sequential([layers.Input((meta["n_features_in_"],)), layers.Dense(8, activation="relu"),
                                   layers.Dense(meta["n_outputs_"], activation=meta["output_activation_"])])

    return {
        "adam": MLPClassifier((12,), batch_size=20, max_iter=4, alpha=1e-3, random_state=0, distribute=distribute),
        "sgd_sw": MLPClassifier((12,), solver="sgd", batch_size=16, max_iter=3, learning_rate_init=0.05,
                                early_stopping=True, random_state=1, distribute=distribute),
        "lbfgs_reg": MLPRegressor(hidden_layer_sizes=(10,), solver="lbfgs", max_iter=15, random_state=2,
                                  distribute=distribute),
        "keras": KerasClassifier(build, optimizer="sgd", epochs=3, batch_size=20, random_state=3,
                                 distribute=distribute),
    }


def fit_all(distribute: object) -> dict[str, np.ndarray]:
    """The fitted parameters and loss curves of every estimator, flattened into named arrays."""
    x, y = data()
    sw = np.linspace(0.5, 2.0, len(x))
    out: dict[str, np.ndarray] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, est in estimators(distribute).items():
            if name == "keras":
                est.fit(x, y)
                params = est.model_.get_weights()
                out[f"{name}_loss"] = np.array(est.history_["loss"])
            elif name == "lbfgs_reg":
                est.fit(x, x[:, 0] - 2 * x[:, 3], sample_weight=sw)
                params = est.coefs_ + est.intercepts_
                out[f"{name}_loss"] = np.array([est.loss_])
            else:
                est.fit(x, y, sample_weight=sw if name == "sgd_sw" else None)
                params = est.coefs_ + est.intercepts_
                out[f"{name}_loss"] = np.array(est.loss_curve_)
            out.update({f"{name}_p{i}": np.asarray(p) for i, p in enumerate(params)})
    return out


def main(out: str) -> None:
    distributed.init()
    saved = fit_all("mpi")
    if distributed.rank() == 0:
        np.savez(os.path.join(out, "sklearn.npz"), **saved)


if __name__ == "__main__":
    main(sys.argv[1])
