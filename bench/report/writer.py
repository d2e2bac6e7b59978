"""Writes a run's files. Computes nothing: every number comes from ``Results``.

The directory is written next to its final place and moved in with ``os.replace``,
so a reader never sees half a report and a failed write leaves the old one intact.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench.errors import BenchInputError
from bench.files import naming, replace_directory
from bench.report.blocks import Figure, draw_all
from bench.report.html import render_html
from bench.report.markdown import render_markdown
from bench.report.sections import sections
from bench.tables.schema import TABLES


def _write_files(results, directory: Path, jobs: int = 1) -> None:
    parts = sections(results)  # decided once; each figure is drawn once (Figure.png)
    figures = [block for section in parts for block in section.blocks if isinstance(block, Figure)]
    # the figures are drawn (in ``jobs`` workers) while this process writes the tables and report.md,
    # which only names them; index.html waits for them
    with ThreadPoolExecutor(max_workers=1) as pool:
        drawing = pool.submit(draw_all, figures, jobs)
        for name in TABLES:
            frame = getattr(results, name)
            with naming(directory / f"{name}.csv"):
                frame.to_csv(directory / f"{name}.csv", index=False, float_format="%.17g")
            with naming(directory / f"{name}.parquet"):
                frame.to_parquet(directory / f"{name}.parquet", index=False)  # the same table, typed
        _write_text(directory / "run.json", json.dumps(results.run_info, indent=2, default=str) + "\n")
        _write_text(directory / "report.md", render_markdown(results, parts))
        drawing.result()
    _write_text(directory / "index.html", render_html(results, parts))
    for figure in figures:  # those with a file are shown by report.md (index.html inlines every one)
        if figure.file and figure.png() is not None:
            with naming(directory / figure.file):
                (directory / figure.file).write_bytes(figure.png())


def _write_text(path: Path, content: str) -> None:
    with naming(path):
        path.write_text(content, encoding="utf-8")


def check_out(out: Path, option: str = "--out") -> None:
    """Refuse an output path that holds something other than a previous report: the
    report replaces ``out`` whole, and must never delete a user's file or folder."""
    out = Path(out)
    if not out.exists():
        return
    if not out.is_dir():
        raise BenchInputError(f"{option} {out}: is a file; expected a new directory or a previous report")
    if not (out / "run.json").is_file() and any(out.iterdir()):
        raise BenchInputError(
            f"{option} {out}: a folder that is not a logitbench report (no run.json); expected a new directory "
            "or a previous report (it would be replaced)"
        )


def write_report(results, out: Path, jobs: int = 1) -> Path:
    """Write ``results`` to ``out`` (created or replaced whole), the figures drawn in ``jobs``
    worker processes. Returns ``out``."""
    check_out(out)
    return replace_directory(out, lambda staging: _write_files(results, staging, jobs))
