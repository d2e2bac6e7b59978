"""report.md and index.html say the same thing: both render ``bench.report.sections``' blocks,
so every section, every table cell and every verdict label appears in both."""

from __future__ import annotations

import html
from dataclasses import replace

import pandas as pd
import pytest

from bench.report.blocks import Table, Text, format_value
from bench.report.html import render_html
from bench.report.markdown import render_markdown
from bench.report.sections import sections
from bench.tables.verdicts import LOSS_TOLERANCE, losses_with_verdict

WHY = "fed probabilities, NLLLoss returns -mean(p_true)"


def _losses(wrong_gap: float, equal_gap: float) -> pd.DataFrame:
    """A losses table as torch_cnn writes it: three equivalent losses and the seed's wrong one."""
    rows = [
        ("CrossEntropyLoss(z)", 0.5, 0.0, True, "reference"),
        ("NLLLoss(log_softmax(z))", 0.5, 0.0, True, "same"),
        ("BCEWithLogitsLoss(z1 - z0)", 0.5 + equal_gap, equal_gap, True, "same"),
        ("NLLLoss(softmax(z))", 0.5 - wrong_gap, wrong_gap, False, WHY),
    ]
    frame = pd.DataFrame(rows, columns=["loss", "value", "abs_diff_vs_cross_entropy", "equivalent", "note"])
    frame.insert(0, "model", "torch_cnn")
    frame.insert(0, "dataset", "digits")
    frame["equivalent"] = frame["equivalent"].astype("boolean")
    return frame


@pytest.fixture(scope="module")
def run_with_losses(small_run):
    return replace(small_run, losses=_losses(wrong_gap=1.1, equal_gap=6e-8))


def _cells(frame: pd.DataFrame) -> set[str]:
    return {format_value(v) for v in frame.itertuples(index=False) for v in v} - {""}


def test_both_renderings_hold_every_section_in_order(run_with_losses):
    titles = [s.title for s in sections(run_with_losses)]
    assert {"Agreement", "Coefficients", "Fits and runtime", "Four losses on the CNN's logits"} <= set(titles)
    md = render_markdown(run_with_losses)
    page = render_html(run_with_losses)
    md_positions = [md.index(f"\n## {t}\n") for t in titles]
    html_positions = [page.index(f">{html.escape(t)}</h2>") for t in titles]
    assert md_positions == sorted(md_positions) and html_positions == sorted(html_positions)


def test_every_table_cell_and_text_is_in_both_renderings(run_with_losses):
    md = render_markdown(run_with_losses)
    page = html.unescape(render_html(run_with_losses))
    checked = 0
    for section in sections(run_with_losses):
        for block in section.blocks:
            if isinstance(block, Table):
                for cell in _cells(block.frame):
                    assert cell in page, (section.title, cell)
                    assert cell.replace("|", "\\|") in md.replace("&lt;", "<").replace("&gt;", ">"), (
                        section.title,
                        cell,
                    )
                    checked += 1
            elif isinstance(block, Text):
                assert block.text.replace("`", "") in page.replace("<code>", "").replace("</code>", "")
    assert checked > 100


def test_one_verdict_label_set_for_the_losses(run_with_losses):
    judged = losses_with_verdict(run_with_losses.losses)
    assert list(judged["expected"]) == ["equal", "equal", "equal", "different"]
    assert list(judged["verdict"]) == ["pass"] * 4
    md, page = render_markdown(run_with_losses), render_html(run_with_losses)
    for label in ("| equal | pass |", "| different | pass |"):
        assert label in md
    assert '<td class="text">different</td><td class="text pass">pass</td>' in page  # coloured as a verdict
    # the "why it is wrong" note is read from the table's note column
    assert WHY in md and html.escape(WHY) in page


@pytest.mark.parametrize(
    ("wrong_gap", "equal_gap", "expected"),
    [
        (1.1, 6e-8, ["pass", "pass", "pass", "pass"]),
        (1.1, 10 * LOSS_TOLERANCE, ["pass", "pass", "FAIL", "pass"]),  # an "equivalent" loss that is not
        (0.0, 6e-8, ["pass", "pass", "pass", "FAIL"]),  # the wrong loss unexpectedly equal
    ],
)
def test_loss_verdicts(wrong_gap, equal_gap, expected):
    assert list(losses_with_verdict(_losses(wrong_gap, equal_gap))["verdict"]) == expected


def test_the_cnn_trace_comes_from_run_json(small_run):
    trace = "layer  output shape\nconv1  6 x 196 x 196"
    fits = pd.concat([small_run.fits, small_run.fits.iloc[:1].assign(model="torch_cnn", dataset="digits")])
    info = small_run.run_info | {"architectures": {"torch_cnn": trace}}
    with_cnn = replace(small_run, fits=fits, run_info=info)
    assert f"```\n{trace}\n```" in render_markdown(with_cnn)
    assert f"<pre>{html.escape(trace)}</pre>" in render_html(with_cnn)
