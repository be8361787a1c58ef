"""The Keras 3 compatibility table of docs/keras_compatibility.md, computed from the code.

Every public name of Keras 3 (listed in `keras_api_list`) is looked up in the matching neurona namespace:
"supported" when neurona has it, "partial" when it has it with a documented limit (`PARTIAL`), "not
supported" otherwise. `python -m neurona.interop.keras_compat` rewrites the generated part of the English
and Spanish pages; a test checks that the pages in the repository are what this module produces.
"""

from __future__ import annotations

import importlib
import os
import sys
import types
from typing import Any

from .keras_api_list import KERAS_VERSION, NAMESPACES

BEGIN, END = "<!-- BEGIN GENERATED TABLE -->", "<!-- END GENERATED TABLE -->"

NEURONA_NAMESPACE = {
    "keras": "neurona", "keras.ops": "neurona.ops", "keras.layers": "neurona.layers", "keras.random": "neurona.random",
    "keras.utils": "neurona.utils", "keras.metrics": "neurona.metrics", "keras.losses": "neurona.losses",
    "keras.optimizers": "neurona.optimizers", "keras.callbacks": "neurona.callbacks", "keras.models": "neurona.models",
    "keras.saving": "neurona.saving", "keras.activations": "neurona.activations",
    "keras.initializers": "neurona.initializers", "keras.regularizers": "neurona.regularizers",
    "keras.config": "neurona.backend",
}

_NO_GRAD = ("values only, no gradient", "solo valores, sin gradiente")
PARTIAL: dict[tuple[str, str], tuple[str, str]] = {
    **{("keras.ops", n): _NO_GRAD for n in (
        "median", "percentile", "quantile", "nanmax", "nanmin", "nanmean", "nansum", "nanprod", "nanstd", "nanvar",
        "nanmedian", "nancumsum", "nancumprod", "nanpercentile", "nanquantile", "corrcoef", "correlate", "kron",
        "cross", "trapezoid", "cholesky", "eig", "eigh", "qr", "svd", "pinv", "slogdet", "lstsq", "sparsemax",
        "segment_max", "segment_min", "scatter", "scatter_update", "histogram", "i0", "angle", "real", "imag",
        "conj", "conjugate")},
    ("keras.ops", "einsum"): ("no '...' or repeated letters in a term for gradients",
                              "sin '...' ni letras repetidas en un término para los gradientes"),
    ("keras.ops", "conv"): ("1-D and 2-D only", "solo 1-D y 2-D"),
    ("keras.ops", "conv_transpose"): ("1-D and 2-D only", "solo 1-D y 2-D"),
    ("keras.ops", "max_pool"): ("1-D and 2-D only", "solo 1-D y 2-D"),
    ("keras.ops", "average_pool"): ("1-D and 2-D only", "solo 1-D y 2-D"),
    ("keras.ops", "depthwise_conv"): ("2-D only", "solo 2-D"),
    ("keras.ops", "separable_conv"): ("2-D only", "solo 2-D"),
    ("keras.ops", "cumprod"): ("no gradient through zeros", "sin gradiente a través de ceros"),
    ("keras.ops", "pad"): ("gradient for mode='constant' only", "gradiente solo con mode='constant'"),
    ("keras.ops", "cond"): ("runs eagerly", "se ejecuta en modo ansioso"),
    ("keras.ops", "while_loop"): ("runs eagerly", "se ejecuta en modo ansioso"),
    ("keras.ops", "scan"): ("runs eagerly", "se ejecuta en modo ansioso"),
    ("keras.utils", "image_dataset_from_directory"): ("channels_last, no pad_to_aspect_ratio",
                                                      "channels_last, sin pad_to_aspect_ratio"),
    ("keras.models", "clone_model"): ("clone_function for Sequential only", "clone_function solo para Sequential"),
    ("keras.saving", "load_model"): ("Lambda layers only with safe_mode=False and the function in custom_objects",
                                     "capas Lambda solo con safe_mode=False y la función en custom_objects"),
    ("keras.config", "set_floatx"): ("float32 and float64", "float32 y float64"),
    ("keras.config", "set_image_data_format"): ("channels_last only", "solo channels_last"),
}
_STATUS = {"en": {"supported": "supported", "partial": "partial", "missing": "not supported"},
           "es": {"supported": "sí", "partial": "parcial", "missing": "no"}}


def _namespace(name: str) -> Any:
    try:
        return importlib.import_module(NEURONA_NAMESPACE[name])
    except ImportError:
        return None


def status(namespace: str, name: str) -> tuple[str, tuple[str, str] | None]:
    """('supported' | 'partial' | 'missing', (English note, Spanish note) or None) for one Keras name."""
    module = _namespace(namespace)
    try:
        value = getattr(module, name) if module is not None else None
    except AttributeError:
        value = None
    if value is None:
        return "missing", None
    if namespace != "keras" and isinstance(value, types.ModuleType):
        return "missing", None  # a neurona submodule that merely shares the name
    note = PARTIAL.get((namespace, name))
    return ("partial" if note else "supported"), note


def summary() -> dict[str, dict[str, int]]:
    """{namespace: {'supported': n, 'partial': n, 'missing': n}}."""
    out = {}
    for ns, names in NAMESPACES.items():
        counts = {"supported": 0, "partial": 0, "missing": 0}
        for n in names:
            counts[status(ns, n)[0]] += 1
        out[ns] = counts
    return out


def render(lang: str = "en") -> str:
    """The generated part of the page: a summary, then one table per namespace."""
    words = _STATUS[lang]
    head = ("| namespace | supported | partial | not supported |" if lang == "en" else
            "| espacio de nombres | sí | parcial | no |")
    lines = [f"Keras {KERAS_VERSION}", "", head, "|---|---:|---:|---:|"]
    for ns, c in summary().items():
        lines.append(f"| `{ns}` | {c['supported']} | {c['partial']} | {c['missing']} |")
    for ns, names in NAMESPACES.items():
        lines += ["", f"### `{ns}`", "", "| name | status | note |" if lang == "en" else "| nombre | estado | nota |",
                  "|---|---|---|"]
        for n in names:
            state, note = status(ns, n)
            text = "" if note is None else note[0 if lang == "en" else 1]
            lines.append(f"| `{n}` | {words[state]} | {text} |")
    return "\n".join(lines) + "\n"


def page_paths(root: str) -> dict[str, str]:
    return {"en": os.path.join(root, "docs", "keras_compatibility.md"),
            "es": os.path.join(root, "docs", "es", "keras_compatibility.md")}


def update_page(path: str, lang: str) -> bool:
    """Rewrite the generated part of the page at `path`; True when it changed."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    start, stop = text.index(BEGIN) + len(BEGIN), text.index(END)
    new = text[:start] + "\n" + render(lang) + text[stop:]
    if new != text:
        with open(path, "w", encoding="utf-8") as f:
            f.write(new)
    return new != text


def generated_part(path: str) -> str:
    with open(path, encoding="utf-8") as f:
        text = f.read()
    return text[text.index(BEGIN) + len(BEGIN):text.index(END)].lstrip("\n")


if __name__ == "__main__":  # python -m neurona.interop.keras_compat [repository root]
    root = sys.argv[1] if len(sys.argv) > 1 else os.getcwd()
    for lang, path in page_paths(root).items():
        print(path, "updated" if update_page(path, lang) else "unchanged")
