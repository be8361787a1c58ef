"""Recommenders against scikit-surprise: fit + predict time and test RMSE on the same ratings.

    python -m bench.recommenders [--ratings 100000] [--repeats 3] [--out bench/RECOMMENDERS.md]

The data is `neurona.datasets.ratings.synthetic(integer=True)` (whole stars, MovieLens-like sizes: 100,000
ratings of 1,000 users on 1,700 items), split 80/20. Each cell is the median over `repeats` interleaved
rounds of fit on the training ratings plus predict on the test pairs (Surprise: `fit(trainset)` and
`test(testset)`, its own way of predicting many pairs; building its Trainset is not timed). The ratio is
Surprise's time / neurona's (> 1: neurona is faster). Timings on a shared machine are noisy; compare the
ratios of one run, not absolute times across runs.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT / "src") not in sys.path:
    sys.path.insert(0, str(ROOT / "src"))

from neurona.datasets import ratings  # noqa: E402
from neurona.recommenders import ItemKNN, MatrixFactorization, UserKNN, rmse, train_test_split  # noqa: E402


def _workloads(surprise) -> list[tuple[str, Callable, Callable | None]]:
    """(name, neurona estimator factory, Surprise algorithm factory or None)."""
    knn = dict(k=40, min_k=1, rating_scale=(1, 5))
    return [
        ("user KNN, cosine, plain (KNNBasic)", lambda: UserKNN(similarity="cosine", **knn),
         lambda: surprise.KNNBasic(k=40, sim_options={"name": "cosine", "user_based": True}, verbose=False)),
        ("item KNN, cosine, plain (KNNBasic)", lambda: ItemKNN(similarity="cosine", **knn),
         lambda: surprise.KNNBasic(k=40, sim_options={"name": "cosine", "user_based": False}, verbose=False)),
        ("user KNN, pearson, mean-centred (KNNWithMeans)",
         lambda: UserKNN(similarity="pearson", prediction="mean_centered", **knn),
         lambda: surprise.KNNWithMeans(k=40, sim_options={"name": "pearson", "user_based": True}, verbose=False)),
        ("item KNN, msd, mean-centred (KNNWithMeans)",
         lambda: ItemKNN(similarity="msd", prediction="mean_centered", **knn),
         lambda: surprise.KNNWithMeans(k=40, sim_options={"name": "msd", "user_based": False}, verbose=False)),
        ("SVD by SGD, 100 factors, 20 epochs (SVD)", lambda: MatrixFactorization(random_state=0, rating_scale=(1, 5)),
         lambda: surprise.SVD(random_state=0)),
        ("MF by ALS, 20 factors, 10 iterations (vs SVD)",
         lambda: MatrixFactorization(n_factors=20, n_epochs=10, solver="als", reg=0.05, random_state=0,
                                     rating_scale=(1, 5)),
         lambda: surprise.SVD(random_state=0)),
    ]


def run(n_ratings: int = 100_000, repeats: int = 3, log: Callable[[str], None] = print) -> dict:
    """Time every workload; returns {"rows": [...], "text": markdown}."""
    import surprise

    n_users, n_items = max(100, n_ratings // 100), max(150, n_ratings * 17 // 1000)
    data = ratings.synthetic(n_users=n_users, n_items=n_items, n_ratings=n_ratings, noise=0.5, integer=True,
                             seed=0)
    X_train, X_test, y_train, y_test = train_test_split(data.X, data.y, test_size=0.2, random_state=0)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "train.csv")
        with open(path, "w") as f:
            f.writelines(f"{u},{i},{r:g}\n" for (u, i), r in zip(X_train.tolist(), y_train))
        reader = surprise.Reader(line_format="user item rating", sep=",", rating_scale=(1, 5))
        trainset = surprise.Dataset.load_from_file(path, reader).build_full_trainset()
    testset = [(str(u), str(i), float(r)) for (u, i), r in zip(X_test.tolist(), y_test)]
    rows = []
    for name, ours, theirs in _workloads(surprise):
        t_ours, t_theirs = [], []
        for _ in range(repeats):  # interleaved, so a load spike hits both
            start = time.perf_counter()
            pred = ours().fit(X_train, y_train).predict(X_test)
            t_ours.append(time.perf_counter() - start)
            start = time.perf_counter()
            got = theirs().fit(trainset).test(testset)
            t_theirs.append(time.perf_counter() - start)
        e_ours = rmse(y_test, pred)
        e_theirs = rmse(y_test, [p.est for p in got])
        a, b = float(np.median(t_ours)), float(np.median(t_theirs))
        rows.append({"workload": name, "neurona_s": a, "surprise_s": b, "ratio": b / a, "rmse_neurona": e_ours,
                     "rmse_surprise": e_theirs})
        log(f"{name}: neurona {a:.3f} s, Surprise {b:.3f} s, ratio {b / a:.2f}x; RMSE {e_ours:.4f} / {e_theirs:.4f}")
    text = _markdown(rows, n_ratings, repeats, surprise.__version__)
    return {"rows": rows, "text": text}


def _markdown(rows: list[dict], n: int, repeats: int, version: str) -> str:
    lines = [
        "# Recommenders: neurona against scikit-surprise",
        "",
        f"Generated by `python -m bench.recommenders` on {time.strftime('%Y-%m-%d %H:%M')}: {n:,} synthetic ratings "
        f"(80/20 split), median of {repeats} interleaved rounds of fit + predict; scikit-surprise {version}, "
        f"numpy {np.__version__}, {os.cpu_count()} logical cores, load average "
        f"{os.getloadavg()[0]:.2f}. Ratio: Surprise's time / neurona's (> 1: neurona is faster).",
        "",
        "| workload | neurona [s] | Surprise [s] | ratio | RMSE neurona | RMSE Surprise |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(f"| {r['workload']} | {r['neurona_s']:.3f} | {r['surprise_s']:.3f} | **{r['ratio']:.2f}x** | "
                     f"{r['rmse_neurona']:.4f} | {r['rmse_surprise']:.4f} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--ratings", type=int, default=100_000)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--out", help="write the markdown table to this file")
    args = p.parse_args(argv)
    info = run(args.ratings, args.repeats)
    print(info["text"])
    if args.out:
        Path(args.out).write_text(info["text"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
