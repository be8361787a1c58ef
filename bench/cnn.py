"""The slides' CNN (deck 002): one training epoch in neurona and in PyTorch eager, on this CPU.

Conv2D(32, 5x5, relu) -> MaxPool 2x2 -> Conv2D(64, 5x5, relu) -> MaxPool 2x2 -> Flatten -> Dense(10, softmax),
plain SGD, synthetic 28x28x1 images, batch 100. Rows:
  neurona fit      `model.fit(x, y, batch_size=100, epochs=1)`, the whole Keras workflow (metrics included)
  neurona ops      the same step written directly with neurona's ops, no Model
  numpy floor      the step written by hand in NumPy (bench/cnn_floor.py): what the framework should approach
  torch eager      the same network and SGD loop in PyTorch
Prints ms per training step (median and best of interleaved repeats: the host is noisy), ratios (peer time /
neurona fit time; > 1 means neurona is faster) and the achieved GFLOP/s against NumPy's float32 matmul peak
measured in the same run. Idle OpenBLAS threads spin for a while after each NumPy matmul and slow down
whatever runs next (PyTorch's threads too); OPENBLAS_THREAD_TIMEOUT=4 makes them sleep at once.

Run: env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python -m bench.cnn [--samples 1000] [--repeats 9]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import neurona as nr
from neurona import layers, models, optimizers, utils
from neurona.ops.conv import conv2d
from neurona.ops.nn import dense, softmax_cross_entropy
from neurona.ops.pool import max_pool2d
from neurona.ops.shape import reshape

from ._timing import blas_info, settle_allocator
from .cnn_floor import floor_work

BATCH = 100


def step_flops(batch: int = BATCH) -> float:
    """Multiply-adds x 2 of one training step: forward, weight gradients, input gradients (none for the image)."""
    conv1 = 2 * batch * 24 * 24 * (5 * 5 * 1) * 32
    conv2 = 2 * batch * 8 * 8 * (5 * 5 * 32) * 64
    fc = 2 * batch * 1024 * 10
    return conv1 * 2 + conv2 * 3 + fc * 3


def matmul_peak(n: int = 2048, repeats: int = 5) -> float:
    """NumPy's float32 matmul speed on a large square product, GFLOP/s (median of a few)."""
    a = np.random.default_rng(0).random((n, n), dtype=np.float32)
    a @ a
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        a @ a
        times.append(time.perf_counter() - t0)
    return 2 * n**3 / float(np.median(times)) / 1e9


def data(samples: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.random((samples, 28, 28, 1), dtype=np.float32)
    y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, samples)]
    return x, y


def neurona_fit(x: np.ndarray, y: np.ndarray):
    utils.set_random_seed(0)
    model = models.Sequential([
        layers.Conv2D(32, (5, 5), activation="relu", input_shape=(28, 28, 1)),
        layers.MaxPooling2D((2, 2)),
        layers.Conv2D(64, (5, 5), activation="relu"),
        layers.MaxPooling2D((2, 2)),
        layers.Flatten(),
        layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer=optimizers.SGD(learning_rate=0.01), loss="categorical_crossentropy",
                  metrics=["accuracy"])

    def epoch() -> None:
        model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0, shuffle=False)

    return epoch


def neurona_ops(x: np.ndarray, y: np.ndarray):
    rng = np.random.default_rng(0)
    shapes = [(5, 5, 1, 32), (32,), (5, 5, 32, 64), (64,), (1024, 10), (10,)]
    params = [nr.Tensor((rng.standard_normal(s) * 0.05).astype(np.float32), requires_grad=True) for s in shapes]
    w1, b1, w2, b2, w3, b3 = params

    def epoch() -> None:
        for i in range(0, len(x), BATCH):
            h = max_pool2d(conv2d(x[i : i + BATCH], w1, b1, activation="relu"), 2)
            h = max_pool2d(conv2d(h, w2, b2, activation="relu"), 2)
            loss = softmax_cross_entropy(dense(reshape(h, (h.shape[0], -1)), w3, b3), y[i : i + BATCH])
            loss.backward()
            for p in params:
                p.data -= 0.01 * p.grad
                p.grad = None

    return epoch


def torch_epoch(x: np.ndarray, y: np.ndarray):
    import torch

    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(1, 32, 5), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(32, 64, 5), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Flatten(), torch.nn.Linear(1024, 10),
    )
    opt = torch.optim.SGD(net.parameters(), lr=0.01)
    xt = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))
    yt = torch.from_numpy(y.argmax(axis=1))

    def epoch() -> None:
        for i in range(0, len(xt), BATCH):
            opt.zero_grad(set_to_none=True)
            torch.nn.functional.cross_entropy(net(xt[i : i + BATCH]), yt[i : i + BATCH]).backward()
            opt.step()

    return epoch


def interleaved_samples(fns: dict, repeats: int) -> dict[str, list[float]]:
    """Seconds per call of each function, in alternating rounds after one warm-up call each."""
    for fn in fns.values():
        fn()
    samples: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            samples[name].append(time.perf_counter() - t0)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description="the slides' CNN: neurona vs PyTorch eager")
    parser.add_argument("--samples", type=int, default=1000, help="images per epoch (a multiple of 100)")
    parser.add_argument("--repeats", type=int, default=9)
    args = parser.parse_args()
    settle_allocator()
    x, y = data(args.samples)
    steps = args.samples // BATCH
    print(blas_info())
    fns = {"neurona fit": neurona_fit(x, y), "neurona ops": neurona_ops(x, y)}
    from .peers import blas_threads
    from .suite import WORKLOADS

    fns["numpy floor"] = floor_work(WORKLOADS["slide_cnn"], {"x": x, "onehot": y}, "train", workers=blas_threads())
    try:
        import torch

        fns["torch eager"] = torch_epoch(x, y)
        print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    except ImportError:
        print("(PyTorch not installed: pip install torch to compare)")
    peak = matmul_peak()
    samples = interleaved_samples(fns, args.repeats)
    peak = max(peak, matmul_peak())  # before and after: the host's speed drifts
    flops = step_flops()
    print(f"slides' CNN, batch {BATCH}, one epoch of {steps} steps; float32 matmul peak {peak:.0f} GFLOP/s")
    print(f"  {'':<12s} {'median':>14s} {'best':>10s}  {'GFLOP/s (median)':>24s}  ratio to neurona fit (median, best)")
    base = samples["neurona fit"]
    for name, times in samples.items():
        med, best = float(np.median(times)) / steps, min(times) / steps
        gflops = flops / med / 1e9
        ratio = "" if name == "neurona fit" else (f"{med / (np.median(base) / steps):5.2f}x, "
                                                  f"{best / (min(base) / steps):5.2f}x")
        share = f"{gflops:6.1f} ({gflops / peak:4.0%} of peak)"
        print(f"  {name:<12s} {med * 1e3:8.2f} ms/step {best * 1e3:7.2f} ms  {share}  {ratio}")


if __name__ == "__main__":
    main()
