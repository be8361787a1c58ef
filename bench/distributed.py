"""Data-parallel scaling over MPI: seconds per epoch on 1 and 2 ranks, and what the allreduce costs.

Workloads (as in bench/suite.py): the wide MLP 784-512-512-10 (relu, SGD momentum 0.9, global batch 128)
and the slides' CNN conv32(5x5)-pool-conv64(5x5)-pool-dense10 (SGD, global batch 100), on synthetic data.
For each number of ranks it launches `mpirun -n N python -m bench.distributed --worker ...`; rank 0
reports, as JSON:
  epoch_s         median seconds per epoch after the first (which pays for the traces)
  step_s          epoch_s / steps per epoch
  in_fit_allreduce_s   mean seconds per step inside the gradient allreduce during fit (this includes waiting
                  for the slower rank, so on shared cores it measures imbalance as much as communication)
  allreduce_s     median seconds of one allreduce of the whole gradient (after a barrier: the communication
                  alone), and its share of the step time
Scaling efficiency = t(1 rank) / (N * t(N ranks)) per epoch, at the same global batch (strong scaling).
The ranks share this machine's cores with each other (and with anything else running): with 2 cores, a
2-rank run can at best halve the per-rank work, and the figures say how close it gets.

Run: python -m bench.distributed [--samples 6000] [--cnn-samples 1000] [--epochs 3] [--ranks 1 2]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def _model(kind: str):
    import neurona as nr
    from neurona import layers

    nr.utils.set_random_seed(0)
    if kind == "wide_mlp":
        m = nr.Sequential([layers.Input((784,)), layers.Dense(512, activation="relu"),
                           layers.Dense(512, activation="relu"), layers.Dense(10, activation="softmax")])
        m.compile(optimizer=nr.optimizers.SGD(0.01, momentum=0.9), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
        return m, 128, (784,)
    m = nr.Sequential([layers.Input((28, 28, 1)), layers.Conv2D(32, 5, activation="relu"), layers.MaxPooling2D(2),
                       layers.Conv2D(64, 5, activation="relu"), layers.MaxPooling2D(2), layers.Flatten(),
                       layers.Dense(10, activation="softmax")])
    m.compile(optimizer=nr.optimizers.SGD(0.01), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return m, 100, (28, 28, 1)


def worker(kind: str, samples: int, epochs: int) -> dict:
    """One rank's run; rank 0 returns the figures (the others return {})."""
    from neurona import distributed
    from neurona.callbacks import Callback

    distributed.init()
    model, batch, shape = _model(kind)
    rng = np.random.default_rng(1)
    x = rng.random((samples, *shape), dtype=np.float32)
    y = rng.integers(0, 10, samples)
    times: list[float] = []

    class Clock(Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.t = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            times.append(time.perf_counter() - self.t)

    strategy = distributed.DataParallel()
    model.fit(x, y, batch_size=batch, epochs=epochs, verbose=0, callbacks=[Clock()], distribute=strategy)
    steps = -(-samples // batch)
    # the allreduce alone: the whole gradient, after a barrier so no rank waits for another
    from neurona.distributed import comm

    flat = np.ones(sum(w.data.size for w in model.trainable_weights), np.float32)
    alone = []
    for _ in range(20):
        comm.comm().Barrier()
        start = time.perf_counter()
        comm.allreduce_sum(flat)
        alone.append(time.perf_counter() - start)
    if distributed.rank() != 0:
        return {}
    epoch_s = float(np.median(times[1:] if len(times) > 1 else times))
    return {"kind": kind, "ranks": distributed.size(), "samples": samples, "batch": batch, "steps": steps,
            "epoch_s": epoch_s, "step_s": epoch_s / steps, "params": int(flat.size),
            "in_fit_allreduce_s": strategy.averager.seconds / max(strategy.averager.steps, 1),
            "allreduce_s": float(np.median(alone)), "allreduce_min_s": float(min(alone))}


def launch(kind: str, ranks: int, samples: int, epochs: int) -> dict:
    mpirun = str(Path(sys.executable).with_name("mpirun"))
    if not os.path.exists(mpirun):
        mpirun = shutil.which("mpirun") or "mpirun"
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1",
               PYTHONPATH=os.pathsep.join([str(ROOT / "src"), str(ROOT), os.environ.get("PYTHONPATH", "")]))
    cmd = [mpirun, "--allow-run-as-root", "--oversubscribe", "-n", str(ranks), sys.executable, "-m",
           "bench.distributed", "--worker", kind, "--samples", str(samples), "--epochs", str(epochs)]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT, timeout=1800)
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{out.stderr[-2000:]}")
    line = next(ln for ln in out.stdout.splitlines() if ln.startswith("{"))
    return json.loads(line)


def report(rows: list[dict]) -> str:
    lines = ["| model | ranks | s/epoch | step ms | speed-up | efficiency | allreduce ms alone, median (best) | "
             "share of step, median (best) | allreduce ms in fit (incl. waiting) |", "|---" * 9 + "|"]
    base = {r["kind"]: r["epoch_s"] for r in rows if r["ranks"] == 1}
    for r in rows:
        t1 = base.get(r["kind"])
        speed = t1 / r["epoch_s"] if t1 else float("nan")
        lines.append(f"| {r['kind']} | {r['ranks']} | {r['epoch_s']:.3f} | {1e3 * r['step_s']:.2f} | {speed:.2f}x | "
                     f"{speed / r['ranks']:.0%} | {1e3 * r['allreduce_s']:.3f} ({1e3 * r['allreduce_min_s']:.3f}) | "
                     f"{r['allreduce_s'] / r['step_s']:.1%} ({r['allreduce_min_s'] / r['step_s']:.1%}) | "
                     f"{1e3 * r['in_fit_allreduce_s']:.3f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--samples", type=int, default=6000, help="wide-MLP samples per epoch")
    p.add_argument("--cnn-samples", type=int, default=1000)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--ranks", type=int, nargs="+", default=[1, 2])
    p.add_argument("--models", nargs="+", default=["wide_mlp", "slide_cnn"])
    p.add_argument("--worker", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        result = worker(args.worker, args.samples, args.epochs)
        if result:
            print(json.dumps(result), flush=True)
        return
    rows = []
    for kind in args.models:
        samples = args.samples if kind == "wide_mlp" else args.cnn_samples
        for n in args.ranks:
            rows.append(launch(kind, n, samples, args.epochs))
            print(f"{kind} on {n} rank(s): {rows[-1]['epoch_s']:.3f} s/epoch", file=sys.stderr, flush=True)
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    print(f"CPU cores: {os.cpu_count()}; load average at the end {load}; each rank single-threaded "
          f"(OMP_NUM_THREADS=1)\n")
    print(report(rows))


if __name__ == "__main__":
    main()
