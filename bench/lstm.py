"""LSTM(64) over 50 steps x 8 features -> Dense(1), MSE, batch 64: one training step, neurona vs PyTorch eager.

Run: env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python -m bench.lstm
Prints milliseconds per step and the ratio (peer time / neurona time).
"""

from __future__ import annotations

import numpy as np

from ._timing import blas_info, interleaved, report

BATCH, STEPS, FEATURES, UNITS = 64, 50, 8, 64


def data(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((BATCH, STEPS, FEATURES)).astype(np.float32)
    return x, x.mean(axis=(1, 2))[:, None].astype(np.float32)


def neurona_step():
    from neurona.layers import LSTM, Dense
    from neurona.models import Sequential

    x, y = data()
    model = Sequential([LSTM(UNITS, input_shape=(STEPS, FEATURES)), Dense(1)])
    model.compile(loss="mse", optimizer="sgd")
    return lambda: model.train_on_batch(x, y)


def torch_step():
    import torch

    x, y = (torch.from_numpy(a) for a in data())
    lstm, head = torch.nn.LSTM(FEATURES, UNITS, batch_first=True), torch.nn.Linear(UNITS, 1)
    opt = torch.optim.SGD([*lstm.parameters(), *head.parameters()], lr=0.01)

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        out, _ = lstm(x)
        torch.nn.functional.mse_loss(head(out[:, -1]), y).backward()
        opt.step()

    return step


def main() -> None:
    print(blas_info())
    fns = {"neurona": neurona_step()}
    try:
        fns["torch eager"] = torch_step()
    except ImportError:
        print("(PyTorch not installed: pip install torch to compare)")
    print(report(f"LSTM({UNITS}) {STEPS}x{FEATURES} -> Dense(1), MSE, batch {BATCH}, one training step",
                 interleaved(fns, repeats=5)))


if __name__ == "__main__":
    main()
