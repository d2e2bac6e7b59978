"""The pieces a report is made of, and the parts of it that are not sections.

``Text``, ``Heading``, ``Table``, ``Figure`` and ``Code`` are the blocks ``bench.report.sections``
fills and ``bench.report.html`` / ``bench.report.markdown`` render; ``format_value`` is how
both write a number; ``INTRO``, ``run_line`` and ``summary`` are the top of both pages.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd

from bench.tables.verdicts import agreement_with_verdict, summarize


@dataclass(frozen=True)
class Text:
    text: str


@dataclass(frozen=True)
class Heading:
    text: str


@dataclass(frozen=True)
class Table:
    frame: pd.DataFrame
    verdict_column: str | None = "verdict"  # its cells are coloured by value in HTML
    collapsed: bool = False  # HTML folds it under a "table" toggle (a figure shows the same numbers)


@dataclass(frozen=True)
class Figure:
    draw: Callable[[], bytes | None]  # drawn only by the HTML renderer; None: nothing to draw
    alt: str
    title: str = ""  # a heading shown with the figure, and only when there is one
    file: str = ""  # also written beside the report under this name, and shown in report.md from there


@dataclass(frozen=True)
class Code:
    text: str


@dataclass
class Section:
    anchor: str
    title: str
    blocks: list = field(default_factory=list)


SUMMARY_LABELS = {"pass": "pass", "FAIL": "FAIL", "none": "no check", "separated": "separated"}


def format_value(value) -> str:
    """One cell as text: blank for missing, yes/no, 6 significant digits, 3 in scientific notation
    below 1e-3 or from 1e6."""
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if value == 0:
            return "0"
        return f"{value:.3e}" if abs(value) < 1e-3 or abs(value) >= 1e6 else f"{value:.6g}"
    return str(value)


# --- the top of the report ----------------------------------------------------------------

INTRO = (
    "A neural network's output before its last activation is a vector of logits: the linear predictor "
    "η = Xβ of a logistic regression. Here scikit-learn, statsmodels and torch fit the same data, and the "
    "report shows, with numbers, that they agree; the seed CNN's last layer is refit as a logistic regression "
    "on its own features."
)


def run_line(info: dict) -> str:
    """Suite, seed, repeats, threads, times, commit, machine and versions, in one sentence."""
    config, machine, git = info.get("config", {}), info.get("machine", {}), info.get("git", {})
    versions = ", ".join(f"{k} {v}" for k, v in info.get("versions", {}).items() if v)
    commit = (git.get("commit") or "unknown")[:12] + (" (uncommitted changes)" if git.get("dirty") else "")
    return (
        f"Suite {config.get('suite')}, seed {info.get('seed')}, {config.get('repeats')} timed repeats per fit after "
        f"one warm-up, {config.get('threads')} thread(s) per fit. {info.get('started')} → {info.get('finished')}. "
        f"Commit {commit}. {machine.get('cpu')}, {machine.get('cores')} cores, Python {machine.get('python')}. "
        f"{versions}."
    )


def summary(results) -> tuple[list, str]:
    """(one DatasetSummary per dataset, a line on failed cells or "")."""
    verdicts = agreement_with_verdict(results.agreement, results.run_info.get("inexact", []))
    failed = results.fits[results.fits["status"] == "failed"]
    return summarize(results, verdicts), (f"{len(failed)} cell(s) failed; see Fits and runtime." if len(failed) else "")
