"""The recommender deck ("Sistemas de recomendación"): collaborative filtering on a ratings matrix.

First the slides' 4 x 5 matrix worked by hand: user-based cosine similarities with their arithmetic, the
predictions of u1's missing ratings, then every user's top-N by user- and item-based CF. Then a synthetic
low-rank set (100,000 ratings; 20,000 with quick=True): the global-mean baseline, user- and item-based KNN,
matrix factorisation (SGD and ALS) and neural MF side by side, and the RMSE as the neighbourhood size k grows.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from ..i18n import _
from . import _common as c


def _matrix_text(m: np.ndarray, users: list, items: list) -> str:
    head = "      " + "".join(f"{i:>5}" for i in items)
    rows = [f"{u:<6}" + "".join(f"{'-' if np.isnan(v) else int(v):>5}" for v in row) for u, row in zip(users, m)]
    return "\n".join([head, *rows])


def by_hand(verbose: int) -> tuple[str, dict[str, float]]:
    """The slides' matrix worked step by step (the text, and u1's predicted rating of i3)."""
    from ..datasets import ratings
    from ..recommenders import ItemKNN, UserKNN

    d = ratings.slides()
    M = ratings.SLIDES_MATRIX
    users, items = list(ratings.SLIDES_USERS), list(ratings.SLIDES_ITEMS)
    lines = [_("The slides' ratings matrix (- = not rated):"),
             _matrix_text(np.where(M > 0, M, np.nan), users, items), "",
             _("User-based CF, cosine similarity of u1 with each user over the items both rated:")]
    sims = {}
    for b in range(1, 4):
        common = np.flatnonzero((M[0] > 0) & (M[b] > 0))
        num = " + ".join(f"{int(M[0, j])}*{int(M[b, j])}" for j in common)
        na = " + ".join(f"{int(M[0, j])}^2" for j in common)
        nb = " + ".join(f"{int(M[b, j])}^2" for j in common)
        val = float(M[0, common] @ M[b, common] / math.sqrt((M[0, common] ** 2).sum() * (M[b, common] ** 2).sum()))
        sims[users[b]] = val
        lines.append(f"  sim(u1, {users[b]}) = ({num}) / sqrt(({na}) * ({nb})) = {val:.4f}")
    raters = [b for b in range(1, 4) if M[b, 2] > 0]
    num = " + ".join(f"{sims[users[b]]:.4f}*{int(M[b, 2])}" for b in raters)
    den = " + ".join(f"{sims[users[b]]:.4f}" for b in raters)
    est = sum(sims[users[b]] * M[b, 2] for b in raters) / sum(sims[users[b]] for b in raters)
    lines += ["", _("Prediction of u1's rating of i3 (weighted mean of the neighbours' ratings):"),
              f"  r(u1, i3) = ({num}) / ({den}) = {est:.4f}"]
    ucf = UserKNN(similarity="cosine").fit(d.X, d.y)
    icf = ItemKNN(similarity="cosine").fit(d.X, d.y)
    got = float(ucf.predict(np.array([["u1", "i3"]], dtype=object))[0])
    lines.append(_("  UserKNN(similarity='cosine') predicts {value:.4f}").format(value=got))
    lines += ["", _("Top-N of every user (unrated items, best first):")]
    for u in users:
        a = ", ".join(f"{r.item} {r.score:.2f}" for r in ucf.recommend(u, 3))
        b = ", ".join(f"{r.item} {r.score:.2f}" for r in icf.recommend(u, 3))
        lines.append(_("  {user}: user-based [{a}]   item-based [{b}]").format(user=u, a=a, b=b))
    best = icf.recommend("u1", 1)[0]
    lines.append(_("  why item-based recommends {item} to u1: {because}").format(item=best.item, because=best.because))
    text = "\n".join(lines)
    c.say(verbose, text)
    return text, {"slides_u1_i3": float(est)}


def _methods(quick: bool) -> list[tuple[str, Any]]:
    from ..recommenders import ItemKNN, MatrixFactorization, NeuralMF, UserKNN

    return [
        ("user-knn plain", UserKNN(k=40, similarity="cosine", prediction="plain")),
        ("user-knn mean-centred", UserKNN(k=40, similarity="pearson", prediction="mean_centered")),
        ("item-knn plain", ItemKNN(k=40, similarity="cosine", prediction="plain")),
        ("item-knn mean-centred", ItemKNN(k=40, similarity="pearson", prediction="mean_centered")),
        ("mf sgd", MatrixFactorization(n_factors=50, n_epochs=20, random_state=0)),
        ("mf als", MatrixFactorization(n_factors=10, n_epochs=10, solver="als", reg=0.05, random_state=0)),
        ("neural mf", NeuralMF(epochs=3 if quick else 5, batch_size=512, random_state=0)),
    ]


def _plot(names: list[str], errors: list[float], baseline: float, ks: list[int], by_k: dict[str, list[float]]) -> Any:
    from ..plot._base import figure

    fig = figure((9.5, 3.8))
    ax, bx = fig.subplots(1, 2)
    ax.barh(names, errors, color="tab:blue")
    ax.axvline(baseline, color="black", linestyle="--", label=_("global mean"))
    ax.set_xlabel("RMSE")
    ax.set_xlim(0, baseline * 1.6)  # room right of the baseline for the legend
    ax.invert_yaxis()
    ax.legend(loc="upper right")
    ax.set_title(_("RMSE by method"))
    for name, values in by_k.items():
        bx.plot(ks, values, marker="o", label=name)
    bx.set_xticks(ks)
    bx.set_xlabel("k")
    bx.set_ylabel("RMSE")
    bx.legend()
    bx.set_title(_("RMSE by neighbourhood size k"))
    return fig


def run(quick: bool = False, *, report: Any = None, verbose: int = 1) -> dict[str, float]:
    from ..datasets import ratings
    from ..recommenders import ranking_report, rmse, train_test_split

    c.start(0)
    hand_text, metrics = by_hand(verbose)
    size = dict(n_users=400, n_items=500, n_ratings=20_000) if quick else {}
    data = ratings.synthetic(noise=0.3, seed=0, **size)
    X_train, X_test, y_train, y_test = train_test_split(data.X, data.y, test_size=0.2, random_state=0)
    baseline = rmse(y_test, np.full(y_test.size, y_train.mean()))
    c.say(verbose, "\n" + _("Synthetic low-rank set: {n} ratings, {users} users, {items} items; "
                            "test RMSE of the global mean {rmse:.4f}").format(
        n=len(data), users=len(data.users), items=len(data.items), rmse=baseline))
    rows, names, errors, fitted = [], [], [], {}
    for name, model in _methods(quick):
        start = time.perf_counter()
        model.fit(X_train, y_train)
        err = rmse(y_test, model.predict(X_test))
        seconds = time.perf_counter() - start
        gain = 1 - err / baseline
        rank = ranking_report(model, X_test, y_test, k=10, threshold=4.0, max_users=50 if quick else 100)
        rows.append([name, f"{err:.4f}", f"{gain:+.1%}", f"{rank['precision@10']:.3f}", f"{rank['ndcg@10']:.3f}",
                     f"{rank['coverage']:.3f}", f"{seconds:.2f}"])
        c.say(verbose, _("  {name:<22} RMSE {rmse:.4f} ({gain:+.1%} against the baseline) "
                         "precision@10 {p:.3f}  NDCG@10 {ndcg:.3f}  {s:.1f} s").format(
            name=name, rmse=err, gain=gain, p=rank["precision@10"], ndcg=rank["ndcg@10"], s=seconds))
        names.append(name)
        errors.append(err)
        fitted[name] = model
        metrics["rmse_" + name.replace(" ", "_").replace("-", "_")] = err
    gains = [1 - e / baseline for e in errors]
    ks = [5, 10, 20, 40, 80] if not quick else [5, 20, 40]
    by_k: dict[str, list[float]] = {}
    for name in ("user-knn mean-centred", "item-knn mean-centred"):
        model = fitted[name]
        by_k[name] = []
        for k in ks:  # k acts only at prediction time: the similarities are computed once
            model.k = k
            by_k[name].append(rmse(y_test, model.predict(X_test)))
        c.say(verbose, _("  {name}: RMSE by k {values}").format(
            name=name, values=", ".join(f"k={k}: {v:.4f}" for k, v in zip(ks, by_k[name]))))
    result = {"worst_gain_over_baseline": float(min(gains)), "baseline_rmse": float(baseline),
              "best_rmse": float(min(errors)), **metrics}
    c.say(verbose, _("Every method beats the global mean by at least {gain:.1%}").format(gain=min(gains))
          if min(gains) > 0 else _("Some method does not beat the global mean"))

    sec = c.section(report, "recommender")
    if sec is not None:
        sec.preformatted(hand_text)
        sec.table([_("method"), "RMSE", _("against the baseline"), "precision@10", "NDCG@10", _("coverage"),
                   _("seconds")], [[_("global mean"), f"{baseline:.4f}", "", "", "", "", ""], *rows],
                  _("Test set of the synthetic ratings"))
        sec.plot(_plot, names, errors, baseline, ks, by_k,
                 caption=_("Test RMSE by method (the dashed line is the global mean) and by k"))
    return result
