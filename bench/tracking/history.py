"""The run history: one parquet file of every run's key numbers, and its trend page.

``python -m bench run --out DIR`` appends to ``DIR/../history.parquet`` (so the
default run appends to ``reports/history.parquet``); ``python -m bench history``
draws chosen metrics across runs as a self-contained HTML page.
"""

from __future__ import annotations

import html
from pathlib import Path

import pandas as pd

from bench import files
from bench.errors import BenchInputError

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
    rows = pd.concat([metrics, fits.dropna(subset=["value"])], ignore_index=True)
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


def trend_png(history: pd.DataFrame, metric: str) -> bytes | None:
    from bench.report.plots import PALETTE, new_figure, to_png

    part = history[history["metric"] == metric]
    if part.empty:
        return None
    runs = list(dict.fromkeys(part["started"]))
    position = {r: i for i, r in enumerate(runs)}
    figure = new_figure(7.5, 3.2)
    axes = figure.add_subplot()
    for i, ((dataset, model), line) in enumerate(part.groupby(["dataset", "model"], sort=False)):
        axes.plot(
            [position[r] for r in line["started"]],
            line["value"],
            marker="o",
            ms=3,
            lw=1,
            color=PALETTE[i % len(PALETTE)],
            label=f"{dataset} / {model}",
        )
    if metric.endswith("_seconds"):
        axes.set_yscale("log")
    axes.set_xticks(range(len(runs)), [str(r)[:16] for r in runs], rotation=30, ha="right", fontsize=6)
    axes.set_title(metric, fontsize=9)
    if part[["dataset", "model"]].drop_duplicates().shape[0] <= 16:
        axes.legend(fontsize=5, ncols=2)
    return to_png(figure)


def render_page(history: pd.DataFrame, metrics: tuple[str, ...]) -> str:
    from bench.report.html import CSS, image, table

    known = set(history["metric"])
    unknown = [m for m in metrics if m not in known]
    if unknown:
        raise BenchInputError(f"--metrics: no history of {unknown[0]!r}; expected one of {', '.join(sorted(known))}")
    runs = history.drop_duplicates("started")[
        ["started", "commit", "dirty", "suite", "cpu", "torch", "sklearn", "statsmodels"]
    ]
    body = "".join(f"<h2>{html.escape(m)}</h2>{image(trend_png(history, m), m)}" for m in metrics)
    return (
        "<!DOCTYPE html><html lang=en><head><meta charset=utf-8><title>logitbench history</title>"
        f"<style>{CSS}</style></head><body><main><h1>logitbench history</h1>"
        f"<p class=meta>{len(runs)} runs.</p>{table(runs, verdict_column=None)}{body}</main></body></html>\n"
    )
