"""Each framework's idiomatic version of one benchmark task, built from the same workload description.

A factory `make(wl, data, task)` returns a function of no arguments that does one unit of work:
  train    one epoch over the data: `model.fit(..., epochs=1, verbose=0)` where the framework has fit,
           the usual shuffled mini-batch loop where it does not (PyTorch);
  predict  the class probabilities of all samples, batch 1,000;
  latency  the probabilities of one sample (the framework's one-batch call).
A factory raises `Unavailable` (with the reason) when its framework is missing or cannot run the workload.

Keras is imported once per process with one backend, so Keras on jax runs in a child process
(`RemotePeer`, the server is `python -m bench.peers`), which times its own calls and answers over a pipe.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from ._timing import peak_memory
from .sequence_peers import (  # noqa: F401  (the sequence workloads' kinds and helpers, in their own module)
    SEQUENCE_KINDS,
    _keras_sequence_layer,
    _neurona_sequence_layer,
    _torch_sequence_module,
    lstm_floor,
    sequence_flops,
    sequence_params,
    sequence_shape_after,
)

Work = Callable[[], object]


class Unavailable(Exception):  # noqa: N818 - reads as "peer unavailable"
    """The peer cannot run here (not installed, not supported); the message says why."""


def shape_after(layer: tuple, shape: tuple[int, ...]) -> tuple[int, ...]:
    kind = layer[0]
    if kind == "dense":
        return shape[:-1] + (layer[1],)
    if kind == "conv":
        k = layer[2]
        return (shape[0] - k + 1, shape[1] - k + 1, layer[1])
    if kind == "pool":
        return (shape[0] // layer[1], shape[1] // layer[1], shape[2])
    if kind == "flatten":
        return (int(np.prod(shape)),)
    if kind in SEQUENCE_KINDS:
        return sequence_shape_after(layer, shape)
    raise ValueError(f"unknown layer kind {kind!r}")


def shapes(wl: Any) -> list[tuple[int, ...]]:
    """Per-sample shapes: the input, then each layer's output."""
    out = [tuple(wl.input_shape)]
    for layer in wl.layers:
        out.append(shape_after(layer, out[-1]))
    return out


# ----------------------------------------------------------------------------- neurona
def neurona(wl: Any, data: dict[str, np.ndarray], task: str) -> Work:
    """neurona's Keras workflow: Sequential, compile (with accuracy, as in the slides), fit / predict."""
    from neurona import layers, models, optimizers, utils

    utils.set_random_seed(0)
    stack: list[Any] = [layers.Input(wl.input_shape)]
    for layer in wl.layers:
        kind = layer[0]
        if kind == "dense":
            stack.append(layers.Dense(layer[1], activation=layer[2]))
        elif kind == "conv":
            stack.append(layers.Conv2D(layer[1], (layer[2], layer[2]), activation=layer[3]))
        elif kind == "pool":
            stack.append(layers.MaxPooling2D((layer[1], layer[1])))
        elif kind in SEQUENCE_KINDS:
            stack.append(_neurona_sequence_layer(layers, layer))
        else:
            stack.append(layers.Flatten())
    model = models.Sequential(stack)
    model.compile(optimizer=optimizers.SGD(learning_rate=wl.lr, momentum=wl.momentum),
                  loss="categorical_crossentropy", metrics=["accuracy"])
    x, y = data["x"], data["onehot"]
    if task == "train":
        work = lambda: model.fit(x, y, batch_size=wl.batch, epochs=1, verbose=0)  # noqa: E731
    elif task == "predict":
        work = lambda: model.predict(x, batch_size=1000, verbose=0)  # noqa: E731
    else:
        x1 = x[:1]
        work = lambda: model.predict_on_batch(x1)  # noqa: E731
    work.model = model  # type: ignore[attr-defined]  # for the suite's profile and memory breakdown
    work.data = (x, y)  # type: ignore[attr-defined]  # what fit trains on (the suite's algorithmic minimum)
    return work


def neurona_weights_bytes(wl: Any) -> int:
    """Bytes of the workload's float32 weights (kernels and biases), for the memory target."""
    total, shape = 0, tuple(wl.input_shape)
    for layer in wl.layers:
        if layer[0] == "dense":
            total += (shape[-1] + 1) * layer[1]
        elif layer[0] == "conv":
            total += (layer[2] * layer[2] * shape[-1] + 1) * layer[1]
        elif layer[0] in SEQUENCE_KINDS:
            total += sequence_params(layer, shape)
        shape = shape_after(layer, shape)
    return 4 * total


# ----------------------------------------------------------------------------- hand-written NumPy
def numpy_floor(wl: Any, data: dict[str, np.ndarray], task: str, phases: dict[str, list[float]] | None = None) -> Work:
    """The MLP step written by hand in NumPy (docs/performance.md's floor): what framework code should approach.

    Fused softmax-CE backward (p - y), bias gradients as ones-vector matmuls, sigmoid through tanh, batches
    gathered from a per-epoch permutation, SGD with optional momentum. The CNN and LSTM rows have floors of
    their own (bench/cnn_floor.py, bench/lstm.py), and so has the transformer row (bench/transformer_floor.py).
    With `phases`, each training step appends the seconds of its gather / forward / loss / backward / optimizer
    parts.
    """
    if wl.layers[0][0] == "lstm" and [layer[0] for layer in wl.layers] == ["lstm", "dense"]:
        return lstm_floor(wl, data, task)
    from . import transformer_floor

    if transformer_floor.is_floor_workload(wl):  # encoder blocks -> mean over steps -> dense
        return transformer_floor.floor_work(wl, data, task, phases)
    if any(layer[0] != "dense" for layer in wl.layers):
        return cnn_floor(wl, data, task, phases)
    rng = np.random.default_rng(0)
    dims = [wl.input_shape[0]] + [layer[1] for layer in wl.layers]
    acts = [layer[2] for layer in wl.layers]
    params = []
    for a, b in zip(dims[:-1], dims[1:]):
        limit = np.sqrt(6 / (a + b))
        kernel = rng.uniform(-limit, limit, (a, b)).astype(np.float32)
        # narrow kernels column by column ((out, in) rows, PyTorch's layout), as neurona stores them (#17): the
        # fast weight-gradient product (g.T @ h).T then has the kernel's layout, and so does the SGD update
        params += [np.asfortranarray(kernel) if b <= 16 else kernel, np.zeros(b, np.float32)]
    slots = [np.zeros_like(p) for p in params]
    x, y = data["x"], data["onehot"]
    lr, mom, bs = np.float32(wl.lr), np.float32(wl.momentum), wl.batch
    clock = time.perf_counter

    def forward(h: np.ndarray, logits: bool = False) -> list[np.ndarray]:
        hs = [h]
        for i, act in enumerate(acts):
            z = hs[-1] @ params[2 * i]
            z += params[2 * i + 1]
            if act == "sigmoid":
                np.multiply(z, 0.5, out=z)
                np.tanh(z, out=z)
                z *= 0.5
                z += 0.5
            elif act == "relu":
                np.maximum(z, 0, out=z)
            elif act == "softmax" and not logits:
                softmax(z)
            hs.append(z)
        return hs

    def softmax(z: np.ndarray) -> np.ndarray:
        z -= z.max(axis=1, keepdims=True)
        np.exp(z, out=z)
        z /= z.sum(axis=1, keepdims=True)
        return z

    def step(xb: np.ndarray, yb: np.ndarray, t0: float) -> None:
        t1 = clock()
        hs = forward(xb, logits=True)
        t2 = clock()
        g = (softmax(hs[-1]) - yb) * np.float32(1 / len(xb))  # softmax + cross-entropy: gradient p - y
        t3 = clock()
        ones = np.ones(len(xb), np.float32)
        grads = [np.empty(0)] * len(params)
        for i in range(len(acts) - 1, -1, -1):
            kernel = params[2 * i]
            grads[2 * i] = hs[i].T @ g if kernel.flags.c_contiguous else (g.T @ hs[i]).T
            grads[2 * i + 1] = ones @ g
            if i:
                g = g @ params[2 * i].T
                h = hs[i]
                g *= h * (1 - h) if acts[i - 1] == "sigmoid" else (h > 0)
        t4 = clock()
        for j, grad in enumerate(grads):
            if mom:
                slots[j] *= mom
                slots[j] -= lr * grad
                params[j] += slots[j]
            else:
                params[j] -= lr * grad
        if phases is not None:
            for name, a, b in (("gather", t0, t1), ("forward", t1, t2), ("loss", t2, t3), ("backward", t3, t4),
                               ("optimizer", t4, clock())):
                phases.setdefault(name, []).append(b - a)

    if task == "train":
        xbuf, ybuf = np.empty((bs, *x.shape[1:]), x.dtype), np.empty((bs, *y.shape[1:]), y.dtype)

        def epoch() -> None:
            perm = rng.permutation(len(x))
            for i in range(0, len(x), bs):
                t0 = clock()
                idx = perm[i:i + bs]
                k = len(idx)
                # into reused buffers; mode="clip" (idx is always in range) skips the bounds-checked path, which
                # gathers into a temporary and copies it (2.6x slower): the gather neurona's fit does too
                step(np.take(x, idx, axis=0, out=xbuf[:k], mode="clip"),
                     np.take(y, idx, axis=0, out=ybuf[:k], mode="clip"), t0)
        return epoch
    if task == "predict":
        return lambda: np.concatenate([forward(x[i:i + 1000])[-1] for i in range(0, len(x), 1000)])
    x1 = x[:1]
    return lambda: forward(x1)[-1]


def cnn_floor(wl: Any, data: dict[str, np.ndarray], task: str, phases: dict[str, list[float]] | None = None) -> Work:
    """The slide CNN's step written by hand in NumPy (bench/cnn_floor.py); other conv nets have no floor.

    With BLAS allowed more than one thread, each thread runs a part of the batch end to end, as neurona's
    conv layers do; so the floor and neurona use the same cores."""
    from .cnn_floor import SLIDE_CNN_LAYERS, floor_work

    if tuple(wl.layers) != SLIDE_CNN_LAYERS or tuple(wl.input_shape) != (28, 28, 1):
        raise Unavailable("hand-written floor only for MLPs, the slide CNN, LSTM -> Dense and the small transformer")
    return floor_work(wl, data, task, phases, workers=blas_threads())


def blas_threads() -> int:
    """Threads NumPy's BLAS may use now (threadpoolctl; 1 without it), at most 2 as neurona's conv parts."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return 1
    counts = [d.get("num_threads", 1) for d in threadpool_info() if d.get("user_api") == "blas"]
    return max(1, min(max(counts, default=1), os.cpu_count() or 1, 2))


# ----------------------------------------------------------------------------- PyTorch
def _torch_net(wl: Any) -> Any:
    import torch

    acts = {"relu": torch.nn.ReLU, "sigmoid": torch.nn.Sigmoid, "tanh": torch.nn.Tanh}
    mods, shape = [], tuple(wl.input_shape)
    for i, layer in enumerate(wl.layers):
        kind = layer[0]
        if kind == "dense":
            mods.append(torch.nn.Linear(shape[-1], layer[1]))
        elif kind == "conv":
            mods.append(torch.nn.Conv2d(shape[-1], layer[1], layer[2]))
        elif kind == "pool":
            mods.append(torch.nn.MaxPool2d(layer[1]))
        elif kind in SEQUENCE_KINDS:
            mods.append(_torch_sequence_module(torch, layer, shape))
        else:
            mods.append(torch.nn.Flatten())
        act = layer[-1] if kind in ("dense", "conv") else None
        last = i == len(wl.layers) - 1
        if act in acts and not last:
            mods.append(acts[act]())  # the last softmax lives in cross_entropy / the predict call
        shape = shape_after(layer, shape)
    return torch.nn.Sequential(*mods)


def _torch_task(wl: Any, data: dict[str, np.ndarray], task: str, compiled: bool) -> Work:
    try:
        import torch
    except ImportError:
        raise Unavailable("not installed (pip install torch)") from None
    torch.manual_seed(0)
    net = _torch_net(wl)
    x = data["x"]
    if x.ndim == 4:
        x = np.ascontiguousarray(x.transpose(0, 3, 1, 2))  # PyTorch's layout: NCHW
    xt, yt = torch.from_numpy(x), torch.from_numpy(data["labels"])
    if compiled:
        # every nn.Sequential shares one forward code object, so dynamo's per-code recompile budget would be spent
        # by the previous workloads and it would silently fall back to eager: start each model afresh
        torch._dynamo.reset()
        torch._dynamo.config.recompile_limit = max(torch._dynamo.config.recompile_limit, 64)
    model = torch.compile(net, dynamic=False) if compiled else net
    if task == "train":
        opt = torch.optim.SGD(net.parameters(), lr=wl.lr, momentum=wl.momentum)
        bs, n = wl.batch, len(xt)

        def epoch() -> float:
            total = 0.0
            for idx in torch.randperm(n).split(bs):
                opt.zero_grad(set_to_none=True)
                loss = torch.nn.functional.cross_entropy(model(xt[idx]), yt[idx])
                loss.backward()
                opt.step()
                total += loss.item()  # the running loss every tutorial loop keeps (neurona's fit does too)
            return total
        return epoch
    net.eval()
    softmax = torch.nn.functional.softmax
    if task == "predict":
        def predict() -> np.ndarray:
            with torch.inference_mode():
                return torch.cat([softmax(model(b), dim=1) for b in xt.split(1000)]).numpy()
        return predict
    x1 = xt[:1]

    def one() -> np.ndarray:
        with torch.inference_mode():
            return softmax(model(x1), dim=1).numpy()
    return one


def torch_eager(wl: Any, data: dict[str, np.ndarray], task: str) -> Work:
    """PyTorch, eager CPU: nn.Sequential, SGD, cross_entropy on the logits, a shuffled index loop."""
    return _torch_task(wl, data, task, compiled=False)


def torch_compiled(wl: Any, data: dict[str, np.ndarray], task: str) -> Work:
    """The same with the network wrapped in torch.compile (static shapes); the first call compiles."""
    return _torch_task(wl, data, task, compiled=True)


# ----------------------------------------------------------------------------- Keras 3
def keras_task(keras: Any, wl: Any, data: dict[str, np.ndarray], task: str) -> Work:
    """Keras 3's own workflow, layer for layer the same as neurona's."""
    keras.utils.set_random_seed(0)
    stack: list[Any] = [keras.Input(wl.input_shape)]
    for layer in wl.layers:
        kind = layer[0]
        if kind == "dense":
            stack.append(keras.layers.Dense(layer[1], activation=layer[2]))
        elif kind == "conv":
            stack.append(keras.layers.Conv2D(layer[1], (layer[2], layer[2]), activation=layer[3]))
        elif kind == "pool":
            stack.append(keras.layers.MaxPooling2D((layer[1], layer[1])))
        elif kind in SEQUENCE_KINDS:
            stack.append(_keras_sequence_layer(keras, layer))
        else:
            stack.append(keras.layers.Flatten())
    model = keras.Sequential(stack)
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=wl.lr, momentum=wl.momentum),
                  loss="categorical_crossentropy", metrics=["accuracy"])
    x, y = data["x"], data["onehot"]
    if task == "train":
        return lambda: model.fit(x, y, batch_size=wl.batch, epochs=1, verbose=0)
    if task == "predict":
        return lambda: model.predict(x, batch_size=1000, verbose=0)
    x1 = x[:1]
    return lambda: model.predict_on_batch(x1)


def keras_torch(wl: Any, data: dict[str, np.ndarray], task: str) -> Work:
    """Keras 3 on its torch backend, in this process."""
    if importlib.util.find_spec("keras") is None or importlib.util.find_spec("torch") is None:
        raise Unavailable("not installed (pip install keras torch)")
    if "keras" not in sys.modules:
        os.environ["KERAS_BACKEND"] = "torch"
    import keras

    if keras.backend.backend() != "torch":
        raise Unavailable(f"keras was already imported here with the {keras.backend.backend()} backend")
    return keras_task(keras, wl, data, task)


# ----------------------------------------------------------------------------- scikit-learn
def sklearn_mlp(wl: Any, data: dict[str, np.ndarray], task: str) -> Work:
    """scikit-learn's MLPClassifier (MLPRegressor for an MSE workload), one epoch per fit via warm_start."""
    if any(layer[0] != "dense" for layer in wl.layers):
        raise Unavailable("scikit-learn's MLP has dense layers only")
    hidden = [layer for layer in wl.layers[:-1]]
    acts = {layer[2] for layer in hidden}
    if len(acts) != 1:
        raise Unavailable("scikit-learn's MLP has one activation for all hidden layers")
    try:
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.neural_network import MLPClassifier, MLPRegressor
    except ImportError:
        raise Unavailable("not installed (pip install scikit-learn)") from None
    cls = MLPRegressor if getattr(wl, "loss", "categorical_crossentropy") == "mse" else MLPClassifier
    est = cls(hidden_layer_sizes=tuple(layer[1] for layer in hidden),
              activation={"sigmoid": "logistic"}.get(acts.pop(), "relu"), solver="sgd", alpha=0.0,
              batch_size=wl.batch, learning_rate_init=wl.lr, momentum=wl.momentum, nesterovs_momentum=False,
              max_iter=1, warm_start=True, shuffle=True, tol=0.0, n_iter_no_change=10**9, random_state=0)
    x, labels = data["x"], data["labels"]

    def epoch() -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)  # one epoch per fit, on purpose
            warnings.filterwarnings("ignore", message="Got `batch_size`")  # fewer samples than a batch
            est.fit(x, labels)

    if task == "train":
        return epoch
    epoch()
    if task == "predict":
        return lambda: est.predict_proba(x)
    x1 = x[:1]
    return lambda: est.predict_proba(x1)


# ----------------------------------------------------------------------------- Keras on jax, out of process
class RemotePeer:
    """A peer served by a child process with its own environment (Keras with KERAS_BACKEND=jax)."""

    def __init__(self, env: dict[str, str], threads: int) -> None:
        full = dict(os.environ, **env)
        full.update({"OMP_NUM_THREADS": str(threads), "OPENBLAS_NUM_THREADS": str(threads)})
        if threads == 1:
            full["XLA_FLAGS"] = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
        self.log = tempfile.TemporaryFile(mode="w+")
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        self.proc = subprocess.Popen([sys.executable, "-m", "bench.peers"], cwd=root, env=full, text=True,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log)

    def ask(self, **msg: Any) -> dict[str, Any]:
        if self.proc.poll() is not None:
            raise Unavailable(f"the child process exited: {self._tail()}")
        self.proc.stdin.write(json.dumps(msg) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise Unavailable(f"the child process died: {self._tail()}")
        reply = json.loads(line)
        if "error" in reply:
            raise Unavailable(reply["error"])
        return reply

    def _tail(self) -> str:
        self.log.seek(0)
        lines = [ln for ln in self.log.read().splitlines() if ln.strip()]
        return " | ".join(lines[-3:])[-400:]

    def setup(self, workload: str, samples: int, task: str) -> int:
        return int(self.ask(cmd="setup", workload=workload, samples=samples, task=task)["id"])

    def runner(self, ident: int) -> Callable[[int], float]:
        return lambda n: float(self.ask(cmd="run", id=ident, n=n)["seconds"])

    def memory(self, ident: int) -> tuple[float | None, float | None]:
        reply = self.ask(cmd="memory", id=ident)
        return reply["peak"], reply["growth"]

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self.ask(cmd="quit")
            except Unavailable:
                pass
            self.proc.wait(timeout=30)
        self.log.close()


def remote_keras_jax(threads: int) -> RemotePeer:
    """Start the Keras-on-jax child, or raise Unavailable saying why not."""
    for module in ("keras", "jax"):
        if importlib.util.find_spec(module) is None:
            raise Unavailable(f"not installed (pip install {module})")
    peer = RemotePeer({"KERAS_BACKEND": "jax"}, threads)
    try:
        backend = peer.ask(cmd="hello")["backend"]
    except Unavailable:
        peer.close()
        raise
    if backend != "jax":
        peer.close()
        raise Unavailable(f"the child came up with the {backend} backend")
    return peer


def serve() -> None:
    """The child's loop: JSON requests on stdin, JSON replies on the real stdout (prints go to stderr)."""
    out = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # anything the libraries print must not corrupt the replies
    import keras

    from . import suite

    works: list[Work] = []
    for line in sys.stdin:
        msg = json.loads(line)
        try:
            if msg["cmd"] == "hello":
                reply: dict[str, Any] = {"backend": keras.backend.backend()}
            elif msg["cmd"] == "setup":
                wl = suite.WORKLOADS[msg["workload"]]
                data = suite.make_data(wl, msg["samples"] if msg["task"] == "train" else suite.PREDICT_SAMPLES)
                works.append(keras_task(keras, wl, data, msg["task"]))
                reply = {"id": len(works) - 1}
            elif msg["cmd"] == "run":
                fn, n = works[msg["id"]], msg["n"]
                t0 = time.perf_counter()
                for _ in range(n):
                    fn()
                reply = {"seconds": time.perf_counter() - t0}
            elif msg["cmd"] == "memory":
                peak, growth = peak_memory(works[msg["id"]])
                reply = {"peak": peak, "growth": growth}
            else:
                out.write(json.dumps({"bye": True}) + "\n")
                out.flush()
                return
        except Exception as e:  # reported to the parent, which marks the peer unavailable
            reply = {"error": f"{type(e).__name__}: {e}"[:300]}
        out.write(json.dumps(reply) + "\n")
        out.flush()


# name shown in the tables -> factory, in the order of the columns
LOCAL_PEERS: dict[str, Callable[[Any, dict[str, np.ndarray], str], Work]] = {
    "neurona": neurona,
    "numpy floor": numpy_floor,
    "torch eager": torch_eager,
    "torch.compile": torch_compiled,
    "keras-torch": keras_torch,
    "sklearn MLP": sklearn_mlp,
}

if __name__ == "__main__":
    serve()
