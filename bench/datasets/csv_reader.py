"""Turning a table (a package's data or a user's CSV) into validated X, y arrays."""

from __future__ import annotations

import csv
import warnings
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

from bench.errors import BenchInputError, first_line

MAX_COLUMNS = 100_000  # pandas needs ~30 s to parse a million columns; a model would need far more


def _header(path: Path) -> list[str]:
    """The header row as written (pandas renames duplicates to 'x.1', hiding them)."""
    with open(path, newline="", encoding="utf-8") as handle:
        first = handle.readline(64 * 1024 * 1024)
    return next(csv.reader([first]), [])


def read_csv(path: Path) -> pd.DataFrame:
    """Read a user's CSV, turning every way it can fail into one clear line."""
    try:
        exists, is_dir = path.exists(), path.is_dir()
    except (OSError, ValueError) as exc:  # a name too long for the file system, a NUL byte
        raise BenchInputError(f"{str(path)[:80]}...: not a usable file name ({type(exc).__name__})") from None
    if not exists:
        raise BenchInputError(f"{path}: file not found; expected a CSV file with a header row")
    if is_dir:
        raise BenchInputError(f"{path}: is a directory; expected a CSV file")
    try:
        header = _header(path)
    except UnicodeDecodeError as exc:
        raise BenchInputError(f"{path}: not a readable CSV (not UTF-8 text: {exc.reason})") from None
    except OSError as exc:
        raise BenchInputError(f"{path}: cannot be read ({exc.strerror or type(exc).__name__})") from None
    if len(header) > MAX_COLUMNS:
        raise BenchInputError(f"{path}: {len(header):,} columns; expected at most {MAX_COLUMNS:,}")
    duplicated = [name for name, count in Counter(header).items() if count > 1]
    if duplicated:
        raise BenchInputError(f"{path}: duplicate column name {duplicated[0]!r}; expected unique names")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", pd.errors.ParserWarning)
            # index_col=False: a row with more fields than the header is an error, never an index
            frame = pd.read_csv(path, index_col=False)
    except pd.errors.EmptyDataError:
        raise BenchInputError(f"{path}: the file is empty; expected a header row and data rows") from None
    except (pd.errors.ParserError, pd.errors.ParserWarning, UnicodeDecodeError, ValueError) as exc:
        raise BenchInputError(f"{path}: not a readable CSV ({first_line(exc)})") from None
    if frame.empty:
        raise BenchInputError(f"{path}: has a header but no data rows")
    return frame


def to_arrays(
    frame: pd.DataFrame, target: str, features: tuple[str, ...] | None, where: str, n_classes: int = 2
) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """Select the target and features; insist on finite numbers and a 0/1 target
    (0..n_classes-1 for a multiclass target, already coded by ``code_classes``).

    Returns X of shape (n_samples, n_features), y of shape (n_samples,), names.
    """
    columns = [str(c) for c in frame.columns]
    duplicated = sorted(c for c, count in Counter(columns).items() if count > 1)
    if duplicated:
        raise BenchInputError(f"{where}: duplicate column name {duplicated[0]!r}; expected unique names")
    frame = frame.set_axis(columns, axis=1)
    if target not in frame.columns:
        raise BenchInputError(
            f"{where}: no target column {target!r}; columns are {', '.join(columns[:10])}"
            + (" ..." if len(columns) > 10 else "")
        )
    if features is None:
        features = tuple(c for c in columns if c != target)
    missing = [f for f in features if f not in frame.columns]
    if missing:
        raise BenchInputError(f"{where}: no feature column {missing[0]!r}")
    if target in features:
        raise BenchInputError(f"{where}: the target {target!r} is also listed as a feature")
    if not features:
        raise BenchInputError(f"{where}: no feature columns besides the target {target!r}")

    for column in (target, *features):
        values = frame[column]
        if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
            numeric = pd.to_numeric(values, errors="coerce")
            bad = values[numeric.isna() & values.notna()]
            if len(bad):
                row = bad.index[0]
                raise BenchInputError(
                    f"{where}: column {column!r} row {row + 1} holds {str(bad.iloc[0])!r}; expected a number"
                )
    data = frame[[target, *features]].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float64)
    finite = np.isfinite(data)
    if not finite.all():
        row, col = np.argwhere(~finite)[0]
        name = (target, *features)[col]
        raise BenchInputError(
            f"{where}: column {name!r} row {row + 1} is {data[row, col]} (missing or infinite); "
            "expected a finite number"
        )
    y = data[:, 0]
    if n_classes > 2:
        return data[:, 1:], y, tuple(features)
    labels = set(np.unique(y).tolist())
    if not labels <= {0.0, 1.0}:
        odd = sorted(labels - {0.0, 1.0})[0]
        raise BenchInputError(f"{where}: target {target!r} holds {odd:g}; expected only 0 and 1")
    if len(labels) < 2:
        raise BenchInputError(f"{where}: target {target!r} has only the value {labels.pop():g}; expected both 0 and 1")
    return data[:, 1:], y, tuple(features)
