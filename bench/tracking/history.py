"""The run history: one parquet file of every run's key numbers, and its trend page.

``python -m bench run --out DIR`` appends to ``DIR/../history.parquet`` (so the
default run appends to ``reports/history.parquet``); ``python -m bench history``
draws chosen metrics across runs as a self-contained HTML page; with ``--regressions`` it
finds the runs where a tracked number stepped up or down for good (``bench.tracking.steps``),
prints them and marks them on the page.
"""

from __future__ import annotations

import html
from pathlib import Path

import pandas as pd

from bench import files
from bench.errors import BenchInputError
from bench.tracking.steps import detect_steps

HISTORY_COLUMNS = [
    "started",
    "commit",
    "dirty",
    "suite",
    "cpu",
    "python",
    "torch",
    "sklearn",
    "statsmodels",
    "dataset",
    "model",
    "metric",
    "value",
]
DEFAULT_METRICS = ("log_loss", "accuracy", "ece", "fit_seconds")
KEPT_METRICS = (
    "log_loss",
    "brier",
    "accuracy",
    "roc_auc",
    "ece",
    "train_images_per_second",
    "inference_images_per_second",
    "coef_max_abs_error_vs_truth",
)
# one run-level row per run (dataset and model ""): run.json's machine-speed measurement, by
# which step detection divides a run's seconds (when every run of the series has one)
SPEED_METRIC = "speed_reference_seconds"
LOWER_IS_BETTER = ("log_loss", "brier", "ece", "coef_max_abs_error_vs_truth", "fit_seconds", "predict_seconds")
HIGHER_IS_BETTER = ("accuracy", "roc_auc", "train_images_per_second", "inference_images_per_second")
STEP_COLUMNS = [
    "metric",
    "dataset",
    "model",
    "run",
    "started",
    "commit",
    "before",
    "after",
    "ratio",
    "normalised",  # seconds divided by each run's speed reference
    "verdict",
]


def summary_rows(results) -> pd.DataFrame:
    """A run's key numbers, tidy: per (dataset, model) its metrics, fit and predict seconds."""
    info = results.run_info
    versions = info.get("versions", {})
    run = {
        "started": info.get("started"),
        "commit": (info.get("git") or {}).get("commit"),
        "dirty": bool((info.get("git") or {}).get("dirty")),
        "suite": info.get("config", {}).get("suite"),
        "cpu": info.get("machine", {}).get("cpu"),
        "python": info.get("machine", {}).get("python"),
        "torch": versions.get("torch"),
        "sklearn": versions.get("scikit-learn"),
        "statsmodels": versions.get("statsmodels"),
    }
    metrics = results.metrics[results.metrics["metric"].isin(KEPT_METRICS)][["dataset", "model", "metric", "value"]]
    fits = results.fits[results.fits["status"] == "ok"].melt(
        id_vars=["dataset", "model"],
        value_vars=["fit_seconds", "predict_seconds"],
        var_name="metric",
        value_name="value",
    )
    speed = info.get(SPEED_METRIC)
    run_level = pd.DataFrame(
        [{"dataset": "", "model": "", "metric": SPEED_METRIC, "value": float(speed)}] if speed else [],
        columns=["dataset", "model", "metric", "value"],
    )
    rows = pd.concat([metrics, fits.dropna(subset=["value"]), run_level], ignore_index=True)
    for key, value in run.items():
        rows[key] = value
    return rows[HISTORY_COLUMNS]


def append(results, path: Path) -> Path:
    """Add this run to the history file (rewritten atomically)."""
    rows = summary_rows(results)
    if path.exists():
        rows = pd.concat([read(path), rows], ignore_index=True)
    files.write_file(path, lambda tmp: rows.to_parquet(tmp, index=False))
    return path


def read(path: Path) -> pd.DataFrame:
    try:
        frame = pd.read_parquet(path)
    except FileNotFoundError:
        raise BenchInputError(f"{path}: no history yet; expected a file written by `python -m bench run`") from None
    except Exception as exc:  # noqa: BLE001 - pyarrow raises several types for a damaged file
        raise BenchInputError(f"{path}: not a readable parquet history ({type(exc).__name__})") from None
    if list(frame.columns) != HISTORY_COLUMNS:
        raise BenchInputError(f"{path}: columns {list(frame.columns)}; expected {HISTORY_COLUMNS}")
    return frame


def find_steps(history: pd.DataFrame, metrics: tuple[str, ...] | None = None) -> pd.DataFrame:
    """Every step in every (dataset, model, metric) series, runs in history order (STEP_COLUMNS).

    ``run`` counts runs from 1 over the whole history; ``before`` and ``after`` are the
    medians of the levels either side (seconds divided by the run's speed reference where every
    run of the series has one); ``ratio`` = after / before; ``verdict`` worse, better or
    moved (a metric with no better direction)."""
    runs = list(dict.fromkeys(history["started"]))
    number = {r: i + 1 for i, r in enumerate(runs)}
    speed = history[history["metric"] == SPEED_METRIC].drop_duplicates("started").set_index("started")["value"]
    tracked = history[history["metric"] != SPEED_METRIC]
    if metrics:
        tracked = tracked[tracked["metric"].isin(metrics)]
    rows = []
    for (metric, dataset, model), part in tracked.groupby(["metric", "dataset", "model"], sort=False):
        part = part.drop_duplicates("started", keep="last")
        values = part["value"].to_numpy(dtype=float)
        normalised = metric.endswith("_seconds") and bool(part["started"].isin(speed.index).all())
        if normalised:
            values = values / speed.loc[part["started"]].to_numpy(dtype=float)
        for step in detect_steps(values):
            at = part.iloc[step.position]
            ratio = step.after / step.before if step.before else float("inf")
            worse = step.after > step.before if metric in LOWER_IS_BETTER else step.after < step.before
            known = metric in LOWER_IS_BETTER or metric in HIGHER_IS_BETTER
            rows.append(
                {
                    "metric": metric,
                    "dataset": dataset,
                    "model": model,
                    "run": number[at["started"]],
                    "started": at["started"],
                    "commit": at["commit"],
                    "before": step.before,
                    "after": step.after,
                    "ratio": ratio,
                    "normalised": normalised,
                    "verdict": ("worse" if worse else "better") if known else "moved",
                }
            )
    return pd.DataFrame(rows, columns=STEP_COLUMNS)


def render_steps_text(steps: pd.DataFrame, n_runs: int) -> str:
    if steps.empty:
        return f"no steps in {n_runs} runs"
    lines = [f"{len(steps)} step(s) in {n_runs} runs (a tracked number that moved for good):"]
    for s in steps.itertuples():
        commit = (s.commit or "no commit")[:12]
        unit = " (seconds / speed reference)" if s.normalised else ""
        lines.append(
            f"  {s.metric} {s.dataset} / {s.model}: {s.before:.4g} -> {s.after:.4g}{unit} (x{s.ratio:.3g}, "
            f"{s.verdict}) at run {s.run}, commit {commit}, {s.started}"
        )
    return "\n".join(lines)


def trend_png(history: pd.DataFrame, metric: str, steps: pd.DataFrame | None = None) -> bytes | None:
    from bench.report.plots import PALETTE, new_figure, to_png

    part = history[history["metric"] == metric]
    if part.empty:
        return None
    runs = list(dict.fromkeys(part["started"]))
    position = {r: i for i, r in enumerate(runs)}
    figure = new_figure(7.5, 3.2)
    axes = figure.add_subplot()
    for i, ((dataset, model), line) in enumerate(part.groupby(["dataset", "model"], sort=False)):
        color = PALETTE[i % len(PALETTE)]
        axes.plot(
            [position[r] for r in line["started"]],
            line["value"],
            marker="o",
            ms=3,
            lw=1,
            color=color,
            label=f"{dataset} / {model}",
        )
        if steps is not None:  # a dashed line just before the first run at the new level
            mine = steps[(steps["metric"] == metric) & (steps["dataset"] == dataset) & (steps["model"] == model)]
            for s in mine.itertuples():
                x = position[s.started] - 0.5
                axes.axvline(x, color=color, ls="--", lw=0.8)
                label = (s.commit or f"run {s.run}")[:7]
                axes.annotate(label, (x, 1), xycoords=("data", "axes fraction"), fontsize=6, color=color, va="top")
    if metric.endswith("_seconds"):
        axes.set_yscale("log")
    axes.set_xticks(range(len(runs)), [str(r)[:16] for r in runs], rotation=30, ha="right", fontsize=6)
    axes.set_title(metric, fontsize=9)
    if part[["dataset", "model"]].drop_duplicates().shape[0] <= 16:
        axes.legend(fontsize=5, ncols=2)
    return to_png(figure)


def render_page(history: pd.DataFrame, metrics: tuple[str, ...], steps: pd.DataFrame | None = None) -> str:
    """The trend page; with ``steps`` (``find_steps``) a table of them, and each marked on its plot."""
    from bench.report.html import CSS, image, table

    known = set(history["metric"])
    unknown = [m for m in metrics if m not in known]
    if unknown:
        raise BenchInputError(f"--metrics: no history of {unknown[0]!r}; expected one of {', '.join(sorted(known))}")
    runs = history.drop_duplicates("started")[
        ["started", "commit", "dirty", "suite", "cpu", "torch", "sklearn", "statsmodels"]
    ]
    body = "".join(f"<h2>{html.escape(m)}</h2>{image(trend_png(history, m, steps), m)}" for m in metrics)
    if steps is not None:
        found = table(steps, verdict_column=None) if len(steps) else "<p>No steps.</p>"
        body = (
            "<h2>Steps</h2><p class=meta>Runs where a tracked number stepped up or down for good (asv's step "
            "detection; seconds divided by each run's speed reference), marked on the plots by a dashed line "
            f"labelled with the commit.</p>{found}{body}"
        )
    return (
        "<!DOCTYPE html><html lang=en><head><meta charset=utf-8><title>logitbench history</title>"
        f"<style>{CSS}</style></head><body><main><h1>logitbench history</h1>"
        f"<p class=meta>{len(runs)} runs.</p>{table(runs, verdict_column=None)}{body}</main></body></html>\n"
    )
