"""``report.md``: the blocks of ``bench.report.sections`` as Markdown a person reads top to bottom.

The same sections, values and labels as index.html; figures are named, not drawn.
``table`` also serves ``bench compare``'s comparison.md and the penalty path's path.md.
"""

from __future__ import annotations

import pandas as pd

from bench.report import blocks as content
from bench.report.blocks import Code, Figure, Heading, Table, Text
from bench.report.sections import sections


def escape(text: str) -> str:
    """Names from the data are text: <, > and & become entities, which Markdown shows as text."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cell(value) -> str:
    return escape(content.format_value(value)).replace("|", "\\|").replace("\n", " ")


def table(frame: pd.DataFrame, index: bool = False) -> str:
    if index:
        frame = frame.reset_index()
    header = [_cell(c) for c in frame.columns]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for row in frame.itertuples(index=False):
        lines.append("| " + " | ".join(_cell(v) for v in row) + " |")
    return "\n".join(lines)


def block(item) -> list[str]:
    if isinstance(item, Text):
        return [escape(item.text), ""]
    if isinstance(item, Heading):
        return [f"### {escape(item.text)}", ""]
    if isinstance(item, Code):
        return ["```", item.text, "```", ""]
    if isinstance(item, Figure):
        shown = f"![{escape(item.alt)}]({item.file})" if item.file else f"*Figure in index.html: {escape(item.alt)}.*"
        return ([f"### {escape(item.title)}", ""] if item.title else []) + [shown, ""]
    if isinstance(item, Table):
        return [table(item.frame), ""]
    raise TypeError(f"no Markdown for {type(item).__name__}")


def render_markdown(results, parts: list | None = None) -> str:
    """report.md; ``parts``: ``sections(results)`` when the caller has them already."""
    entries, failed = content.summary(results)
    out = [
        "# logitbench report",
        "",
        content.INTRO,
        "",
        escape(content.run_line(results.run_info)),
        "",
        "## Summary",
        "",
    ]
    for entry in entries:
        out.append(f"- **{escape(entry.dataset)}**: {escape(entry.text)}")
        out += [f"  - {escape(note)}" for note in entry.notes]
    out += ["", f"**{escape(failed)}**", ""] if failed else [""]
    for section in sections(results) if parts is None else parts:
        out += [f"## {escape(section.title)}", ""]
        for item in section.blocks:
            out += block(item)
    return "\n".join(out)
