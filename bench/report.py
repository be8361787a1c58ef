"""The suite's report: tables of times and ratios, GFLOP/s against the matmul peak, memory, targets met or
missed, and the machine the numbers come from (Markdown; printed and written to bench/RESULTS.md)."""

from __future__ import annotations

import datetime
import os
import platform
import sys
from importlib import metadata
from typing import Any

from ._timing import numpy_blas_kernel

UNITS = {"train": ("ms/step", 1e3), "predict": ("ms/call", 1e3), "latency": ("µs/call", 1e6)}
TASK_TITLES = {"train": "Training (one epoch through fit; time per step)",
               "predict": "Inference: predict on {n:,} samples, batch 1,000 (time per call)",
               "latency": "Inference: one sample (predict_on_batch / model(x); time per call)"}

# (workload or "*" for every row, peer or kind of target, required value, label). Kinds: a peer's name (ratio
# peer time / neurona time on training ≥ value), "predict" / "latency" (the same on those tasks against torch eager),
# "peak" (fraction of the float32 matmul peak ≥ value), "overhead" (µs per step over the hand-written floor
# ≤ value), "floor" (floor time / neurona time ≥ value), "memory" (traced peak / algorithmic minimum ≤ value).
TARGETS = [
    ("slide_mlp", "torch eager", 3.0, "slide MLP ≥ 3.0x PyTorch eager (#17)"),
    ("slide_mlp", "keras-torch", 10.0, "slide MLP ≥ 10x Keras (torch backend)"),
    ("slide_mlp", "sklearn MLP", 2.5, "slide MLP ≥ 2.5x scikit-learn's MLP (#17)"),
    ("slide_mlp", "overhead", 10.0, "slide MLP: per-step overhead over the hand-written floor ≤ 10 µs (#17)"),
    ("slide_mlp", "latency", 1.0, "slide MLP: one-sample predict_on_batch ≤ torch eager's time (#17)"),
    ("wide_mlp", "torch eager", 1.2, "wide MLP ≥ 1.2x PyTorch eager (#18)"),
    ("wide_mlp", "peak", 0.7, "wide MLP ≥ 70 % of the float32 matmul peak (#18)"),
    ("slide_cnn", "torch eager", 1.0, "slide CNN ≥ 1.0x PyTorch eager (#18)"),
    ("slide_cnn", "predict", 1.0, "slide CNN predict ≥ 1.0x PyTorch eager (#18)"),
    ("*", "floor", 1 / 1.15, "within 1.15x of the hand-written floor (#18)"),
    ("*", "memory", 1.25, "training peak ≤ 1.25x the algorithmic minimum (#18)"),
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


def _base(row: str) -> str:
    return row.split("@", 1)[0]


def _memory(info: dict[str, Any], row: str, cells: dict[str, Any]) -> tuple[dict[str, float] | None, float | None]:
    """(the algorithmic minimum's parts in MiB, neurona's traced training peak / that minimum)."""
    parts = info.get("minimum", {}).get(_base(row))
    cell = cells.get("neurona")
    if parts is None or cell is None or cell.traced_mb is None:
        return parts, None
    return parts, cell.traced_mb / sum(parts.values())


def _profile_top(info: dict[str, Any], row: str, n: int = 3) -> str:
    rows = info.get("profiles", {}).get(_base(row)) or []
    return ", ".join(f"{share:.0%} `{name}`" for name, share, _ in rows[:n])


def _limits(info: dict[str, Any], row: str, what: str, peak: float) -> str:
    """Why a target is missed, from this run's data: the hand-written floor, neurona's largest overheads by
    phase, and the top of the cProfile ranking (the profile that explains it)."""
    train = info["results"][row]["train"]
    floor, ours = train.get("numpy floor"), train.get("neurona")
    phases = info.get("phases", {}).get(_base(row), {})
    extra = ""
    if "neurona" in phases and "numpy floor" in phases:
        diffs = {p: phases["neurona"].get(p, 0.0) - phases["numpy floor"].get(p, 0.0) for p in phases["neurona"]}
        top = sorted(diffs.items(), key=lambda kv: -kv[1])[:3]
        extra = ("; neurona's extra time over the floor: " + ", ".join(f"{p} +{d:.0f} µs" for p, d in top if d > 0)
                 + " per step")
    elif "neurona" in phases:
        top = sorted(phases["neurona"].items(), key=lambda kv: -kv[1])[:3]
        extra = "; neurona's largest phases: " + ", ".join(f"{p} {d:.0f} µs" for p, d in top) + " per step"
    prof = _profile_top(info, row)
    extra += f"; cProfile top: {prof}" if prof else ""
    if what == "memory":
        parts, _ = _memory(info, row, train)
        cell = ours if ours is not None else None
        big = sorted((cell.memory_parts or {}).items(), key=lambda kv: -kv[1])[:3] if cell is not None else []
        text = "peak's largest known parts: " + ", ".join(f"{k} {v:.2f} MiB" for k, v in big) if big else ""
        if parts:
            text += ("; " if text else "") + "the minimum's largest part: " + max(parts, key=parts.get)
        return text
    has_floor = floor is not None and floor.samples
    if what == "peak":
        if not has_floor:
            return extra.lstrip("; ")
        g = info["flops"][row] / (floor.median / train["_steps"]) / 1e9
        return f"the hand-written NumPy step itself reaches {g / peak:.0%} of the peak" + extra
    if what in ("overhead", "floor"):
        return extra.lstrip("; ")
    if what in ("predict", "latency"):
        task = info["results"][row][what]
        fl, peer = task.get("numpy floor"), task.get("torch eager")
        if fl is not None and fl.samples and peer is not None and peer.samples:
            return f"the hand-written NumPy {what} would be {peer.median / fl.median:.2f}x faster than torch eager"
        return ""
    peer = train.get(what)
    if not has_floor or peer is None or not peer.samples:
        return "no hand-written floor for this workload" + extra
    return (f"a zero-overhead NumPy step would be {peer.median / floor.median:.2f}x faster than {what}" + extra)


def _measure(info: dict[str, Any], row: str, what: str, peak: float) -> tuple[float, str, str] | None:
    """(value, its text, the per-round range) of one target on one row, or None when not measured."""
    res = info["results"][row]
    train = res["train"]
    if what == "peak":
        cell = train.get("neurona")
        if cell is None or not cell.samples:
            return None
        flops = info["flops"][row] / (cell.median / train["_steps"]) / 1e9
        return flops / peak, f"{flops:.0f} GFLOP/s = {flops / peak:.0%} of {peak:.0f}", ""
    if what == "memory":
        parts, got = _memory(info, row, train)
        if got is None or parts is None:
            return None
        return got, f"{got:.2f}x of {sum(parts.values()):.2f} MiB", ""
    if what == "overhead":
        a, b = train.get("neurona"), train.get("numpy floor")
        if a is None or b is None or not a.samples or not b.samples:
            return None
        us = (a.median - b.median) / train["_steps"] * 1e6
        return us, f"{us:+.0f} µs per step", ""
    if what == "floor":
        r = _ratio(train, "numpy floor")
    elif what in ("predict", "latency"):
        r = _ratio(res.get(what, {}), "torch eager")
    else:
        r = _ratio(train, what)
    if r is None:
        return None
    return r[0], f"{r[0]:.2f}x", f"{r[1]:.2f}–{r[2]:.2f}x"


def _targets(info: dict[str, Any], peaks: dict[str, float]) -> list[str]:
    lines = ["| target | measured | per-round range | status | what limits it (phases, profile) |",
             "|---|---|---|---|---|"]
    several = len(set(info.get("threads_of", {}).values())) > 1
    for key, what, need, label in TARGETS:
        for row in info["results"]:
            if key != "*" and _base(row) != key:
                continue
            got = _measure(info, row, what, peaks[row])
            if got is None:
                continue
            value, text, span = got
            lower = what in ("memory", "overhead")
            ok = value <= need if lower else value >= need
            if ok:
                status = "**met**"
            elif what == "overhead":
                status = f"**missed** by {value - need:.0f} µs"
            elif lower:
                status = f"**missed** by {value / need:.2f}x"
            else:
                status = f"**missed**: {value / need:.0%} of the target (needs {need / value:.2f}x faster)"
            threads = info.get("threads_of", {}).get(row)
            name = label if key != "*" else f"{info['workloads'][row].title.split(',')[0]}: {label}"
            if several and threads is not None:
                name += f" — {threads} thread{'s' if threads > 1 else ''}"
            lines.append(f"| {name} | {text} | {span} | {status} | "
                         f"{'' if ok else _limits(info, row, what, peaks[row])} |")
    return lines


def render(info: dict[str, Any]) -> str:
    """The whole report as Markdown."""
    from .suite import PHASES, forward_flops, train_flops_per_step

    cfg = info["config"]
    results, wls = info["results"], info["workloads"]
    by_threads = info.get("peaks_by_threads") or {cfg.threads: info["peaks"]}
    threads_of = info.get("threads_of") or {}
    peaks = {row: max(by_threads.get(threads_of.get(row), info["peaks"])) for row in results}
    several = len(set(threads_of.values())) > 1
    titles = {row: wls[row].title + (f" — {threads_of[row]} thread{'s' if threads_of[row] > 1 else ''}"
                                     if several else "") for row in results}
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
        f"- Threads: {', then '.join(map(str, by_threads))} for every peer (each workload runs at each count in "
        f"this one run; threadpoolctl for BLAS/OpenMP, torch.set_num_threads; the jax child gets the same through "
        f"its environment). float32 matmul peak ({info.get('peak_n', 2048)}², measured before and after each pass): "
        + "; ".join(f"{t} thread{'s' if t > 1 else ''}: " + ", ".join(f"{p:.0f}" for p in v)
                    for t, v in by_threads.items()) + " GFLOP/s.",
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
            title = titles[key] + (f" ({info['sizes'][key]:,} samples)" if task == "train" else "")
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
            row.append(f"{g:.1f} ({g / peaks[key]:.0%})")
        out.append(f"| {titles[key]} | {flops / 1e9:.3f} | " + " | ".join(row) + " |")
    out += ["", "## Memory", "",
            "neurona's training peak: everything NumPy and Python allocate (tracemalloc) while a fresh model is built, "
            "compiled and fit for one epoch, the data set excluded (the ops' reusable buffer pools are emptied first, "
            "so what they hold counts). Its ratio is to the **algorithmic minimum**: "
            "weights + gradients + optimizer state slots + the activations the recorded graph keeps for backward "
            "(every op's outputs for one batch) + one batch, computed from the model itself (the target: ≤ 1.25x). "
            "Growth: how much each peer's resident set grows during one warm epoch (all local peers share one "
            "process, whose peak RSS is shown once).", "",
            "| workload | algorithmic minimum MiB (weights + gradients + optimizer state + activations + batch) | "
            "neurona training peak MiB (ratio) | peak's largest known parts MiB | process peak RSS MiB | "
            + " | ".join(f"{n} growth MiB" for n in names) + " |",
            "|---|---|---|---|---|" + "---|" * len(names)]
    for key, res in results.items():
        cells = res["train"]
        ours = cells.get("neurona")
        if ours is None or (ours.traced_mb is None and ours.growth_mb is None):
            continue  # memory is measured in the first thread pass only
        minimum, ratio = _memory(info, key, cells)
        low = "–" if minimum is None else (f"**{sum(minimum.values()):.2f}** = "
                                           + " + ".join(f"{v:.2f}" for v in minimum.values()))
        traced = ours.traced_mb
        parts = "; ".join(f"{k} {v:.2f}" for k, v in (ours.memory_parts or {}).items())
        rss = ours.peak_mb
        growth = [f"{cells[n].growth_mb:.1f}" if n in cells and cells[n].growth_mb is not None else "–"
                  for n in names]
        ratio_text = "" if ratio is None else f" ({ratio:.2f}x)"
        out.append(f"| {titles[key]} | {low} | {'–' if traced is None else f'{traced:.2f}{ratio_text}'} | "
                   f"{parts} | {'–' if rss is None else f'{rss:.0f}'} | " + " | ".join(growth) + " |")
    out += ["", "## Targets (issues 17 and 18)", "", *_targets(info, peaks), ""]
    if info.get("phases"):
        out += ["## Where a training step's time goes (µs per step, medians over every step of two epochs)", "",
                "neurona's phases are fit's own step functions driven batch by batch; 'fit loop + input checks' is a "
                "real fit epoch per step (the fastest of 5) minus the phases (per-call validation of x and y, the "
                "loop's Python). When fit replays its recorded step, 'forward' is forward and loss together "
                "(one replayed plan) and 'loss' is 0. The floor is the same step written by hand in NumPy.", ""]
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
        if "@" in key:
            continue  # the same workload at another thread count
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
