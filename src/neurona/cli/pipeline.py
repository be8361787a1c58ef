"""A table's columns → the network's input matrix, as scikit-learn's ColumnTransformer would make it, in NumPy.

The same result as

    ColumnTransformer([
        ("numbers", Pipeline([("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler())]), numbers),
        ("categories", Pipeline([("impute", SimpleImputer(strategy="most_frequent")),
                                 ("one_hot", OneHotEncoder(handle_unknown="ignore"))]), categories),
        ("missing", MissingIndicator(error_on_new=False), numbers + categories)])

fitted on the training rows, where `numbers` are the numeric columns, the yes/no columns as 0/1 and three
numbers for each date column (days since 1970-01-01, month 1-12, day of the week 0 = Monday), and `categories`
the other text columns. Everything it learns is plain JSON (`to_dict`), stored in the model file's config and
read back without running anything: scikit-learn is not needed, and nothing is pickled.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .csv_stream import Column, Table

TRUE = frozenset({"true", "yes", "y", "t", "si", "sí"})
FALSE = frozenset({"false", "no", "n", "f"})
_DATE = re.compile(r"(\d{4})[-/](\d{1,2})[-/](\d{1,2})(?:[T ](\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?Z?")
DATE_PARTS = ("days", "month", "weekday")
_EPOCH = dt.datetime(1970, 1, 1)


def parse_date(text: str) -> dt.datetime | None:
    """An ISO date (2024-03-15, 2024/03/15, with an optional time), or None.

    >>> parse_date("2024-03-15 10:30"), parse_date("15/03/2024")
    (datetime.datetime(2024, 3, 15, 10, 30), None)
    """
    match = _DATE.fullmatch(text.strip())
    if not match:
        return None
    try:
        return dt.datetime(*(int(g) for g in match.groups() if g is not None))
    except ValueError:
        return None


def date_features(text: str) -> tuple[float, float, float]:
    """(days since 1970-01-01 with the time as a fraction, month, day of the week 0 = Monday); NaN if not a date."""
    when = parse_date(text)
    if when is None:
        return (np.nan, np.nan, np.nan)
    return ((when - _EPOCH).total_seconds() / 86400.0, float(when.month), float(when.weekday()))


def text_kind(categories: list[str]) -> str:
    """What the distinct values of a text column are: 'boolean', 'date' or 'category'."""
    lower = {c.lower() for c in categories}
    if lower and lower <= TRUE | FALSE:
        return "boolean"
    if categories and all(parse_date(c) is not None for c in categories):
        return "date"
    return "category"


def _lookup(col: Column, value_of: Any) -> np.ndarray:
    """An array indexed by `col`'s codes (code -1, missing, picks the trailing NaN) giving value_of(category)."""
    return np.array([value_of(c) for c in col.categories] + [np.nan], dtype=np.float64)


@dataclass
class Pipeline:
    """The fitted transformation; `numbers` and `categories` are lists of JSON-able dicts (see `to_dict`)."""

    numbers: list[dict[str, Any]] = field(default_factory=list)
    categories: list[dict[str, Any]] = field(default_factory=list)
    indicators: list[str] = field(default_factory=list)

    @classmethod
    def plan(cls, table: Table, names: list[str]) -> Pipeline:
        """The features of columns `names`, by kind, not yet fitted."""
        pipe = cls()
        for name in names:
            col = table.columns[name]
            kind = "number" if col.kind == "number" else text_kind(col.categories)
            if kind == "date":
                pipe.numbers += [{"name": f"{name}.{part}", "column": name, "kind": "date", "part": part}
                                 for part in DATE_PARTS]
            elif kind == "category":
                pipe.categories.append({"column": name})
            else:
                pipe.numbers.append({"name": name, "column": name, "kind": kind})
        return pipe

    @property
    def columns(self) -> list[str]:
        """The table columns it reads, in order."""
        seen = [f["column"] for f in self.numbers] + [c["column"] for c in self.categories]
        return list(dict.fromkeys(seen))

    def text_columns(self) -> list[str]:
        return [f["column"] for f in self.numbers if f["kind"] != "number"] + [c["column"] for c in self.categories]

    def number_columns(self) -> list[str]:
        return [f["column"] for f in self.numbers if f["kind"] == "number"]

    @property
    def width(self) -> int:
        """How many inputs the network gets."""
        return len(self.numbers) + sum(len(c["categories"]) for c in self.categories) + len(self.indicators)

    def output_names(self) -> list[str]:
        return ([f["name"] for f in self.numbers] + [f"{c['column']}={v}" for c in self.categories
                                                     for v in c["categories"]]
                + [f"missing({name})" for name in self.indicators])

    def values(self, table: Table, feature: dict[str, Any], rows: np.ndarray | None = None) -> np.ndarray:
        """One numeric feature as float64 (NaN when missing or unreadable), for `rows` (all by default)."""
        col = table.columns[feature["column"]]
        codes = col.values if rows is None else col.values[rows]
        if feature["kind"] == "number":
            if col.kind != "number":  # predict on a file where the column is text: nothing usable
                return np.full(len(codes), np.nan)
            return codes.astype(np.float64, copy=rows is None)
        if col.kind != "text":
            return np.full(len(codes), np.nan)
        if feature["kind"] == "boolean":
            lut = _lookup(col, lambda c: 1.0 if c.lower() in TRUE else 0.0 if c.lower() in FALSE else np.nan)
        else:
            lut = _lookup(col, lambda c: date_features(c)[DATE_PARTS.index(feature["part"])])
        return lut[codes]

    def categories_of(self, table: Table, spec: dict[str, Any], rows: np.ndarray | None = None,
                      fitted: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """A category column as indices into the fitted categories (-1 missing, -2 not seen in training)."""
        col = table.columns[spec["column"]]
        codes = col.values if rows is None else col.values[rows]
        if col.kind != "text":  # the column came as numbers in this file: its text as written
            names = np.array([f"{v:.15g}" for v in codes], dtype=object)
            mine = {c: i for i, c in enumerate(spec.get("categories", []))}
            out = np.array([-1 if np.isnan(v) else mine.get(s, -2) for v, s in zip(codes, names)], dtype=np.int64)
            return out, names
        if not fitted:
            return codes, np.array(col.categories, dtype=object)
        mine = {c: i for i, c in enumerate(spec["categories"])}
        lut = np.array([mine.get(c, -2) for c in col.categories] + [-1], dtype=np.int64)
        return lut[codes], np.array(col.categories + [""], dtype=object)

    def fit(self, table: Table, rows: np.ndarray) -> list[str]:
        """Learn medians, means, scales, categories and which features get an indicator from `rows`.

        Returns the names of features left out because every training row misses them (as SimpleImputer does).
        """
        empty = []
        indicators = []
        kept = []
        for feature in self.numbers:
            v = self.values(table, feature, rows)
            missing = np.isnan(v)
            if missing.all():
                empty.append(feature["name"])
                continue
            median = float(np.median(v[~missing]))
            filled = np.where(missing, median, v)
            mean, std = float(filled.mean()), float(filled.std())
            feature.update(median=median, mean=mean, scale=std if std > 0 else 1.0)
            kept.append(feature)
            if missing.any():
                indicators.append(feature["name"])
        self.numbers = kept
        kept_categories = []
        for spec in self.categories:
            codes, names = self.categories_of(table, spec, rows, fitted=False)
            present = codes[codes >= 0]
            if len(present) == 0:
                empty.append(spec["column"])
                continue
            counts = np.bincount(present, minlength=len(names))
            seen = sorted(names[k] for k in np.flatnonzero(counts))
            by_name = {names[k]: int(counts[k]) for k in np.flatnonzero(counts)}
            best = max(by_name[c] for c in seen)
            spec.update(categories=seen, most_frequent=next(c for c in seen if by_name[c] == best))  # ties: first
            kept_categories.append(spec)
            if (codes < 0).any():
                indicators.append(spec["column"])
        self.categories = kept_categories
        self.indicators = indicators
        return empty

    def transform(self, table: Table, rows: np.ndarray | None = None, dtype: Any = np.float32,
                  notes: dict[str, Any] | None = None) -> np.ndarray:
        """The input matrix for `rows` (all by default). `notes`, when given, collects for each column the
        missing values filled in and the categories not seen in training: {column: [count, row, value]}."""
        n = len(table) if rows is None else len(rows)
        out = np.zeros((n, self.width), dtype=dtype)
        missing_of: dict[str, np.ndarray] = {}
        for k, feature in enumerate(self.numbers):
            v = self.values(table, feature, rows)
            missing = np.isnan(v)
            if missing.any():
                v[missing] = feature["median"]
                missing_of[feature["name"]] = missing
                _note(notes, ("missing", feature["column"]), missing, None)
            out[:, k] = (v - feature["mean"]) / feature["scale"]
        offset = len(self.numbers)
        for spec in self.categories:
            index, names = self.categories_of(table, spec, rows)
            missing, unseen = index == -1, index == -2
            if missing.any():
                missing_of[spec["column"]] = missing
                index = np.where(missing, spec["categories"].index(spec["most_frequent"]), index)
                _note(notes, ("missing", spec["column"]), missing, None)
            if unseen.any():  # OneHotEncoder(handle_unknown="ignore"): a row of zeros
                col = table.columns[spec["column"]]
                codes = col.values if rows is None else col.values[rows]
                _note(notes, ("unseen", spec["column"]), unseen, names[codes] if col.kind == "text" else names)
            hit = np.flatnonzero(index >= 0)
            out[hit, offset + index[hit]] = 1
            offset += len(spec["categories"])
        for k, name in enumerate(self.indicators):
            if name in missing_of:
                out[:, offset + k] = missing_of[name]
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"numbers": self.numbers, "categories": self.categories, "indicators": self.indicators}

    @classmethod
    def from_dict(cls, data: Any) -> Pipeline:
        if not isinstance(data, dict):
            raise ValueError("the pipeline must be a JSON object")
        pipe = cls(list(data["numbers"]), list(data["categories"]), [str(n) for n in data["indicators"]])
        for f in pipe.numbers:
            if not isinstance(f, dict) or f.get("kind") not in ("number", "boolean", "date") or \
                    not all(isinstance(f.get(k), (int, float)) for k in ("median", "mean", "scale")) or \
                    not isinstance(f.get("column"), str) or f["scale"] == 0:
                raise ValueError(f"bad numeric feature {f!r}"[:200])
            if f["kind"] == "date" and f.get("part") not in DATE_PARTS:
                raise ValueError(f"bad date part in {f!r}"[:200])
        for c in pipe.categories:
            if not isinstance(c, dict) or not isinstance(c.get("column"), str) or \
                    not isinstance(c.get("categories"), list) or c.get("most_frequent") not in c["categories"]:
                raise ValueError(f"bad categorical column {c!r}"[:200])
        names = {f["name"] for f in pipe.numbers} | {c["column"] for c in pipe.categories}
        if not set(pipe.indicators) <= names:
            raise ValueError("an indicator names no feature")
        return pipe


def _note(notes: dict[Any, Any] | None, key: tuple[str, str], mask: np.ndarray, values: Any) -> None:
    if notes is None:
        return
    first = int(np.argmax(mask))
    entry = notes.setdefault(key, [0, first, None if values is None else str(values[first])])
    entry[0] += int(mask.sum())
