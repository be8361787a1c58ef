"""The `neurona` command: a demo on embedded data, and facts about the installation."""

from __future__ import annotations

import argparse
import platform
import sys
import time
from collections.abc import Sequence

import numpy as np


def _demo_engine(seed: int = 0) -> float:
    """Train a two-layer network on a synthetic two-spirals-like problem with the bare engine."""
    import neurona as nr
    from neurona import ops

    rng = np.random.default_rng(seed)
    n = 400
    t = rng.uniform(0, 3 * np.pi, n)
    label = rng.integers(0, 2, n)
    x = np.stack([t * np.cos(t + np.pi * label), t * np.sin(t + np.pi * label)], 1) / 10
    x = (x + rng.normal(0, 0.02, x.shape)).astype(np.float32)
    y = np.eye(2, dtype=np.float32)[label]
    w1 = nr.Tensor(rng.normal(0, 1, (2, 64)).astype(np.float32), requires_grad=True)
    b1 = nr.Tensor(np.zeros(64, np.float32), requires_grad=True)
    w2 = nr.Tensor(rng.normal(0, 0.1, (64, 2)).astype(np.float32), requires_grad=True)
    b2 = nr.Tensor(np.zeros(2, np.float32), requires_grad=True)
    params = [w1, b1, w2, b2]
    velocity = [np.zeros_like(p.data) for p in params]
    for epoch in range(1, 1501):
        loss = ops.softmax_cross_entropy(ops.dense(ops.dense(x, w1, b1, "tanh"), w2, b2), y)
        loss.backward()
        for p, v in zip(params, velocity):
            v *= 0.9
            v -= 0.1 * p.grad
            p.data += v
            p.grad = None
        if epoch % 300 == 0:
            print(f"  epoch {epoch:4d}  loss {loss.item():.4f}")
    with nr.no_grad():
        pred = ops.dense(ops.dense(x, w1, b1, "tanh"), w2, b2).data.argmax(1)
    return float((pred == label).mean())


def cmd_demo(args: argparse.Namespace) -> int:
    print("neurona demo: a 2-64-2 network learns two interleaved spirals (engine only, synthetic data)")
    t0 = time.perf_counter()
    acc = _demo_engine(args.seed)
    print(f"training accuracy {acc:.3f} in {time.perf_counter() - t0:.1f} s")
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    import neurona

    print(f"neurona {neurona.__version__}")
    print(f"python {platform.python_version()} on {platform.platform()}")
    print(f"numpy {np.__version__}")
    for extra in ("scipy", "tqdm", "safetensors", "matplotlib", "sklearn", "PIL", "pooch", "onnx"):
        try:
            mod = __import__(extra)
            print(f"{extra} {getattr(mod, '__version__', '')}")
        except ImportError:
            print(f"{extra}: not installed")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="neurona", description="neurona: deep learning on NumPy")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="train a small network on embedded data and report its accuracy")
    demo.add_argument("--seed", type=int, default=0)
    demo.set_defaults(func=cmd_demo)
    info = sub.add_parser("info", help="versions of neurona, Python, NumPy and optional extras")
    info.set_defaults(func=cmd_info)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `neurona` and `python -m neurona`."""
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
