"""The slides' 2-layer MLP training step written with neurona's ops, against the same step in PyTorch.

Run: env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python -m bench.engine
Prints milliseconds per step and ratios (peer time / neurona time).
"""

from __future__ import annotations

import numpy as np

import neurona as nr
from neurona import ops

from ._timing import blas_info, interleaved, report


def neurona_step(sizes: tuple[int, ...], batch: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.random((batch, sizes[0]), dtype=np.float32)
    y = np.eye(sizes[-1], dtype=np.float32)[rng.integers(0, sizes[-1], batch)]
    params = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        params += [nr.Tensor(rng.normal(0, 0.1, (a, b)).astype(np.float32), requires_grad=True),
                   nr.Tensor(np.zeros(b, np.float32), requires_grad=True)]
    acts = ["sigmoid"] * (len(sizes) - 2) + [None]

    def step() -> None:
        h = x
        for i, act in enumerate(acts):
            h = ops.dense(h, params[2 * i], params[2 * i + 1], act)
        loss = ops.softmax_cross_entropy(h, y)
        loss.backward()
        for p in params:
            p.data -= 0.1 * p.grad
            p.grad = None

    return step


def torch_step(sizes: tuple[int, ...], batch: int, seed: int = 0):
    import torch

    torch.set_num_threads(2)
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(batch, sizes[0], generator=g)
    y = torch.randint(0, sizes[-1], (batch,), generator=g)
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(torch.nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(torch.nn.Sigmoid())
    model = torch.nn.Sequential(*layers)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    loss_fn = torch.nn.CrossEntropyLoss()

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        loss_fn(model(x), y).backward()
        opt.step()

    return step


def main() -> None:
    print(blas_info())
    for sizes, batch in [((784, 10, 10), 100), ((784, 512, 512, 10), 128)]:
        fns = {"neurona": neurona_step(sizes, batch)}
        try:
            fns["torch eager"] = torch_step(sizes, batch)
        except ImportError:
            print("(PyTorch not installed: pip install torch to compare)")
        times = interleaved(fns)
        print(report(f"MLP {'-'.join(map(str, sizes))}, batch {batch}, one training step", times))


if __name__ == "__main__":
    main()
