"""The run history (parquet) and its trend page."""

from __future__ import annotations

import pandas as pd

from bench.cli import main
from bench.tracking.history import HISTORY_COLUMNS


def test_each_run_appends_and_the_page_plots(tmp_path, capsys):
    out = tmp_path / "latest"
    for _ in range(2):
        assert (
            main(
                [
                    "run",
                    "--datasets",
                    "spector",
                    "--models",
                    "sklearn_logit,torch_linear",
                    "--repeats",
                    "1",
                    "--out",
                    str(out),
                    "-q",
                ]
            )
            == 0
        )
    history = pd.read_parquet(tmp_path / "history.parquet")
    assert list(history.columns) == HISTORY_COLUMNS
    per_run = history.groupby("started").size()
    assert len(per_run) == 2 and per_run.iloc[0] == per_run.iloc[1]  # the same cells, twice
    assert {"log_loss", "accuracy", "fit_seconds"} <= set(history["metric"])
    page = tmp_path / "history.html"
    assert (
        main(
            [
                "history",
                "--history",
                str(tmp_path / "history.parquet"),
                "--out",
                str(page),
                "--metrics",
                "log_loss,fit_seconds",
            ]
        )
        == 0
    )
    text = page.read_text()
    assert text.count("<img") == 2 and "data:image/png;base64," in text
    capsys.readouterr()


def test_unknown_metric_and_missing_file_are_bad_input(tmp_path, capsys):
    assert main(["history", "--history", str(tmp_path / "none.parquet"), "--out", str(tmp_path / "h.html")]) == 2
    err = capsys.readouterr().err
    assert "none.parquet" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "h.html").exists()
