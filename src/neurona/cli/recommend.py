"""`neurona recommend ratings.csv --user U`: the top-N items a user has not rated, with why.

The file is read by `neurona.datasets.ratings.load` (``user,item,rating[,timestamp]`` CSV, MovieLens
``u.data`` / ``ratings.csv`` / ``ratings.dat``); any problem with it, or a user who is not in it, prints one
line on stderr and exits with code 2.
"""

from __future__ import annotations

import argparse
from typing import Any

from ..i18n import _
from .errors import CliError
from .train import positive_int

METHODS = ("item-knn", "user-knn", "mf", "neural")


def make_model(method: str, k: int, similarity: str, scale: tuple[float, float] | None, seed: int) -> Any:
    """The estimator `--method` names."""
    from .. import recommenders as rec

    if method == "item-knn":
        return rec.ItemKNN(k=k, similarity=similarity, prediction="mean_centered", rating_scale=scale)
    if method == "user-knn":
        return rec.UserKNN(k=k, similarity=similarity, prediction="mean_centered", rating_scale=scale)
    if method == "mf":
        return rec.MatrixFactorization(n_factors=20, solver="als", n_epochs=10, reg=0.05, random_state=seed,
                                       rating_scale=scale)
    return rec.NeuralMF(epochs=10, random_state=seed, rating_scale=scale)


def cmd_recommend(args: argparse.Namespace) -> int:
    from ..datasets import ratings

    scale = tuple(args.scale) if args.scale else None
    try:
        data = ratings.load(args.data, rating_scale=scale, duplicates=args.duplicates)
    except ratings.RatingsFormatError as e:
        raise CliError(str(e)) from None
    except UnicodeDecodeError:
        raise CliError(_("{path} is not a text file of ratings").format(path=args.data)) from None
    user = ratings.parse_id(args.user, data.X[:, 0])
    if user not in set(data.X[:, 0].tolist()):
        shown = ", ".join(str(u) for u in data.users[:5])
        raise CliError(_("user {user!r} is not in {path} ({n} users, such as {some})").format(
            user=args.user, path=args.data, n=len(data.users), some=shown))
    model = make_model(args.method, args.k, args.similarity, scale, args.seed)
    try:
        model.fit(data.X, data.y)
    except ValueError as e:
        raise CliError(f"{args.data}: {e}") from None
    if data.duplicates_merged:
        print(_("{n} repeated (user, item) pairs: kept one rating each ({rule})").format(
            n=data.duplicates_merged, rule=args.duplicates))
    recs = model.recommend(user, n=args.n)
    print(_("{n} ratings, {users} users, {items} items; method {method}").format(
        n=len(data), users=len(data.users), items=len(data.items), method=model.method))
    if not recs:
        print(_("user {user!r} has rated every item: nothing to recommend").format(user=args.user))
        return 0
    print(_("Top {n} for user {user}:").format(n=len(recs), user=args.user))
    for rank, r in enumerate(recs, 1):
        print(f"{rank:>3}. {r.item!s:<14} {r.score:6.3f}  {r.because}")
    return 0


def add_parser(sub: Any, make: Any) -> None:
    p = make(sub, "recommend", _("top-N recommendations for a user from a ratings file"),
             _("Recommend the items a user has not rated yet, from a file of ratings (user,item,rating[,timestamp] "
               "CSV, or MovieLens u.data / ratings.csv / ratings.dat), each with its predicted score and the "
               "neighbours or factors that drove it."))
    p.add_argument("data", metavar="RATINGS.csv", help=_("the ratings file"))
    p.add_argument("--user", required=True, help=_("the user to recommend for (an id in the file)"))
    p.add_argument("--n", type=positive_int, default=10, help=_("how many items (default 10)"))
    p.add_argument("--method", choices=METHODS, default="item-knn",
                   help=_("item-knn, user-knn, mf (matrix factorisation) or neural (default item-knn)"))
    p.add_argument("--k", type=positive_int, default=40, help=_("neighbours for the KNN methods (default 40)"))
    p.add_argument("--similarity", choices=("cosine", "adjusted_cosine", "pearson", "msd"), default="cosine",
                   help=_("similarity for the KNN methods (default cosine)"))
    p.add_argument("--scale", type=float, nargs=2, metavar=("MIN", "MAX"),
                   help=_("the rating scale; ratings outside it are an error"))
    p.add_argument("--duplicates", choices=("last", "mean", "error"), default="last",
                   help=_("a (user, item) pair rated twice: keep the last rating, their mean, or stop (default last)"))
    p.add_argument("--seed", type=int, default=0, help=_("random seed for mf and neural (default 0)"))
    p.set_defaults(func=cmd_recommend)
