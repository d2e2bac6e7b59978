"""``Results``: the report's tables as DataFrames, and reading them back from a report directory.

``bench.Results`` (``bench.api.Results``) is this class with ``save``: writing the report
needs ``bench.report``, which the tables never import."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from bench.errors import BenchInputError
from bench.tables.schema import ADDED_IN, DTYPES, TABLES, TEXT_COLUMNS


def empty_table(name: str) -> pd.DataFrame:
    """A table with no rows, typed as ``load`` types it (a report made before the table existed)."""
    frame = pd.DataFrame({c: pd.Series(dtype=str if c in TEXT_COLUMNS else "float64") for c in TABLES[name]})
    return frame.astype(DTYPES.get(name, {}))


def _read_table(path: Path, columns: list[str]) -> pd.DataFrame:
    text = [c for c in columns if c in TEXT_COLUMNS]
    return pd.read_csv(
        path,
        dtype={c: str for c in text},
        keep_default_na=False,
        na_values={c: [""] for c in columns if c not in TEXT_COLUMNS},
    )


@dataclass
class Results:
    """A run's tables (the same as the CSV files) and its ``run.json`` dictionary."""

    fits: pd.DataFrame
    coefficients: pd.DataFrame
    predictions: pd.DataFrame
    agreement: pd.DataFrame
    metrics: pd.DataFrame
    calibration: pd.DataFrame
    losses: pd.DataFrame
    effects: pd.DataFrame
    training: pd.DataFrame
    timings: pd.DataFrame = field(default_factory=lambda: empty_table("timings"))  # every timed call
    probes: pd.DataFrame = field(default_factory=lambda: empty_table("probes"))  # each CNN layer, read linearly
    curves: pd.DataFrame = field(default_factory=lambda: empty_table("curves"))  # convergence (the scale suite)
    run_info: dict = field(default_factory=dict)

    @property
    def failed(self) -> pd.DataFrame:
        return self.fits[self.fits["status"] == "failed"]


def load(directory: str | Path, cls: type[Results] = Results) -> Results:
    """Read a report directory written by ``Results.save`` or ``python -m bench run``, as ``cls``."""
    directory = Path(directory)
    if not directory.is_dir():
        raise BenchInputError(f"{directory}: no such report directory")
    tables, absent = {}, []
    for name, columns in TABLES.items():
        path = directory / f"{name}.csv"
        try:
            frame = _read_table(path, columns)
        except FileNotFoundError:
            if name in ADDED_IN:  # fine in a report older than the table; decided below
                absent.append(name)
                continue
            raise BenchInputError(f"{path}: missing; expected a report file") from None
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
            raise BenchInputError(f"{path}: not a readable CSV ({str(exc).strip().splitlines()[0]})") from None
        if list(frame.columns) != columns:
            raise BenchInputError(f"{path}: columns {list(frame.columns)}; expected {columns}")
        try:
            tables[name] = frame.astype(DTYPES.get(name, {}))
        except (TypeError, ValueError) as exc:
            raise BenchInputError(f"{path}: malformed values ({exc})") from None
    try:
        run_info = json.loads((directory / "run.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BenchInputError(f"{directory / 'run.json'}: missing; expected a report file") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BenchInputError(f"{directory / 'run.json'}: not valid JSON ({exc})") from None
    version = run_info.get("report_format_version") if isinstance(run_info, dict) else None
    for name in absent:
        if isinstance(version, int) and version < ADDED_IN[name]:
            tables[name] = empty_table(name)
        else:
            raise BenchInputError(
                f"{directory / f'{name}.csv'}: missing; expected a report file "
                f"(report format {version!r} has it since {ADDED_IN[name]})"
            )
    return cls(**tables, run_info=run_info)
