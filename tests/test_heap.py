"""neurona.heap: the malloc thresholds a training process keeps (#18, wide MLP): when they apply, and their effect."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import textwrap

import pytest

from neurona import heap

LINUX_GLIBC = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"


def test_wanted_respects_the_users_choices(monkeypatch):
    for name in ("NEURONA_KEEP_HEAP", "GLIBC_TUNABLES", *heap._USER_SETTINGS):
        monkeypatch.delenv(name, raising=False)
    assert heap.wanted() is sys.platform.startswith("linux")
    monkeypatch.setenv("NEURONA_KEEP_HEAP", "0")
    assert not heap.wanted()
    monkeypatch.delenv("NEURONA_KEEP_HEAP")
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "131072")
    assert not heap.wanted()
    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_")
    monkeypatch.setenv("GLIBC_TUNABLES", "glibc.malloc.mmap_threshold=65536")
    assert not heap.wanted()


_SCRIPT = textwrap.dedent("""
    import json, resource, sys
    import numpy as np
    from neurona import heap, layers, models, optimizers, utils
    utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.random((640, 784), dtype=np.float32)
    y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, 640)]
    model = models.Sequential([layers.Input((784,)), layers.Dense(512, activation="relu"),
                               layers.Dense(512, activation="relu"), layers.Dense(10, activation="softmax")])
    model.compile(optimizer=optimizers.SGD(0.01, momentum=0.9), loss="categorical_crossentropy")
    if sys.argv[1] == "fit":
        model.fit(x, y, batch_size=128, epochs=2, verbose=0)
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        model.fit(x, y, batch_size=128, epochs=4, verbose=0)
        faults = (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 20  # per step
    else:  # a process that only predicts
        model.predict(x, batch_size=320, verbose=0)
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        for _ in range(5):
            model.predict(x, batch_size=320, verbose=0)
        faults = (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 10  # per batch
    print(json.dumps({"set": heap.keep_freed_memory(), "faults_per_step": faults}))
""")


@pytest.mark.skipif(not LINUX_GLIBC, reason="glibc's malloc thresholds")
@pytest.mark.parametrize("task", ["fit", "predict"])
def test_training_and_predicting_keep_their_freed_arrays(task):
    """In a fresh process, a training step of the 784-512-512-10 MLP (~3.5 MB of arrays allocated and freed per
    step) or a predicted batch faults almost no pages in: without the thresholds, 270-940 faults per step were
    measured, ~150 per predicted batch of 320."""
    env = {k: v for k, v in os.environ.items() if k not in ("NEURONA_KEEP_HEAP", "GLIBC_TUNABLES",
                                                            *heap._USER_SETTINGS)}
    src = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src")
    env["PYTHONPATH"] = os.pathsep.join([src, env.get("PYTHONPATH", "")])
    env.setdefault("OMP_NUM_THREADS", "1")
    env.setdefault("OPENBLAS_NUM_THREADS", "1")
    out = subprocess.run([sys.executable, "-c", _SCRIPT, task], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["set"] is True
    assert result["faults_per_step"] < 100, result  # ~5 (fit) measured; 3.5 MB re-faulted would be ~850
