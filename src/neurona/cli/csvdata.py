"""Reading a CSV file for `neurona train` / `predict` with the csv module and NumPy (no pandas).

Every problem becomes a CliError whose one line names the file, the line and the column, and shows the value:
a missing or empty file, rows with the wrong number of fields, an unknown column, text in a numeric column.
"""

from __future__ import annotations

import csv
import difflib
import os
import re
import sys
from dataclasses import dataclass, field

import numpy as np

from ..i18n import _
from .errors import CliError

MISSING = {"", "na", "n/a", "nan", "null", "none", "?"}


@dataclass
class Table:
    """A CSV file's header and its rows of text cells; `lines[i]` is the file line of `rows[i]`."""

    path: str
    header: list[str]
    rows: list[list[str]]
    lines: list[int] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.rows)

    def index(self, name: str) -> int:
        """The position of column `name`, or a CliError that lists the columns (and the closest name)."""
        if name in self.header:
            return self.header.index(name)
        close = difflib.get_close_matches(name, self.header, n=1)
        hint = _(" (did you mean {name!r}?)").format(name=close[0]) if close else ""
        raise CliError(_("{path}: there is no column {name!r}{hint}; the columns are: {columns}").format(
            path=self.path, name=name, hint=hint, columns=", ".join(self.header)))

    def strings(self, name: str) -> list[str]:
        j = self.index(name)
        return [row[j] for row in self.rows]

    def numeric(self, name: str, hint: str = "") -> np.ndarray:
        """Column `name` as float64, or a CliError naming the first cell that is not a number."""
        j = self.index(name)
        values = np.empty(len(self.rows))
        for i, row in enumerate(self.rows):
            cell = row[j]
            try:
                values[i] = float(cell)
                if not np.isfinite(values[i]):
                    raise ValueError
            except ValueError:
                if cell.strip().lower() in MISSING:
                    message = _("{path}, line {line}: column {name!r} has a missing value ({value!r}); fill it in "
                                "or leave the column out")
                else:
                    message = _("{path}: column {name!r} is not numeric: line {line} holds {value!r}")
                raise CliError(message.format(path=self.path, line=self.lines[i], name=name, value=cell) + hint) \
                    from None
        return values


def _delimiter(first_line: str) -> str:
    counts = {d: first_line.count(d) for d in (",", ";", "\t", "|")}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


def read_csv(path: str) -> Table:
    """Read a CSV file with a header line; the delimiter (, ; tab |) is taken from the header."""
    if not os.path.exists(path):
        raise CliError(_("{path}: no such file").format(path=path))
    if os.path.isdir(path):
        raise CliError(_("{path} is a directory, not a CSV file").format(path=path))
    try:
        with open(path, encoding="utf-8-sig", newline="") as f:
            text = f.read()
    except UnicodeDecodeError as e:
        raise CliError(_("{path} is not UTF-8 text (byte {byte:#04x} at offset {offset})").format(
            path=path, byte=e.object[e.start], offset=e.start)) from None
    except OSError as e:
        raise CliError(f"{path}: {e.strerror}") from None
    if not text.strip():
        raise CliError(_("{path} is empty: a CSV file needs a header line with the column names, then one line "
                         "per example").format(path=path))
    first = text.lstrip("\r\n").splitlines()[0]
    reader = csv.reader(text.splitlines(), delimiter=_delimiter(first))
    header: list[str] | None = None
    first_name = ""
    rows: list[list[str]] = []
    lines: list[int] = []
    try:
        for record in reader:
            if not any(cell.strip() for cell in record):
                continue
            cells = [cell.strip() for cell in record]
            if header is None:
                first_name = cells[0]
                header = [name or f"column_{i + 1}" for i, name in enumerate(cells)]
                for name in header:
                    if header.count(name) > 1:
                        raise CliError(_("{path}: the column name {name!r} appears more than once in the "
                                         "header").format(path=path, name=name))
                continue
            if len(cells) != len(header):
                raise CliError(_("{path}, line {line}: {got} values, but the header has {expected} columns").format(
                    path=path, line=reader.line_num, got=len(cells), expected=len(header)))
            rows.append(cells)
            lines.append(reader.line_num)
    except csv.Error as e:
        raise CliError(f"{path}, line {reader.line_num}: {e}") from None
    if not rows:
        raise CliError(_("{path} has a header but no data lines").format(path=path))
    table = Table(path, header or [], rows, lines)
    if index_column(first_name, [row[0] for row in rows]) and len(table.header) > 1:
        # pandas' to_csv writes the row numbers as a first column without a name (the slides' wine file)
        print(_("{path}: the first column {name!r} holds the row numbers (a saved index), not data; it is left "
                "out").format(path=path, name=table.header[0]), file=sys.stderr, flush=True)
        table.header = table.header[1:]
        table.rows = [row[1:] for row in rows]
    return table


def index_column(name: str, values: list[str]) -> bool:
    """Whether a first column is a saved row index: no name (or pandas' 'Unnamed: 0') and the whole numbers
    0..n-1 or 1..n, in any order (a shuffled frame keeps its index).

    >>> index_column("", ["2", "0", "1"]), index_column("Unnamed: 0", ["1", "2"]), index_column("", ["1", "5"])
    (True, True, False)
    >>> index_column("id", ["0", "1", "2"])
    False
    """
    if name.strip() and not re.fullmatch(r"unnamed: ?\d+", name.strip().lower()):
        return False
    try:
        numbers = sorted(int(v) for v in values)
    except ValueError:
        return False
    return bool(numbers) and numbers[0] in (0, 1) and numbers == list(range(numbers[0], numbers[0] + len(numbers)))


def write_csv(path: str | None, header: list[str], rows: list[list[str]]) -> None:
    """Write a CSV file atomically (stdout when `path` is None or '-')."""
    import io
    import sys

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    if path in (None, "-"):
        sys.stdout.write(buffer.getvalue())
        sys.stdout.flush()
        return
    from ..saving.atomic import write_bytes_atomic

    try:
        write_bytes_atomic(path, buffer.getvalue().encode("utf-8"))
    except OSError as e:
        raise CliError(_("cannot write {path}: {reason}").format(path=path, reason=e.strerror or e)) from None
