"""A written model of data-parallel training: ring-allreduce time against step time (docs/distributed.md).

Ring allreduce of B bytes over N machines sends 2(N-1)/N x B bytes through each link, in 2(N-1) steps:

    T_allreduce = 2 (N-1)/N x B / bandwidth + 2 (N-1) x latency

A synchronous data-parallel step costs t_compute + T_allreduce without overlap, max(t_compute, T_allreduce)
with perfect overlap (buckets reduced while backward runs). Efficiency = t_compute / step time.
Weak scaling keeps each machine's batch (t_compute fixed); strong scaling keeps the global batch, so
t_compute = t_1 / N shrinks while T_allreduce does not: the speed-up N t_c / (t_c + T) peaks and then falls.

Run: python -m bench.allreduce_model
"""

from __future__ import annotations

# (name, float32 parameters, seconds of compute per step on one machine, what that step is)
MODELS = [
    ("slide MLP 784-10-10", 7_960, 0.23e-3, "batch 100, neurona on this CPU (bench/RESULTS.md)"),
    ("wide MLP 784-512-512-10", 669_706, 4.44e-3, "batch 128, neurona on this CPU (bench/RESULTS.md)"),
    ("slide CNN conv32-conv64-dense10", 62_346, 42.3e-3, "batch 100, neurona on this CPU (bench/RESULTS.md)"),
    ("VGG16 (GPU-class machine)", 138_357_544, 50e-3, "32 images x 46.5 GFLOP at 30 TFLOP/s effective"),
    ("VGG16 (CPU, neurona)", 138_357_544, 16.0, "32 images x 46.5 GFLOP at 93 GFLOP/s"),
]
LINKS = [("10 Gbit/s", 10e9, 25e-6), ("25 Gbit/s", 25e9, 25e-6), ("100 Gbit/s", 100e9, 5e-6)]
MACHINES = [8, 64]


def allreduce_seconds(nbytes: float, n: int, bits_per_s: float, latency: float) -> float:
    """Ring allreduce time of `nbytes` over `n` machines on links of `bits_per_s` with per-message `latency`."""
    return 2 * (n - 1) / n * nbytes * 8 / bits_per_s + 2 * (n - 1) * latency


def best_machines(nbytes: float, t1: float, bits_per_s: float, latency: float, limit: int = 4096) -> tuple[int, float]:
    """Strong scaling (global batch fixed): the machine count with the largest speed-up, and that speed-up."""
    best = (1, 1.0)
    for n in range(2, limit + 1):
        speed = t1 / (t1 / n + allreduce_seconds(nbytes, n, bits_per_s, latency))
        if speed > best[1]:
            best = (n, speed)
    return best


def table() -> str:
    lines = ["| model (step) | MB | link | N | allreduce ms | compute ms | efficiency, no overlap | "
             "with overlap |", "|---" * 8 + "|"]
    for name, params, t, _ in MODELS:
        nbytes = 4 * params
        for link, bw, lat in LINKS:
            for n in MACHINES:
                ar = allreduce_seconds(nbytes, n, bw, lat)
                lines.append(f"| {name} | {nbytes / 1e6:.2f} | {link} | {n} | {1e3 * ar:.2f} | {1e3 * t:.2f} | "
                             f"{t / (t + ar):.0%} | {min(1.0, t / ar):.0%} |")
    return "\n".join(lines)


def strong_table() -> str:
    lines = ["| model | link | best N (global batch fixed) | speed-up there |", "|---" * 4 + "|"]
    for name, params, t, _ in MODELS:
        for link, bw, lat in LINKS:
            n, speed = best_machines(4 * params, t, bw, lat)
            lines.append(f"| {name} | {link} | {n} | {speed:.1f}x |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(table())
    print()
    print(strong_table())
