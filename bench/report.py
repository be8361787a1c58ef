"""The suite's report: tables of times and ratios, GFLOP/s against the matmul peak, memory, targets met or
missed, and the machine the numbers come from (Markdown; printed and written to bench/RESULTS.md)."""

from __future__ import annotations

import datetime
import os
import platform
import sys
from importlib import metadata
from typing import Any

import numpy as np

from ._timing import numpy_blas_kernel
from .peers import neurona_weights_bytes, shapes

UNITS = {"train": ("ms/step", 1e3), "predict": ("ms/call", 1e3), "latency": ("µs/call", 1e6)}
TASK_TITLES = {"train": "Training (one epoch through fit; time per step)",
               "predict": "Inference: predict on {n:,} samples, batch 1,000 (time per call)",
               "latency": "Inference: one sample (predict_on_batch / model(x); time per call)"}

# (workload, peer or "peak"/"memory", required ratio or fraction, label)
TARGETS = [
    ("slide_mlp", "torch eager", 3.0, "slide MLP ≥ 3x PyTorch eager"),
    ("slide_mlp", "keras-torch", 10.0, "slide MLP ≥ 10x Keras (torch backend)"),
    ("slide_mlp", "sklearn MLP", 3.0, "slide MLP: scikit-learn ≥ 3x slower"),
    ("wide_mlp", "torch eager", 1.2, "wide MLP ≥ 1.2x PyTorch eager"),
    ("wide_mlp", "peak", 0.6, "wide MLP ≥ 60 % of the float32 matmul peak"),
    ("wide_mlp", "sklearn MLP", 3.0, "wide MLP: scikit-learn ≥ 3x slower"),
    ("slide_cnn", "torch eager", 1.0, "slide CNN ≥ 1.0x PyTorch eager"),
    ("slide_mlp", "memory", 2.0, "slide MLP memory ≤ 2x (weights + one batch's activations)"),
    ("wide_mlp", "memory", 2.0, "wide MLP memory ≤ 2x (weights + one batch's activations)"),
    ("slide_cnn", "memory", 2.0, "slide CNN memory ≤ 2x (weights + one batch's activations)"),
]


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def machine() -> list[str]:
    """A few lines that identify this machine and software."""
    cpu = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name"))
    except (OSError, StopIteration):
        pass
    mem = ""
    try:
        with open("/proc/meminfo") as f:
            kib = int(next(ln for ln in f if ln.startswith("MemTotal")).split()[1])
        mem = f", {kib / 2**20:.0f} GiB RAM"
    except (OSError, StopIteration, ValueError):
        pass
    soft = ", ".join(f"{name} {v}" for name, dist in (("numpy", "numpy"), ("torch", "torch"), ("keras", "keras"),
                                                       ("jax", "jax"), ("scikit-learn", "scikit-learn"))
                     if (v := _version(dist)))
    return [
        f"- CPU: {cpu}, {os.cpu_count()} logical cores{mem}; {platform.system()} {platform.release()}",
        f"- Python {platform.python_version()}; {soft}",
        f"- NumPy BLAS: {numpy_blas_kernel()}; OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', 'unset')}, "
        f"OPENBLAS_L2_SIZE={os.environ.get('OPENBLAS_L2_SIZE', 'unset')}",
    ]


def _ratio(cells: dict[str, Any], peer: str) -> tuple[float, float, float] | None:
    """peer / neurona: ratio of the medians, and the lowest and highest ratio of a single round."""
    a, b = cells.get("neurona"), cells.get(peer)
    if a is None or b is None or not a.samples or not b.samples:
        return None
    rounds = [y / x for x, y in zip(a.samples, b.samples)]
    return b.median / a.median, min(rounds), max(rounds)


def _cell_text(cells: dict[str, Any], name: str, task: str) -> str:
    cell = cells.get(name)
    if cell is None:
        return "–"
    if not cell.samples:
        return "n/a"
    unit, scale = UNITS[task]
    value = cell.median * scale / (cells["_steps"] if task == "train" else 1)
    text = f"{value:.3g} ±{cell.spread:.0%}"
    if name != "neurona":
        r = _ratio(cells, name)
        if r:
            text += f" (**{r[0]:.2f}x**)"
    return text


def _memory(wl: Any, cells: dict[str, Any]) -> tuple[float, float, float | None]:
    """(weights MiB, one batch's activations MiB, neurona's traced training peak / (weights + activations))."""
    weights = neurona_weights_bytes(wl) / 2**20
    acts = sum(int(np.prod(s)) for s in shapes(wl)) * wl.batch * 4 / 2**20
    cell = cells.get("neurona")
    if cell is None or cell.traced_mb is None:
        return weights, acts, None
    return weights, acts, cell.traced_mb / (weights + acts)


def _limits(info: dict[str, Any], key: str, what: str, peak: float) -> str:
    """A data-driven sentence on why a target is missed: the hand-written floor and neurona's largest overheads."""
    train = info["results"][key]["train"]
    floor, ours = train.get("numpy floor"), train.get("neurona")
    phases = info.get("phases", {}).get(key, {})
    extra = ""
    if "neurona" in phases and "numpy floor" in phases:
        diffs = {p: phases["neurona"].get(p, 0.0) - phases["numpy floor"].get(p, 0.0) for p in phases["neurona"]}
        top = sorted(diffs.items(), key=lambda kv: -kv[1])[:3]
        extra = ("; neurona's extra time over the floor: " + ", ".join(f"{p} +{d:.0f} µs" for p, d in top if d > 0)
                 + " per step")
    if what == "memory":
        parts = (ours.memory_parts or {}) if ours is not None else {}
        big = sorted(parts.items(), key=lambda kv: -kv[1])[:3]
        return "largest parts: " + ", ".join(f"{k} {v:.2f} MiB" for k, v in big) if big else ""
    has_floor = floor is not None and floor.samples
    if what == "peak":
        if not has_floor:
            return ""
        g = info["flops"][key] / (floor.median / train["_steps"]) / 1e9
        return f"the hand-written NumPy step itself reaches {g / peak:.0%} of the peak" + extra
    peer = train.get(what)
    if not has_floor or peer is None or not peer.samples:
        return "no hand-written floor for this workload; see the profile and docs/performance.md"
    return (f"a zero-overhead NumPy step would be {peer.median / floor.median:.2f}x faster than {what}" + extra)


def _targets(info: dict[str, Any], peak: float) -> list[str]:
    lines = ["| target | measured | per-round range | status | what limits it |", "|---|---|---|---|---|"]
    for key, what, need, label in TARGETS:
        res = info["results"].get(key)
        if res is None:
            continue
        train = res["train"]
        if what == "peak":
            cell = train.get("neurona")
            if cell is None or not cell.samples:
                continue
            flops = info["flops"][key] / (cell.median / train["_steps"]) / 1e9
            got, lo, hi = flops / peak, None, None
            text = f"{flops:.0f} GFLOP/s = {got:.0%} of {peak:.0f}"
            ok = got >= need
        elif what == "memory":
            _, _, got = _memory(info["workloads"][key], train)
            if got is None:
                continue
            lo = hi = None
            text = f"{got:.2f}x"
            ok = got <= need
        else:
            r = _ratio(train, what)
            if r is None:
                continue
            got, lo, hi = r
            text = f"{got:.2f}x"
            ok = got >= need
        span = f"{lo:.2f}–{hi:.2f}x" if lo is not None else ""
        if ok:
            status = "**met**"
        elif what == "memory":
            status = f"**missed** by {got / need:.2f}x"
        else:
            status = f"**missed**: {got / need:.0%} of the target (needs {need / got:.2f}x faster)"
        lines.append(f"| {label} | {text} | {span} | {status} | {'' if ok else _limits(info, key, what, peak)} |")
    return lines


def render(info: dict[str, Any]) -> str:
    """The whole report as Markdown."""
    from .suite import PHASES, forward_flops, train_flops_per_step

    cfg = info["config"]
    results, wls = info["results"], info["workloads"]
    peak = max(info["peaks"])
    info["flops"] = {k: train_flops_per_step(wl) for k, wl in wls.items()}
    names: list[str] = []
    for res in results.values():
        for cells in res.values():
            names += [n for n in cells if n not in names]
    for key, res in results.items():
        for task, cells in res.items():
            cells["_steps"] = wls[key].steps(info["sizes"][key]) if task == "train" else 1
    names = [n for n in names if not n.startswith("_")]
    load = info["load"]
    out = [
        "# neurona benchmark results",
        "",
        f"Generated by `python -m bench{' ' + info['argv'] if info['argv'] else ''}` on "
        f"{datetime.datetime.now().strftime('%Y-%m-%d %H:%M')} in {info['seconds']:.0f} s"
        f"{' (--quick: smaller sizes, fewer rounds)' if cfg.quick else ''}.",
        "",
        *machine(),
        f"- Threads: {cfg.threads} for every peer (threadpoolctl for BLAS/OpenMP, torch.set_num_threads; the jax "
        f"child gets the same through its environment). float32 matmul peak (2048², measured before and after): "
        + ", ".join(f"{p:.0f}" for p in info["peaks"]) + " GFLOP/s.",
        f"- Load average before / after: {load[0][0]:.2f} / {load[1][0]:.2f}" if load[0] and load[1] else "",
        "",
        "Each cell: median over interleaved rounds, ± half the range of the rounds (the noise), and in bold the "
        "ratio peer time / neurona time (> 1: neurona is faster). Every peer was called once to warm up "
        f"first; {cfg.repeats} rounds. 'numpy floor' is a hand-written NumPy step (docs/performance.md), the "
        "reference for neurona's framework overhead, not a peer.",
        "",
    ]
    for task in ("train", "predict", "latency"):
        out += [f"## {TASK_TITLES[task].format(n=cfg.predict_samples)}", "", "| workload | " + " | ".join(names) + " |",
                "|---|" + "---|" * len(names)]
        for key, res in results.items():
            cells = res.get(task, {})
            title = wls[key].title + (f" ({info['sizes'][key]:,} samples)" if task == "train" else "")
            out.append(f"| {title} [{UNITS[task][0]}] | " + " | ".join(_cell_text(cells, n, task) for n in names)
                       + " |")
        for title, why in info["skipped_workloads"].items():
            out.append(f"| {title} | " + " | ".join(["–"] * len(names)) + f" |  ({why})")
        out.append("")
    out += ["## Arithmetic efficiency (training)", "",
            "| workload | GFLOP per step | " + " | ".join(f"{n} GFLOP/s (% of peak)" for n in names) + " |",
            "|---|---|" + "---|" * len(names)]
    for key, res in results.items():
        cells, flops = res["train"], info["flops"][key]
        row = []
        for n in names:
            c = cells.get(n)
            if c is None or not c.samples:
                row.append("–")
                continue
            g = flops / (c.median / cells["_steps"]) / 1e9
            row.append(f"{g:.1f} ({g / peak:.0%})")
        out.append(f"| {wls[key].title} | {flops / 1e9:.3f} | " + " | ".join(row) + " |")
    out += ["", "## Memory", "",
            "neurona's training peak: everything NumPy and Python allocate (tracemalloc) while a fresh model is built, "
            "compiled and fit for one epoch, the data set excluded: weights, gradients, optimizer slots, the "
            "shuffle permutation, batches, activations and temporaries. Its ratio is to the weights plus one batch's "
            "activations of every layer (the target: ≤ 2x). Growth: how much each peer's resident set grows "
            "during one warm epoch (all local peers share one process, whose peak RSS is shown once).", "",
            "| workload | weights MiB | one batch's activations MiB | neurona training peak MiB (ratio) | "
            "largest parts MiB | process peak RSS MiB | " + " | ".join(f"{n} growth MiB" for n in names) + " |",
            "|---|---|---|---|---|---|" + "---|" * len(names)]
    for key, res in results.items():
        cells = res["train"]
        w, a, ratio = _memory(wls[key], cells)
        ours = cells.get("neurona")
        traced = ours.traced_mb if ours is not None else None
        parts = "; ".join(f"{k} {v:.2f}" for k, v in (ours.memory_parts or {}).items()) if ours else ""
        rss = ours.peak_mb if ours is not None and ours.peak_mb is not None else None
        growth = [f"{cells[n].growth_mb:.1f}" if n in cells and cells[n].growth_mb is not None else "–"
                  for n in names]
        out.append(f"| {wls[key].title} | {w:.2f} | {a:.2f} | "
                   f"{'–' if traced is None else f'{traced:.2f} ({ratio:.2f}x)'} | {parts} | "
                   f"{'–' if rss is None else f'{rss:.0f}'} | " + " | ".join(growth) + " |")
    out += ["", "## Targets (issue 10)", "", *_targets(info, peak), ""]
    if info.get("phases"):
        out += ["## Where a training step's time goes (µs per step, medians over every step of two epochs)", "",
                "neurona's phases are fit's own step functions driven batch by batch; 'fit loop + input checks' is a "
                "real fit epoch per step (the fastest of 5) minus the phases (per-call validation of x and y, the "
                "loop's Python). "
                "The floor is the same step written by hand in NumPy.", ""]
        for key, ph in info["phases"].items():
            cols = list(ph)
            out += [f"**{wls[key].title}**", "", "| phase | " + " | ".join(cols) + " | neurona − floor |",
                    "|---|" + "---|" * (len(cols) + 1)]
            for phase in PHASES:
                vals = [ph[c].get(phase) for c in cols]
                diff = (vals[0] - (vals[1] or 0.0)) if len(vals) > 1 and vals[0] is not None else None
                out.append(f"| {phase} | " + " | ".join("–" if v is None else f"{v:.1f}" for v in vals)
                           + f" | {'' if diff is None else f'{diff:+.1f}'} |")
            totals = [sum(ph[c].values()) for c in cols]
            out.append("| **total** | " + " | ".join(f"**{t:.1f}**" for t in totals)
                       + (f" | **{totals[0] - totals[1]:+.1f}** |" if len(totals) > 1 else " | |"))
            out.append("")
    if info["profiles"]:
        out += ["## Where neurona's fit spends its time (cProfile, own time, one epoch)", "",
                "cProfile charges a fixed cost to every Python call, so framework rows are inflated relative to "
                "NumPy's C calls; read it for the ranking, and docs/performance.md for the measured breakdown.", ""]
        for key, rows in info["profiles"].items():
            out += [f"**{wls[key].title}**", "", "| share | calls | function |", "|---|---|---|"]
            out += [f"| {share:.0%} | {calls} | `{name}` |" for name, share, calls in rows]
            out.append("")
    fwd = {k: forward_flops(wl)[0] for k, wl in wls.items()}
    out += ["## Workload definitions", ""]
    for key, wl in wls.items():
        out.append(f"- **{wl.title}**: input {wl.input_shape}, layers {list(wl.layers)}, lr {wl.lr}, momentum "
                   f"{wl.momentum}; {info['sizes'][key]:,} training samples per timed epoch; forward "
                   f"{fwd[key] / 1e6:.2f} MFLOP per sample.")
    out += ["- Peers: neurona `Sequential.fit(x, y, batch_size, epochs=1, verbose=0)` compiled with "
            "metrics=['accuracy'] as in the slides; Keras 3 the same code; PyTorch an idiomatic loop (randperm, "
            "index the batch, zero_grad, cross_entropy on logits, backward, step, loss.item()); scikit-learn "
            "`MLPClassifier(solver='sgd', alpha=0, max_iter=1, warm_start=True).fit` (one epoch per call).",
            f"- Command line: `{sys.executable.split('/')[-1]} -m bench {info['argv']}`; run it as "
            "`env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python -m bench` (see docs/performance.md).", ""]
    skipped = sorted({f"{n}: {c.skipped}" for res in results.values() for cells in res.values()
                      for n, c in cells.items() if not n.startswith("_") and c.skipped})
    if skipped:
        out += ["## Peers not measured", "", *[f"- {s}" for s in skipped], ""]
    return "\n".join(line for line in out if line is not None) + "\n"
