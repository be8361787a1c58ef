"""pandas DataFrames as model inputs, gathered per batch, column by column.

`np.asarray(df)` on a frame with mixed dtypes (int64 and float64 columns, say) builds a whole new array of
the table on every fit/evaluate/predict call. `FrameColumns` keeps one 1-D array per column instead (a view of
pandas's own block for numpy-backed columns, the Arrow array for pyarrow-backed ones) and writes each batch's
rows straight into the reused batch buffer, column by column, converting to the model's dtype there: the
same values as `df.to_numpy(dtype=float32)`, in O(batch). pandas is optional: nothing here imports it.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def is_frame(x: Any) -> bool:
    """A pandas DataFrame (duck-typed by module, so pandas need not be installed)."""
    return type(x).__name__ == "DataFrame" and type(x).__module__.split(".")[0] == "pandas"


class _Flags:
    c_contiguous = False
    f_contiguous = False


class FrameColumns:
    """A 2-D (rows, columns) view of a DataFrame's numeric columns that can gather rows into a buffer."""

    flags = _Flags()
    base = None

    def __init__(self, cols: list[Any], names: list[str], dtypes: list[np.dtype], where: str) -> None:
        self.cols, self.names, self.dtypes, self.where = cols, names, dtypes, where
        self.n = len(cols[0]) if cols else 0
        self.dtype = np.result_type(*dtypes) if dtypes else np.dtype(np.float64)
        self.shape = (self.n, len(cols))
        self.ndim = 2
        self.size = self.n * len(cols)
        self.nbytes = sum(d.itemsize for d in dtypes) * self.n

    @staticmethod
    def of(df: Any, name: str) -> FrameColumns:
        """The frame's columns as arrays (no copy for numpy-backed columns); non-numeric ones are refused."""
        cols, names, dtypes = [], [], []
        for j, label in enumerate(df.columns):
            series = df.iloc[:, j]
            arrow = getattr(series.array, "__arrow_array__", None)
            if arrow is not None and "pyarrow" in str(series.dtype):
                chunked = arrow()
                if chunked.null_count:
                    raise ValueError(f"{name}: column {label!r} has {chunked.null_count} missing value(s); "
                                     f"impute or drop them before training")
                col: Any = chunked
                dtype = np.dtype(chunked.type.to_pandas_dtype())
            else:
                try:
                    col = series.to_numpy(copy=False)
                except (TypeError, ValueError) as e:  # nullable dtypes holding NA
                    raise ValueError(f"{name}: column {label!r} ({series.dtype}) cannot be read as numbers: {e}") \
                        from None
                dtype = col.dtype
            if dtype.kind not in "biuf":
                raise TypeError(f"{name}: column {label!r} has dtype {series.dtype}, not numbers; encode it "
                                f"(e.g. pd.get_dummies or .cat.codes) or drop it before training")
            cols.append(col)
            names.append(str(label))
            dtypes.append(dtype)
        if not cols:
            raise ValueError(f"{name} is a DataFrame without columns")
        return FrameColumns(cols, names, dtypes, name)

    def __len__(self) -> int:
        return self.n

    @staticmethod
    def _rows(col: Any, idx: Any) -> np.ndarray:
        if isinstance(col, np.ndarray):
            return col[idx]
        if isinstance(idx, slice):
            start, stop, _ = idx.indices(len(col))
            return col.slice(start, stop - start).to_numpy()
        return col.take(idx).to_numpy()

    def take_into(self, idx: Any, out: np.ndarray) -> np.ndarray:
        """Rows `idx` (an index array or a slice) written into `out`, converted to its dtype per column."""
        for j, col in enumerate(self.cols):
            out[:, j] = self._rows(col, idx)
        return out

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, slice):  # a slice stays a FrameColumns (views of the columns), as ndarray slices do
            start, stop, step = key.indices(self.n)
            if step == 1:
                cols = [c[start:stop] if isinstance(c, np.ndarray) else c.slice(start, max(0, stop - start))
                        for c in self.cols]
                return FrameColumns(cols, self.names, self.dtypes, self.where)
        idx = np.arange(self.n)[key] if isinstance(key, slice) else key
        rows = np.asarray(idx)
        out = np.empty((rows.size if rows.ndim else 1, len(self.cols)), self.dtype)
        self.take_into(rows.reshape(-1), out)
        return out if rows.ndim else out[0]

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        out = np.empty(self.shape, self.dtype if dtype is None else dtype)
        return self.take_into(slice(0, self.n), out)

    def astype(self, dtype: Any) -> np.ndarray:
        return self.__array__(dtype)

    def check_finite(self, dtype: Any = None) -> None:
        """Raise naming the column and row of the first NaN/inf (or value too big for `dtype`), chunk by chunk."""
        limit = np.finfo(dtype).max if dtype is not None and np.dtype(dtype).kind == "f" else None
        for j, (col, d) in enumerate(zip(self.cols, self.dtypes)):
            if d.kind != "f":
                continue
            for start in range(0, self.n, 1 << 20):
                part = self._rows(col, slice(start, min(self.n, start + (1 << 20))))
                bad = ~np.isfinite(part)
                if limit is not None and d.itemsize > np.dtype(dtype).itemsize:
                    with np.errstate(invalid="ignore"):
                        bad |= np.abs(part) > limit
                if bad.any():
                    i = int(np.argmax(bad))
                    raise ValueError(f"{self.where}: column {self.names[j]!r} holds {part[i]} at row {start + i} "
                                     f"(NaN, infinite or too big for {dtype}); remove or impute it before training")


__all__ = ["FrameColumns", "is_frame"]
