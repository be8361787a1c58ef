"""The slide CNN's training step written by hand in NumPy: the floor neurona's conv layers should approach.

conv32 5x5 relu -> maxpool 2 -> conv64 5x5 relu -> maxpool 2 -> dense10 softmax, channels_last, float32,
plain SGD (momentum optional). The kernels are the fastest measured on this machine kind (docs/performance.md,
"Convolutions (#18)"):
  conv1 (one input channel)  patches as a tap-major (26, M) matrix, 25 plane copies plus a row of ones (the bias);
  conv2                      by the convolution theorem (`fft=True`, the default since #18 round four), with
                             neurona's NumPy kernels (`neurona.ops.conv_fft`: transforms as DFT-matrix products,
                             one complex product per frequency), whole batch, no bands: what neurona's conv2 runs,
                             without the framework. `fft=False`: the im2col kernels of rounds two and three,
                             patches pixel-major (M, 800) in (kh, kw, C) order, one `copyto` from a strided view,
                             the bias added after the product; in bands of 25 images (1,600 rows) whose patch
                             matrix is reused, nothing kept: backward rebuilds each band from the layer input
                             (12x12x32, 11x smaller) for the weight gradient;
  relu + 2x2 max-pool        pooled first (four strided slices, `maximum`), relu on the 4x smaller result (equal:
                             max and relu commute); backward through equality masks, first maximum wins;
  conv2 input gradient (im2col) one small product per kernel tap into a cache-sized buffer, added at its shift
                             (col2im without the (M, 800) temporary);
  weight gradients           one product per layer against the saved patches.
With `workers` > 1 each thread runs a share of the batch end to end with BLAS at one thread (threadpoolctl),
and the weight gradients are summed. `phases` collects per-step seconds of gather / forward / loss / backward /
optimizer.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import as_strided

from neurona.ops import conv_fft

from ._timing import floor_tasks

BAND = 25  # images per band of conv2's patch matrix (1,600 rows, 5 MB)
SLIDE_CNN_LAYERS = (("conv", 32, 5, "relu"), ("pool", 2), ("conv", 64, 5, "relu"), ("pool", 2), ("flatten",),
                    ("dense", 10, "softmax"))


def _pool_max(z: np.ndarray) -> np.ndarray:
    """2x2 max-pool of (N, H, W, C) by four strided slices."""
    m = np.maximum(z[:, 0::2, 0::2], z[:, 0::2, 1::2])
    np.maximum(m, z[:, 1::2, 0::2], out=m)
    np.maximum(m, z[:, 1::2, 1::2], out=m)
    return m


def _pool_relu_backward(g: np.ndarray, z: np.ndarray, m: np.ndarray, out: np.ndarray) -> np.ndarray:
    """Gradient of relu(maxpool(z)) = maxpool(relu(z)) into `out` (z's shape): to each window's first maximum."""
    g = g * (m > 0)
    taken = None
    for a in (0, 1):
        for b in (0, 1):
            hit = z[:, a::2, b::2] == m
            if taken is None:
                taken = hit
            else:
                np.greater(hit, taken, out=hit)
                taken |= hit
            np.multiply(g, hit, out=out[:, a::2, b::2])
    return out


class SlideCNN:
    """Weights, buffers and the hand-written step of the slide CNN."""

    def __init__(self, lr: float, momentum: float = 0.0, seed: int = 0, workers: int = 1, fft: bool = True) -> None:
        rng = np.random.default_rng(seed)

        def glorot(shape: tuple[int, ...], fan_in: int, fan_out: int) -> np.ndarray:
            limit = np.sqrt(6 / (fan_in + fan_out))
            return rng.uniform(-limit, limit, shape).astype(np.float32)

        self.params = [glorot((5, 5, 1, 32), 25, 800), np.zeros(32, np.float32),
                       glorot((5, 5, 32, 64), 800, 1600), np.zeros(64, np.float32),
                       glorot((1024, 10), 1024, 10), np.zeros(10, np.float32)]
        self.slots = [np.zeros_like(p) for p in self.params]
        self.lr, self.momentum = np.float32(lr), np.float32(momentum)
        self.workers, self.fft = workers, fft
        self._pool = ThreadPoolExecutor(workers) if workers > 1 else None
        self._buffers: dict[Any, np.ndarray] = {}

    def _buf(self, key: Any, shape: tuple[int, ...]) -> np.ndarray:
        arr = self._buffers.get((key, shape))
        if arr is None:
            arr = self._buffers[(key, shape)] = np.empty(shape, np.float32)
        return arr

    # ------------------------------------------------------------------ forward
    def conv1(self, x: np.ndarray, tag: int) -> tuple[np.ndarray, np.ndarray]:
        n = len(x)
        cols = self._buf(("cols1", tag), (26, n * 576))
        planes = cols[:25].reshape(5, 5, n, 24, 24)
        x3 = x.reshape(n, 28, 28)
        for a in range(5):
            for b in range(5):
                np.copyto(planes[a, b], x3[:, a:a + 24, b:b + 24])
        cols[25] = 1
        w = np.concatenate([self.params[0].reshape(25, 32), self.params[1][None]])
        z = np.matmul(cols.T, w, out=self._buf(("z1", tag), (n * 576, 32)))
        return cols, z.reshape(n, 24, 24, 32)

    def patches2(self, h: np.ndarray, tag: int) -> np.ndarray:
        """conv2's (len(h) * 64, 800) patch matrix of images h, in a reused band buffer."""
        n = len(h)
        cols = self._buf(("cols2", tag), (BAND * 64, 800))[:n * 64]
        s = h.strides
        win = as_strided(h, (n, 8, 8, 5, 5, 32), (s[0], s[1], s[2], s[1], s[2], s[3]), writeable=False)
        np.copyto(cols.reshape(n, 8, 8, 5, 5, 32), win)
        return cols

    def conv2(self, h: np.ndarray, tag: int) -> np.ndarray:
        n = len(h)
        z = self._buf(("z2", tag), (n * 64, 64))
        w = self.params[2].reshape(800, 64)
        for i in range(0, n, BAND):
            np.matmul(self.patches2(h[i:i + BAND], tag), w, out=z[i * 64:(i + BAND) * 64])
        z += self.params[3]
        return z.reshape(n, 8, 8, 64)

    def conv2_fft(self, h: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """conv2 by the convolution theorem: (output, the input's spectrum, conj of the kernel's) for backward."""
        n = len(h)
        xf = conv_fft.spectrum(np.ascontiguousarray(h.transpose(1, 2, 0, 3)), (12, 12))  # (12, 7, n, 32)
        wc = conv_fft.spectrum(self.params[2], (12, 12), conjugate=True)  # (12, 7, 32, 64)
        yf = np.matmul(conv_fft.per_frequency(xf), conv_fft.per_frequency(wc))  # (84, n, 64)
        y = conv_fft.inverse(yf.reshape(12, 7, n, 64), (12, 12), 8, 8)  # (8, 8, n, 64)
        return np.add(y.transpose(2, 0, 1, 3), self.params[3]), xf, wc

    def forward(self, x: np.ndarray, tag: int = 0) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        cols1, z1 = self.conv1(x, tag)
        m1 = _pool_max(z1)
        h1 = np.maximum(m1, 0)
        xf = wc = None
        if self.fft:
            z2, xf, wc = self.conv2_fft(h1)
        else:
            z2 = self.conv2(h1, tag)
        m2 = _pool_max(z2)
        h2 = np.maximum(m2, 0).reshape(len(x), 1024)
        logits = h2 @ self.params[4]
        logits += self.params[5]
        return logits, {"cols1": cols1, "z1": z1, "m1": m1, "h1": h1, "z2": z2, "m2": m2, "h2": h2, "xf": xf,
                        "wc": wc}

    # ------------------------------------------------------------------ backward
    def backward(self, g: np.ndarray, s: dict[str, np.ndarray], tag: int = 0) -> list[np.ndarray]:
        """Gradients of every parameter from g = dL/dlogits (already divided by the whole batch)."""
        n = len(g)
        w3 = self.params[4]
        gw3, gb3 = s["h2"].T @ g, np.ones(n, np.float32) @ g
        gh2 = (g @ w3.T).reshape(n, 4, 4, 64)
        gz2 = _pool_relu_backward(gh2, s["z2"], s["m2"], self._buf(("gz2", tag), (n, 8, 8, 64)))
        g2 = gz2.reshape(n * 64, 64)
        gb2 = np.ones(n * 64, np.float32) @ g2
        if self.fft:
            gw2, gh1 = self.conv2_fft_backward(gz2, s["xf"], s["wc"])
        else:
            gw2, gh1 = self.conv2_backward(g2, s["h1"], tag)
        gz1 = _pool_relu_backward(gh1, s["z1"], s["m1"], self._buf(("gz1", tag), (n, 24, 24, 32)))
        gwb1 = s["cols1"] @ gz1.reshape(n * 576, 32)
        return [gwb1[:25].reshape(5, 5, 1, 32), gwb1[25], gw2, gb2, gw3, gb3]

    def conv2_fft_backward(self, gz2: np.ndarray, xf: np.ndarray, wc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """conv2's kernel and input gradients by the convolution theorem: dW = X conj(G), conj(dX) = conj(G W)."""
        n = len(gz2)
        gc = conv_fft.per_frequency(conv_fft.spectrum(np.ascontiguousarray(gz2.transpose(1, 2, 0, 3)), (12, 12),
                                                      conjugate=True))  # (84, n, 64)
        gwf = np.matmul(conv_fft.per_frequency(xf).transpose(0, 2, 1), gc)  # (84, 32, 64)
        gw2 = np.ascontiguousarray(conv_fft.inverse(gwf.reshape(12, 7, 32, 64), (12, 12), 5, 5))
        gxc = np.matmul(gc, conv_fft.per_frequency(wc).transpose(0, 2, 1))  # (84, n, 32)
        gh1 = conv_fft.inverse(gxc.reshape(12, 7, n, 32), (12, 12), 12, 12, conjugate=True)
        return gw2, np.ascontiguousarray(gh1.transpose(2, 0, 1, 3))

    def conv2_backward(self, g2: np.ndarray, h1: np.ndarray, tag: int) -> tuple[np.ndarray, np.ndarray]:
        """conv2's kernel and input gradients by im2col: patches rebuilt band by band, per-tap col2im."""
        n, w2 = len(h1), self.params[2]
        gw2 = np.zeros((64, 800), np.float32)
        for i in range(0, n, BAND):  # the patches rebuilt band by band; (g.T @ cols).T is BLAS's faster orientation
            gw2 += g2[i * 64:(i + BAND) * 64].T @ self.patches2(h1[i:i + BAND], tag)
        gw2 = gw2.T.reshape(w2.shape)
        gh1 = np.zeros((n, 12, 12, 32), np.float32)
        tap = self._buf(("tap", tag), (n * 64, 32))
        wt = w2.reshape(25, 32, 64).transpose(0, 2, 1)  # (25, 64, 32): each tap's weights, transposed
        for a in range(5):
            for b in range(5):
                np.matmul(g2, wt[a * 5 + b], out=tap)
                gh1[:, a:a + 8, b:b + 8] += tap.reshape(n, 8, 8, 32)
        return gw2, gh1

    def gradients(self, x: np.ndarray, y: np.ndarray,
                  phases: dict[str, list[float]] | None = None) -> tuple[list[np.ndarray], float]:
        """Every parameter's gradient of the batch's mean cross-entropy, and that mean."""
        scale = np.float32(1 / len(x))
        if self._pool is not None:
            t0 = time.perf_counter()
            bounds = [(int(q[0]), int(q[-1]) + 1) for q in np.array_split(np.arange(len(x)), self.workers) if len(q)]
            with _blas_threads(1):
                futures = [self._pool.submit(self._part, x[i:j], y[i:j], scale, k) for k, (i, j) in enumerate(bounds)]
                results = [f.result() for f in futures]
            grads = results[0][0]
            for other, _ in results[1:]:
                grads = [a + b for a, b in zip(grads, other)]
            if phases is not None:  # forward, loss and backward ran interleaved on the threads
                phases.setdefault("forward + loss + backward (threads)", []).append(time.perf_counter() - t0)
            return grads, sum(r[1] for r in results) / len(x)
        t0 = time.perf_counter()
        logits, saved = self.forward(x)
        t1 = time.perf_counter()
        p = _softmax(logits)
        loss = float(-np.log(np.maximum((p * y).sum(axis=1), 1e-30)).mean())
        p -= y
        p *= scale
        t2 = time.perf_counter()
        grads = self.backward(p, saved)
        if phases is not None:
            for name, a, b in (("forward", t0, t1), ("loss", t1, t2), ("backward", t2, time.perf_counter())):
                phases.setdefault(name, []).append(b - a)
        return grads, loss

    def _part(self, x: np.ndarray, y: np.ndarray, scale: np.float32, tag: int) -> tuple[list[np.ndarray], float]:
        """One thread's share of the batch: its gradients (scaled by the whole batch) and its summed loss."""
        logits, saved = self.forward(x, tag)
        p = _softmax(logits)
        loss = float(-np.log(np.maximum((p * y).sum(axis=1), 1e-30)).sum())
        p -= y
        p *= scale
        return self.backward(p, saved, tag), loss

    def step(self, x: np.ndarray, y: np.ndarray, phases: dict[str, list[float]] | None = None) -> float:
        """One SGD step on a batch; returns the batch's mean loss."""
        grads, loss = self.gradients(x, y, phases)
        t0 = time.perf_counter()
        for p, g, slot in zip(self.params, grads, self.slots):
            if self.momentum:
                slot *= self.momentum
                slot -= self.lr * g
                p += slot
            else:
                p -= self.lr * g
        if phases is not None:
            phases.setdefault("optimizer", []).append(time.perf_counter() - t0)
        return loss

    def predict(self, x: np.ndarray) -> np.ndarray:
        return _softmax(self.forward(x)[0])


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=1, keepdims=True)
    return z


class _blas_threads:  # noqa: N801 - used as a context manager, like threadpoolctl's
    """BLAS limited to `n` threads inside the block (threadpoolctl when importable, else nothing)."""

    _controller: Any = None

    def __init__(self, n: int) -> None:
        self.n = n

    def __enter__(self) -> None:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:
            self.limiter = None
            return
        if _blas_threads._controller is None:
            _blas_threads._controller = ThreadpoolController()
        self.limiter = _blas_threads._controller.limit(limits=self.n, user_api="blas")

    def __exit__(self, *exc: Any) -> None:
        if self.limiter is not None:
            self.limiter.restore_original_limits()


def floor_work(wl: Any, data: dict[str, np.ndarray], task: str, phases: dict[str, list[float]] | None = None,
               workers: int = 1) -> Any:
    """A work function for the bench suite (train: one shuffled epoch; predict: batches of 1,000; latency)."""
    return floor_tasks(SlideCNN(wl.lr, wl.momentum, workers=workers), data, wl.batch, task, phases)
