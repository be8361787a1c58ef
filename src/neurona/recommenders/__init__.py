"""Recommender systems: collaborative filtering over a user x item ratings matrix with missing entries.

Estimators follow scikit-learn's contract over (user, item) -> rating data: `fit(X, y)` with `X` an (n, 2)
array (or a pandas frame) of user and item ids and `y` the ratings, `predict(X)`, and
`recommend(user, n=10)` for the top-N unrated items with scores and explanations.

- `UserKNN`, `ItemKNN`: neighbourhood methods (Surprise's KNNBasic / KNNWithMeans / KNNWithZScore);
- `MatrixFactorization`: biased SVD by SGD (Surprise's SVD) or by alternating least squares;
- `NeuralMF`: user and item embeddings into an MLP tower, trained by neurona's `fit`;
- `evaluation`: RMSE, MAE, precision@k, recall@k, NDCG@k, coverage, splits and cross-validation.

Needs scipy (``pip install 'neurona[recommenders]'``) for the sparse matrices.
"""

from ._base import Recommendation, Recommendations, Recommender
from ._data import UnknownIdError
from .evaluation import (
                         coverage,
                         cross_validate,
                         leave_one_out,
                         mae,
                         ndcg_at_k,
                         precision_at_k,
                         ranking_report,
                         recall_at_k,
                         rmse,
                         train_test_split,
)
from .knn import ItemKNN, UserKNN
from .mf import MatrixFactorization
from .neural import NeuralMF
from .similarity import SIMILARITIES, similarity_matrix

__all__ = ["SIMILARITIES", "ItemKNN", "MatrixFactorization", "NeuralMF", "Recommendation", "Recommendations",
           "Recommender", "UnknownIdError", "UserKNN", "coverage", "cross_validate", "leave_one_out", "mae",
           "ndcg_at_k", "precision_at_k", "ranking_report", "recall_at_k", "rmse", "similarity_matrix",
           "train_test_split"]
