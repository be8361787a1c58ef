"""A Dataset source for Parquet files, read row group by row group through pyarrow (optional: the `parquet`
extra). Shuffling permutes the row groups of all files together and the rows inside each group, seeded per
pass like the other sources (`sources.py`), so the same seed gives the same batches. A file with another column
set, one that cannot be read, or a row group with missing values raises naming the file; with
`on_error="skip"` it is skipped and counted (`Skips`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from .sources import CHUNK_ROWS, Skips, _rng


def _pyarrow() -> Any:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise ImportError("Dataset.from_parquet needs pyarrow, an optional dependency: "
                          "pip install 'neurona[parquet]' (or pip install pyarrow)") from None
    return pq


def _open(pq: Any, path: str) -> Any:
    try:
        return pq.ParquetFile(path)
    except Exception as e:  # pyarrow raises ArrowInvalid, OSError, FileNotFoundError...
        raise ValueError(f"cannot read the Parquet file {path!r}: {type(e).__name__}: {e}") from None


def _to_numpy(table: Any, names: list[str], dtype: Any, path: str, group: int) -> np.ndarray:
    """Columns `names` of a pyarrow table as one (rows, len(names)) array of `dtype`, column by column."""
    out = np.empty((table.num_rows, len(names)), dtype)
    for j, name in enumerate(names):
        col = table.column(name)
        if col.null_count:
            raise ValueError(f"the Parquet file {path!r} has {col.null_count} missing value(s) in column {name!r} "
                             f"(row group {group}); impute or drop them")
        try:
            out[:, j] = col.to_numpy()
        except (TypeError, ValueError) as e:
            raise ValueError(f"the Parquet file {path!r}: column {name!r} ({col.type}) is not numbers: {e}") from None
    return out


def parquet_files(paths: Sequence[str], label: str | None, columns: Sequence[str] | None, shuffle: bool, seed: int,
                  dtype: Any, chunk_rows: int, on_error: str) -> tuple[Callable, int, Skips]:
    """Blocks of rows (`(x, y)` when `label` names a column), the number of rows, and the skip record."""
    pq = _pyarrow()
    skips = Skips("from_parquet", on_error)
    names = _open(pq, paths[0]).schema_arrow.names
    units: list[tuple[str, int]] = []  # (file, row group): the unit of shuffling
    total = 0
    for p in paths:
        try:
            f = _open(pq, p)
            got = f.schema_arrow.names
            if got != names:
                raise ValueError(f"the Parquet file {p!r} has the columns {got}, but {paths[0]!r} has {names}: "
                                 f"every file needs the same column set")
        except ValueError as e:
            skips.failed(e)
            continue
        units += [(p, g) for g in range(f.num_row_groups)]
        total += f.metadata.num_rows
    skips.end_pass()
    wanted = list(columns) if columns is not None else [c for c in names if c != label]
    for c in wanted + ([label] if label is not None else []):
        if c not in names:
            raise ValueError(f"from_parquet: no column {c!r} in {paths[0]!r}; its columns are {names}")
    read = wanted + ([label] if label is not None and label not in wanted else [])

    def block(table: Any, path: str, group: int, perm: np.ndarray | None) -> Any:
        x = _to_numpy(table, wanted, dtype, path, group)
        y = None
        if label is not None:
            col = table.column(label)
            if col.null_count:
                raise ValueError(f"the Parquet file {path!r} has {col.null_count} missing label(s) in column "
                                 f"{label!r} (row group {group})")
            y = col.to_numpy()
        if perm is not None:
            x = x[perm]
            y = None if y is None else y[perm]
        return x if y is None else (x, np.ascontiguousarray(y))

    def blocks(key: tuple[int, ...]) -> Iterator[Any]:
        rng = _rng(seed, key) if shuffle else None
        order = [units[i] for i in rng.permutation(len(units))] if rng is not None else units
        files: dict[str, Any] = {}
        for path, g in order:
            try:  # reopened each pass: a file rewritten since is read as it is now
                f = files.get(path) or files.setdefault(path, _open(pq, path))
                if rng is not None:  # one row group in memory, its rows permuted
                    table = f.read_row_group(g, columns=read)
                    out = block(table, path, g, rng.permutation(table.num_rows))
                    yield out
                    continue
                for batch in f.iter_batches(batch_size=chunk_rows, row_groups=[g], columns=read):
                    yield block(batch, path, g, None)
            except ValueError as e:
                skips.failed(e)
                continue
            except OSError as e:
                skips.failed(ValueError(f"cannot read row group {g} of the Parquet file {path!r}: {e}"))
        skips.end_pass()

    return blocks, total, skips


__all__ = ["CHUNK_ROWS", "parquet_files"]
