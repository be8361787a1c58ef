"""The side-by-side suite: every workload, every installed peer, one process run, interleaved.

For each workload and task (train one epoch / predict 10,000 samples / one-sample latency) all peers are
built, warmed up once, then timed in alternating rounds; the median of the rounds is reported with its
spread, and the ratio peer time / neurona time (> 1: neurona is faster). BLAS and OpenMP threads are equal
for all peers. The report (tables, targets met or missed, machine description) is printed and written to
bench/RESULTS.md.
"""

from __future__ import annotations

import dataclasses
import gc
import math
import os
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from . import peers as P
from ._timing import (
    SETTLE_S,
    equal_threads,
    interleaved_runs,
    matmul_peak,
    peak_memory,
    settle_allocator,
    timed,
    traced_peak,
)
from .report import render

PREDICT_SAMPLES = 10_000
TASKS = ("train", "predict", "latency")


@dataclasses.dataclass(frozen=True)
class Workload:
    """A model (layer tuples: ("dense", units, act), ("conv", filters, k, act), ("pool", k), ("flatten",))
    trained with plain SGD (momentum optional) on categorical cross-entropy, on synthetic data."""

    key: str
    title: str
    input_shape: tuple[int, ...]
    layers: tuple[tuple[Any, ...], ...]
    batch: int
    samples: int  # per timed epoch in the full run
    quick_samples: int
    lr: float
    momentum: float = 0.0

    def steps(self, samples: int) -> int:
        return math.ceil(samples / self.batch)


WORKLOADS = {wl.key: wl for wl in (
    Workload("slide_mlp", "slide MLP 784-10σ-10softmax, SGD, batch 100", (784,),
             (("dense", 10, "sigmoid"), ("dense", 10, "softmax")), 100, 60_000, 3_000, 0.1),
    Workload("wide_mlp", "wide MLP 784-512-512-10 relu, SGD momentum 0.9, batch 128", (784,),
             (("dense", 512, "relu"), ("dense", 512, "relu"), ("dense", 10, "softmax")), 128, 12_800, 640,
             0.01, 0.9),
    Workload("slide_cnn", "slide CNN conv32(5x5)-pool-conv64(5x5)-pool-dense10, SGD, batch 100", (28, 28, 1),
             (("conv", 32, 5, "relu"), ("pool", 2), ("conv", 64, 5, "relu"), ("pool", 2), ("flatten",),
              ("dense", 10, "softmax")), 100, 2_000, 200, 0.01),
    Workload("lstm", "LSTM(64) over 50 steps x 8 features-dense10, SGD, batch 64", (50, 8),
             (("lstm", 64), ("dense", 10, "softmax")), 64, 1_280, 128, 0.01),
    Workload("transformer", "small transformer: 2 encoder blocks (d_model 64, 4 heads, ff 128)-mean over steps-"
             "dense10, sequence 64, SGD, batch 32", (64, 64),
             (("transformer", 4, 128), ("transformer", 4, 128), ("gap1d",), ("dense", 10, "softmax")), 32, 640, 64,
             0.01),
)}

SKIPPED: dict[str, str] = {}  # workloads not in the table yet: title -> why


def make_data(wl: Workload, samples: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Synthetic float32 inputs in [0, 1), integer labels and their one-hot rows."""
    rng = np.random.default_rng(seed)
    x = rng.random((samples,) + tuple(wl.input_shape), dtype=np.float32)
    classes = wl.layers[-1][1]
    labels = rng.integers(0, classes, samples)
    return {"x": x, "labels": labels, "onehot": np.eye(classes, dtype=np.float32)[labels]}


def forward_flops(wl: Workload) -> tuple[float, float]:
    """Multiply-add FLOPs per sample of the forward pass: (all layers, the first layer alone)."""
    total, first, shape = 0.0, 0.0, tuple(wl.input_shape)
    for layer in wl.layers:
        out = P.shape_after(layer, shape)
        f = 0.0
        if layer[0] == "dense":
            f = 2.0 * shape[-1] * layer[1]
        elif layer[0] == "conv":
            f = 2.0 * out[0] * out[1] * layer[2] * layer[2] * shape[-1] * layer[1]
        elif layer[0] in P.SEQUENCE_KINDS:
            f, f_input = P.sequence_flops(layer, shape)
            if f and not total:  # the first layer needs no input gradient: only its input projection's is left out
                first = f_input
                total += f
                shape = out
                continue
        if f and not total:
            first = f
        total += f
        shape = out
    return total, first


def train_flops_per_step(wl: Workload) -> float:
    """Forward, weight gradients, input gradients (none for the first layer's input): ~3x forward."""
    total, first = forward_flops(wl)
    return wl.batch * (3 * total - first)


@dataclasses.dataclass
class Cell:
    """One peer's result on one task: seconds per unit of work in each round, or why it did not run."""

    samples: list[float] = dataclasses.field(default_factory=list)
    peak_mb: float | None = None
    growth_mb: float | None = None
    traced_mb: float | None = None
    memory_parts: dict[str, float] | None = None
    skipped: str | None = None

    @property
    def median(self) -> float:
        return float(np.median(self.samples))

    @property
    def spread(self) -> float:
        """Half the range of the rounds, as a fraction of the median (the noise of this number)."""
        return float((max(self.samples) - min(self.samples)) / 2 / self.median)


@dataclasses.dataclass
class Config:
    quick: bool = False
    repeats: int = 5
    min_time: float = 0.3
    threads: int = os.cpu_count() or 1
    peers: Sequence[str] | None = None  # None: all
    workloads: Sequence[str] | None = None
    samples: dict[str, int] = dataclasses.field(default_factory=dict)  # per workload, overrides the defaults
    predict_samples: int = PREDICT_SAMPLES
    memory: bool = True
    profile: bool = True
    output: str | None = None
    thread_counts: Sequence[int] | None = None  # several passes, e.g. (all cores, 1); None: (threads,)

    def counts(self) -> list[int]:
        """The thread counts to run, in order: the first gives the plain rows, the others rows 'key@N'."""
        return list(dict.fromkeys(self.thread_counts or (self.threads,)))


def row_key(key: str, threads: int, first: int) -> str:
    """The results' key of a workload at a thread count: the workload's key at the first count, 'key@N' after."""
    return key if threads == first else f"{key}@{threads}"


def base_key(row: str) -> str:
    """The workload key of a results row ('wide_mlp@1' -> 'wide_mlp')."""
    return row.split("@", 1)[0]


def _want(cfg: Config, name: str) -> bool:
    return cfg.peers is None or name in cfg.peers


def _local_factories(cfg: Config) -> dict[str, Callable[..., Any]]:
    out = {}
    for name, factory in P.LOCAL_PEERS.items():
        if not _want(cfg, name):
            continue
        if name == "torch.compile" and cfg.quick:
            out[name] = "skipped in --quick (compiling takes ~30 s per model)"
        else:
            out[name] = factory
    return out


def _start_remote(cfg: Config, log: Callable[[str], None]) -> tuple[Any, str | None]:
    if not _want(cfg, "keras-jax"):
        return None, None
    if cfg.quick:
        return None, "skipped in --quick (a second process with jax)"
    try:
        peer = P.remote_keras_jax(cfg.threads)
        log("  keras-jax: child process up")
        return peer, None
    except P.Unavailable as e:
        return None, str(e)


def run_task(cfg: Config, wl: Workload, task: str, data: dict[str, np.ndarray], samples: int, remote: Any,
             remote_reason: str | None, log: Callable[[str], None]) -> dict[str, Cell]:
    """Build every peer for this task, time them interleaved, then measure each one's peak memory."""
    cells: dict[str, Cell] = {}
    works: dict[str, Any] = {}
    runners: dict[str, Callable[[int], float]] = {}
    for name, factory in _local_factories(cfg).items():
        if isinstance(factory, str):
            cells[name] = Cell(skipped=factory)
            continue
        try:
            works[name] = factory(wl, data, task)
            runners[name] = timed(works[name])
            cells[name] = Cell()
        except P.Unavailable as e:
            cells[name] = Cell(skipped=str(e))
    remote_id = None
    if remote is not None:
        try:
            remote_id = remote.setup(wl.key, samples, task)
            runners["keras-jax"] = remote.runner(remote_id)
            cells["keras-jax"] = Cell()
        except P.Unavailable as e:
            cells["keras-jax"] = Cell(skipped=str(e))
    elif remote_reason is not None:
        cells["keras-jax"] = Cell(skipped=remote_reason)
    # A peer that fails during warm-up (e.g. torch.compile without a compiler) is dropped, not fatal.
    for name in list(runners):
        try:
            runners[name](1)
        except Exception as e:  # any failure of a peer is reported in its cell
            cells[name] = Cell(skipped=f"failed: {type(e).__name__}: {str(e).splitlines()[0][:160]}")
            runners.pop(name)
            works.pop(name, None)
    t0 = time.perf_counter()
    samples_by_peer = interleaved_runs(runners, repeats=cfg.repeats, min_time=cfg.min_time,
                                       settle=0.0 if cfg.quick else SETTLE_S)  # --quick: a rough check, fast
    for name, values in samples_by_peer.items():
        cells[name].samples = values
    log(f"  {wl.key}/{task}: timed {len(runners)} peers in {time.perf_counter() - t0:.1f} s")
    if cfg.memory and task == "train":
        for name, work in works.items():
            cells[name].peak_mb, cells[name].growth_mb = peak_memory(work)
        if "neurona" in works:
            cells["neurona"].traced_mb, cells["neurona"].memory_parts = _neurona_memory(wl, data)
        if remote_id is not None:
            try:
                cells["keras-jax"].peak_mb, cells["keras-jax"].growth_mb = remote.memory(remote_id)
            except P.Unavailable:
                pass
    return cells


def _neurona_memory(wl: Workload, data: dict[str, np.ndarray]) -> tuple[float, dict[str, float]]:
    """Traced peak MiB of building a fresh model and fitting it one epoch, and what its persistent parts weigh."""
    built: list[Any] = []

    def build_and_fit() -> None:
        built.append(P.neurona(wl, data, "train"))
        built[0]()

    peak = traced_peak(build_and_fit)
    work = built[0]
    parts: dict[str, float] = {}
    model = getattr(work, "model", None)
    if model is not None:
        weights = sum(w.data.nbytes for w in model.weights)
        parts["weights"] = weights / 2**20
        parts["gradients (live during backward)"] = sum(w.data.nbytes for w in model.trainable_weights) / 2**20
        slots = getattr(model.optimizer, "_slots", {})
        parts["optimizer slots"] = sum(a.nbytes for _, arrays in slots.values() for a in arrays) / 2**20
        scratch = getattr(model.optimizer, "_scratch", {})
        parts["optimizer scratch (one shared piece)"] = sum(a.nbytes for a in scratch.values()) / 2**20
    # the order fit draws (models.data.permutation): the smallest unsigned type that holds n - 1
    per = np.dtype(np.min_scalar_type(max(len(data["x"]) - 1, 0))).itemsize if len(data["x"]) < 2**32 else 8
    parts[f"shuffle permutation ({per} bytes per sample)"] = per * len(data["x"]) / 2**20
    return peak, parts


# optimizer state a step cannot do without, per weight (scratch buffers excluded); unknown optimizers count
# every slot array they hold
_STATE_SLOTS = {"SGD": lambda opt: 1 if getattr(opt, "momentum", 0) else 0, "Adam": lambda opt: 2,
                "AdamW": lambda opt: 2, "RMSprop": lambda opt: 1 + bool(getattr(opt, "momentum", 0))}


def algorithmic_minimum(wl: Workload, data: dict[str, np.ndarray]) -> dict[str, float]:
    """MiB a training step cannot do without, from the model itself (any layer kind): weights, their gradients,
    the optimizer's state slots, the activations the recorded graph keeps for backward (every op's outputs for one
    batch) and the batch itself. The suite's memory ratio is neurona's traced peak over their sum."""
    from neurona.tensor import _topological, enable_grad

    work = P.neurona(wl, data, "train")
    model = work.model  # type: ignore[attr-defined]
    x, y = getattr(work, "data", (data["x"], data.get("onehot", data.get("y"))))
    x, y = x[:wl.batch], y[:wl.batch]
    model.fit(x, y, batch_size=wl.batch, epochs=1, verbose=0)  # builds the weights and the optimizer's slots
    opt = model.optimizer
    per_weight = _STATE_SLOTS.get(type(opt).__name__)
    trainable = model.trainable_weights
    if per_weight is not None:
        slots = per_weight(opt) * sum(w.data.nbytes for w in trainable)
    else:
        slots = sum(a.nbytes for _, arrays in getattr(opt, "_slots", {}).values() for a in arrays)
    model._prepare_step()
    prepared_x, ys, _ = model._prepare_arrays(x, y, check=False)
    with enable_grad():
        loss, _ = model._forward_loss(prepared_x[0] if len(prepared_x) == 1 else prepared_x, ys, None, True)
    seen, acts = set(), 0
    for f in _topological(loss.creator):
        acts += getattr(f, "minimum_saved_nbytes", lambda: 0)()  # state an op must keep besides its outputs (LSTM)
        for o in f.outs:
            if o.ndim and id(o) not in seen:
                seen.add(id(o))
                acts += o.nbytes
    mib = 2.0**20
    return {"weights": sum(w.data.nbytes for w in model.weights) / mib,
            "gradients": sum(w.data.nbytes for w in trainable) / mib, "optimizer state": slots / mib,
            "activations kept for backward": acts / mib,
            "one batch": (sum(a.nbytes for a in prepared_x) + sum(a.nbytes for a in ys)) / mib}


def profile_fit(wl: Workload, data: dict[str, np.ndarray], top: int = 12) -> list[tuple[str, float, int]]:
    """Where one epoch of neurona's fit spends its time: cProfile's own time per function, largest first.

    cProfile adds a fixed cost per Python call, so Python-heavy rows are inflated relative to NumPy ones.
    """
    import cProfile
    import pstats

    work = P.neurona(wl, data, "train")
    work()
    prof = cProfile.Profile()
    prof.enable()
    work()
    prof.disable()
    stats = pstats.Stats(prof).stats  # type: ignore[attr-defined]
    total = sum(v[2] for v in stats.values())
    rows = []
    for (path, line, func), (_, ncalls, tottime, _, _) in stats.items():
        short = path.split("/src/")[-1] if "/src/" in path else os.path.basename(path) if path != "~" else ""
        rows.append((f"{short}:{line}({func})" if short else func, tottime / total, ncalls))
    rows.sort(key=lambda r: -r[1])
    return rows[:top]


PHASES = ("gather", "forward", "loss", "backward", "optimizer", "metrics", "fit loop + input checks")


def phase_breakdown(wl: Workload, data: dict[str, np.ndarray], epochs: int = 2) -> dict[str, dict[str, float]]:
    """Median µs per training step in each phase, for neurona's fit and for the hand-written NumPy floor.

    neurona's phases are timed by driving fit's own step functions (Trainer internals) batch by batch (the
    replayed step when fit replays: then 'forward' holds forward and loss, which are one recorded plan); the
    'fit loop + input checks' row is one real `fit` epoch per step minus the sum of the phases: the per-call
    input validation and the loop's own Python (from the fastest of 5 epochs). The phases are wall-clock medians
    over all steps, so a stall barely moves them.
    """
    from neurona.random import get_rng
    from neurona.tensor import enable_grad

    clock = time.perf_counter
    fit = P.neurona(wl, data, "train")
    fit()
    model = fit.model  # type: ignore[attr-defined]
    replay = getattr(model, "_replay", None)
    x, y = data["x"], data["onehot"]
    ours: dict[str, list[float]] = {name: [] for name in PHASES[:-1]}
    xbuf, ybuf = np.empty((wl.batch, *x.shape[1:]), x.dtype), np.empty((wl.batch, *y.shape[1:]), y.dtype)
    with enable_grad():
        for _ in range(epochs):
            perm = get_rng().permutation(len(x))
            for start in range(0, len(x), wl.batch):
                t0 = clock()
                idx = perm[start:start + wl.batch]
                k = len(idx)  # gathered as fit gathers (gather.Rows): into reused buffers, unchecked indices
                xb, ys = x.take(idx, axis=0, out=xbuf[:k], mode="clip"), [y.take(idx, axis=0, out=ybuf[:k],
                                                                                  mode="clip")]
                t1 = clock()
                if replay is not None:  # fit's replayed step: forward and loss are one recorded plan
                    loss, *outs = replay.arrays(xb, ys[0], None)
                    t2 = t3 = clock()
                    replay.backward()
                else:
                    outs = model._train_forward(xb, True)
                    t2 = clock()
                    loss = model._specs[0].loss_fn(ys[0], outs[0], None)
                    t3 = clock()
                    loss.backward()
                    loss, outs = loss.data, [o.data for o in outs]
                t4 = clock()
                weights = model._train_weights
                model.optimizer.apply([w.grad for w in weights], weights)
                for w in weights:
                    w.grad = None
                t5 = clock()
                getattr(model, "_track_step", model._track_arrays)(ys, outs, None, loss)  # as _train_batch
                t6 = clock()
                for name, a, b in zip(PHASES, (t0, t1, t2, t3, t4, t5), (t1, t2, t3, t4, t5, t6)):
                    ours[name].append(b - a)
    steps = wl.steps(len(x))
    whole = []
    for _ in range(5):
        t0 = clock()
        fit()
        whole.append((clock() - t0) / steps)
    result = {"neurona": {k: float(np.median(v)) * 1e6 for k, v in ours.items()}}
    # the fastest epoch: a stall on a shared machine only ever adds time, and would land in this row
    result["neurona"][PHASES[-1]] = max(min(whole) * 1e6 - sum(result["neurona"].values()), 0.0)
    floor: dict[str, list[float]] = {}
    try:
        epoch = P.numpy_floor(wl, data, "train", phases=floor)
    except P.Unavailable:
        return result
    for _ in range(epochs + 1):
        epoch()
    result["numpy floor"] = {k: float(np.median(v)) * 1e6 for k, v in floor.items()}
    return result


def _run_pass(cfg: Config, threads: int, first: int, keys: list[str], info: dict[str, Any],
              log: Callable[[str], None]) -> None:
    """Every workload and task at one thread count (the matmul peak measured at the same count)."""
    tcfg = dataclasses.replace(cfg, threads=threads)
    peak_n = info["peak_n"] = 512 if cfg.quick else 2048  # --quick: a smaller product, a rougher peak
    settle_allocator()  # the same malloc state for every peer (docs/performance.md, "Convolutions (#18)")
    with equal_threads(threads):
        peaks = [matmul_peak(peak_n)]
        remote, remote_reason = _start_remote(tcfg, log)
        try:
            for key in keys:
                wl = WORKLOADS[key]
                row = row_key(key, threads, first)
                samples = cfg.samples.get(key, wl.quick_samples if cfg.quick else wl.samples)
                info["sizes"][row], info["workloads"][row], info["threads_of"][row] = samples, wl, threads
                info["results"][row] = {}
                log(f"{key}, {threads} thread(s)")
                for task in TASKS:
                    n = samples if task == "train" else cfg.predict_samples
                    data = make_data(wl, n)
                    # memory is thread-independent: measured in the first pass only
                    info["results"][row][task] = run_task(dataclasses.replace(tcfg, memory=cfg.memory and
                                                                              threads == first),
                                                          wl, task, data, n, remote, remote_reason, log)
                    gc.collect()
                if threads == first and cfg.memory and _want(cfg, "neurona"):
                    try:
                        info["minimum"][key] = algorithmic_minimum(wl, make_data(wl, wl.batch))
                    except Exception as e:  # a layer kind the minimum cannot walk: reported, not fatal
                        log(f"  {key}: no algorithmic minimum ({type(e).__name__}: {e})")
                profile_here = threads == min(cfg.counts())  # the least disturbed pass
                if cfg.profile and profile_here and _want(cfg, "neurona"):
                    train_data = make_data(wl, samples)
                    try:
                        info["profiles"][key] = profile_fit(wl, train_data)
                        info["phases"][key] = phase_breakdown(wl, train_data)
                    except (AttributeError, TypeError, IndexError, StopIteration, KeyError) as e:
                        log(f"  {key}: no phase breakdown ({type(e).__name__}: {e}); the Trainer's internals changed")
                    log(f"  {key}: profiled")
        finally:
            if remote is not None:
                remote.close()
        peaks.append(matmul_peak(peak_n))
    info["peaks_by_threads"][threads] = peaks


def run(cfg: Config, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Run the suite and return everything the report needs (also written to cfg.output when set).

    With several thread counts (`Config.thread_counts`, the default of `python -m bench`) every workload runs at
    each of them in turn, in this one process; the rows of the later counts are keyed 'key@N'."""
    t_start = time.perf_counter()
    load_before = os.getloadavg() if hasattr(os, "getloadavg") else None
    keys = list(cfg.workloads or WORKLOADS)
    counts = cfg.counts()
    info: dict[str, Any] = {"results": {}, "profiles": {}, "phases": {}, "sizes": {}, "workloads": {},
                            "threads_of": {}, "peaks_by_threads": {}, "minimum": {}, "config": cfg,
                            "skipped_workloads": SKIPPED}
    for threads in counts:
        _run_pass(cfg, threads, counts[0], keys, info, log)
    info.update({
        "peaks": info["peaks_by_threads"][counts[0]],
        "load": (load_before, os.getloadavg() if hasattr(os, "getloadavg") else None),
        "seconds": time.perf_counter() - t_start, "argv": " ".join(sys.argv[1:]),
    })
    text = render(info)
    if cfg.output:
        with open(cfg.output, "w", encoding="utf-8") as f:
            f.write(text)
    info["text"] = text
    return info
