"""#18: the slide CNN's hand-written floor against torch, and conv layers run in batch parts on two threads."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

import neurona as nr
from neurona.ops import conv_parts
from neurona.ops.conv import conv2d
from neurona.ops.pool import max_pool2d

ROOT = Path(__file__).resolve().parents[1]


def _floor_module():
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    if importlib.util.find_spec("bench") is None:
        pytest.skip("bench/ is not importable here")
    from bench import cnn_floor

    return cnn_floor


@pytest.mark.parametrize("workers,fft", [(1, True), (2, True), (1, False)])
def test_cnn_floor_gradients_equal_torch(workers, fft):
    torch = pytest.importorskip("torch")
    cf = _floor_module()
    rng = np.random.default_rng(1)
    x = rng.random((6, 28, 28, 1), dtype=np.float32)
    labels = rng.integers(0, 10, 6)
    y = np.eye(10, dtype=np.float32)[labels]
    net = cf.SlideCNN(0.1, workers=workers, fft=fft)
    grads, loss = net.gradients(x, y)
    p = [torch.tensor(a.copy(), requires_grad=True) for a in net.params]
    h = torch.from_numpy(x.transpose(0, 3, 1, 2).copy())
    h = torch.nn.functional.max_pool2d(torch.nn.functional.conv2d(h, p[0].permute(3, 2, 0, 1), p[1]).relu(), 2)
    h = torch.nn.functional.max_pool2d(torch.nn.functional.conv2d(h, p[2].permute(3, 2, 0, 1), p[3]).relu(), 2)
    logits = h.permute(0, 2, 3, 1).reshape(6, -1) @ p[4] + p[5]
    ref = torch.nn.functional.cross_entropy(logits, torch.from_numpy(labels))
    ref.backward()
    assert loss == pytest.approx(ref.item(), rel=1e-5)
    for mine, t in zip(grads, p):
        np.testing.assert_allclose(mine, t.grad.numpy(), rtol=1e-4, atol=2e-7)
    before = [a.copy() for a in net.params]
    net.step(x, y)
    for a, b, g in zip(net.params, before, grads):
        np.testing.assert_allclose(a, b - np.float32(0.1) * g, rtol=1e-5, atol=1e-7)


def _conv_pool_grads(workers: int, shape, kernel, dtype=np.float32):
    rng = np.random.default_rng(5)
    x = nr.Tensor(rng.standard_normal(shape).astype(dtype), requires_grad=True)
    w = nr.Tensor((rng.standard_normal(kernel) * 0.1).astype(dtype), requires_grad=True)
    b = nr.Tensor(rng.standard_normal(kernel[-1]).astype(dtype), requires_grad=True)
    with conv_parts.forced_workers(workers):
        y = max_pool2d(conv2d(x, w, b, activation="relu"), 2)
        (y * nr.Tensor(rng.standard_normal(y.shape).astype(dtype))).sum().backward()
    return y.data, x.grad, w.grad, b.grad


def assert_split_equals_whole(split, whole):
    """(output, input gradient, weight gradient, bias gradient) of a conv run in parts against one run: outputs
    and input gradients are the same products row by row (equal bits); weight and bias gradients add the parts'
    sums (float32 rounding)."""
    np.testing.assert_array_equal(split[0], whole[0])
    np.testing.assert_array_equal(split[1], whole[1])
    for a, b in zip(split[2:], whole[2:]):
        np.testing.assert_allclose(a, b, rtol=2e-6, atol=1e-6 * np.abs(b).max())


@pytest.mark.parametrize("shape,kernel", [((7, 12, 12, 1), (5, 5, 1, 4)), ((5, 12, 12, 6), (5, 5, 6, 8))])
def test_two_thread_parts_equal_one_thread(shape, kernel):
    assert_split_equals_whole(_conv_pool_grads(2, shape, kernel), _conv_pool_grads(1, shape, kernel))


def test_two_thread_parts_gradcheck_float64():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((3, 7, 7, 2))
    w = rng.standard_normal((3, 3, 2, 3)) * 0.3
    b = rng.standard_normal(3) * 0.1
    with conv_parts.forced_workers(2):
        assert nr.gradcheck(lambda x_, w_, b_: conv2d(x_, w_, b_, activation="tanh"), x, w, b)


def test_parts_split_the_batch_evenly():
    assert conv_parts.bounds(5, 2) == [(0, 2), (2, 5)]
    assert conv_parts.bounds(1, 2) == [(0, 1)]
    with conv_parts.forced_workers(2):
        assert conv_parts.workers(1, 10) == 1 and conv_parts.workers(8, 10) == 2


def test_inference_bands_equal_training_forward():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((40, 12, 12, 3)).astype(np.float32)
    w = (rng.standard_normal((5, 5, 3, 8)) * 0.1).astype(np.float32)
    b = rng.standard_normal(8).astype(np.float32)
    xt = nr.Tensor(x, requires_grad=True)
    train = conv2d(xt, w, b, activation="relu").data
    old = conv_parts.PATCH_BYTES
    conv_parts.PATCH_BYTES = 300 * 76 * 4  # force several bands of ~300 rows
    try:
        with nr.no_grad():
            infer = conv2d(x, w, b, activation="relu").data
    finally:
        conv_parts.PATCH_BYTES = old
    np.testing.assert_array_equal(infer, train)


def test_replayed_conv_reuses_its_patch_matrix():
    from neurona import layers, models
    from neurona.ops.patches import SCRATCH

    nr.utils.set_random_seed(0)
    model = models.Sequential([layers.Input((12, 12, 3)), layers.Conv2D(8, 5, activation="relu"),
                               layers.Flatten(), layers.Dense(2, activation="softmax")])
    model.compile(optimizer="sgd", loss="categorical_crossentropy")
    x = np.random.default_rng(0).random((40, 12, 12, 3), dtype=np.float32)
    y = np.eye(2, dtype=np.float32)[np.arange(40) % 2]
    model.fit(x, y, batch_size=10, epochs=1, verbose=0)
    taken = []
    original = SCRATCH.take

    def take(shape, dtype):
        taken.append(SCRATCH.has(shape, dtype))
        return original(shape, dtype)

    SCRATCH.take = take
    try:
        model.fit(x, y, batch_size=10, epochs=3, verbose=0)  # 12 steps: traced twice, then replayed
    finally:
        del SCRATCH.take
    steady = taken[len(taken) // 2:]
    assert steady and all(steady)  # every patch matrix came back: no fresh allocation per replayed step


def test_fit_in_parts_restores_blas_threads():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    from neurona import layers, models

    libs = [c for c in threadpoolctl.ThreadpoolController().lib_controllers if c.user_api == "blas"]
    before = [c.num_threads for c in libs]
    model = models.Sequential([layers.Input((10, 10, 2)), layers.Conv2D(4, 3, activation="relu"),
                               layers.Flatten(), layers.Dense(2, activation="softmax")])
    model.compile(optimizer="sgd", loss="categorical_crossentropy")
    x = np.random.default_rng(0).random((8, 10, 10, 2), dtype=np.float32)
    with conv_parts.forced_workers(2):
        model.fit(x, np.eye(2, dtype=np.float32)[np.arange(8) % 2], batch_size=4, epochs=1, verbose=0)
        model.predict(x, verbose=0)
    assert [c.num_threads for c in libs] == before


def _banded_conv(train_rows: int, dtype=np.float32):  # rows of 3*3*6 + 1 = 55 floats
    rng = np.random.default_rng(6)
    x = nr.Tensor(rng.standard_normal((9, 10, 10, 6)).astype(dtype), requires_grad=True)
    w = nr.Tensor((rng.standard_normal((3, 3, 6, 5)) * 0.2).astype(dtype), requires_grad=True)
    b = nr.Tensor(rng.standard_normal(5).astype(dtype), requires_grad=True)
    old = conv_parts.PATCH_BYTES
    conv_parts.PATCH_BYTES = train_rows * 55 * np.dtype(dtype).itemsize
    try:
        y = conv2d(x, w, b, activation="relu")
        (y * nr.Tensor(rng.standard_normal(y.shape).astype(dtype))).sum().backward()
    finally:
        conv_parts.PATCH_BYTES = old
    return y.data, x.grad, w.grad, b.grad


def test_training_bands_rebuild_patches_equal_one_band():
    one = _banded_conv(1 << 20)  # one band: the whole batch's patch matrix
    bands = _banded_conv(150)  # 64 rows per image: bands of 2-3 images, patches rebuilt in backward
    assert_split_equals_whole(bands, one)


def test_training_bands_gradcheck_float64():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((4, 6, 6, 5))
    w = rng.standard_normal((3, 3, 5, 2)) * 0.3
    b = rng.standard_normal(2) * 0.1
    old = conv_parts.PATCH_BYTES
    conv_parts.PATCH_BYTES = 20 * 46 * 8  # 16 rows of 3*3*5 + 1 floats per image: one image per band
    try:
        assert nr.gradcheck(lambda x_, w_, b_: conv2d(x_, w_, b_, activation="tanh"), x, w, b)
    finally:
        conv_parts.PATCH_BYTES = old
