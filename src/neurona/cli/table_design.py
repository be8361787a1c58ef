"""From a CSV file to training, validation and test matrices for `neurona train`, holding about 2x the data.

The file is streamed into typed columns (`csv_stream`); the rows are split by index (no copy of the table);
the column pipeline (`pipeline`) learns from the training rows only and writes each split straight into a
float32 matrix; the table is then let go before training starts.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass

import numpy as np

from ..i18n import _
from .csv_stream import Column, CsvFile, Table, unknown_column
from .errors import CliError
from .pipeline import Pipeline, text_kind
from .tabular import Preprocessing

MIN_ROWS = 10
_DECIMAL_COMMA = r"[-+]?\d{1,3}(\.\d{3})*,\d+|[-+]?\d+,\d+"


@dataclass
class Design:
    """The table, the rows kept (those with a target, and without gaps under --missing drop), their targets."""

    table: Table
    rows: np.ndarray
    y: np.ndarray
    prep: Preprocessing


@dataclass
class Splits:
    """The network's inputs (float32, already transformed) and targets for each part of the data."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    rows: tuple[np.ndarray, np.ndarray, np.ndarray] = ()  # the table rows of each part (for checks)


def feature_names(source: CsvFile, target: str, drop: list[str], features: list[str] | None) -> list[str]:
    """The input columns: those asked for, else every column but the target and the dropped ones."""
    for name in [target] + drop + (features or []):
        if name not in source.header:
            raise unknown_column(source.path, name, source.header)
    chosen = features if features else [h for h in source.header if h != target and h not in drop]
    if target in chosen:
        raise CliError(_("the target column {name!r} cannot also be a feature").format(name=target))
    if not chosen:
        raise CliError(_("{path}: no feature columns are left besides the target {name!r}").format(
            path=source.path, name=target))
    return chosen


def sort_labels(labels: list[str]) -> list[str]:
    try:
        return sorted(labels, key=float)
    except ValueError:
        return sorted(labels)


def infer_task(col: Column) -> str:
    """'classification' for text labels or a few whole numbers (at most 20, fewer than half the rows), else
    'regression'."""
    if col.kind == "text":
        return "classification"
    values = col.values[~np.isnan(col.values)]
    distinct = np.unique(values)
    if np.all(distinct == np.round(distinct)) and len(distinct) <= 20 and len(distinct) < len(values) / 2:
        return "classification"
    return "regression"


def _label(v: float) -> str:
    return str(int(v)) if v == int(v) else f"{v:.15g}"


def targets(table: Table, target: str, task: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """The rows that have a target, their targets (class indices or float64 values) and the class labels."""
    col = table.columns[target]
    has = ~col.missing()
    rows = np.flatnonzero(has)
    if len(rows) < len(table):
        print(_("{path}: {n} row(s) have no value in the target column {name!r} (first on line {line}); they are "
                "left out").format(path=table.path, n=len(table) - len(rows), name=target,
                                   line=int(table.lines[np.argmin(has)])), file=sys.stderr, flush=True)
    if task == "regression":
        if col.kind == "text" or col.first_bad is not None:
            table.numeric(target)  # raises, naming the first cell that is not a number
        return rows, col.values[rows], []
    if col.kind == "text":
        codes = col.values[rows]
        present = np.flatnonzero(np.bincount(codes, minlength=len(col.categories)))
        classes = sort_labels([col.categories[k] for k in present])
        lut = np.full(len(col.categories), -1, np.int64)
        lut[present] = [classes.index(col.categories[k]) for k in present]
        y = lut[codes]
    else:
        values = col.values[rows]
        distinct = np.unique(values)
        classes = [_label(v) for v in distinct]
        y = np.searchsorted(distinct, values).astype(np.int64)
    if len(classes) < 2:
        raise CliError(_("column {name!r} holds a single class ({value!r}): nothing to learn").format(
            name=target, value=classes[0] if classes else ""))
    return rows, y, classes


def _check_columns(table: Table, names: list[str], explicit: bool, missing: str, decimal: str) -> list[str]:
    """Refuse or report what is wrong with the feature columns; leave out identifier-like text columns."""
    kept = []
    for name in names:
        col = table.columns[name]
        present = int((~col.missing()).sum())
        if col.kind == "text" and decimal == ".":
            import re

            shown = col.categories[:200]
            commas = [c for c in shown if re.fullmatch(_DECIMAL_COMMA, c)]
            if shown and len(commas) >= 0.9 * len(shown):
                raise CliError(_("{path}: column {name!r} holds numbers with a decimal comma (such as {value!r}): "
                                 "add --decimal , (or leave the column out with --drop {name})").format(
                    path=table.path, name=name, value=commas[0]))
        if col.first_bad is not None:
            row, value = col.first_bad
            if missing == "error":
                raise CliError(_("{path}: column {name!r} is not numeric: line {line} holds {value!r}").format(
                    path=table.path, name=name, line=int(table.lines[row]), value=value)
                    + _(" (--missing error; --missing impute reads such cells as missing)"))
            print(_("{path}: column {name!r} holds numbers, but {n} cell(s) are not (such as {value!r} on line "
                    "{line}); they are read as missing").format(path=table.path, name=name, n=col.bad, value=value,
                                                                 line=int(table.lines[row])),
                  file=sys.stderr, flush=True)
        if present == 0:
            print(_("{path}: column {name!r} is empty; it is left out").format(path=table.path, name=name),
                  file=sys.stderr, flush=True)
            continue
        if col.kind == "text" and not explicit and len(col.categories) > max(20, present / 2) and \
                text_kind(col.categories) == "category":
            print(_("{path}: column {name!r} has {k} different texts in {n} rows, an identifier rather than a "
                    "category; it is left out (--keep it to one-hot encode it anyway)").format(
                path=table.path, name=name, k=len(col.categories), n=present), file=sys.stderr, flush=True)
            continue
        kept.append(name)
    return kept


def _apply_missing(table: Table, names: list[str], rows: np.ndarray, missing: str) -> np.ndarray:
    """--missing error: refuse the first gap; drop: keep only complete rows; impute: keep every row."""
    if missing == "impute":
        return rows
    gaps = np.zeros(len(rows), bool)
    for name in names:
        col_gaps = table.columns[name].missing()[rows]
        if missing == "error" and col_gaps.any():
            line = int(table.lines[rows[np.argmax(col_gaps)]])
            raise CliError(_("{path}, line {line}: column {name!r} has a missing value; fill it in, leave the "
                             "column out, or use --missing impute or --missing drop").format(
                path=table.path, line=line, name=name))
        gaps |= col_gaps
    if gaps.any():
        print(_("{path}: {n} row(s) with missing values are left out (--missing drop)").format(
            path=table.path, n=int(gaps.sum())), file=sys.stderr, flush=True)
    return rows[~gaps]


def load(args: argparse.Namespace) -> Design:
    """Read the columns training needs, decide the task and the kinds of the columns, apply --missing."""
    source = CsvFile(args.data, encoding=getattr(args, "encoding", None), sep=getattr(args, "sep", None))
    drop = [c for part in args.drop or [] for c in part.split(",") if c]  # --drop A --drop B,C
    features = [c for part in args.features or [] for c in part.split(",") if c] or None
    names = feature_names(source, args.target, drop, features)
    decimal = getattr(args, "decimal", ".")
    table = source.read(names + [args.target], decimal=decimal)
    names = [n for n in names if n in table.columns]  # without a saved index column
    missing = getattr(args, "missing", "impute")
    names = _check_columns(table, names, features is not None, missing, decimal)
    if not names:
        raise CliError(_("{path}: no feature columns are left besides the target {name!r}").format(
            path=args.data, name=args.target))
    task = args.task or infer_task(table.columns[args.target])
    rows, y, classes = targets(table, args.target, task)
    kept = _apply_missing(table, names, rows, missing)
    if len(kept) < len(rows):
        y = y[np.isin(rows, kept)]
    if len(kept) < MIN_ROWS:
        raise CliError(_("{path} has {n} data lines; training needs at least {min}").format(
            path=args.data, n=len(kept), min=MIN_ROWS))
    prep = Preprocessing(task, args.target, names, Pipeline.plan(table, names), classes, missing=missing,
                         decimal=decimal)
    return Design(table, kept, y, prep)


def _split(rows: np.ndarray, y: np.ndarray, size: float, stratify: bool, seed: int) -> list[np.ndarray]:
    from ..preprocessing import train_test_split

    if stratify and np.bincount(y).min() >= 2:
        return train_test_split(rows, y, test_size=size, stratify=y, seed=seed)
    return train_test_split(rows, y, test_size=size, seed=seed)


def split_and_fit(args: argparse.Namespace, design: Design) -> Splits:
    """Test, validation and training rows; the pipeline (and the target's scaler) learn from the training rows
    only; each part becomes a float32 matrix."""
    prep = design.prep
    classify = prep.task == "classification"
    if classify:
        y_codes = design.y
        if np.bincount(y_codes, minlength=len(prep.classes)).min() == 0:
            seen = np.unique(y_codes)
            prep.classes = [prep.classes[k] for k in seen]
            design.y = np.searchsorted(seen, y_codes)
    rows_rest, rows_test, y_rest, y_test = _split(design.rows, design.y, args.test_size, classify, args.seed)
    rows_train, rows_val, y_train, y_val = _split(rows_rest, y_rest, args.val_size, classify, args.seed + 1)
    for name in prep.pipeline.fit(design.table, rows_train):
        print(_("{path}: {name!r} has no value in any training row; it is left out").format(
            path=args.data, name=name), file=sys.stderr, flush=True)
    if prep.pipeline.width == 0:
        raise CliError(_("{path}: no feature columns are left besides the target {name!r}").format(
            path=args.data, name=prep.target))
    if not classify:
        prep.target_mean = float(y_train.mean())
        prep.target_scale = float(y_train.std()) or 1.0

    def ys(y: np.ndarray) -> np.ndarray:
        return y if classify else ((y - prep.target_mean) / prep.target_scale).astype(np.float32)[:, None]

    return Splits(prep.inputs(design.table, rows_train, report=False), ys(y_train),
                  prep.inputs(design.table, rows_val, report=False), ys(y_val),
                  prep.inputs(design.table, rows_test, report=False), y_test, (rows_train, rows_val, rows_test))


def describe_columns(prep: Preprocessing) -> str:
    """One line: how many columns of each kind became how many network inputs."""
    kinds = [f["kind"] for f in prep.pipeline.numbers]
    parts = [_("{n} numeric").format(n=kinds.count("number"))]
    if "boolean" in kinds:
        parts.append(_("{n} yes/no").format(n=kinds.count("boolean")))
    if "date" in kinds:
        parts.append(_("{n} date (days, month, weekday)").format(n=kinds.count("date") // 3))
    if prep.pipeline.categories:
        parts.append(_("{n} categorical ({detail})").format(n=len(prep.pipeline.categories), detail=", ".join(
            f"{c['column']}: {len(c['categories'])}" for c in prep.pipeline.categories)))
    text = _("columns: {parts}; {k} network inputs").format(parts=", ".join(parts), k=prep.pipeline.width)
    if prep.pipeline.indicators:
        text += _(" (with {n} missing-value indicator(s))").format(n=len(prep.pipeline.indicators))
    return text
