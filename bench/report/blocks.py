"""The pieces a report is made of, and the parts of it that are not sections.

``Text``, ``Heading``, ``Table``, ``Figure`` and ``Code`` are the blocks ``bench.report.sections``
fills and ``bench.report.html`` / ``bench.report.markdown`` render; ``format_value`` is how
both write a number; ``INTRO``, ``run_line`` and ``summary`` are the top of both pages.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd

from bench.tables.probes import probe_datasets
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
    _png: list = field(default_factory=list, repr=False, compare=False)  # the drawing, once drawn

    def png(self) -> bytes | None:
        """The figure's PNG, drawn on first use (the page inlines it and ``file`` repeats it)."""
        if not self._png:
            self._png.append(self.draw())
        return self._png[0]


def draw_all(figures: list[Figure], jobs: int = 1) -> None:
    """Draw every figure not drawn yet, in ``jobs`` worker processes when more than one (joblib's
    loky executor: after ``-j N`` the run's own workers, still up, with bench imported). Each
    ``draw`` is a plot function with its own rows (a ``partial``), so what is sent is small."""
    todo = [figure for figure in figures if not figure._png]
    if jobs > 1 and len(todo) > 1:
        from joblib import Parallel, delayed

        drawn = Parallel(n_jobs=jobs, backend="loky")(delayed(figure.draw)() for figure in todo)
        for figure, png in zip(todo, drawn):
            figure._png.append(png)
    for figure in todo:
        figure.png()


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


def _adaptive(info: dict) -> str:
    budget = info.get("adaptive_repeats")
    if not budget:
        return ""
    return (
        f" (a fast fit or predict more: until its calls add up to {budget['budget_seconds']:g} s, "
        f"{budget['max_repeats']} calls at most; every call is in `timings.csv`)"
    )


def _workers(config: dict) -> str:
    jobs = config.get("jobs") or 1
    return f", {jobs} worker processes" if jobs > 1 else ""


def run_line(info: dict) -> str:
    """Suite, seed, repeats, threads, times, commit, machine and versions, in one sentence."""
    config, machine, git = info.get("config", {}), info.get("machine", {}), info.get("git", {})
    versions = ", ".join(f"{k} {v}" for k, v in info.get("versions", {}).items() if v)
    commit = (git.get("commit") or "unknown")[:12] + (" (uncommitted changes)" if git.get("dirty") else "")
    return (
        f"Suite {config.get('suite')}, seed {info.get('seed')}, {config.get('repeats')} timed repeats per fit after "
        f"one warm-up{_adaptive(info)}, {config.get('threads')} thread(s) per fit{_workers(config)}. "
        f"{info.get('started')} → {info.get('finished')}. "
        f"Commit {commit}. {machine.get('cpu')}, {machine.get('cores')} cores, Python {machine.get('python')}. "
        f"{versions}."
    )


def summary(results) -> tuple[list, str]:
    """(one DatasetSummary per dataset but the probes, which have their own section, where their
    failed cells are listed too; a line on failed cells or "")."""
    main = without_probes(results)
    verdicts = agreement_with_verdict(main.agreement, main.run_info.get("inexact", []))
    failed = main.fits[main.fits["status"] == "failed"]
    return summarize(main, verdicts), (f"{len(failed)} cell(s) failed; see Fits and runtime." if len(failed) else "")


def without_probes(results):
    """``results`` without the probe datasets: every other section shows the run's own datasets."""
    names = set(probe_datasets(results.run_info.get("datasets", {})))
    if not names:
        return results
    tables = {
        f.name: getattr(results, f.name)[~getattr(results, f.name)["dataset"].isin(names)]
        for f in dataclasses.fields(results)
        if isinstance(getattr(results, f.name), pd.DataFrame)
        and "dataset" in getattr(results, f.name).columns
        and f.name != "probes"
    }
    info = dict(results.run_info, datasets={k: v for k, v in results.run_info["datasets"].items() if k not in names})
    return dataclasses.replace(results, **tables, run_info=info)
