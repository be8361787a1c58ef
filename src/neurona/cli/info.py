"""`neurona info`: versions, NumPy's BLAS and its threads, the optional extras, where data is cached."""

from __future__ import annotations

import argparse
import os
import platform
from importlib import metadata
from typing import Any

import numpy as np

from ..i18n import N_, _, language

# extra of neurona (pip install 'neurona[extra]') → the distributions it brings and what they are for
EXTRAS = (
    ("plot", "matplotlib", N_("figures, the report's pictures")),
    ("datasets", "pooch", N_("dataset downloads with progress")),
    ("images", "pillow", N_("flow_from_directory, load_img")),
    ("sklearn", "scikit-learn", N_("neurona.sklearn estimators")),
    ("onnx", "onnx", N_("neurona export --onnx")),
    ("onnx", "onnxruntime", N_("running exported models")),
    ("h5", "h5py", N_("Keras .h5 weight files")),
    ("", "tqdm", N_("live progress bars")),
    ("", "safetensors", N_("reference safetensors reader")),
    ("", "scipy", N_("lbfgs solver")),
    ("", "threadpoolctl", N_("BLAS details in neurona info")),
)


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def blas_lines() -> list[str]:
    """What NumPy's linear algebra runs on: library, version, kernel and threads."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        threadpool_info = None
    if threadpool_info is not None:
        pools = [p for p in threadpool_info() if p.get("user_api") == "blas"]
        if pools:
            return [_("{api} {version} ({arch}), {threads} threads: {path}").format(
                api=p.get("internal_api"), version=p.get("version"), arch=p.get("architecture") or "?",
                threads=p.get("num_threads"), path=p.get("filepath")) for p in pools]
    try:
        config = np.show_config(mode="dicts")
        blas = config["Build Dependencies"]["blas"]
        return [_("{name} {version} (thread count unknown: pip install threadpoolctl)").format(
            name=blas.get("name"), version=blas.get("version"))]
    except (TypeError, KeyError):
        return [_("unknown (pip install threadpoolctl to see it)")]


def aligned(rows: list[tuple[str, ...]]) -> list[str]:
    """Rows of cells as lines whose columns line up (each column as wide as its widest cell, two spaces apart).

    >>> aligned([("numpy", "2.4"), ("scikit-learn", "not installed")])
    ['numpy         2.4', 'scikit-learn  not installed']
    """
    widths = [max(len(row[j]) for row in rows) for j in range(len(rows[0]))] if rows else []
    return ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]


def cmd_info(args: argparse.Namespace) -> int:
    import neurona

    from ..applications._weights import models_home
    from ..datasets import data_home

    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:
        cpus = os.cpu_count() or 1
    print(f"neurona {neurona.__version__}  ({os.path.dirname(neurona.__file__)})")
    print(f"Python {platform.python_version()} ({platform.python_implementation()}) · {platform.platform()}")
    print(f"NumPy {np.__version__}")
    print(_("CPU cores available: {n}").format(n=cpus))
    for line in blas_lines():
        print(_("BLAS: {line}").format(line=line))
    threads = {k: os.environ[k] for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
               if k in os.environ}
    if threads:
        print(_("thread settings: {settings}").format(settings=", ".join(f"{k}={v}" for k, v in threads.items())))
    print(_("optional packages:"))
    rows = []
    for extra, dist, use in EXTRAS:
        version = _version(dist)
        state = version if version else _("not installed") + (f" (pip install 'neurona[{extra}]')" if extra else "")
        rows.append((dist, state, _(use)))
    for line in aligned(rows):
        print("  " + line)
    print(_("dataset cache: {path}").format(path=data_home()))
    print(_("pretrained weights cache: {path}").format(path=models_home()))
    print(_("language: {lang} (set NEURONA_LANG=es or en to change it)").format(lang=language()))
    return 0


def add_parser(sub: Any, make: Any) -> None:
    p = make(sub, "info", _("versions, BLAS and threads, optional extras, cache folders"), None)
    p.set_defaults(func=cmd_info)
