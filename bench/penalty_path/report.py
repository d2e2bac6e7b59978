"""Writes a penalty path's files (``python -m bench path``). Computes nothing but layout:
every number comes from the ``PathRun`` tables (``bench.penalty_path.run``).

Files, in one directory written beside its final place and moved in with ``os.replace``
(as ``bench.report.writer`` does), so a reader never sees half a report:

    path.csv, path.parquet   dataset, model, C, class, term, estimate
    path_agreement.csv       dataset, C, model_a, model_b, C_b, comparison, max_abs_diff, tolerance, verdict
    path_fits.csv            dataset, model, C, status, message, fit_seconds, n_iter, converged
    path.md, index.html      for a person; the page is self-contained (inline CSS and PNGs, no scripts)
"""

from __future__ import annotations

import html
import math
from pathlib import Path

import numpy as np
import pandas as pd

from bench.files import replace_directory
from bench.penalty_path import agreement as agreements
from bench.penalty_path import run as paths
from bench.report.html import image, page, table
from bench.report.markdown import table as md_table
from bench.report.plots import colors, new_figure, to_png

MAX_TERMS = 12  # panels in the path figure: the terms with the largest |estimate| anywhere on the path
PLOT_FLOOR = 1e-17  # a difference of exactly 0 is drawn here on the log axis
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*"]


# --- figures -----------------------------------------------------------------------------


def _terms(path: pd.DataFrame, max_terms: int) -> list[tuple[int, str]]:
    """(class, term) panels in the table's order; the ``max_terms`` largest if there are more."""
    keys = list(dict.fromkeys(zip(path["class"], path["term"])))
    if len(keys) > max_terms:
        size = path.assign(size=path["estimate"].abs()).groupby(["class", "term"])["size"].max()
        keep = set(size.nlargest(max_terms).index)
        keys = [k for k in keys if k in keep]
    return keys


def path_figure(run: paths.PathRun, max_terms: int = MAX_TERMS) -> bytes | None:
    """One panel per term: estimate against C (log scale), a line per model, markers of
    shrinking size so lines that lie on one another stay visible; the uncorrected
    two-logit fit dashed at its own C and dotted at 2C, where it meets the others."""
    data = run.path
    if data.empty:
        return None
    keys = _terms(data, max_terms)
    multiclass = data["class"].nunique() > 1
    exact = [m for m in run.models if m in set(data["model"])]
    palette = colors(exact)
    ncols = min(4, len(keys))
    nrows = math.ceil(len(keys) / ncols)
    width, height, legend_inches = 2.7 * ncols + 0.4, 2.1 * nrows + 1.2, 0.65
    # a fixed layout: constrained layout takes seconds on a grid of panels (as in plots.pairs_grid)
    figure = new_figure(width, height, layout=None)
    grid = figure.subplots(
        nrows,
        ncols,
        squeeze=False,
        sharex=True,
        gridspec_kw={
            "left": 0.5 / width,
            "right": 1 - 0.1 / width,
            "top": 1 - 0.6 / height,
            "bottom": (legend_inches + 0.35) / height,
            "wspace": 0.3,
            "hspace": 0.35,
        },
    )
    for axes, (k, term) in zip(grid.flat, keys):
        here = data[(data["class"] == k) & (data["term"] == term)].sort_values("C")
        for i, model in enumerate(exact):
            rows = here[here["model"] == model]
            axes.plot(
                rows["C"],
                rows["estimate"],
                color=palette[model],
                lw=1.0,
                marker=MARKERS[i % len(MARKERS)],
                ms=max(7.0 - 1.4 * i, 2.5),
                mfc="none" if i % 2 else palette[model],
                label=model,
                zorder=3 + i,
            )
        rows = here[here["model"] == agreements.UNCORRECTED]
        axes.plot(
            rows["C"],
            rows["estimate"],
            color="0.45",
            ls="--",
            lw=1.0,
            marker="x",
            ms=5,
            label=f"{agreements.UNCORRECTED} at C",
            zorder=2,
        )
        axes.plot(
            2.0 * rows["C"],
            rows["estimate"],
            color="black",
            ls=":",
            lw=1.0,
            marker="+",
            ms=8,
            label=f"{agreements.UNCORRECTED} drawn at 2C",
            zorder=10,
        )
        axes.axhline(0.0, color="0.8", lw=0.6, zorder=1)
        axes.set_xscale("log")
        axes.minorticks_off()  # log-axis minor ticks are most of the drawing time of a grid of panels
        axes.locator_params(axis="y", nbins=4)
        axes.set_title(f"{term} (class {k})" if multiclass else term, fontsize=8)
        axes.tick_params(labelsize=6)
    for axes in list(grid.flat)[len(keys) :]:
        axes.set_visible(False)
    for axes in grid[-1]:
        axes.set_xlabel("C (log scale)", fontsize=7)
    for axes in grid[:, 0]:
        axes.set_ylabel("estimate", fontsize=7)
    handles, labels = grid.flat[0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="lower center", ncol=3, fontsize=7, frameon=False)
    total = len(dict.fromkeys(zip(data["class"], data["term"])))
    shown = f" ({len(keys)} largest of {total} terms)" if total > len(keys) else ""
    figure.suptitle(f"{run.dataset}: L2 path, estimate against C{shown}", fontsize=9)
    return to_png(figure)


def agreement_figure(run: paths.PathRun) -> bytes | None:
    """Max |difference| against C, log-log: every pair of models, the uncorrected fit
    against the reference at C and at 2C, and the tolerance line."""
    frame = run.agreement
    if frame.empty:
        return None
    figure = new_figure(7.5, 4.6)
    axes = figure.add_subplot()
    shown = lambda values: np.maximum(values.to_numpy(dtype=float), PLOT_FLOOR)  # noqa: E731
    pairs = frame[frame["comparison"] == agreements.SAME_C]
    labels = list(dict.fromkeys(f"{a} vs {b}" for a, b in zip(pairs["model_a"], pairs["model_b"])))
    palette = colors(labels)
    for i, label in enumerate(labels):
        rows = pairs[[f"{a} vs {b}" == label for a, b in zip(pairs["model_a"], pairs["model_b"])]]
        axes.plot(
            rows["C"],
            shown(rows["max_abs_diff"]),
            color=palette[label],
            lw=1.0,
            marker=MARKERS[i % len(MARKERS)],
            ms=max(6.0 - 0.6 * i, 2.5),
            label=label,
        )
    for comparison, style in (
        (agreements.UNCORRECTED_SAME_C, {"color": "#a50e0e", "ls": "--", "marker": "x"}),
        (agreements.AT_2C, {"color": "black", "ls": "-", "marker": "s", "ms": 5}),
        (agreements.AT_2C_INTERPOLATED, {"color": "black", "ls": ":", "marker": "s", "mfc": "none", "ms": 5}),
    ):
        rows = frame[frame["comparison"] == comparison]
        if len(rows):
            reference = rows["model_b"].iloc[0]
            axes.plot(
                rows["C"],
                shown(rows["max_abs_diff"]),
                lw=1.0,
                label=f"uncorrected at C vs {reference}, {comparison}",
                **style,
            )
    axes.axhline(agreements.TOLERANCE, color="#d62728", ls="-.", lw=1.0, label=f"tolerance {agreements.TOLERANCE:g}")
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel("C (log scale)", fontsize=8)
    axes.set_ylabel(f"max |difference| of estimates (0 drawn at {PLOT_FLOOR:g})", fontsize=7)
    axes.tick_params(which="both", labelsize=7)
    figure.legend(fontsize=6, loc="outside lower center", ncol=2)
    axes.set_title(f"{run.dataset}: agreement at each C", fontsize=9)
    return to_png(figure)


# --- tables and text -----------------------------------------------------------------------


def _grid_text(run: paths.PathRun) -> str:
    ratio = run.grid[1] / run.grid[0]
    return f"{len(run.grid)} values of C from {run.grid[0]:g} to {run.grid[-1]:g}, log-spaced (ratio {ratio:.4g})"


def _verdict_text(run: paths.PathRun) -> tuple[str, str]:
    """(``pass`` | ``FAIL``, one sentence)."""
    failed, disagreements = run.failed, run.disagreements
    if run.ok:
        judged = run.agreement[run.agreement["verdict"] == "pass"]
        worst = judged["max_abs_diff"].max() if len(judged) else math.nan
        return "pass", (
            f"every pair of models agrees within {agreements.TOLERANCE:g} at every C "
            f"(largest difference {worst:.3g}); no cell failed."
        )
    parts = []
    if len(disagreements):
        parts.append(f"{len(disagreements)} comparison(s) outside {agreements.TOLERANCE:g}")
    if len(failed):
        parts.append(f"{len(failed)} cell(s) failed")
    return "FAIL", "; ".join(parts) + "."


def _mapping(run: paths.PathRun) -> pd.DataFrame:
    rows = run.agreement[run.agreement["model_a"] == agreements.UNCORRECTED]
    return rows[["C", "model_b", "C_b", "comparison", "max_abs_diff", "tolerance", "verdict"]].rename(
        columns={"model_b": "reference"}
    )


def _fits_shown(run: paths.PathRun) -> pd.DataFrame:
    return run.fits[run.fits["status"] != "ok"][["model", "C", "status", "message", "n_iter"]]


MAPPING_TEXT = (
    "Two logits for two classes only identify w1 − w0. With L2 at C on both weight rows "
    "(λ₂ = λ = 1/(C·n)) the smallest ‖w0‖² + ‖w1‖² for a given difference d is ‖d‖²/2, so the "
    "two-logit fit at C is the binary fit at 2C. torch_softmax2 corrects for this (it uses C′ = C/2, "
    "i.e. λ₂ = 2λ) and lies on the binary path; torch_softmax2_uncorrected does not, and its path is "
    "the binary path shifted left by a factor 2 in C. Where 2C is on the grid the comparison is "
    "exact and judged; otherwise the reference is read off a cubic spline in log C and only shown "
    "(a grid with ratio 2, e.g. 0.25:4:5, makes every comparison exact)."
)


def render_path_markdown(run: paths.PathRun) -> str:
    info = run.info
    verdict, sentence = _verdict_text(run)
    summary = agreements.summary_frame(run.agreement, run.grid)
    out = [
        f"# Penalty path: {run.dataset}",
        "",
        f"Every model refit with L2 at each C ({_grid_text(run)}), replacing the dataset's own penalty. "
        f"Models: {', '.join(run.models)}, plus the pseudo-model {agreements.UNCORRECTED}. "
        f"Seed {info.get('seed')}, {info.get('threads')} thread(s) per fit; the whole path took "
        f"{info.get('path_seconds', math.nan):.2f} s.",
        "",
        f"**{verdict}**: {sentence}",
        "",
        "## Agreement at each C",
        "",
        f"The worst pair of models at each C (tolerance {agreements.TOLERANCE:g}, absolute, on every estimate), and "
        f"{agreements.UNCORRECTED} against the reference at C and at 2C. Every pair is in `path_agreement.csv`.",
        "",
        md_table(summary),
        "",
        "## C′ = 2C",
        "",
        MAPPING_TEXT,
        "",
        md_table(_mapping(run)),
        "",
        "## Fits",
        "",
        md_table(agreements.runtime_frame(run.fits)),
        "",
    ]
    shown = _fits_shown(run)
    if len(shown):
        out += ["Cells that did not give estimates:", "", md_table(shown), ""]
    out += [
        "Files: `path.csv` (dataset, model, C, class, term, estimate), `path.parquet`, "
        "`path_agreement.csv`, `path_fits.csv`, `index.html` (the plots)."
    ]
    return "\n".join(out) + "\n"


def render_path_html(run: paths.PathRun) -> str:
    info = run.info
    esc = lambda value: html.escape(str(value))  # noqa: E731
    verdict, sentence = _verdict_text(run)
    git = info.get("git", {}) or {}
    commit = (git.get("commit") or "unknown")[:12] + (" (uncommitted changes)" if git.get("dirty") else "")
    versions = ", ".join(f"{k} {v}" for k, v in (info.get("versions") or {}).items() if v)
    summary = agreements.summary_frame(run.agreement, run.grid)
    seconds = f"{info.get('path_seconds', math.nan):.2f}"
    parts = [
        f"<h1>Penalty path: {esc(run.dataset)}</h1>",
        f"<p>Every model refit with L2 at each C ({esc(_grid_text(run))}), replacing the dataset's own penalty. "
        f"Models: {esc(', '.join(run.models))}, plus the pseudo-model {esc(agreements.UNCORRECTED)}.</p>",
        f"<p class=meta>Seed {esc(info.get('seed'))}, {esc(info.get('threads'))} thread(s) per fit, the whole path "
        f"{esc(seconds)} s. {esc(info.get('started'))} → {esc(info.get('finished'))}. "
        f"Commit {esc(commit)}. {esc(versions)}.</p>",
        f'<p><span class="badge {esc(verdict)}">{esc(verdict)}</span>{esc(sentence)}</p>',
        "<h2 id=paths>Paths</h2>",
        image(path_figure(run), f"{run.dataset}: estimates against C, one panel per term"),
        f"<p class=meta>Each model's estimates at each C; the markers shrink from model to model so that lines lying "
        f"on one another stay visible. Dashed: {esc(agreements.UNCORRECTED)} at its own C; dotted: the same estimates "
        "drawn at 2C, where they meet the binary models.</p>",
        "<h2 id=agreement>Agreement at each C</h2>",
        image(agreement_figure(run), f"{run.dataset}: max difference between models against C"),
        table(summary),
        f"<details><summary>Every pair at every C ({len(run.agreement)} rows, as path_agreement.csv)</summary>"
        f"{table(run.agreement)}</details>",
        "<h2 id=mapping>C′ = 2C</h2>",
        f"<p>{esc(MAPPING_TEXT)}</p>",
        table(_mapping(run)),
        "<h2 id=fits>Fits</h2>",
        table(agreements.runtime_frame(run.fits), verdict_column=None),
    ]
    shown = _fits_shown(run)
    if len(shown):
        parts += ["<p class=FAIL>Cells that did not give estimates:</p>", table(shown, verdict_column=None)]
    return page(f"logitbench path: {run.dataset}", "".join(parts))


# --- files ---------------------------------------------------------------------------------


def _write_files(run: paths.PathRun, directory: Path) -> None:
    run.path.to_csv(directory / "path.csv", index=False, float_format="%.17g")
    run.path.to_parquet(directory / "path.parquet", index=False)
    run.agreement.to_csv(directory / "path_agreement.csv", index=False, float_format="%.17g")
    run.fits.to_csv(directory / "path_fits.csv", index=False, float_format="%.17g")
    (directory / "path.md").write_text(render_path_markdown(run), encoding="utf-8")
    (directory / "index.html").write_text(render_path_html(run), encoding="utf-8")


def write(run: paths.PathRun, out: Path) -> Path:
    """Write ``run`` to ``out`` (created or replaced whole, as the main report). Returns ``out``."""
    return replace_directory(out, lambda staging: _write_files(run, staging))
