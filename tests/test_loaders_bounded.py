"""Issue 23, loading side: loaders check sizes before they build or allocate, walk graphs without recursion,
and read HDF5 in ways that cannot spin; big declared sizes fail fast with errors that name the layer."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import textwrap
import time
import zipfile

import numpy as np
import pytest
from zip_edits import rewrite_config

import neurona
from neurona.layers import Dense, Input
from neurona.models import Sequential, load_model, model_from_json
from neurona.saving import UnsafeFileError, get_load_limits, set_load_limits
from neurona.saving.limits import DEFAULT_MAX_BYTES, DEFAULT_MAX_PARAMS

HUGE = 10**9  # units: Dense(10, 10**9) declares 10**10 weights, 40 GB of float32


def _small_model():
    return Sequential([Input((10,)), Dense(2, name="dense")])


def _set_units(config: dict, units: int) -> None:
    layers = config["model"]["config"]["layers"] if "model" in config else config["config"]["layers"]
    next(la for la in layers if la["class_name"] == "Dense")["config"]["units"] = units


def _huge_neurona(tmp_path):
    path = tmp_path / "huge.neurona"
    _small_model().save(path)
    rewrite_config(path, lambda c: _set_units(c, HUGE))
    return path


def _huge_keras(tmp_path):
    pytest.importorskip("h5py")
    path = tmp_path / "huge.keras"
    _small_model().save(path)
    rewrite_config(path, lambda c: _set_units(c, HUGE))
    return path


def _huge_h5(tmp_path):
    h5py = pytest.importorskip("h5py")
    path = tmp_path / "huge.h5"
    _small_model().save(path)
    with h5py.File(path, "r+") as f:
        config = json.loads(f.attrs["model_config"])
        _set_units(config, HUGE)
        f.attrs["model_config"] = json.dumps(config)
    return path


def _json_bomb(tmp_path):
    """A config.json of 8 MiB of `{},{},...` (deflates to a few KB): a million dicts once parsed."""
    path = tmp_path / "json_bomb.neurona"
    _small_model().save(path)
    with zipfile.ZipFile(path) as z:
        members = {n: z.read(n) for n in z.namelist()}
    noise = base64.b64encode(np.random.default_rng(0).bytes(60_000))  # keeps the ratio under the zip-bomb limit
    junk = b"[" + b"{}," * (7 * 2**20 // 3) + b"{}]"
    members["config.json"] = members["config.json"][:-1] + b', "noise": "' + noise + b'", "junk": ' + junk + b"}"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return path


def _h5_bomb(tmp_path):
    """A Keras .h5 whose config matches its weights: a 2000 x 2000 kernel of zeros, gzip-compressed to a few KB."""
    h5py = pytest.importorskip("h5py")
    plain, path = tmp_path / "plain.h5", tmp_path / "bomb.h5"
    Sequential([Input((2000,)), Dense(2000, name="dense", use_bias=False)]).save(plain)

    def copy(src, dst):
        dst.attrs.update(dict(src.attrs))
        for key, item in src.items():
            if isinstance(item, h5py.Group):
                copy(item, dst.create_group(key))
            elif item.size > 2**20:
                dst.create_dataset(key, shape=item.shape, dtype=item.dtype, compression="gzip", chunks=(1000, 1000),
                                   fillvalue=0.0)
            else:
                dst.create_dataset(key, data=item[()])

    with h5py.File(plain, "r") as src, h5py.File(path, "w") as dst:
        copy(src, dst)
    plain.unlink()
    return path


MAKERS = {"neurona": _huge_neurona, "keras": _huge_keras, "h5": _huge_h5}
BOMBS = {"json": _json_bomb, "h5": _h5_bomb}


@pytest.mark.parametrize("kind, match", [("json", "objects, arrays and strings, over the limit"),
                                         ("h5", "compression bomb")])
def test_small_files_that_inflate_are_refused(kind, match, tmp_path):
    path = BOMBS[kind](tmp_path)
    assert path.stat().st_size < 1_000_000
    with pytest.raises(UnsafeFileError, match=match):
        load_model(path)


# ------------------------------------------------------------------------------------------ check before build
@pytest.mark.parametrize("kind", list(MAKERS))
def test_config_declaring_a_huge_layer_fails_fast_naming_it(kind, tmp_path):
    path = MAKERS[kind](tmp_path)
    assert path.stat().st_size < 20_000
    start = time.perf_counter()
    with pytest.raises(UnsafeFileError) as info:
        load_model(path)
    assert time.perf_counter() - start < 2.0
    message = str(info.value)
    assert "layer 'dense'" in message and "'kernel'" in message and "10,000,000,000 values" in message
    assert "the config does not match its weights" in message


def test_loading_a_huge_config_stays_small_in_memory(tmp_path):
    """Each hostile file (< 1 MB) loaded in a fresh process: the process peaks under 200 MB whatever it declares."""
    paths = [maker(tmp_path) for maker in [*MAKERS.values(), *BOMBS.values()]]
    if not os.path.exists("/proc/self/status"):
        pytest.skip("needs Linux's /proc/self/status (VmHWM)")
    # VmHWM, not ru_maxrss: Linux carries the parent's (pytest's) ru_maxrss over fork and exec.
    script = textwrap.dedent("""
        import sys
        from neurona.models import load_model
        from neurona.saving import UnsafeFileError

        def peak_kib():
            with open("/proc/self/status") as f:
                return int(next(line for line in f if line.startswith("VmHWM")).split()[1])

        for path in sys.argv[1:]:
            try:
                load_model(path)
            except UnsafeFileError:
                pass
            else:
                raise SystemExit(f"{path} loaded")
            print(path, peak_kib())
        print(peak_kib())
    """)
    out = subprocess.run([sys.executable, "-c", script, *map(str, paths)], capture_output=True, text=True,
                         timeout=120, env=_env())
    assert out.returncode == 0, out.stderr
    peak_mb = int(out.stdout.split()[-1]) / 1024
    assert peak_mb < 200, f"peak RSS {peak_mb:.0f} MB: {out.stdout}"


def _env():
    src = str(__import__("pathlib").Path(neurona.__file__).parents[1])
    return {**os.environ, "PYTHONPATH": src, "OMP_NUM_THREADS": "1", "KERAS_BACKEND": "torch"}


def test_summary_command_refuses_a_huge_config_fast(tmp_path):
    path = _huge_neurona(tmp_path)
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "neurona", "summary", str(path)], capture_output=True, text=True,
                         timeout=60, env=_env())
    assert out.returncode != 0
    assert "layer 'dense'" in out.stderr and "Traceback" not in out.stderr
    assert time.perf_counter() - start < 30  # a process start; the load itself fails in milliseconds


def test_load_limits_are_configurable_and_name_the_layer(tmp_path):
    path = tmp_path / "m.neurona"
    _small_model().save(path)
    assert get_load_limits() == {"max_params": DEFAULT_MAX_PARAMS, "max_bytes": DEFAULT_MAX_BYTES}
    try:
        set_load_limits(max_params=10)
        with pytest.raises(UnsafeFileError, match=r"layer 'dense'.*over the limit of 10 .*set_load_limits"):
            load_model(path)
        set_load_limits(max_params=DEFAULT_MAX_PARAMS, max_bytes=40)
        with pytest.raises(UnsafeFileError, match=r"80 bytes, over the limit of 40"):
            load_model(path)
    finally:
        set_load_limits(max_params=DEFAULT_MAX_PARAMS, max_bytes=DEFAULT_MAX_BYTES)
    assert load_model(path).count_params() == 22
    with pytest.raises(ValueError, match="max_params must be a positive integer"):
        set_load_limits(max_params=-1)


def test_loading_draws_no_initial_values(tmp_path, monkeypatch):
    from neurona import initializers

    model = _small_model()
    path = tmp_path / "m.neurona"
    model.save(path)

    def refuse(*args, **kwargs):
        raise AssertionError("an initializer ran while loading")

    monkeypatch.setattr(initializers.GlorotUniform, "__call__", refuse)
    loaded = load_model(path)
    np.testing.assert_array_equal(loaded.weights[0].data, model.weights[0].data)
    with pytest.raises(AssertionError, match="initializer ran"):  # outside a load, initializers run as usual
        Dense(2).build((None, 3))


# ------------------------------------------------------------------------------------------ graphs
def _chain_config(n: int, reverse: bool = False) -> str:
    layers = [{"class_name": "InputLayer", "name": "in", "config": {"batch_shape": [None, 4], "name": "in"},
               "inbound_nodes": []}]
    for i in range(n):
        layers.append({"class_name": "Activation", "name": f"a{i}", "config": {"name": f"a{i}", "activation": "relu"},
                       "inbound_nodes": [{"args": ["in" if i == 0 else f"a{i - 1}", 0, 0], "kwargs": {}}]})
    if reverse:
        layers = layers[:1] + layers[:0:-1]
    return json.dumps({"class_name": "Model", "config": {
        "name": "deep", "layers": layers, "input_layers": [["in", 0, 0]], "output_layers": [[f"a{n - 1}", 0, 0]]}})


@pytest.mark.parametrize("depth, reverse", [(3000, False), (1000, True)])
def test_a_3000_layer_functional_config_loads_without_recursion(depth, reverse):
    """It raised RecursionError in _map_graph; listed in reverse order it replays in linear time too."""
    model = model_from_json(_chain_config(depth, reverse))
    assert len(model.layers) == depth + 1
    x = np.array([[-1.0, 2.0, -3.0, 4.0]], np.float32)
    np.testing.assert_array_equal(model.predict(x, verbose=0), np.maximum(x, 0))


def test_bad_references_in_a_functional_config_are_clear():
    config = json.loads(_chain_config(3))
    config["config"]["layers"][2]["inbound_nodes"][0]["args"] = ["a0", 0, 5]
    with pytest.raises(ValueError, match="tensor 5 of layer 'a0', which has 1 outputs"):
        model_from_json(json.dumps(config))
    config["config"]["layers"][2]["inbound_nodes"][0]["args"] = ["nowhere", 0, 0]
    with pytest.raises(ValueError, match="never produced"):
        model_from_json(json.dumps(config))
    config["config"]["layers"][2] = "a1"
    with pytest.raises(ValueError, match="layer 2 of the model config is a str"):
        model_from_json(json.dumps(config))


def test_sequential_build_calls_each_layer_once():
    """Adding layer k used to re-trace the k-1 below it (quadratic: 400 layers took 4.6 s, now 0.13 s)."""
    layers = [Dense(4) for _ in range(60)]
    model = Sequential([Input((4,)), *layers])
    assert [len(la._inbound_nodes) for la in layers] == [1] * 60
    x = np.ones((2, 4), np.float32)
    expected = x
    for la in layers:
        expected = expected @ la.kernel.data + la.bias.data
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-4)
    model.add(Dense(3, name="top"))  # a later add keeps the summary, config and predictions current
    assert model.output_shape == (None, 3) and model.get_config()["layers"][-1]["config"]["name"] == "top"
    assert model.predict(x, verbose=0).shape == (2, 3)
    with pytest.raises(ValueError):
        model.add(neurona.layers.Reshape((5, 5)))  # 3 values cannot become 25: refused, the stack unchanged
    assert model.output_shape == (None, 3) and len(model.layers) == 61


def test_predict_converts_float64_per_batch():
    import tracemalloc

    model = Sequential([Input((100,)), Dense(1)])
    x = np.random.default_rng(0).random((50_000, 100))  # 40 MB of float64
    model.predict(x[:8], verbose=0)
    tracemalloc.start()
    try:
        model.predict(x, batch_size=256, verbose=0)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < x.nbytes / 10, f"predict allocated {peak / 1e6:.1f} MB for a {x.nbytes / 1e6:.0f} MB input"


def test_deferred_initialisation_is_per_thread():
    """Loads build under deferred initialisation; a model built meanwhile in another thread is initialised."""
    import threading

    from neurona.layers.base import deferred_initialization

    built = {}

    def build_elsewhere():
        layer = Dense(3)
        layer.build((None, 4))
        built["kernel"] = layer.kernel.data

    with deferred_initialization():
        thread = threading.Thread(target=build_elsewhere)
        thread.start()
        thread.join()
        here = Dense(3)
        here.build((None, 4))
    assert not here.kernel.data.any()
    assert built["kernel"].any() and np.unique(built["kernel"]).size == 12
