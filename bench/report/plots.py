"""Figures for index.html, as PNG bytes. matplotlib's object API, no pyplot state.

Each function takes the report's DataFrames (never raw model output) and returns
PNG bytes, or None when there is nothing to draw. Matplotlib because it is already
what scikit-learn and statsmodels users read, renders without a browser or a
JavaScript runtime, and inlines as a few tens of kilobytes per figure.
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd

from bench.tables.schema import TRUTH

DPI = 90
PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf"]


def new_figure(width: float, height: float, layout: str | None = "constrained"):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=DPI, layout=layout)


def to_png(figure) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def colors(models: list[str]) -> dict[str, str]:
    return {
        m: ("black" if m == TRUTH else PALETTE[i % len(PALETTE)]) for i, m in enumerate(m for m in models if m != TRUTH)
    } | {TRUTH: "black"}


def coefficient_dots(coefficients: pd.DataFrame, dataset: str, max_terms: int = 30) -> bytes | None:
    """Each term's estimate per model (±1.96 SE where known), the truth as a black cross.
    With more than ``max_terms`` terms, the ones with the largest |estimate| (the table has all)."""
    part = coefficients[coefficients["dataset"] == dataset]
    if part.empty:
        return None
    terms = list(dict.fromkeys(part["term"]))
    if len(terms) > max_terms:
        largest = part.assign(size=part["estimate"].abs()).groupby("term")["size"].max()
        keep = set(largest.nlargest(max_terms).index)
        terms = [t for t in terms if t in keep]
    models = list(dict.fromkeys(part["model"]))
    palette = colors(models)
    figure = new_figure(7.5, 1.2 + 0.22 * len(terms))
    axes = figure.add_subplot()
    y_of = {t: i for i, t in enumerate(terms)}
    offsets = np.linspace(-0.3, 0.3, len(models)) if len(models) > 1 else [0.0]
    for offset, model in zip(offsets, models):
        rows = part[(part["model"] == model) & part["term"].isin(terms)]
        y = np.array([y_of[t] for t in rows["term"]]) + offset
        se = rows["std_error"].to_numpy(dtype=float)
        marker, size = ("x", 60) if model == TRUTH else ("o", 22)
        axes.scatter(rows["estimate"], y, s=size, marker=marker, color=palette[model], label=model, zorder=3)
        if np.isfinite(se).any():
            axes.errorbar(rows["estimate"], y, xerr=1.96 * np.nan_to_num(se), fmt="none", ecolor=palette[model], lw=1)
    axes.axvline(0.0, color="0.6", lw=0.8)
    axes.set_yticks(range(len(terms)), terms, fontsize=7)
    axes.invert_yaxis()
    axes.set_xlabel("coefficient (log-odds scale)")
    axes.legend(fontsize=7, loc="best")
    total = part["term"].nunique()
    axes.set_title(
        f"{dataset}: coefficients" + (f" ({max_terms} largest of {total} terms)" if total > max_terms else ""),
        fontsize=9,
    )
    return to_png(figure)


def pairs_grid(predictions: pd.DataFrame, dataset: str) -> bytes | None:
    """Every other model against the run's first (the reference, on x): test logits in the top row,
    probabilities below, y = x dashed. 2 (k - 1) panels rather than a k x k grid: drawing ticks
    dominates the time, and every pair's largest difference is in the agreement table anyway."""
    part = predictions[(predictions["dataset"] == dataset) & (predictions["model"] != TRUTH)]
    models = list(dict.fromkeys(part["model"]))
    if len(models) < 2:
        return None
    reference, others = models[0], models[1:]
    wide = {
        kind: part.pivot_table(index=["row", "class"], columns="model", values=kind, sort=False)
        for kind in ("logit", "proba")
    }
    k = len(others)
    # a fixed grid: constrained layout costs seconds on many axes
    figure = new_figure(1.75 * k + 0.6, 4.0, layout=None)
    grid = figure.subplots(
        2,
        k,
        squeeze=False,
        gridspec_kw={"wspace": 0.35, "hspace": 0.45, "left": 0.08, "right": 0.98, "bottom": 0.1, "top": 0.86},
    )
    for row, kind in enumerate(("logit", "proba")):
        x = wide[kind][reference].to_numpy()
        for j, model in enumerate(others):
            axes, y = grid[row][j], wide[kind][model].to_numpy()
            axes.tick_params(labelsize=6, length=2, pad=1)
            axes.locator_params(nbins=3)
            axes.scatter(x, y, s=4, alpha=0.6, color=PALETTE[0] if kind == "logit" else PALETTE[2])
            low, high = np.nanmin([x.min(), y.min()]), np.nanmax([x.max(), y.max()])
            axes.plot([low, high], [low, high], ls="--", color="0.4", lw=0.8)
            if row == 0:
                axes.set_title(model, fontsize=7)
            if j == 0:
                axes.set_ylabel(kind, fontsize=7)
    figure.suptitle(f"{dataset}: each model (y) against {reference} (x), logits and probabilities", fontsize=9)
    return to_png(figure)


def against_truth(predictions: pd.DataFrame, dataset: str) -> bytes | None:
    """Each model's test logits against the true log-odds (data with a known truth)."""
    part = predictions[predictions["dataset"] == dataset]
    truth = part[part["model"] == TRUTH].set_index(["row", "class"])["logit"]
    models = [m for m in dict.fromkeys(part["model"]) if m != TRUTH]
    if truth.empty or not models:
        return None
    figure = new_figure(2.3 * len(models) + 0.5, 2.6)
    grid = figure.subplots(1, len(models), squeeze=False)[0]
    for axes, model in zip(grid, models):
        mine = part[part["model"] == model].set_index(["row", "class"])["logit"].reindex(truth.index)
        axes.scatter(truth, mine, s=5, alpha=0.6, color=PALETTE[0])
        low, high = float(min(truth.min(), mine.min())), float(max(truth.max(), mine.max()))
        axes.plot([low, high], [low, high], ls="--", color="0.4", lw=0.8)
        axes.set_title(model, fontsize=8)
        axes.set_xlabel("true log-odds", fontsize=7)
        axes.tick_params(labelsize=6)
    grid[0].set_ylabel("model logit", fontsize=7)
    return to_png(figure)


def reliability(calibration: pd.DataFrame, dataset: str) -> bytes | None:
    """Reliability diagram per scaling (none / temperature): accuracy against confidence."""
    part = calibration[calibration["dataset"] == dataset]
    if part.empty:
        return None
    models = list(dict.fromkeys(part["model"]))
    palette = colors(models)
    figure = new_figure(7.5, 3.0)
    grid = figure.subplots(1, 2, squeeze=False)[0]
    for axes, scaling in zip(grid, ("none", "temperature")):
        for model in models:
            rows = part[(part["model"] == model) & (part["scaling"] == scaling)]
            axes.plot(rows["confidence"], rows["accuracy"], marker="o", ms=3, lw=1, color=palette[model], label=model)
        axes.plot([0.5, 1], [0.5, 1], ls="--", color="0.4", lw=0.8)
        axes.set_xlim(0.48, 1.01)
        axes.set_ylim(-0.02, 1.02)
        axes.set_xlabel("confidence (probability of the predicted class)", fontsize=7)
        axes.set_title("as fitted" if scaling == "none" else "after temperature scaling", fontsize=8)
        axes.tick_params(labelsize=6)
    grid[0].set_ylabel("accuracy in the bin", fontsize=7)
    grid[1].legend(fontsize=6, loc="lower right")
    return to_png(figure)


def runtime(fits: pd.DataFrame) -> bytes | None:
    """Fit and predict seconds per (dataset, model), log scale."""
    part = fits[(fits["status"] == "ok") & fits["fit_seconds"].notna()]
    if part.empty:
        return None
    labels = [f"{d} / {m}" for d, m in zip(part["dataset"], part["model"])]
    y = np.arange(len(labels))
    figure = new_figure(7.5, 1.0 + 0.2 * len(labels))
    axes = figure.add_subplot()
    axes.barh(y - 0.2, part["fit_seconds"], height=0.4, color=PALETTE[0], label="fit")
    axes.barh(y + 0.2, part["predict_seconds"].fillna(0), height=0.4, color=PALETTE[4], label="predict")
    axes.set_xscale("log")
    axes.set_yticks(y, labels, fontsize=6)
    axes.invert_yaxis()
    axes.set_xlabel("seconds (minimum over repeats, log scale)", fontsize=7)
    axes.legend(fontsize=7)
    return to_png(figure)


def learning_curve(training: pd.DataFrame, dataset: str, model: str, chosen_epoch: int | None) -> bytes | None:
    """Log loss and accuracy per epoch, training and validation rows, the kept epoch marked."""
    from matplotlib.ticker import MaxNLocator

    part = training[(training["dataset"] == dataset) & (training["model"] == model)]
    if part.empty:
        return None
    figure = new_figure(7.5, 2.6)
    grid = figure.subplots(1, 2, squeeze=False)[0]
    for axes, column, label in zip(grid, ("loss", "accuracy"), ("log loss", "accuracy")):
        for split, color in (("train", PALETTE[0]), ("validation", PALETTE[1])):
            rows = part[part["split"] == split]
            axes.plot(rows["epoch"], rows[column], marker="o", ms=3, lw=1, color=color, label=split)
        if chosen_epoch is not None:
            axes.axvline(chosen_epoch, ls="--", color="0.3", lw=0.8, label=f"kept: epoch {chosen_epoch}")
        axes.set_xlabel("epoch", fontsize=7)
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.set_title(label, fontsize=8)
        axes.tick_params(labelsize=6)
    grid[0].set_yscale("log")
    grid[1].legend(fontsize=6, loc="lower right")
    figure.suptitle(f"{dataset} / {model}: learning curve", fontsize=9)
    return to_png(figure)


def probes(probe_table: pd.DataFrame, dataset: str, cnn: dict) -> bytes | None:
    """Probe test log loss and accuracy against depth, the trained network solid and the untrained
    control dashed (the exact models agree, so their median is drawn); the CNN's own test log
    loss and accuracy (``cnn``: {"test_log_loss": ..., "test_accuracy": ...}) as dotted lines."""
    part = probe_table[probe_table["dataset"] == dataset]
    if part.empty:
        return None
    by = part.groupby(["network", "depth", "layer"], as_index=False)[["test_log_loss", "test_accuracy"]].median()
    figure = new_figure(7.5, 2.8)
    grid = figure.subplots(1, 2, squeeze=False)[0]
    for axes, column, label in zip(grid, ("test_log_loss", "test_accuracy"), ("test log loss", "test accuracy")):
        for network, color, style in (("trained", PALETTE[0], "-"), ("random", PALETTE[1], "--")):
            rows = by[by["network"] == network].sort_values("depth")
            axes.plot(rows["depth"], rows[column], style, marker="o", ms=4, lw=1.2, color=color, label=network)
        reference = cnn.get(column)
        if reference is not None and np.isfinite(reference):
            axes.axhline(reference, ls=":", color="0.2", lw=1, label="the CNN itself")
        layers = by.drop_duplicates("depth").sort_values("depth")
        axes.set_xticks(layers["depth"], layers["layer"], fontsize=7)
        axes.set_title(label, fontsize=8)
        axes.tick_params(labelsize=6)
    grid[0].legend(fontsize=6)
    figure.suptitle(f"{dataset}: a logistic regression on each layer's features", fontsize=9)
    return to_png(figure)


CURVE_FLOOR = 1e-16  # relative suboptimality 0 (the model that defined F*) is drawn here on the log axis
REACH_LINES = (1e-4, 1e-6, 1e-8)


def convergence(curves: pd.DataFrame, dataset: str, f_star: float) -> bytes | None:
    """(F − F*)/|F*| on a log axis against seconds (log), one line per model: each point one
    whole capped run (``bench.curves``); grey lines at 1e-4, 1e-6 and 1e-8."""
    data = curves[curves["dataset"] == dataset]
    if data.empty:
        return None
    palette = colors(list(dict.fromkeys(data["model"])))
    figure = new_figure(7.5, 4.2)
    axes = figure.subplots()
    scale = abs(f_star) or 1.0
    for model, part in data.groupby("model", sort=False):
        relative = np.maximum(part["suboptimality"].to_numpy() / scale, CURVE_FLOOR)
        axes.plot(part["seconds"], relative, marker="o", markersize=3, color=palette[model], label=model)
    for level in REACH_LINES:
        axes.axhline(level, color="0.8", linewidth=0.8, zorder=0)
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel("seconds (one whole capped run)")
    axes.set_ylabel("(F − F*) / |F*|")
    axes.set_title(f"{dataset}: distance to the optimum over time")
    axes.legend(fontsize=7, loc="best", framealpha=0.8)
    return to_png(figure)
