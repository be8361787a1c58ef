"""Reading and writing CSV files for `neurona train` / `predict` (no pandas).

Reading streams the file into typed columns (`csv_stream`); every problem becomes a CliError whose one line
names the file, the line and the column, and shows the value.
"""

from __future__ import annotations

import csv

from ..i18n import _
from .csv_stream import MISSING, Column, CsvFile, Table, is_index, read_csv
from .errors import CliError

__all__ = ["MISSING", "Column", "CsvFile", "Table", "index_column", "is_index", "read_csv", "write_csv"]


def index_column(name: str, values: list[str]) -> bool:
    """Whether a first column is a saved row index: no name (or pandas' 'Unnamed: 0') and the whole numbers
    0..n-1 or 1..n, in any order (a shuffled frame keeps its index).

    >>> index_column("", ["2", "0", "1"]), index_column("Unnamed: 0", ["1", "2"]), index_column("", ["1", "5"])
    (True, True, False)
    >>> index_column("id", ["0", "1", "2"])
    False
    """
    import re

    import numpy as np

    if name.strip() and not re.fullmatch(r"unnamed: ?\d+", name.strip().lower()):
        return False
    try:
        numbers = np.array([float(v) for v in values])
    except ValueError:
        return False
    return is_index(Column(name, "number", numbers))


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
