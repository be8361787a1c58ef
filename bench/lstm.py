"""LSTM(64) over 50 steps x 8 features -> Dense(1), MSE, batch 64: one training step, neurona vs PyTorch eager
and the hand-written NumPy floor (`LSTMFloor`, also the suite's "numpy floor" on its LSTM row).

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


_BLAS: list = []


def _one_blas_thread():
    """BLAS on one thread (threadpoolctl's controller looked up once: a fresh lookup costs milliseconds)."""
    import contextlib

    if not _BLAS:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:
            _BLAS.append(None)
        else:
            _BLAS.append(ThreadpoolController().select(user_api="blas"))
    sel = _BLAS[0]
    if sel is None or all(lib.num_threads <= 1 for lib in sel.lib_controllers):
        return contextlib.nullcontext()
    return sel.limit(limits=1)


def _halves(m: int, k: int, n: int) -> bool:
    """Whether an (m, k) x (k, n) product is faster as two halves: OpenBLAS's SkylakeX kernels skip packing
    for m*n*k <= 1e6 (about 1.3x faster per flop there), so a product just above that size is split."""
    return 1_000_000 < m * k * n <= 2_000_000


class LSTMFloor:
    """LSTM(units) -> Dense(outputs) trained by plain SGD, written by hand in NumPy with no framework.

    The layout a hand-written step would choose (PERFORMANCE.md's LSTM lever), the same as neurona's
    `ops.lstm_rows` but without its Keras weight layout, checks or SciPy: the parameters are stored as
    `wall` (4 units, units + features + 1) = [U^T | W^T | b] with the gate rows in the order o, i, f, g; per
    step one matmul of `wall` (sigmoid rows halved: sigmoid(z) = 0.5 tanh(z / 2) + 0.5) with [h; x_t; 1]
    gives every gate, one tanh activates them all, and the state update is five more calls; products a little
    over OpenBLAS's small-matrix size run as two halves. Backward runs in chunks of 2 steps (derivative
    factors per chunk computed in place in one buffer that then takes the step's gradients, 4 elementwise
    calls and 2 matmuls per step, the weight gradient accumulated per step). The head is a Dense layer on
    the last h: softmax + cross-entropy (gradient p - y) or linear + MSE.
    """

    def __init__(self, features: int, units: int, outputs: int, lr: float, loss: str = "softmax", seed: int = 0,
                 dtype: type = np.float32) -> None:
        rng = np.random.default_rng(seed)
        d, h = features, units
        self.d, self.h, self.lr, self.loss, self.dtype = d, h, dtype(lr), loss, dtype
        lim = np.sqrt(6 / (d + 4 * h))
        self.wall = np.zeros((4 * h, h + d + 1), dtype)
        self.wall[:, :h] = np.linalg.qr(rng.standard_normal((4 * h, h)))[0]
        self.wall[:, h:h + d] = rng.uniform(-lim, lim, (4 * h, d))
        self.wall[2 * h:3 * h, -1] = 1.0  # forget-gate bias 1 (Keras's unit_forget_bias)
        lim = np.sqrt(6 / (h + outputs))
        self.v = rng.uniform(-lim, lim, (outputs, h)).astype(dtype)  # head kernel, transposed
        self.c = np.zeros((outputs, 1), dtype)
        self.scale = np.full((4 * h, 1), 0.5, dtype)
        self.scale[3 * h:] = 1.0

    def set_keras_weights(self, kernel: np.ndarray, recurrent: np.ndarray, bias: np.ndarray, head: np.ndarray,
                          head_bias: np.ndarray) -> None:
        """Load weights in Keras's layout (gates i, f, c, o), e.g. to compare gradients with another framework."""
        h, d = self.h, self.d
        perm = np.r_[3 * h:4 * h, 0:3 * h]
        self.wall[:, :h], self.wall[:, h:h + d], self.wall[:, -1] = recurrent[:, perm].T, kernel[:, perm].T, bias[perm]
        self.v, self.c = np.array(head.T, self.dtype), np.array(head_bias.reshape(-1, 1), self.dtype)

    def keras_gradients(self, grads: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """The gradients of `gradients` in Keras's layout: kernel, recurrent_kernel, bias, head, head_bias."""
        h, d = self.h, self.d
        inv = np.argsort(np.r_[3 * h:4 * h, 0:3 * h])
        dw = grads["wall"][inv]
        return {"kernel": dw[:, h:h + d].T, "recurrent_kernel": dw[:, :h].T, "bias": dw[:, -1],
                "head": grads["v"].T, "head_bias": grads["c"][:, 0]}

    def forward(self, x: np.ndarray) -> np.ndarray:
        """x (B, T, D) -> the head's output (outputs, B), keeping what backward needs."""
        bsz, t, d = x.shape
        h, k = self.h, self.h + d + 1
        hx = self.hx = np.empty((t + 1, k, bsz), self.dtype)
        hx[:t, h:h + d] = x.transpose(1, 2, 0)
        hx[:t, -1] = 1
        hx[0, :h] = 0
        z = self.z = np.empty((t + 1, 6 * h, bsz), self.dtype)  # per step [o, i, f, g, c_prev, tanh(c)]
        z[0, 4 * h:5 * h] = 0
        w = self.wall * self.scale
        p = np.empty((2 * h, bsz), self.dtype)
        split = _halves(4 * h, k, bsz)
        for s in range(t):
            zs = z[s]
            if split:  # two halves under OpenBLAS's small-matrix size (see neurona.ops.lstm_rows.SMALL_GEMM)
                np.matmul(w[:2 * h], hx[s], out=zs[:2 * h])
                np.matmul(w[2 * h:], hx[s], out=zs[2 * h:4 * h])
            else:
                np.matmul(w, hx[s], out=zs[:4 * h])
            np.tanh(zs[:4 * h], out=zs[:4 * h])
            sig = zs[:3 * h]
            sig *= 0.5
            sig += 0.5
            np.multiply(zs[h:3 * h], zs[3 * h:5 * h], out=p)
            np.add(p[:h], p[h:], out=z[s + 1, 4 * h:5 * h])
            np.tanh(z[s + 1, 4 * h:5 * h], out=zs[5 * h:])
            np.multiply(zs[:h], zs[5 * h:], out=hx[s + 1, :h])
        out = self.v @ hx[t, :h]
        out += self.c
        return out

    def gradients(self, x: np.ndarray, y: np.ndarray) -> dict[str, np.ndarray]:
        """Gradients of the mean loss over the batch for x (B, T, D), y (B, outputs) (one-hot or targets)."""
        out = self.forward(x)
        bsz = x.shape[0]
        if self.loss == "softmax":
            out -= out.max(axis=0)
            np.exp(out, out=out)
            out /= out.sum(axis=0)
            g = (out - y.T) * self.dtype(1 / bsz)
        else:
            g = (out - y.T) * self.dtype(2 / (bsz * y.shape[1]))
        z, hx, h = self.z, self.hx, self.h
        t = z.shape[0] - 1
        grads = {"v": g @ hx[t, :h].T, "c": g.sum(axis=1, keepdims=True)}
        dh = self.v.T @ g
        dc = np.zeros_like(dh)
        up = np.ascontiguousarray(self.wall[:, :h].T)
        dwall = np.zeros_like(self.wall)
        tmp = np.empty_like(dwall)
        n = 2
        q = np.empty((n, 5, h, bsz), self.dtype)  # factors [e, q_o, q_i, q_f, q_g], then [dh e, dz] over them
        z4 = z.reshape(t + 1, 6, h, bsz)
        hb = bsz // 2 if _halves(h, 4 * h, bsz) else bsz
        for end in range(t, 0, -n):
            a = max(end - n, 0)
            m = end - a
            zc, qc = z4[a:end], q[:m]
            np.subtract(1, zc[:, :3], out=qc[:, 1:4])
            qc[:, 1:4] *= zc[:, :3]
            qc[:, 2:4] *= zc[:, 3:5]
            np.multiply(qc[:, 1], zc[:, 5], out=qc[:, 1])
            np.multiply(zc[:, 5:2:-2], zc[:, 5:2:-2], out=qc[:, ::4])
            np.subtract(1, qc[:, ::4], out=qc[:, ::4])
            qc[:, ::4] *= zc[:, :2]
            for s in range(end - 1, a - 1, -1):
                j = s - a
                np.multiply(qc[j, :2], dh, out=qc[j, :2])
                dc += qc[j, 0]
                np.multiply(qc[j, 2:], dc, out=qc[j, 2:])
                dc *= zc[j, 2]
                dz = qc[j, 1:].reshape(4 * h, bsz)
                if hb < bsz:
                    np.matmul(up, dz[:, :hb], out=dh[:, :hb])
                    np.matmul(up, dz[:, hb:], out=dh[:, hb:])
                else:
                    np.matmul(up, dz, out=dh)
                np.matmul(dz, hx[s].T, out=tmp)
                dwall += tmp
        grads["wall"] = dwall
        return grads

    def step(self, x: np.ndarray, y: np.ndarray) -> None:
        """One SGD step on the batch (BLAS on one thread: the products are small, as neurona's LSTM op does)."""
        with _one_blas_thread():
            grads = self.gradients(x, y)
        for name, g in grads.items():
            param = getattr(self, name)
            param -= self.lr * g

    def predict(self, x: np.ndarray) -> np.ndarray:
        """The head's output (B, outputs): softmax probabilities or the linear outputs."""
        with _one_blas_thread():
            out = self.forward(x)
        if self.loss == "softmax":
            out -= out.max(axis=0)
            np.exp(out, out=out)
            out /= out.sum(axis=0)
        return out.T


def floor_step():
    x, y = data()
    net = LSTMFloor(FEATURES, UNITS, 1, lr=0.01, loss="mse")
    return lambda: net.step(x, y)


def torch_kernels(step, top: int = 4) -> list[tuple[str, float]]:
    """The ops PyTorch eager spends a training step in, (name, ms per step), heaviest first (torch.profiler).

    On the CPU `nn.LSTM` is not a loop of per-step ATen ops: it runs oneDNN's fused RNN primitive
    (`aten::mkldnn_rnn_layer` forward, `mkldnn_rnn_layer_backward`), whose weight gradient is one big GEMM over
    every step from gate gradients it keeps for the whole sequence (docs/performance.md, "LSTM, round five")."""
    from torch.profiler import ProfilerActivity, profile

    step()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(5):
            step()
    rows = sorted(prof.key_averages(), key=lambda e: e.self_cpu_time_total, reverse=True)[:top]
    return [(e.key, e.self_cpu_time_total / 5e3) for e in rows]


def main() -> None:
    print(blas_info())
    fns = {"neurona": neurona_step(), "numpy floor": floor_step()}
    try:
        fns["torch eager"] = torch_step()
    except ImportError:
        print("(PyTorch not installed: pip install torch to compare)")
    print(report(f"LSTM({UNITS}) {STEPS}x{FEATURES} -> Dense(1), MSE, batch {BATCH}, one training step",
                 interleaved(fns, repeats=5)))
    if "torch eager" in fns:
        print("torch eager's heaviest ops per step: " + ", ".join(f"{name} {ms:.2f} ms"
                                                               for name, ms in torch_kernels(fns["torch eager"])))


if __name__ == "__main__":
    main()
