"""scikit-learn estimators trained on neurona's engine.

`MLPClassifier` and `MLPRegressor` are drop-in replacements for scikit-learn's, several times faster to fit;
`KerasClassifier` and `KerasRegressor` wrap a function that builds a compiled neurona model, so it can be
used in `Pipeline`, `cross_val_score` and `GridSearchCV`. scikit-learn itself is needed:
`pip install 'neurona[sklearn]'`.
"""

try:
    import sklearn
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "neurona.sklearn needs scikit-learn, which is not installed; install it with: pip install 'neurona[sklearn]'"
    ) from exc

if tuple(int(p) for p in sklearn.__version__.split(".")[:2] if p.isdigit()) < (1, 6):  # pragma: no cover
    raise ImportError(f"neurona.sklearn needs scikit-learn >= 1.6 (found {sklearn.__version__}); "
                      "upgrade with: pip install -U neurona[sklearn]")

from .mlp import MLPClassifier, MLPRegressor
from .wrappers import KerasClassifier, KerasRegressor

__all__ = ["KerasClassifier", "KerasRegressor", "MLPClassifier", "MLPRegressor"]
