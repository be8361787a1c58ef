"""Dataset sources that read from disk as they go: `.npy` shards, CSV files in chunks, a folder of images.

None of them loads the whole data: a pass reads one shard (memory-mapped), one chunk of CSV lines or one image
at a time. Shuffling is by shard (or file) permutation plus a permutation of the rows inside each shard, seeded
per pass like `Dataset.shuffle`, so the same seed gives the same batches in every run; `Dataset.shuffle(n)`
adds a buffered shuffle on top when wanted. Bad input raises an error naming the file; with
`on_error="skip"` the item is skipped instead and each pass ends with a warning counting what was skipped
(`ds.skipped` counts them over all passes so far, also for datasets derived from the source, and `fit` adds
it to its logs as `skipped`).
"""

from __future__ import annotations

import itertools
import os
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

CHUNK_ROWS = 4096


class Skips:
    """What one pass skipped (on_error="skip"), reported at the end of the pass."""

    def __init__(self, what: str, on_error: str) -> None:
        if on_error not in ("raise", "skip"):
            raise ValueError(f"{what}: on_error must be 'raise' or 'skip', got {on_error!r}")
        self.what, self.skip = what, on_error == "skip"
        self.count, self.first = 0, ""
        self.total = 0

    def failed(self, exc: Exception) -> None:
        """Re-raise `exc`, or count it when skipping."""
        if not self.skip:
            raise exc
        self.count += 1
        self.total += 1
        self.first = self.first or str(exc)

    def end_pass(self) -> None:
        if self.count:
            warnings.warn(f"{self.what}: skipped {self.count} item(s) this pass (on_error='skip'); the first: "
                          f"{self.first}", stacklevel=3)
        self.count, self.first = 0, ""


def _rng(seed: int, key: tuple[int, ...]) -> np.random.Generator:
    return np.random.default_rng([seed, *key])


# ---------------------------------------------------------------------------------------------- .npy shards
def _components(files: Any) -> tuple[list[list[str]], Callable[[list[np.ndarray]], Any]]:
    """Shard file lists per component (x files, y files, ...) and how to rebuild the element structure."""
    if isinstance(files, (str, os.PathLike)):
        files = [files]
    if isinstance(files, dict):
        keys = list(files)
        return [[str(f) for f in files[k]] for k in keys], lambda parts: dict(zip(keys, parts))
    if isinstance(files, tuple):
        return [[str(f) for f in comp] for comp in files], tuple
    return [[str(f) for f in files]], lambda parts: parts[0]


def _open_shard(path: str) -> np.ndarray:
    try:
        arr = np.load(path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError) as e:
        raise ValueError(f"cannot read the .npy shard {path!r}: {e}") from None
    if not isinstance(arr, np.ndarray) or arr.ndim == 0:
        raise ValueError(f"the .npy shard {path!r} holds no array with a first (sample) axis")
    return arr


def npy_shards(files: Any, shuffle: bool, seed: int, on_error: str) -> tuple[Callable, int, Skips]:
    """Blocks (one per shard, rows permuted when shuffling), the number of rows, and the skip record."""
    comps, rebuild = _components(files)
    skips = Skips("from_npy_shards", on_error)
    counts = {len(c) for c in comps}
    if len(counts) != 1 or not comps[0]:
        raise ValueError(f"from_npy_shards needs the same (non-zero) number of files per component, got "
                         f"{[len(c) for c in comps]}")
    first = [_open_shard(c[0]) for c in comps]
    spec = [(a.shape[1:], a.dtype) for a in first]
    keep, total = [], 0
    for s in range(len(comps[0])):
        try:
            arrays = [_open_shard(c[s]) for c in comps]
            for (shape, dtype), a, c in zip(spec, arrays, comps):
                if a.shape[1:] != shape or a.dtype != dtype:
                    raise ValueError(f"the .npy shard {c[s]!r} has rows of shape {a.shape[1:]} and dtype {a.dtype}, "
                                     f"but the first shard {c[0]!r} has {shape} and {dtype}: every shard needs the "
                                     f"same columns")
            if len({len(a) for a in arrays}) != 1:
                raise ValueError(f"the shards {[c[s] for c in comps]} have different numbers of rows "
                                 f"{[len(a) for a in arrays]}")
        except ValueError as e:
            skips.failed(e)
            continue
        keep.append(s)
        total += len(arrays[0])
    skips.end_pass()

    def blocks(key: tuple[int, ...]) -> Iterator[Any]:
        rng = _rng(seed, key) if shuffle else None
        order = [keep[i] for i in rng.permutation(len(keep))] if rng is not None else keep
        for s in order:
            try:  # reopened each pass: a shard rewritten or truncated since is noticed
                arrays = [_open_shard(c[s]) for c in comps]
            except ValueError as e:
                skips.failed(e)
                continue
            n = len(arrays[0])
            if rng is not None:
                perm = rng.permutation(n)
                yield rebuild([np.asarray(a[perm]) for a in arrays])  # one shard in memory at a time
                continue
            for start in range(0, n, CHUNK_ROWS):
                yield rebuild([np.array(a[start:start + CHUNK_ROWS]) for a in arrays])
        skips.end_pass()

    return blocks, total, skips


# ---------------------------------------------------------------------------------------------- CSV
def _header(path: str, delimiter: str) -> list[str]:
    with open(path, newline="") as f:
        line = f.readline()
    if not line:
        raise ValueError(f"the CSV file {path!r} is empty (no header line)")
    return [c.strip() for c in line.rstrip("\r\n").split(delimiter)]


def _parse(lines: list[str], delimiter: str, dtype: Any, path: str, first_line: int, skips: Skips) -> np.ndarray:
    try:
        return np.loadtxt(lines, delimiter=delimiter, dtype=dtype, ndmin=2)
    except ValueError:
        pass
    rows = []  # find the bad line(s): name them, or skip them one by one
    for i, line in enumerate(lines):
        try:
            rows.append(np.loadtxt([line], delimiter=delimiter, dtype=dtype, ndmin=2))
        except ValueError as e:
            skips.failed(ValueError(f"{path!r} line {first_line + i}: {e}"))
    width = rows[0].shape[1] if rows else 0
    return np.concatenate(rows) if rows else np.empty((0, width), dtype)


def csv_files(paths: Sequence[str], label: str | None, columns: Sequence[str] | None, shuffle: bool, seed: int,
              delimiter: str, dtype: Any, chunk_rows: int, on_error: str) -> tuple[Callable, int, Skips]:
    """Blocks of parsed rows, `(x, y)` when `label` names a column; the number of data lines; the skip record."""
    skips = Skips("from_csv", on_error)
    names = _header(paths[0], delimiter)
    keep, total = [], 0
    for p in paths:
        try:
            got = _header(p, delimiter)
            if got != names:
                raise ValueError(f"the CSV file {p!r} has the columns {got}, but {paths[0]!r} has {names}: every "
                                 f"file needs the same column set")
        except (OSError, ValueError) as e:
            skips.failed(e if isinstance(e, ValueError) else ValueError(f"cannot read {p!r}: {e}"))
            continue
        keep.append(p)
        with open(p, newline="") as f:
            total += sum(1 for line in f if line.strip()) - 1
    skips.end_pass()
    wanted = list(columns) if columns is not None else [c for c in names if c != label]
    for c in wanted + ([label] if label is not None else []):
        if c not in names:
            raise ValueError(f"from_csv: no column {c!r} in {paths[0]!r}; its columns are {names}")
    x_idx = [names.index(c) for c in wanted]
    y_idx = names.index(label) if label is not None else None

    def blocks(key: tuple[int, ...]) -> Iterator[Any]:
        rng = _rng(seed, key) if shuffle else None
        order = [keep[i] for i in rng.permutation(len(keep))] if rng is not None else keep
        for p in order:
            with open(p, newline="") as f:
                f.readline()
                line_no = 2
                while lines := [ln for ln in itertools.islice(f, chunk_rows) if ln.strip()]:
                    table = _parse(lines, delimiter, dtype, p, line_no, skips)
                    line_no += len(lines)
                    if rng is not None:
                        table = table[rng.permutation(len(table))]
                    x = np.ascontiguousarray(table[:, x_idx])
                    yield x if y_idx is None else (x, np.ascontiguousarray(table[:, y_idx]))
        skips.end_pass()

    return blocks, total, skips


# ---------------------------------------------------------------------------------------------- image folder
def image_folder(root: str, image_size: tuple[int, int], color_mode: str, shuffle: bool, seed: int,
                 on_error: str) -> tuple[Callable, int, Skips, list[str]]:
    """Elements `(image float32 (h, w, c), class index)` from `root/<class>/<file>`; the class names."""
    from ..preprocessing.directory import WHITE_LIST_FORMATS, img_to_array, load_img

    folder = Path(root)
    if not folder.is_dir():
        raise FileNotFoundError(f"from_image_folder: {root} is not a directory")
    classes = sorted(d.name for d in folder.iterdir() if d.is_dir())
    if not classes:
        raise ValueError(f"from_image_folder: {root} has no sub-folders; it expects one per class")
    files = [(str(p), k) for k, c in enumerate(classes) for p in sorted((folder / c).iterdir())
             if p.suffix.lower().lstrip(".") in WHITE_LIST_FORMATS]
    if not files:
        raise ValueError(f"from_image_folder: no image files ({', '.join(WHITE_LIST_FORMATS)}) under {root}")
    skips = Skips("from_image_folder", on_error)

    def elements(key: tuple[int, ...]) -> Iterator[Any]:
        order = _rng(seed, key).permutation(len(files)) if shuffle else range(len(files))
        for i in order:
            path, label = files[i]
            try:
                img = img_to_array(load_img(path, color_mode=color_mode, target_size=image_size))
            except Exception as e:  # Pillow raises many kinds (UnidentifiedImageError, OSError, SyntaxError...)
                skips.failed(ValueError(f"cannot decode the image {path!r}: {type(e).__name__}: {e}"))
                continue
            yield img, np.int64(label)
        skips.end_pass()

    return elements, len(files), skips, classes


__all__ = ["Skips", "csv_files", "image_folder", "npy_shards"]
