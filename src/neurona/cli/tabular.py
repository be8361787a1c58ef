"""A table of numbers → an MLP: what `neurona train` learns besides the weights, and how `predict` reuses it.

The model file (`model.neurona`) holds the network and, in the "preprocessing" section of its config, what
turns a CSV row into the network's input and its output back into an answer: the feature columns in order,
their training means and standard deviations, the task, the class labels (as written in the CSV) or the
target's mean and standard deviation. It is plain JSON, read without running anything. Files written before
the section existed kept it beside them in `model.preprocessing.json`, which is still read for them.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..i18n import N_, _
from .csvdata import Table
from .errors import CliError

FORMAT = "neurona-tabular"
VERSION = 1
TASKS = (N_("classification"), N_("regression"))  # shown translated
MODEL_NAME = "tabular_mlp"  # the name of the networks `neurona train` builds


@dataclass
class Preprocessing:
    """Everything between CSV text and the network, for one trained model."""

    task: str  # "classification" or "regression"
    target: str
    features: list[str]
    mean: list[float]
    scale: list[float]
    classes: list[str] = field(default_factory=list)
    target_mean: float = 0.0
    target_scale: float = 1.0

    def inputs(self, table: Table) -> np.ndarray:
        """The standardised feature matrix of a table (float32), columns looked up by name."""
        missing = [name for name in self.features if name not in table.header]
        if missing:
            raise CliError(_("{path} lacks the column(s) the model was trained on: {columns}").format(
                path=table.path, columns=", ".join(missing)))
        x = np.column_stack([table.numeric(name) for name in self.features])
        return ((x - np.asarray(self.mean)) / np.asarray(self.scale)).astype(np.float32)

    def to_dict(self) -> dict[str, Any]:
        return {"format": FORMAT, "format_version": VERSION, **asdict(self)}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1) + "\n"

    @classmethod
    def from_json(cls, text: str, source: str) -> Preprocessing:
        try:
            return cls.from_dict(json.loads(text), source)
        except ValueError as e:
            raise CliError(_("{path} is not a valid preprocessing file: {reason}").format(path=source, reason=e)) \
                from None

    @classmethod
    def from_dict(cls, data: Any, source: str) -> Preprocessing:
        try:
            if not isinstance(data, dict):
                raise ValueError("expected a JSON object")
            if data.get("format") != FORMAT:
                raise ValueError(f"format is {data.get('format')!r}, expected {FORMAT!r}")
            kwargs = {k: data[k] for k in ("task", "target", "features", "mean", "scale")}
            kwargs.update({k: data[k] for k in ("classes", "target_mean", "target_scale") if k in data})
            prep = cls(**kwargs)
            if prep.task not in ("classification", "regression") or len(prep.mean) != len(prep.features) or \
                    len(prep.scale) != len(prep.features):
                raise ValueError("inconsistent fields")
            return prep
        except (ValueError, KeyError, TypeError, AttributeError) as e:
            raise CliError(_("{path} is not a valid preprocessing file: {reason}").format(path=source, reason=e)) \
                from None


def sidecar_path(model_path: str | os.PathLike) -> Path:
    """`model.neurona` → `model.preprocessing.json`, in the same folder."""
    p = Path(model_path)
    return p.with_name(p.stem + ".preprocessing.json")


def load_sidecar(model_path: str) -> Preprocessing | None:
    """The preprocessing of an old model file, kept beside it in `model.preprocessing.json`."""
    path = sidecar_path(model_path)
    if not path.is_file():
        return None
    return Preprocessing.from_json(path.read_text(encoding="utf-8"), str(path))


def load_preprocessing(model_path: str, model: Any = None) -> Preprocessing | None:
    """What `neurona train` stored with the model: the archive's preprocessing section, else the old sidecar.

    A model `neurona train` made (named "tabular_mlp") without either raises: predicting on raw, unscaled
    columns would give wrong answers without any sign of it.
    """
    from ..saving.model_io import read_preprocessing

    section = read_preprocessing(model_path)
    if section is not None:
        return Preprocessing.from_dict(section, f"{model_path}: preprocessing")
    prep = load_sidecar(model_path)
    if prep is None and getattr(model, "name", None) == MODEL_NAME:
        raise CliError(_("{path} was trained by 'neurona train' on a table, but its preprocessing (the feature "
                         "columns and their scaling) is missing: copy {sidecar} beside it, or train it again").format(
            path=model_path, sidecar=sidecar_path(model_path).name))
    return prep


def _sort_labels(labels: set[str]) -> list[str]:
    try:
        return sorted(labels, key=float)
    except ValueError:
        return sorted(labels)


def infer_task(values: list[str]) -> str:
    """'classification' for text labels or a few whole numbers (at most 20, fewer than half the rows), else
    'regression'.

    >>> infer_task(["1", "3", "2", "3", "1", "2", "1"]), infer_task(["red", "white"]), infer_task(["0.5", "2.25"])
    ('classification', 'classification', 'regression')
    """
    try:
        numbers = np.array([float(v) for v in values])
    except ValueError:
        return "classification"
    distinct = np.unique(numbers)
    if np.all(distinct == np.round(distinct)) and len(distinct) <= 20 and len(distinct) < len(values) / 2:
        return "classification"
    return "regression"


def feature_names(table: Table, target: str, drop: list[str], features: list[str] | None) -> list[str]:
    """The input columns: those asked for, else every column but the target and the dropped ones."""
    table.index(target)
    for name in drop + (features or []):
        table.index(name)
    chosen = features if features else [h for h in table.header if h != target and h not in drop]
    if target in chosen:
        raise CliError(_("the target column {name!r} cannot also be a feature").format(name=target))
    if not chosen:
        raise CliError(_("{path}: no feature columns are left besides the target {name!r}").format(
            path=table.path, name=target))
    return chosen


def design(table: Table, target: str, task: str | None, drop: list[str], features: list[str] | None
           ) -> tuple[np.ndarray, np.ndarray, Preprocessing]:
    """Raw features (float64), targets (class indices or float64 values) and the preprocessing, not yet fitted."""
    names = feature_names(table, target, drop, features)
    hint = _("; leave a non-numeric column out with --drop COLUMN")
    x = np.column_stack([table.numeric(name, hint) for name in names])
    labels = table.strings(target)
    task = task or infer_task(labels)
    prep = Preprocessing(task, target, names, [0.0] * len(names), [1.0] * len(names))
    if task == "classification":
        prep.classes = _sort_labels(set(labels))
        if len(prep.classes) < 2:
            raise CliError(_("column {name!r} holds a single class ({value!r}): nothing to learn").format(
                name=target, value=prep.classes[0]))
        index = {c: i for i, c in enumerate(prep.classes)}
        y = np.array([index[v] for v in labels], dtype=np.int64)
    else:
        y = table.numeric(target)
    return x, y, prep


def fit_scalers(prep: Preprocessing, x_train: np.ndarray, y_train: np.ndarray) -> None:
    """Means and standard deviations from the training rows only (a constant column is only centred)."""
    mean, std = x_train.mean(axis=0), x_train.std(axis=0)
    prep.mean, prep.scale = mean.tolist(), np.where(std > 0, std, 1.0).tolist()
    if prep.task == "regression":
        prep.target_mean = float(y_train.mean())
        prep.target_scale = float(y_train.std()) or 1.0


def build_model(n_inputs: int, hidden: list[int], activation: str, prep: Preprocessing) -> Any:
    from ..layers import Dense, Input
    from ..models import Sequential

    model = Sequential([Input((n_inputs,))], name=MODEL_NAME)
    for units in hidden:
        model.add(Dense(units, activation=activation))
    if prep.task == "classification":
        model.add(Dense(len(prep.classes), activation="softmax"))
    else:
        model.add(Dense(1))
    return model


def answers(prep: Preprocessing | None, outputs: np.ndarray) -> tuple[list[str], list[list[str]]]:
    """The prediction CSV's header and rows for the network's outputs."""
    if prep is None:
        if outputs.ndim == 2 and outputs.shape[1] > 1:
            return ["prediction"], [[str(int(k))] for k in outputs.argmax(axis=1)]
        return ["prediction"], [[f"{v:.6g}"] for v in outputs.ravel()]
    if prep.task == "classification":
        header = ["prediction"] + [f"probability_{c}" for c in prep.classes]
        rows = [[prep.classes[int(k)]] + [f"{p:.4f}" for p in row] for k, row in zip(outputs.argmax(axis=1), outputs)]
        return header, rows
    values = outputs.ravel() * prep.target_scale + prep.target_mean
    return ["prediction"], [[f"{v:.6g}"] for v in values]
