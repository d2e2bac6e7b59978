"""``index.html``: one self-contained page (inline CSS and PNGs, no scripts, no network).

Renders the blocks of ``bench.report.sections`` (the same as report.md) and draws their
figures; computes nothing but layout. Every string from the data (dataset, column and
model names, messages) is escaped. ``CSS``, ``table`` and ``image`` also serve the
history page and the penalty path's page.
"""

from __future__ import annotations

import base64
import html
import re

import pandas as pd

from bench.report import blocks as content
from bench.report.blocks import Code, Figure, Heading, Table, Text
from bench.report.sections import sections

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
            cells.append(f'<td class="{cls.strip()}">{html.escape(content.format_value(value))}</td>')
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f"<div class=scroll><table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></div>"


def image(png: bytes | None, alt: str) -> str:
    if png is None:
        return ""
    data = base64.b64encode(png).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def inline(text: str) -> str:
    """Escaped text, with `backticks` as <code>."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(text))


def block(item) -> str:
    if isinstance(item, Text):
        return f"<p>{inline(item.text)}</p>"
    if isinstance(item, Heading):
        return f"<h3>{html.escape(item.text)}</h3>"
    if isinstance(item, Code):
        return f"<pre>{html.escape(item.text)}</pre>"
    if isinstance(item, Figure):
        png = item.png()
        if png is None:
            return ""
        return (f"<h3>{html.escape(item.title)}</h3>" if item.title else "") + image(png, item.alt)
    if isinstance(item, Table):
        rendered = table(item.frame, verdict_column=item.verdict_column)
        return f"<details><summary>table</summary>{rendered}</details>" if item.collapsed else rendered
    raise TypeError(f"no HTML for {type(item).__name__}")


def _summary(results) -> str:
    entries, failed = content.summary(results)
    items = []
    for entry in entries:
        notes = "".join(f"<li>{html.escape(n)}</li>" for n in entry.notes)
        items.append(
            f'<li><span class="badge {entry.verdict}">{content.SUMMARY_LABELS[entry.verdict]}</span>'
            f"<b>{html.escape(entry.dataset)}</b>: {html.escape(entry.text)}{f'<ul>{notes}</ul>' if notes else ''}</li>"
        )
    tail = f"<p class=FAIL>{html.escape(failed)}</p>" if failed else ""
    return f"<h2 id=summary>Summary</h2><ul class=summary>{''.join(items)}</ul>{tail}"


def page(title: str, body: str) -> str:
    """A self-contained page (inline CSS, no scripts) around ``body``: the run report, a penalty
    path, convergence curves."""
    return (
        "<!DOCTYPE html><html lang=en><head><meta charset=utf-8>"
        "<meta name=viewport content='width=device-width, initial-scale=1'>"
        f"<title>{html.escape(title)}</title><style>{CSS}</style></head><body><main>{body}</main></body></html>\n"
    )


def render_html(results, parts: list | None = None) -> str:
    """The page; ``parts``: ``sections(results)`` when the caller has them already."""
    parts = sections(results) if parts is None else parts
    toc = "".join(f'<a href="#{s.anchor}">{html.escape(s.title)}</a>' for s in parts)
    body = "".join(
        f"<h2 id={s.anchor}>{html.escape(s.title)}</h2>" + "".join(block(b) for b in s.blocks) for s in parts
    )
    return page(
        "logitbench report",
        f"<h1>logitbench report</h1><p>{inline(content.INTRO)}</p>"
        f"<p class=meta>{html.escape(content.run_line(results.run_info))}</p>"
        f"<nav>{toc}</nav>{_summary(results)}{body}",
    )
