"""A small transformer: 2 encoder blocks (d_model 64, 4 heads, feed-forward 128) over sequences of 64 steps
-> mean over steps -> Dense(1), MSE, SGD, batch 32: one training step, neurona vs PyTorch eager, at the
default number of threads and at 1 thread.

Run: env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python -m bench.transformer [--threads N ...]
Prints milliseconds per step and the ratio (peer time / neurona time; > 1: neurona is faster).
"""

from __future__ import annotations

import argparse
import os

import numpy as np

from ._timing import blas_info, equal_threads, interleaved, report

BATCH, STEPS, D_MODEL, HEADS, FF, BLOCKS = 32, 64, 64, 4, 128, 2


def data(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((BATCH, STEPS, D_MODEL)).astype(np.float32)
    return x, x.mean(axis=(1, 2))[:, None].astype(np.float32)


def neurona_step():
    from neurona.layers import Dense, GlobalAveragePooling1D, Input, TransformerEncoder
    from neurona.models import Sequential

    x, y = data()
    model = Sequential([Input((STEPS, D_MODEL))] + [TransformerEncoder(FF, HEADS) for _ in range(BLOCKS)]
                       + [GlobalAveragePooling1D(), Dense(1)])
    model.compile(loss="mse", optimizer="sgd")
    return lambda: model.train_on_batch(x, y)


def torch_step():
    import torch

    x, y = (torch.from_numpy(a) for a in data())
    layer = torch.nn.TransformerEncoderLayer(D_MODEL, HEADS, FF, dropout=0.0, batch_first=True)
    encoder = torch.nn.TransformerEncoder(layer, BLOCKS, enable_nested_tensor=False)
    head = torch.nn.Linear(D_MODEL, 1)
    opt = torch.optim.SGD([*encoder.parameters(), *head.parameters()], lr=0.01)

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        torch.nn.functional.mse_loss(head(encoder(x).mean(dim=1)), y).backward()
        opt.step()

    return step


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, nargs="+", default=[os.cpu_count() or 1, 1])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args(argv)
    print(blas_info())
    fns = {"neurona": neurona_step()}
    try:
        fns["torch eager"] = torch_step()
    except ImportError:
        print("(PyTorch not installed: pip install torch to compare)")
    for n in args.threads:
        with equal_threads(n):
            times = interleaved(fns, repeats=args.repeats)
        print(report(f"TransformerEncoder x{BLOCKS} (d_model {D_MODEL}, {HEADS} heads, ff {FF}), sequence "
                     f"{STEPS}, batch {BATCH}, one training step, {n} thread(s)", times))


if __name__ == "__main__":
    main()
