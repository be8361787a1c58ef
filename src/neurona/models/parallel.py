"""Two threads, two halves: fit's replayed training step run as two half-batch replicas at once.

NumPy runs one core's worth of data movement per call (copies, masks, elementwise work) and BLAS splits
only the products. Running the WHOLE step on each half of the batch, one half per thread with BLAS at one
thread in both, puts the second core to work on everything (docs/performance.md, "Two threads, two halves").

Each half is a replica: its own `TracedFunction` of the default step (`replay.traced_train_forward`), traced on
its half's shapes, so the two hold their own op objects (ops keep state from forward to backward, so one plan
cannot run on two threads). Half A runs on a worker thread, half B on the calling thread; each backward writes
its parameters' gradients into its own dict, seeded with n_half / n (the half's share of the batch mean: 0.5
for an even split, a power of two, so exactly half the half's gradient), and the two are added and handed to
the optimizer once. The loss total and the metrics are updated from both halves (the same counts as one
batch). The sums run in another order, so weights equal the one-thread path's to float32 rounding.

When: threadpoolctl importable and BLAS allowed two threads or more (`threadpoolctl.threadpool_limits(1)` or
`OPENBLAS_NUM_THREADS=1` keep everything on one thread, bit-identical to before), the step replayable, a loss
that is a mean over the batch, a batch of at least `MIN_BATCH`, and forward work per step (`forward_flops`
per sample x batch) of at least `MIN_FLOPS`, a fixed rule from the model (measured, never timed at run time).
No model of Dense layers alone (`BLAS_BOUND_LAYERS`): measured slower split. On Linux the first half runs in a
forked worker process (models/half_worker.py: no GIL between the halves, the same bits as on two threads), and
then recurrent models split too, from `PROCESS_MIN_FLOPS`; elsewhere (or with
`half_worker.in_processes(False)`) the halves run on two threads, without recurrent models (`SERIAL_LAYERS`:
measured slower). `two_halves(False)` turns it off, `two_halves(True)` forces it (tests, benchmarks).
"""

from __future__ import annotations

import contextlib
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from ..function import Plan, TracedFunction
from ..ops import conv_parts
from ..switches import overriding
from . import half_worker
from .replay import traced_train_forward

MIN_BATCH = 8  # samples per batch from which a step may split (each half keeps at least 4)
# forward float ops per step from which two halves paid off (docs/performance.md, load ~1): slide CNN at 120
# MFLOP 0.90x, 180 1.11x; transformer at 135 MFLOP 0.99x, 203 1.16x
MIN_FLOPS = 150e6
# recurrent models split only with the first half in a worker process (no GIL between the halves): their whole
# step leaves the second core idle, so the split pays from less work. Measured (docs/performance.md, "Two
# processes"), the LSTM bench model at batch 24 / 32 / 48 / 64: 44 / 59 / 89 / 118 MFLOP, 0.82x / 1.06x / 1.10x /
# 1.45x; conv and attention models cross where they did on threads (slide CNN at 120 MFLOP 0.95x, 180 1.29x)
PROCESS_MIN_FLOPS = 55e6
# ... and only while the weights sent to the worker and the gradients sent back each step (a few GB/s of copies)
# stay a few percent of the step's arithmetic (tens of GFLOP/s): at most 1 byte of weights per 200 forward flops
COPY_BYTES_PER_FLOP = 0.005
MEAN_REDUCTIONS = ("sum_over_batch_size", "mean")
# Recurrences loop over time steps in thousands of small NumPy calls that the GIL serialises: two halves of
# the LSTM(64) bench step ran 0.72x as fast as one (docs/performance.md); not split unless forced.
SERIAL_LAYERS = frozenset({"LSTM", "GRU", "SimpleRNN"})
# A model of these alone is matrix products and little else: BLAS's own threads already use both cores, and two
# halves of the wide MLP (784-512-512-10, batch 128) measured 0.59-0.73x as fast; left to BLAS unless forced.
BLAS_BOUND_LAYERS = frozenset({"InputLayer", "Dense", "Activation", "Flatten", "Reshape", "Permute", "ReLU",
                               "LeakyReLU", "ELU", "Softmax"})

_forced: list[bool | None] = [None]
_pool: list[ThreadPoolExecutor] = []
_lock = threading.Lock()


def two_halves(mode: bool | None) -> contextlib.AbstractContextManager[None]:
    """While it lasts: True splits every step that can be split, False none, None decides by the rule."""
    return overriding(_forced, mode)


def forward_flops(model: Any) -> float:
    """Float ops of one sample's forward, approximately: 2 x each layer's weight matrices' entries x the positions
    it is applied at (a conv's output pixels, a recurrence's or a sequence layer's time steps; attention's
    score products are left out). A fixed property of the model, so the rule below is deterministic."""
    total = 0.0
    for layer in model.layers:
        mats = sum(int(w.data.size) for w in layer.trainable_weights if w.data.ndim >= 2)
        if mats:
            total += 2.0 * mats * _positions(layer)
    return total


def _positions(layer: Any) -> int:
    inp, out = getattr(layer, "_build_shape", None), getattr(layer, "output_shape", None)
    if not isinstance(inp, tuple) or not all(d is None or isinstance(d, int) for d in inp):
        return 1  # several inputs, or unknown: count the weights once
    shape = out if isinstance(out, tuple) and len(out) == len(inp) else inp
    n = 1
    for d in shape[1:-1]:
        n *= d or 1
    return n


def _blas_threads() -> int:
    """The threads BLAS may use here (held at one by a fit whose convs run in parts: what it was before); 0
    without threadpoolctl, which must be importable to hold BLAS at one thread while the halves run."""
    libs = conv_parts._blas_controllers()
    if libs is None:
        return 0
    held = getattr(conv_parts._state, "held", None)
    return max(k for _, k in held) if held else max(c.num_threads for c in libs)


def mean_loss(model: Any) -> bool:
    """True when the compiled loss is a mean over the batch (only then are the halves' means weighted by size)."""
    specs = model._specs or []
    return len(specs) == 1 and getattr(specs[0].loss, "reduction", "sum_over_batch_size") in MEAN_REDUCTIONS


class Halves:
    """The two replicas of one model's recorded step, and the split/merge around them."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.replicas = (traced_train_forward(model), traced_train_forward(model))
        self.flops = forward_flops(model)
        names = {type(layer).__name__ for layer in model.layers}
        self.serial = bool(names & SERIAL_LAYERS)
        self.pays = not self.serial and not names <= BLAS_BOUND_LAYERS  # measured: see the sets above
        self.pays_in_process = not names <= BLAS_BOUND_LAYERS  # a worker process has no GIL to share
        self.off = False  # set when a replica's step cannot be replayed: the unsplit path from then on
        self.worker: half_worker.Worker | None = None
        self.weight_bytes = sum(int(w.data.nbytes) for w in model.trainable_weights)

    def wanted(self, n: int) -> bool:
        """Whether a batch of n samples runs as two halves now."""
        mode = _forced[0]
        if mode is None and not self.pays_in_process:  # the common answer first: one check per step (#17)
            return False
        if self.off or mode is False or n < 2 or getattr(conv_parts._state, "inside", False):
            return False
        if mode:
            return True
        procs = half_worker.available() and self.weight_bytes <= COPY_BYTES_PER_FLOP * self.flops * n
        pays = self.pays_in_process if procs else self.pays
        least = PROCESS_MIN_FLOPS if procs and self.serial else MIN_FLOPS
        return (pays and n >= MIN_BATCH and self.flops * n >= least and (os.cpu_count() or 1) >= 2
                and _blas_threads() >= 2)

    def step(self, x: Any, y: np.ndarray, sw: Any, weights: list[Any]) -> tuple[list[Any], list[tuple]]:
        """(gradients in `weights`' order, [(y, outputs, sample_weight, loss) per half]) of one batch."""
        n = len(y)
        cut = n // 2
        parts = [(_rows(x, 0, cut), y[:cut], _rows(sw, 0, cut), cut / n),
                 (_rows(x, cut, n), y[cut:], _rows(sw, cut, n), (n - cut) / n)]
        grads: list[dict[int, np.ndarray]] = [{}, {}]
        results: list[Any] = [None, None]

        def half(i: int) -> None:
            results[i] = _run_half(self.replicas[i], parts[i], grads[i], weights)

        sig = _signature(parts[0][:3])
        worker = self._process(parts, sig)
        ready = worker is not None or all(_replays(r, p[:3]) for r, p in zip(self.replicas, parts))
        if worker is not None:  # half A in the worker process, half B here
            with conv_parts.blas_at_one():
                self._in_process(worker, parts, sig, grads, results, weights)
        elif ready and not self.pays:  # a recurrent model's step the worker cannot take: the halves in turn
            half(0)
            half(1)
        elif ready:
            with conv_parts.blas_at_one():  # within fit's held_blas: held at one thread until fit ends
                future = _worker().submit(conv_parts._inside, lambda: half(0))
                try:
                    conv_parts._inside(lambda: half(1))
                finally:
                    future.result()
        else:  # a replica traces this signature (eager Python, Tensors): one after the other on this thread
            half(0)
            half(1)
            if any(r._plans.get(_signature(p[:3]), ()) is None for r, p in zip(self.replicas, parts)):
                self.off = True  # a replica runs eagerly for this signature: no gain in splitting
        merged = [_add(grads[0].get(id(w)), grads[1].get(id(w))) for w in weights]
        return merged, [(p[1], r[1], p[2], r[0]) for p, r in zip(parts, results)]

    def _process(self, parts: list[tuple], sig: Any) -> half_worker.Worker | None:
        """The worker process that runs half A of this batch, forked once both replicas replay; None: the halves
        stay here (no fork on this platform, a signature the worker was not forked with, larger arrays)."""
        if not half_worker.available() or not _replays(self.replicas[1], parts[1][:3]):
            return None
        worker = self.worker
        if worker is None or not worker.alive():
            if not isinstance(self.replicas[0]._plans.get(sig), Plan):
                return None  # replica A traces this signature (`sig`: half A's) here first
            weights = self.model._train_weights
            worker = self.worker = half_worker.worker_for(self.replicas[0], weights, parts[0], sig)
            # replica A lives on in the child: a fresh one here (it traces again only if it must run here: a
            # signature the child was not forked with, outputs too large to send back), the old one let go of
            old, self.replicas = self.replicas[0], (traced_train_forward(self.model), self.replicas[1])
            half_worker.release(old, self.replicas[1])
        return worker if worker.runs(sig, parts[0]) else None

    def _in_process(self, worker: half_worker.Worker, parts: list[tuple], sig: Any, grads: list[dict],
                    results: list, weights: list[Any]) -> None:
        """Half A (of signature `sig`) in the worker while half B runs on this thread; their results into `grads`
        and `results`."""
        worker.start(parts[0], sig)
        try:
            results[1] = conv_parts._inside(lambda: _run_half(self.replicas[1], parts[1], grads[1], weights))
        except BaseException:
            try:
                worker.finish()  # keep the pipe in step: the child's answer is read and dropped
            except RuntimeError:
                pass
            raise
        done = worker.finish()
        if done is None:  # its outputs did not fit the worker's memory: half A here, this once
            results[0] = conv_parts._inside(lambda: _run_half(self.replicas[0], parts[0], grads[0], weights))
            return
        loss, outs, grads[0] = done  # views into the shared memory: `_add` copies any it passes on alone
        results[0] = (loss, outs)


def _worker() -> ThreadPoolExecutor:
    if not _pool:
        with _lock:
            if not _pool:
                _pool.append(ThreadPoolExecutor(1, thread_name_prefix="neurona-half"))
    return _pool[0]


def _rows(a: Any, i0: int, i1: int) -> Any:
    if a is None:
        return None
    if isinstance(a, (list, tuple)):
        return type(a)(v[i0:i1] for v in a)
    return a[i0:i1]


def _signature(args: tuple) -> Any:
    return (TracedFunction._split_fast(args) or TracedFunction._split(args))[1]


def _replays(replica: TracedFunction, args: tuple) -> bool:
    """True when the replica has a confirmed plan for these arrays (its call replays: no tracing, no Tensors)."""
    return isinstance(replica._plans.get(_signature(args)), Plan)


def _run_half(replica: TracedFunction, part: tuple, into: dict[int, np.ndarray], weights: list[Any]) -> tuple:
    """(loss, outputs) of one half; its parameters' gradients, times its share of the batch, into `into`."""
    x, y, sw, share = part
    loss, *outs = replica.arrays(x, y, sw)
    if replica._last_eager is None:
        replica._last.backward(into, share)
    else:  # traced (or eager) call: the engine's backward into .grad, moved into `into`
        root = replica._last_eager[0]
        root.backward(np.full_like(root.data, share))
        for w in weights:
            if w.grad is not None:
                into[id(w)] = w.grad
                w.grad = None
    return loss, outs


def _add(a: np.ndarray | None, b: np.ndarray | None) -> np.ndarray | None:
    if a is None or b is None:
        g = a if b is None else b
        # a gradient read from the worker's shared memory is a view the next step overwrites: keep a copy
        return g.copy() if g is not None and not g.flags.owndata else g
    return a + b


__all__ = ["MIN_BATCH", "MIN_FLOPS", "PROCESS_MIN_FLOPS", "Halves", "forward_flops", "mean_loss", "two_halves"]
