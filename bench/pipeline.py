"""Data-loading overhead per training step, by input layout, next to the step's compute time.

Run: python -m bench.pipeline [--quick] [--samples N]
The data has the siamese shape of issue #24 (`pairs` of shape (n, 2, 28, 28), float32; x = one side of each
pair). For each source it reports, per batch of 128: the time neurona takes to assemble a shuffled batch
(`gather.Rows`), the time main's `np.take` on the whole input took before (which copies the entire array when
it is not C-contiguous), the time of one `fit` step including loading, and PyTorch's DataLoader (default
sampler and collate, no workers) on the same arrays when torch is installed, and with `--keras` a Keras 3
fit step (torch backend) on the contiguous copy and on the strided view. Sources: the contiguous copy,
the strided view `pairs[:, 0]`, a Fortran-ordered copy, an `np.memmap` of the file, and `.npy` shards on disk
read through `neurona.data.Dataset.from_npy_shards` (per-shard memmaps, batches gathered on a prefetch thread).
Timings are medians of interleaved rounds; the host is shared, so read them as ratios within one run.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from ._timing import equal_threads, interleaved

BATCH = 128


def make_sources(n: int, folder: Path) -> tuple[dict[str, Any], np.ndarray]:
    r = np.random.default_rng(0)
    pairs = r.random((n, 2, 28, 28), dtype=np.float32)
    y = (pairs[:, 0].mean(axis=(1, 2)) > pairs[:, 1].mean(axis=(1, 2))).astype(np.float32)
    path = folder / "x.dat"
    mm = np.memmap(path, dtype=np.float32, mode="w+", shape=(n, 28, 28))
    mm[:] = pairs[:, 0]
    mm.flush()
    sources: dict[str, Any] = {
        "contiguous": np.ascontiguousarray(pairs[:, 0]),
        "strided pairs[:, 0]": pairs[:, 0],
        "fortran order": np.asfortranarray(pairs[:, 0]),
        "memmap": np.memmap(path, dtype=np.float32, mode="r", shape=(n, 28, 28)),
    }
    shard = max(BATCH, n // 8)
    for i, start in enumerate(range(0, n, shard)):
        np.save(folder / f"x-{i:03d}.npy", pairs[start:start + shard, 0])
        np.save(folder / f"y-{i:03d}.npy", y[start:start + shard])
    sources["npy shards (Dataset)"] = folder
    return sources, y


def shard_dataset(folder: Path) -> Any:
    from neurona.data import Dataset

    xs = sorted(str(p) for p in folder.glob("x-*.npy"))
    ys = sorted(str(p) for p in folder.glob("y-*.npy"))
    return Dataset.from_npy_shards((xs, ys), shuffle=True, seed=0).batch(BATCH).prefetch(2)


def model() -> Any:
    from neurona import layers, models

    m = models.Sequential([layers.Input((28, 28)), layers.Flatten(), layers.Dense(128, activation="relu"),
                           layers.Dense(1, activation="sigmoid")])
    m.compile(optimizer="adam", loss="binary_crossentropy")
    return m


def neurona_loader(x: Any, y: np.ndarray) -> Any:
    from neurona.models.data import ArrayBatches

    batches = ArrayBatches([x], [y], None, BATCH, shuffle=True, dtype=np.dtype(np.float32), reuse=True)
    return lambda: sum(1 for _ in batches.epoch())


def old_take(x: Any, y: np.ndarray, steps: int) -> Any:
    """main before #24: np.take on the whole input per shuffled batch (a few batches, then scaled)."""
    perm = np.random.default_rng(0).permutation(len(x))

    def run() -> None:
        for start in range(0, steps * BATCH, BATCH):
            idx = perm[start:start + BATCH]
            np.take(x, idx, axis=0)
            np.take(y, idx, axis=0)

    return run


def torch_loader(x: Any, y: np.ndarray) -> Any:
    try:
        import torch
        from torch.utils.data import DataLoader, TensorDataset
    except ImportError:
        return None
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # from_numpy on a read-only memmap
        data = TensorDataset(torch.from_numpy(np.asarray(x)), torch.from_numpy(y))
    loader = DataLoader(data, batch_size=BATCH, shuffle=True, generator=torch.Generator().manual_seed(0))
    return lambda: sum(1 for _ in loader)


def keras_fit(x: Any, y: np.ndarray) -> Any:
    """Keras 3 (torch backend) fit of the same model on the same arrays, one epoch; None without Keras."""
    import os

    os.environ.setdefault("KERAS_BACKEND", "torch")
    try:
        import keras
    except Exception:
        return None
    m = keras.Sequential([keras.Input((28, 28)), keras.layers.Flatten(), keras.layers.Dense(128, activation="relu"),
                          keras.layers.Dense(1, activation="sigmoid")])
    m.compile(optimizer="adam", loss="binary_crossentropy")
    return lambda: m.fit(x, y, batch_size=BATCH, epochs=1, verbose=0)


def run(samples: int = 20000, repeats: int = 5, quick: bool = False, log: Any = print,
        keras: bool = False) -> dict[str, dict[str, float]]:
    """Per-step milliseconds for each source: data, old np.take, fit step, torch DataLoader (Keras fit)."""
    if quick:
        samples, repeats = min(samples, 1024), 2
    steps = -(-samples // BATCH)
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp, equal_threads(1):
        sources, y = make_sources(samples, Path(tmp))
        fns: dict[str, Any] = {}
        models: dict[str, Any] = {}
        for name, x in sources.items():
            m = models[name] = model()
            if isinstance(x, Path):
                ds = shard_dataset(x)
                fns[f"{name}|data"] = lambda ds=ds: sum(1 for _ in ds)
                fns[f"{name}|fit"] = lambda m=m, ds=ds: m.fit(ds, epochs=1, verbose=0)
                continue
            fns[f"{name}|data"] = neurona_loader(x, y)
            fns[f"{name}|fit"] = lambda m=m, x=x: m.fit(x, y, batch_size=BATCH, epochs=1, verbose=0)
            loader = torch_loader(x, y)
            if loader is not None:
                fns[f"{name}|torch DataLoader"] = loader
            step = keras_fit(x, y) if keras and name in ("contiguous", "strided pairs[:, 0]") else None
            if step is not None:
                fns[f"{name}|Keras fit"] = step
        times = interleaved(fns, repeats=repeats, min_time=0.05 if quick else 0.5)
        few = min(steps, 4)
        for name, x in sources.items():
            row = {k.split("|")[1]: v / steps * 1e3 for k, v in times.items() if k.startswith(name + "|")}
            if not isinstance(x, Path):
                t0 = time.perf_counter()
                old_take(x, y, few)()
                row["old np.take"] = (time.perf_counter() - t0) / few * 1e3
            results[name] = row
    base = results["contiguous"]["fit"]
    log(f"data loading per step of {BATCH} (ms), {samples} samples of (28, 28) float32, 1 thread")
    log(f"  {'source':<22s} {'neurona data':>12s} {'old np.take':>12s} {'fit step':>9s} {'vs contig':>9s} "
        f"{'torch DataLoader':>16s}")
    for name, row in results.items():
        old = row.get("old np.take")
        tl = row.get("torch DataLoader")
        log(f"  {name:<22s} {row['data']:12.3f} {'' if old is None else f'{old:12.3f}':>12s} {row['fit']:9.3f} "
            f"{row['fit'] / base:8.2f}x {'' if tl is None else f'{tl:16.3f}':>16s}"
            + (f"  Keras fit step {row['Keras fit']:.3f}" if "Keras fit" in row else ""))
    return results


def tabular(samples: int = 20000, repeats: int = 5, quick: bool = False,
            log: Any = print) -> dict[str, dict[str, float]]:
    """Per-step ms for a mixed-dtype table (8 float64 + 8 int64 columns): a pandas DataFrame, the same table
    as a float32 array, and Parquet files read by `Dataset.from_parquet`; plus the whole-table copy that
    `np.asarray(df)` cost per fit call before. Empty without pandas/pyarrow."""
    try:
        import pandas as pd
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        log("tabular rows skipped: pip install pandas pyarrow")
        return {}
    from neurona import layers, models
    from neurona.data import Dataset
    from neurona.models.data import ArrayBatches
    from neurona.models.frames import FrameColumns

    if quick:
        samples, repeats = min(samples, 1024), 2
    r = np.random.default_rng(0)
    cols = {f"f{i}": r.normal(size=samples) for i in range(8)} | {f"i{i}": r.integers(0, 50, samples) for i in range(8)}
    df = pd.DataFrame(cols)
    y = (df["f0"].to_numpy() > 0).astype(np.float32)
    arr = df.to_numpy(dtype=np.float32)
    steps = -(-samples // BATCH)

    def model() -> Any:
        m = models.Sequential([layers.Input((16,)), layers.Dense(64, activation="relu"),
                               layers.Dense(1, activation="sigmoid")])
        m.compile(optimizer="adam", loss="binary_crossentropy")
        return m

    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp, equal_threads(1):
        paths = []
        per = max(BATCH, samples // 4)
        for i, start in enumerate(range(0, samples, per)):
            part = df.iloc[start:start + per].assign(label=y[start:start + per])
            paths.append(f"{tmp}/t{i}.parquet")
            pq.write_table(pa.Table.from_pandas(part, preserve_index=False), paths[-1], row_group_size=1024)
        ms = {k: model() for k in ("array", "frame", "parquet")}
        frame_rows = ArrayBatches([FrameColumns.of(df, "x")], [y], None, BATCH, shuffle=True,
                                  dtype=np.dtype(np.float32), reuse=True)
        array_rows = ArrayBatches([arr], [y], None, BATCH, shuffle=True, dtype=np.dtype(np.float32), reuse=True)

        def ds() -> Any:
            return Dataset.from_parquet(paths, label="label", batch_size=BATCH, shuffle=True, seed=0).prefetch(2)

        fns = {
            "float32 array|data": lambda: sum(1 for _ in array_rows.epoch()),
            "float32 array|fit": lambda: ms["array"].fit(arr, y, batch_size=BATCH, epochs=1, verbose=0),
            "pandas DataFrame|data": lambda: sum(1 for _ in frame_rows.epoch()),
            "pandas DataFrame|fit": lambda: ms["frame"].fit(df, y, batch_size=BATCH, epochs=1, verbose=0),
            "Parquet (Dataset)|data": lambda: sum(1 for _ in ds()),
            "Parquet (Dataset)|fit": lambda: ms["parquet"].fit(ds(), epochs=1, verbose=0),
        }
        times = interleaved(fns, repeats=repeats, min_time=0.05 if quick else 0.5)
        t0 = time.perf_counter()
        np.asarray(df, dtype=np.float32)
        copy = (time.perf_counter() - t0) * 1e3
    for name in ("float32 array", "pandas DataFrame", "Parquet (Dataset)"):
        results[name] = {k.split("|")[1]: v / steps * 1e3 for k, v in times.items() if k.startswith(name + "|")}
    base = results["float32 array"]["fit"]
    log(f"tabular: {samples} rows x 16 columns (8 float64, 8 int64), batches of {BATCH} (ms per step); "
        f"np.asarray(df) per fit call before: {copy:.2f} ms")
    for name, row in results.items():
        log(f"  {name:<22s} data {row['data']:8.3f}  fit step {row['fit']:8.3f}  {row['fit'] / base:6.2f}x")
    results["whole-frame copy per fit call"] = {"ms": copy}
    return results


def main(argv: list[str] | None = None) -> dict[str, dict[str, float]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny data, two rounds (a smoke run)")
    parser.add_argument("--samples", type=int, default=20000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--keras", action="store_true", help="also time Keras 3's fit (torch backend)")
    args = parser.parse_args(argv)
    results = run(args.samples, args.repeats, args.quick, keras=args.keras)
    return results | {f"tabular {k}": v for k, v in tabular(args.samples, args.repeats, args.quick).items()}


if __name__ == "__main__":
    main()
