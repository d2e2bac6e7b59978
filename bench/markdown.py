"""``report.md``: the run rendered as Markdown tables a person reads top to bottom."""

from __future__ import annotations

import math

import pandas as pd

from bench.summary import agreement_with_verdict, summarize
from bench.report_sections import (
    calibration_section,
    escape,
    cnn_section,
    last_layer_section,
    losses_section,
    truth_section,
)


def _cell(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if value == 0:
            return "0"
        return f"{value:.3e}" if abs(value) < 1e-3 or abs(value) >= 1e6 else f"{value:.6g}"
    return escape(str(value)).replace("|", "\\|").replace("\n", " ")



def table(frame: pd.DataFrame, index: bool = False) -> str:
    if index:
        frame = frame.reset_index()
    header = [str(c) for c in frame.columns]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for row in frame.itertuples(index=False):
        lines.append("| " + " | ".join(_cell(v) for v in row) + " |")
    return "\n".join(lines)


def _summary(results, verdicts: pd.DataFrame) -> list[str]:
    lines = []
    for entry in summarize(results, verdicts):
        lines.append(f"- **{escape(entry.dataset)}**: {escape(entry.text)}")
        lines += [f"  - {escape(note)}" for note in entry.notes]
    return lines


def render_markdown(results) -> str:
    info = results.run_info
    config, machine, versions = info.get("config", {}), info.get("machine", {}), info.get("versions", {})
    git = info.get("git", {})
    verdicts = agreement_with_verdict(results.agreement, info.get("inexact", []))
    out = [
        "# logitbench report",
        "",
        "A neural network's output before its final activation is a vector of *logits*: the linear "
        "predictor η = Xβ of a logistic regression. A one-layer torch network trained with "
        "cross-entropy **is** logistic regression, so it must agree with scikit-learn and statsmodels "
        "to optimiser tolerance. This report checks that, with numbers.",
        "",
        f"Suite `{config.get('suite')}`, seed {info.get('seed')}, {config.get('repeats')} timed repeats per fit "
        f"after one warm-up, {config.get('threads')} thread(s) per fit. Started {info.get('started')}, "
        f"finished {info.get('finished')}. Commit `{(git.get('commit') or 'unknown')[:12]}`"
        f"{' (with uncommitted changes)' if git.get('dirty') else ''}. Machine: {machine.get('cpu')}, "
        f"{machine.get('cores')} cores, Python {machine.get('python')}. "
        + ", ".join(f"{k} {v}" for k, v in versions.items() if v),
        "",
        "## Summary",
        "",
        *_summary(results, verdicts),
        "",
        "## Datasets",
        "",
        table(pd.DataFrame(info.get("datasets", {}).values()).drop(columns=["description"], errors="ignore")),
        "",
        "## Fits",
        "",
        "Times are the minimum over the timed repeats (wall clock, `perf_counter`); the median is in "
        "`metrics.csv`. `loglik` is the training log-likelihood at the fitted parameters (unpenalised).",
        "",
    ]
    fits = results.fits.copy()
    solvers = info.get("solvers", {})
    fits["solver"] = [solvers.get(f"{d}/{m}", "") for d, m in zip(fits["dataset"], fits["model"])]
    fits["fit_ms"] = fits.pop("fit_seconds") * 1e3
    fits["predict_ms"] = fits.pop("predict_seconds") * 1e3
    out += [table(fits[["dataset", "model", "status", "solver", "n_iter", "converged", "loglik", "fit_ms", "predict_ms", "message"]]), ""]

    out += ["## Coefficients", "", "Log-odds scale; `truth` is the generating model of a synthetic dataset. "
            "Columns ending in SE are standard errors (unpenalised fits only).", ""]
    for dataset, part in results.coefficients.groupby("dataset", sort=False):
        wide = part.pivot_table(index="term", columns="model", values="estimate", sort=False)
        errors = part.pivot_table(index="term", columns="model", values="std_error", sort=False)
        for model in errors.columns:
            wide[f"{model} SE"] = errors[model]
        out += [f"### {escape(dataset)}", "", table(wide, index=True), ""]

    out += [
        "## Agreement",
        "",
        "Every pair of models; `max_abs_diff` = max |a − b| over aligned entries, `rel_diff` = that over "
        "the larger of max |a| and max |b|. The tolerance is absolute. Pairs with a model that does not solve "
        "the convex objective exactly (the CNN, fc3 as trained) are `compared`, not judged.",
        "",
        table(verdicts),
        "",
        "## Metrics (test set)",
        "",
    ]
    core = ["log_loss", "brier", "accuracy", "roc_auc", "fit_seconds_median", "predict_seconds_median"]
    for dataset, part in results.metrics[results.metrics["metric"].isin(core)].groupby("dataset", sort=False):
        wide = part.pivot_table(index="model", columns="metric", values="value", sort=False)
        out += [f"### {escape(dataset)}", "", table(wide[[c for c in core if c in wide.columns]], index=True), ""]
    for section in (cnn_section, last_layer_section, losses_section, calibration_section, truth_section):
        out += section(results, table)
    out += [
        "## Conventions",
        "",
        "- Binary models report class 1: `logit` = log-odds of y = 1, `proba` = sigmoid(logit).",
        "- L2 means scikit-learn's objective C·Σ log-loss + ½‖w‖², intercept unpenalised. torch minimises "
        "mean BCE + λ/2‖w‖² with λ = 1/(C·n); statsmodels maximises loglike − ‖w‖²/(2C). Same optimum.",
        "- Unpenalised fits are maximum likelihood (scikit-learn `C = inf`).",
        "",
    ]
    return "\n".join(out)
