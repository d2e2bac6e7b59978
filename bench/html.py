"""``index.html``: one self-contained page (inline CSS and PNGs, no scripts, no network).

Written from the same DataFrames as the CSV files; computes nothing but layout.
Every string from the data (dataset, column and model names, messages) is escaped.
"""

from __future__ import annotations

import base64
import html
import math

import pandas as pd

from bench.summary import agreement_with_verdict, summarize

CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#222;background:#fafafa}
main{max-width:1100px;margin:0 auto;padding:1rem 1.5rem 4rem;background:#fff}
h1{font-size:1.6rem;margin:.5rem 0}h2{border-bottom:2px solid #ddd;padding-bottom:.2rem;margin-top:2.2rem}
h3{margin:1.4rem 0 .4rem}
nav{display:flex;flex-wrap:wrap;gap:.2rem .9rem}nav a{white-space:nowrap}
.scroll{overflow-x:auto;max-width:100%}
.meta{color:#555;font-size:.9rem}
table{border-collapse:collapse;margin:.5rem 0;font-size:.82rem;font-variant-numeric:tabular-nums}
th,td{border:1px solid #ddd;padding:.2rem .45rem;text-align:right}
th{background:#f0f0f0}td.text,th.text{text-align:left}
.pass{background:#e6f4ea;color:#137333;font-weight:600}.FAIL{background:#fce8e6;color:#a50e0e;font-weight:700}
.compared{color:#666}.none{color:#666}.separated{background:#fef7e0;color:#8a5a00;font-weight:600}
ul.summary li{margin:.3rem 0}
.badge{display:inline-block;padding:0 .4rem;border-radius:.3rem;font-size:.8rem;margin-right:.3rem}
img{max-width:100%;height:auto;display:block;margin:.5rem 0}
details{margin:.4rem 0}summary{cursor:pointer;color:#1a5fb4}
pre{background:#f6f6f6;padding:.6rem;overflow-x:auto;font-size:.8rem}
"""


def _format(value) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float):
        if value == 0:
            return "0"
        return f"{value:.3e}" if abs(value) < 1e-3 or abs(value) >= 1e6 else f"{value:.6g}"
    return str(value)


def table(frame: pd.DataFrame, verdict_column: str | None = "verdict") -> str:
    """An escaped HTML table; text columns left-aligned, verdict cells coloured."""
    if frame.empty:
        return "<p class=meta>(none)</p>"
    text = {c for c in frame.columns if frame[c].dtype == object or isinstance(frame[c].dtype, pd.StringDtype)}
    head = "".join(f'<th class="{"text" if c in text else ""}">{html.escape(str(c))}</th>' for c in frame.columns)
    rows = []
    for values in frame.itertuples(index=False):
        cells = []
        for column, value in zip(frame.columns, values):
            cls = "text" if column in text else ""
            if column == verdict_column:
                cls += f" {html.escape(str(value))}"
            cells.append(f'<td class="{cls.strip()}">{html.escape(_format(value))}</td>')
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f"<div class=scroll><table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></div>"


def image(png: bytes | None, alt: str) -> str:
    if png is None:
        return ""
    data = base64.b64encode(png).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def _header(results) -> str:
    info = results.run_info
    config, machine, git = info.get("config", {}), info.get("machine", {}), info.get("git", {})
    versions = ", ".join(f"{k} {v}" for k, v in info.get("versions", {}).items() if v)
    commit = (git.get("commit") or "unknown")[:12] + (" (uncommitted changes)" if git.get("dirty") else "")
    return (
        "<h1>logitbench report</h1>"
        "<p>A network's output before its last activation is a vector of <em>logits</em>, the linear predictor "
        "η = Xβ of a logistic regression. Here scikit-learn, statsmodels and torch fit the same data, and the "
        "report shows, with numbers, that they agree; the seed CNN's last layer is refit as a logistic regression "
        "on its own features.</p>"
        f"<p class=meta>Suite <b>{html.escape(str(config.get('suite')))}</b>, seed {html.escape(str(info.get('seed')))}, "
        f"{html.escape(str(config.get('repeats')))} timed repeats, {html.escape(str(config.get('threads')))} thread(s) per fit. "
        f"{html.escape(str(info.get('started')))} → {html.escape(str(info.get('finished')))}. Commit {html.escape(commit)}. "
        f"{html.escape(str(machine.get('cpu')))}, {html.escape(str(machine.get('cores')))} cores, "
        f"Python {html.escape(str(machine.get('python')))}. {html.escape(versions)}.</p>"
    )


def _summary(results, verdicts) -> str:
    items = []
    for entry in summarize(results, verdicts):
        label = {"pass": "pass", "FAIL": "FAIL", "none": "no check", "separated": "separated"}[entry.verdict]
        notes = "".join(f"<li>{html.escape(n)}</li>" for n in entry.notes)
        items.append(
            f'<li><span class="badge {entry.verdict}">{label}</span><b>{html.escape(entry.dataset)}</b>: '
            f"{html.escape(entry.text)}{f'<ul>{notes}</ul>' if notes else ''}</li>"
        )
    failed = results.fits[results.fits["status"] == "failed"]
    tail = f"<p class=FAIL>{len(failed)} cell(s) failed; see Fits.</p>" if len(failed) else ""
    return f"<h2 id=summary>Summary</h2><ul class=summary>{''.join(items)}</ul>{tail}"


def render_html(results) -> str:
    from bench.html_sections import sections

    verdicts = agreement_with_verdict(results.agreement, results.run_info.get("inexact", []))
    body = [_header(results), _summary(results, verdicts)]
    toc, parts = [], []
    for anchor, title, content in sections(results, verdicts):
        if content:
            toc.append(f'<a href="#{anchor}">{html.escape(title)}</a>')
            parts.append(f"<h2 id={anchor}>{html.escape(title)}</h2>{content}")
    body.insert(1, f"<nav>{''.join(toc)}</nav>")
    return (
        "<!DOCTYPE html><html lang=en><head><meta charset=utf-8>"
        "<meta name=viewport content='width=device-width, initial-scale=1'>"
        f"<title>logitbench report</title><style>{CSS}</style></head><body><main>"
        + "".join(body) + "".join(parts) + "</main></body></html>\n"
    )
