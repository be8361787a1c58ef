"""Streaming a CSV file into typed columns: float64 numbers or int32 category codes, never a list of cells.

`neurona train` used to hold every cell as a Python string (about 15x the file in RAM) and convert them one by
one with `float()`. Here the file is read in chunks of lines; a chunk without quotes, gaps in the numbers or
decimal commas goes through NumPy's C parser (`np.loadtxt`, text dictionary-encoded with `np.unique`), any
other through the `csv` module, and each column's values are copied into one growing typed array. What stays
in memory is the parsed data (8 bytes a number, 4 a category code, 4 for each row's line number) plus one chunk.

A column is *numbers* when at least 90% of its non-missing cells are numbers (the rest, typos such as `12a`,
are counted as bad cells and read as missing), else *text*, dictionary-encoded (codes into `categories`, -1
for missing). A column that turns out to be text after earlier chunks were read as numbers is read again as
text in a second pass over just that column. Whether text means booleans, dates or categories is decided
later, on the distinct values only (`pipeline.text_kind`).
"""

from __future__ import annotations

import csv
import difflib
import os
import re
import sys
import warnings
from dataclasses import dataclass, field
from itertools import islice

import numpy as np

from ..i18n import _
from .csv_sniff import parse_separator, sniff_encoding, sniff_separator
from .errors import CliError

# what pandas reads as missing by default, plus the UCI datasets' '?', compared in lower case
MISSING = frozenset({"", "na", "n/a", "nan", "-nan", "null", "none", "?", "#n/a", "#na", "<na>", "nil"})
NUMERIC_SHARE = 0.9  # a column with at least this share of numbers among its non-missing cells holds numbers
CHUNK_CELLS = 100_000  # cells per chunk: a MB or two of text at a time
MAX_RECORD_LINES = 10_000  # a quoted field longer than this is a stray quote, not a field to complete


@dataclass
class Column:
    """One column's values: numbers (float64, NaN when missing) or text (int32 codes, -1 when missing)."""

    name: str
    kind: str  # "number" or "text"
    values: np.ndarray
    categories: list[str] = field(default_factory=list)
    bad: int = 0  # number columns: cells that were neither numbers nor missing markers (read as missing)
    first_bad: tuple[int, str] | None = None  # (row, cell) of the first of them

    def missing(self) -> np.ndarray:
        return np.isnan(self.values) if self.kind == "number" else self.values < 0


@dataclass
class Table:
    """A CSV file's columns, by name; `lines[i]` is the file line of row i (for messages)."""

    path: str
    header: list[str]
    columns: dict[str, Column]
    lines: np.ndarray
    encoding: str = "utf-8"
    sep: str = ","

    def __len__(self) -> int:
        return len(self.lines)

    def index(self, name: str) -> int:
        """The position of column `name`, or a CliError that lists the columns (and the closest name)."""
        if name in self.header:
            return self.header.index(name)
        raise unknown_column(self.path, name, self.header)

    def column(self, name: str) -> Column:
        self.index(name)
        return self.columns[name]

    def strings(self, name: str) -> list[str]:
        """Column `name` as text ('' where missing)."""
        col = self.column(name)
        if col.kind == "text":
            names = np.array(col.categories + [""], dtype=object)
            return names[col.values].tolist()  # code -1 picks the trailing ''
        return ["" if np.isnan(v) else f"{v:.15g}" for v in col.values]

    def numeric(self, name: str, hint: str = "") -> np.ndarray:
        """Column `name` as float64, or a CliError naming the first cell that is not a number or is missing."""
        col = self.column(name)
        if col.kind == "text":
            row = int(np.argmax(col.values >= 0))
            value = col.categories[col.values[row]] if col.categories else ""
            raise CliError(_("{path}: column {name!r} is not numeric: line {line} holds {value!r}").format(
                path=self.path, name=name, line=int(self.lines[row]), value=value) + hint)
        if col.first_bad is not None:
            row, value = col.first_bad
            raise CliError(_("{path}: column {name!r} is not numeric: line {line} holds {value!r}").format(
                path=self.path, name=name, line=int(self.lines[row]), value=value) + hint)
        gaps = np.flatnonzero(np.isnan(col.values))
        if len(gaps):
            raise CliError(_("{path}, line {line}: column {name!r} has a missing value ({value!r}); fill it in "
                             "or leave the column out").format(path=self.path, line=int(self.lines[gaps[0]]),
                                                               name=name, value="") + hint)
        return col.values


def unknown_column(path: str, name: str, header: list[str]) -> CliError:
    close = difflib.get_close_matches(name, header, n=1)
    hint = _(" (did you mean {name!r}?)").format(name=close[0]) if close else ""
    return CliError(_("{path}: there is no column {name!r}{hint}; the columns are: {columns}").format(
        path=path, name=name, hint=hint, columns=", ".join(header)))


# --- reading -------------------------------------------------------------------------------------------------

class CsvFile:
    """An open CSV file's header; `read()` streams the columns asked for into a Table."""

    def __init__(self, path: str, *, encoding: str | None = None, sep: str | None = None) -> None:
        if not os.path.exists(path):
            raise CliError(_("{path}: no such file").format(path=path))
        if os.path.isdir(path):
            raise CliError(_("{path} is a directory, not a CSV file").format(path=path))
        self.path = path
        try:
            self.encoding = sniff_encoding(path, encoding)
            self._read_header(sep)
        except OSError as e:
            raise CliError(f"{path}: {e.strerror}") from None
        except UnicodeDecodeError as e:  # checked before reading, so only a file changed meanwhile gets here
            raise CliError(_("{path} is not {encoding} text ({reason}); give its encoding with --encoding").format(
                path=path, encoding=self.encoding, reason=e.reason)) from None

    def _read_header(self, sep: str | None) -> None:
        self.header_line = 0
        with open(self.path, encoding=self.encoding, newline="") as f:
            for text in f:
                self.header_line += 1
                if text.strip():
                    break
            else:
                raise CliError(_("{path} is empty: a CSV file needs a header line with the column names, then "
                                 "one line per example").format(path=self.path))
        self.sep = parse_separator(sep) if sep is not None else sniff_separator(text)
        try:
            cells = [c.strip() for c in next(csv.reader([text], delimiter=self.sep))]
        except csv.Error as e:
            raise CliError(f"{self.path}, line {self.header_line}: {e}") from None
        if sep is not None and len(cells) == 1:
            guess = sniff_separator(text)
            raise CliError(_("{path}: --sep {sep!r} finds a single column in the header {line!r}; the header seems "
                             "to be separated by {guess!r}").format(path=self.path, sep=self.sep,
                                                                   line=text.strip()[:80], guess=guess))
        self.first_name = cells[0]
        self.header = [name or f"column_{i + 1}" for i, name in enumerate(cells)]
        for name in self.header:
            if self.header.count(name) > 1:
                raise CliError(_("{path}: the column name {name!r} appears more than once in the header").format(
                    path=self.path, name=name))

    def has_unnamed_first(self) -> bool:
        """Whether the first column has no name (or pandas' 'Unnamed: 0'): perhaps a saved index."""
        name = self.first_name.strip().lower()
        return len(self.header) > 1 and (not name or re.fullmatch(r"unnamed: ?\d+", name) is not None)

    def read(self, usecols: list[str] | None = None, *, decimal: str = ".", text: tuple[str, ...] = (),
             numbers: tuple[str, ...] = (), index: bool = True) -> Table:
        """Columns `usecols` (all by default) as typed arrays; `text`/`numbers` force a column's kind.

        With `index`, an unnamed first column holding the row numbers 0..n-1 or 1..n (in any order: a shuffled
        pandas frame keeps its index) is a saved index, not data: it is left out, with a message.
        """
        if decimal == self.sep:
            raise CliError(_("--decimal {decimal!r} is also the column separator; give the separator with --sep "
                             "(for instance --sep ';')").format(decimal=decimal))
        wanted = list(self.header) if usecols is None else list(usecols)
        for name in wanted:
            if name not in self.header:
                raise unknown_column(self.path, name, self.header)
        check_index = index and self.has_unnamed_first()
        if check_index and self.header[0] not in wanted:
            wanted.insert(0, self.header[0])
        reader = _Reader(self, [self.header.index(n) for n in wanted], decimal,
                         {self.header.index(n) for n in text}, {self.header.index(n) for n in numbers})
        try:
            columns, lines = reader.run()
        except OSError as e:
            raise CliError(f"{self.path}: {e.strerror}") from None
        except UnicodeDecodeError as e:  # checked before reading, so only a file changed meanwhile gets here
            raise CliError(_("{path} is not {encoding} text ({reason}); give its encoding with --encoding").format(
                path=self.path, encoding=self.encoding, reason=e.reason)) from None
        if reader.flipped:  # numbers at first, text later: read those columns again, as text
            again = self.read([self.header[j] for j in reader.flipped], decimal=decimal,
                              text=tuple(self.header[j] for j in reader.flipped), index=False)
            columns.update(again.columns)
        if len(lines) == 0:
            raise CliError(_("{path} has a header but no data lines").format(path=self.path))
        header = [n for n in self.header if n in columns]
        table = Table(self.path, header, {n: columns[n] for n in header}, lines, self.encoding, self.sep)
        first = self.header[0]
        if check_index and first in columns:
            if is_index(columns[first]):
                print(_("{path}: the first column {name!r} holds the row numbers (a saved index), not data; it is "
                        "left out").format(path=self.path, name=first), file=sys.stderr, flush=True)
                table.header.remove(first)
                del table.columns[first]
            elif usecols is not None and first not in usecols:
                table.header.remove(first)
                del table.columns[first]
        return table


def is_index(col: Column) -> bool:
    """Whole numbers 0..n-1 or 1..n, each once, in any order."""
    v = col.values
    if col.kind != "number" or col.bad or len(v) == 0 or np.isnan(v).any() or not np.all(v == np.round(v)):
        return False
    low = v.min()
    if low not in (0, 1) or v.max() != low + len(v) - 1:
        return False
    return bool(np.all(np.bincount((v - low).astype(np.int64)) == 1))


def read_csv(path: str, *, encoding: str | None = None, sep: str | None = None, decimal: str = ".") -> Table:
    """Every column of a CSV file with a header line; the delimiter (, ; tab |) is taken from the header."""
    return CsvFile(path, encoding=encoding, sep=sep).read(decimal=decimal)


class _Growing:
    """A 1-D array filled chunk by chunk, its capacity doubled when full (one column copied at a time)."""

    def __init__(self, dtype: type, capacity: int) -> None:
        self.data = np.empty(max(capacity, 16), dtype)
        self.n = 0

    def extend(self, values: np.ndarray) -> None:
        end = self.n + len(values)
        if end > len(self.data):
            bigger = np.empty(max(end, 2 * len(self.data)), self.data.dtype)
            bigger[:self.n] = self.data[:self.n]
            self.data = bigger
        self.data[self.n:end] = values
        self.n = end

    def finish(self) -> np.ndarray:
        self.data.resize(self.n, refcheck=False)  # gives back the spare capacity without a copy
        return self.data


class _ColumnState:
    def __init__(self, name: str, kind: str, capacity: int) -> None:
        self.name, self.kind, self.capacity = name, kind, capacity
        self.store = _Growing(np.float64 if kind == "number" else np.int32, capacity)
        self.codes: dict[str, int] = {}
        self.categories: list[str] = []
        self.numbers = self.bad = 0
        self.first_bad: tuple[int, str] | None = None
        self.forced = False

    def to_text(self) -> None:
        """Switch a column that has only had missing cells so far to text."""
        n = self.store.n
        self.kind = "text"
        self.store = _Growing(np.int32, self.capacity)
        self.store.extend(np.full(n, -1, np.int32))

    def code(self, cell: str) -> int:
        """The category code of a cell as written (-1 for a missing marker), a new one for a new value."""
        k = self.codes.get(cell)
        if k is None:
            value = cell.strip()
            k = -1 if value.lower() in MISSING else self.codes.get(value)
            if k is None:
                k = self.codes[value] = len(self.categories)
                self.categories.append(value)
            self.codes[cell] = k
        return k

    def encode(self, cells: tuple[str, ...] | np.ndarray) -> None:
        if isinstance(cells, np.ndarray):  # NumPy strings: look up each distinct value once
            distinct, inverse = np.unique(cells, return_inverse=True)
            lut = np.array([self.code(c) for c in distinct.tolist()], dtype=np.int32)
            self.store.extend(lut[inverse.ravel()])
            return
        code, get = self.code, self.codes.get
        self.store.extend(np.array([get(c) if c in self.codes else code(c) for c in cells], dtype=np.int32))


def _numbers(cells: tuple[str, ...], decimal: str) -> tuple[np.ndarray, list[int]]:
    """Cells as float64 (NaN for missing markers) and the positions of cells that are neither."""
    if decimal != ".":
        cells = tuple(c.replace(decimal, ".") for c in cells)
    try:
        values = np.array(cells, dtype=np.float64)
        if not np.isinf(values).any():
            return values, []
    except ValueError:
        pass
    values = np.empty(len(cells))
    bad = []
    for i, cell in enumerate(cells):
        try:
            values[i] = v = float(cell)
            if np.isinf(v):
                raise ValueError
        except ValueError:
            values[i] = np.nan
            if cell.strip().lower() not in MISSING:
                bad.append(i)
    return values, bad


class _Reader:
    """One pass over the data lines, filling the columns `picks` (header positions)."""

    def __init__(self, source: CsvFile, picks: list[int], decimal: str, text: set[int], numbers: set[int]) -> None:
        self.source, self.picks, self.decimal = source, picks, decimal
        self.width = len(source.header)
        self.chunk_rows = max(256, CHUNK_CELLS // self.width)
        self.text, self.numbers = text, numbers
        self.flipped: list[int] = []
        self.states: dict[int, _ColumnState] = {}
        self.lines: _Growing | None = None
        self.rows = 0

    def run(self) -> tuple[dict[str, Column], np.ndarray]:
        source = self.source
        with open(source.path, encoding=source.encoding, newline="") as f:
            line = 0
            for _i in range(source.header_line):
                next(f)
                line += 1
            while True:
                chunk = list(islice(f, self.chunk_rows))
                if not chunk:
                    break
                quotes, extra = sum(t.count('"') for t in chunk), 0
                while quotes % 2 and extra < MAX_RECORD_LINES:  # a quoted field goes on past the chunk
                    more = next(f, None)
                    extra += 1
                    if more is None:
                        break
                    chunk.append(more)
                    quotes += more.count('"')
                if self.lines is None:
                    self._allocate(chunk)
                self._chunk(chunk, line + 1, quotes > 0)
                line += len(chunk)
        lines = self.lines.finish() if self.lines is not None else np.empty(0, np.int32)
        columns = {}
        for j, st in self.states.items():
            if j in self.flipped:
                continue
            col = Column(st.name, st.kind, st.store.finish(), st.categories)
            col.bad, col.first_bad = st.bad, st.first_bad
            columns[st.name] = col
        return columns, lines

    def _allocate(self, chunk: list[str]) -> None:
        """Capacity for the whole file, estimated from the first chunk's bytes per line (grown if short)."""
        size = os.path.getsize(self.source.path)
        per_line = max(1.0, sum(len(t) for t in chunk) / len(chunk))
        capacity = int(size / per_line * 1.05) + 16
        self.lines = _Growing(np.int32, capacity)
        for j in self.picks:
            kind = "text" if j in self.text else "number"
            st = self.states[j] = _ColumnState(self.source.header[j], kind, capacity)
            st.forced = j in self.text or j in self.numbers

    def _chunk(self, chunk: list[str], first_line: int, quoted: bool) -> None:
        if quoted or not self._fast(chunk, first_line):
            self._general(chunk, first_line)

    def _fast(self, chunk: list[str], first_line: int) -> bool:
        """NumPy's C parser, for chunks of plain numbers and text (no quotes, every line complete, no gaps in
        the numbers); anything else is left to `_general`."""
        live = [j for j in self.picks if j not in self.flipped]
        numeric = [j for j in live if self.states[j].kind == "number"]
        text = [j for j in live if self.states[j].kind == "text"]
        sep, width = self.source.sep, self.width - 1
        blank = sep + " \t\r\n"
        if self.decimal != "." or any(t.count(sep) != width or not t.strip(blank) for t in chunk):
            return False
        try:
            with warnings.catch_warnings():  # "input contained no data": left to the csv module
                warnings.simplefilter("ignore", UserWarning)
                options = {"delimiter": sep, "comments": None, "ndmin": 2, "quotechar": None}
                block = np.loadtxt(chunk, usecols=numeric, dtype=np.float64, **options) if numeric else None
                words = np.loadtxt(chunk, usecols=text, dtype=str, **options) if text else None
        except ValueError:
            return False
        if any(a is not None and len(a) != len(chunk) for a in (block, words)) or \
                (block is not None and np.isinf(block).any()):
            return False
        for k, j in enumerate(numeric):
            st = self.states[j]
            st.store.extend(block[:, k])
            st.numbers += len(block)
        for k, j in enumerate(text):
            self.states[j].encode(words[:, k])
        self.lines.extend(np.arange(first_line, first_line + len(chunk), dtype=np.int32))
        self.rows += len(chunk)
        return True

    def _general(self, chunk: list[str], first_line: int) -> None:
        """The csv module: quotes, missing cells, text; blank lines skipped, ragged lines refused."""
        reader = csv.reader(chunk, delimiter=self.source.sep)
        rows, lines = [], []
        try:
            for record in reader:
                if len(record) != self.width or not any(record):
                    if not any(cell.strip() for cell in record):
                        continue
                    if len(record) != self.width:
                        raise CliError(_("{path}, line {line}: {got} values, but the header has {expected} "
                                         "columns").format(path=self.source.path, line=first_line + reader.line_num - 1,
                                                           got=len(record), expected=self.width))
                rows.append(record)
                lines.append(first_line + reader.line_num - 1)
        except csv.Error as e:
            raise CliError(f"{self.source.path}, line {first_line + reader.line_num - 1}: {e}") from None
        if not rows:
            return
        cells = list(zip(*rows))
        del rows
        for j in self.picks:
            if j not in self.flipped:
                self._column(self.states[j], j, cells[j], lines)
        self.lines.extend(np.array(lines, dtype=np.int32))
        self.rows += len(lines)

    def _column(self, st: _ColumnState, j: int, cells: tuple[str, ...], lines: list[int]) -> None:
        if st.kind == "text":
            st.encode(cells)
            return
        values, bad = _numbers(cells, self.decimal)
        if bad and not st.forced:
            numbers = len(values) - int(np.isnan(values).sum())
            if st.bad + len(bad) > (1 - NUMERIC_SHARE) * (st.numbers + numbers + st.bad + len(bad)):
                if st.numbers == 0 and st.bad == 0:
                    st.to_text()
                    st.encode(cells)
                else:
                    self.flipped.append(j)
                return
        if bad and st.first_bad is None:
            st.first_bad = (self.rows + bad[0], cells[bad[0]].strip())
        st.bad += len(bad)
        st.numbers += len(values) - int(np.isnan(values).sum())
        st.store.extend(values)
