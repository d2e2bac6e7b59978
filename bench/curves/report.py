"""Writes a curve run's files (``python -m bench curves``); computes nothing but layout.

    curves.csv, curves.parquet   dataset, model, solver, point, max_iter, seconds, objective, suboptimality
    time_to_reach.csv            model, solver, final_suboptimality, seconds_to_1e-04, _1e-06, _1e-08
    curves.md, index.html        for a person; the page is self-contained (inline CSS and PNG)

written beside their final place and moved in whole (``bench.files.replace_directory``).
"""

from __future__ import annotations

import html
import json
from pathlib import Path

from bench.curves import run as curves
from bench.files import replace_directory
from bench.report import plots
from bench.report.html import image, page, table
from bench.report.markdown import table as md_table

ABOUT = (
    "Each model is refitted from its own fixed start with a growing iteration cap (max_iter = 1, 2, 4, 5, 8, "
    "11, 16, ...), benchopt's iteration sampling; each point is one whole capped run: its fit time and the "
    "objective F = mean log-loss + λ/2‖w‖² (λ = 1/(C·n); scikit-learn's objective divided by C·n) at the "
    "coefficients it returned, computed here, not taken from the solver. F* is the lowest F any model "
    "reached, polished by one exact Newton step. A model without a max_iter parameter has one point."
)


def curve_figure(run: curves.CurveRun) -> bytes | None:
    return plots.convergence(run.curves, run.dataset, run.f_star)


def _reach_table(run: curves.CurveRun):
    reach = run.reach.copy()
    reach["note"] = reach["model"].map(run.notes)
    return reach


def render_markdown(run: curves.CurveRun) -> str:
    skipped = {m: n for m, n in run.notes.items() if m not in set(run.curves["model"])}
    out = [
        f"# Convergence curves: {run.dataset}",
        "",
        ABOUT,
        "",
        f"F* = {run.f_star:.17g} ({run.info.get('f_star_from')}); {run.info.get('threads')} thread(s) per fit.",
        "",
        "## Time to reach",
        "",
        "Seconds of the first capped run within 1e-4, 1e-6 and 1e-8 of F*, relative to |F*| (empty: never); "
        "`final_suboptimality` is the last point's (F − F*)/|F*|.",
        "",
        md_table(_reach_table(run)),
        "",
        "![curves](curves.png)",
        "",
    ]
    if skipped:
        out += ["Models without a curve: " + "; ".join(f"{m}: {n}" for m, n in skipped.items()), ""]
    out += ["Files: `curves.csv` (every point), `curves.parquet`, `time_to_reach.csv`, `index.html`."]
    return "\n".join(out) + "\n"


def render_html(run: curves.CurveRun, png: bytes | None) -> str:
    esc = lambda value: html.escape(str(value))  # noqa: E731
    parts = [
        f"<h1>Convergence curves: {esc(run.dataset)}</h1>",
        f"<p>{esc(ABOUT)}</p>",
        f"<p class=meta>F* = {run.f_star:.17g} ({esc(run.info.get('f_star_from'))}); "
        f"{esc(run.info.get('threads'))} thread(s) per fit; {esc(run.info.get('started'))}.</p>",
        image(png, f"{run.dataset}: suboptimality against seconds, one line per model"),
        "<h2 id=reach>Time to reach</h2>",
        "<p>Seconds of the first capped run within 1e-4, 1e-6 and 1e-8 of F*, relative to |F*| (empty: never).</p>",
        table(_reach_table(run), verdict_column=None),
        f"<details><summary>Every point ({len(run.curves)} rows, as curves.csv)</summary>"
        f"{table(run.curves, verdict_column=None)}</details>",
    ]
    return page(f"logitbench curves: {run.dataset}", "".join(parts))


def _write_files(run: curves.CurveRun, directory: Path) -> None:
    run.curves.to_csv(directory / "curves.csv", index=False, float_format="%.17g")
    run.curves.to_parquet(directory / "curves.parquet", index=False)
    run.reach.to_csv(directory / "time_to_reach.csv", index=False, float_format="%.17g")
    png = curve_figure(run)
    if png is not None:
        (directory / "curves.png").write_bytes(png)
    (directory / "curves.md").write_text(render_markdown(run), encoding="utf-8")
    (directory / "index.html").write_text(render_html(run, png), encoding="utf-8")
    (directory / "curves.json").write_text(json.dumps(run.info, indent=2, default=str), encoding="utf-8")


def write(run: curves.CurveRun, out: Path) -> Path:
    """Write ``run`` to ``out`` (created or replaced whole). Returns ``out``."""
    return replace_directory(out, lambda staging: _write_files(run, staging))
