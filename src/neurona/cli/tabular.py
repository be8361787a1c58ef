"""A table → an MLP: what `neurona train` learns besides the weights, and how `predict` reuses it.

The model file (`model.neurona`) holds the network and, in the "preprocessing" section of its config, what
turns a CSV row into the network's input and its output back into an answer: the feature columns, the fitted
column pipeline (`pipeline.py`: medians, means and scales, categories, missing-value indicators), how the file
was read (--missing, --decimal), the task, the class labels or the target's mean and standard deviation. It is
plain JSON, read without running anything. Files written before
the section existed kept it beside them in `model.preprocessing.json`, which is still read for them.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..i18n import N_, _
from .csv_stream import CsvFile, Table
from .errors import CliError
from .pipeline import Pipeline

FORMAT = "neurona-tabular"
VERSION = 2  # 1: numeric columns standardised (mean, scale); 2: the column pipeline of pipeline.py
MISSING_MODES = ("impute", "drop", "error")
TASKS = (N_("classification"), N_("regression"))  # shown translated
MODEL_NAME = "tabular_mlp"  # the name of the networks `neurona train` builds


@dataclass
class Preprocessing:
    """Everything between CSV text and the network, for one trained model."""

    task: str  # "classification" or "regression"
    target: str
    features: list[str]  # the CSV columns the inputs come from
    pipeline: Pipeline = field(default_factory=Pipeline)
    classes: list[str] = field(default_factory=list)
    target_mean: float = 0.0
    target_scale: float = 1.0
    missing: str = "impute"  # what --missing said: impute, drop or error
    decimal: str = "."

    def read(self, source: CsvFile, decimal: str | None = None, extra: tuple[str, ...] = ()) -> Table:
        """The columns this model needs from a CSV file, each read as the kind it had in training."""
        missing = [name for name in self.features if name not in source.header]
        if missing:
            raise CliError(_("{path} lacks the column(s) the model was trained on: {columns}").format(
                path=source.path, columns=", ".join(missing)))
        wanted = self.features + [c for c in extra if c in source.header and c not in self.features]
        return source.read(wanted, decimal=decimal or self.decimal, text=tuple(self.pipeline.text_columns()),
                           numbers=tuple(self.pipeline.number_columns()))

    def inputs(self, table: Table, rows: np.ndarray | None = None, report: bool = True) -> np.ndarray:
        """The network's input matrix (float32) for `rows` of a table (all by default).

        Missing values are filled in as in training (said on stderr), or refused when the model was trained
        with --missing drop/error; categories not seen in training get all-zero one-hot columns (said too).
        """
        if self.missing != "impute":
            for name in self.features:
                col = table.columns[name]
                gaps = col.missing() if rows is None else col.missing()[rows]
                if gaps.any():
                    line = int(table.lines[np.flatnonzero(gaps)[0] if rows is None else rows[np.argmax(gaps)]])
                    raise CliError(_("{path}, line {line}: column {name!r} has no value, and the model was trained "
                                     "with --missing {mode}, which has nothing to fill it with").format(
                        path=table.path, line=line, name=name, mode=self.missing))
        notes: dict = {}
        x = self.pipeline.transform(table, rows, np.float32, notes)
        if report:
            tell_notes(table, notes, rows)
        return x

    def to_dict(self) -> dict[str, Any]:
        return {"format": FORMAT, "format_version": VERSION, "task": self.task, "target": self.target,
                "features": self.features, "classes": self.classes, "target_mean": self.target_mean,
                "target_scale": self.target_scale, "missing": self.missing, "decimal": self.decimal,
                "pipeline": self.pipeline.to_dict()}

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
            features = [str(f) for f in data["features"]]
            if data.get("format_version", 1) == 1:  # numbers only, standardised: no imputation was learnt
                if len(data["mean"]) != len(features) or len(data["scale"]) != len(features):
                    raise ValueError("inconsistent fields")
                pipeline = Pipeline([{"name": f, "column": f, "kind": "number", "median": float(m), "mean": float(m),
                                      "scale": float(s)} for f, m, s in zip(features, data["mean"], data["scale"])])
                missing = "error"
            else:
                pipeline, missing = Pipeline.from_dict(data["pipeline"]), data.get("missing", "impute")
                if set(pipeline.columns) - set(features):
                    raise ValueError("the pipeline reads columns that are not features")
            prep = cls(data["task"], data["target"], features, Pipeline.from_dict(pipeline.to_dict()),
                       [str(c) for c in data.get("classes", [])], float(data.get("target_mean", 0.0)),
                       float(data.get("target_scale", 1.0)), missing, str(data.get("decimal", ".")))
            if prep.task not in ("classification", "regression") or missing not in MISSING_MODES:
                raise ValueError("inconsistent fields")
            return prep
        except (ValueError, KeyError, TypeError, AttributeError) as e:
            raise CliError(_("{path} is not a valid preprocessing file: {reason}").format(path=source, reason=e)) \
                from None


def tell_notes(table: Table, notes: dict, rows: np.ndarray | None) -> None:
    """Say on stderr which missing values were filled in and which categories were new."""
    for (what, column), (count, first, value) in notes.items():
        line = int(table.lines[first if rows is None else rows[first]])
        if what == "missing":
            message = _("{path}: column {name!r} has {n} missing value(s) (first on line {line}), filled in as in "
                        "training")
            value = ""
        else:
            message = _("{path}: column {name!r} has {n} value(s) not seen in training (such as {value!r} on line "
                        "{line}); their one-hot columns are all zero")
        print(message.format(path=table.path, name=column, n=count, line=line, value=value), file=sys.stderr,
              flush=True)


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


def build_model(n_inputs: int, hidden: list[int], activation: str, prep: Preprocessing) -> Any:
    """The MLP `neurona train` trains: `hidden` layers, then softmax over the classes or one linear unit."""
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
