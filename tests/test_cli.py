"""The command line: bad input is one line on stderr, exit status 2, nothing written
(bench/ARCHITECTURE.md, "CLI"); the good path writes every report file.

Dataset cards are checked through ``parse_card`` / ``load(cards=...)`` directly:
``load``'s default reads the built-in cards, so the CLI always reads the
shipped cards.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bench import datasets
from bench.cli import main
from bench.datasets.cards import CARDS_DIR, parse_card
from bench.errors import BenchInputError
from bench.models import REGISTRY
from tests.conftest import logistic_frame

ROOT = Path(__file__).resolve().parents[1]
REPORT_FILES = {
    "fits.csv",
    "coefficients.csv",
    "predictions.csv",
    "agreement.csv",
    "metrics.csv",
    "run.json",
    "report.md",
}


def run_cli(argv: list[str], capsys) -> tuple[int, str, str]:
    status = main(argv)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def assert_one_line_error(err: str, *names: str) -> None:
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("bench: error: "), err
    for name in names:
        assert name in lines[0], (name, err)


def csv_text(column: str | None = None, row: int = 3, value=None) -> str:
    """A 40-row, 2-feature CSV, optionally with one cell (or, row=None, a whole column) set."""
    frame = logistic_frame(n=40, p=2).astype({"x2": object})
    if column is not None:
        frame.loc[frame.index if row is None else row, column] = value
    return frame.to_csv(index=False)


# (id, file text or None for no file, --target, what the one line must name)
CSV_CASES = [
    ("nonexistent", None, "y", ["data.csv", "not found"]),
    ("empty", "", "y", ["data.csv", "empty"]),
    ("header_only", "x1,x2,y\n", "y", ["data.csv", "no data rows"]),
    ("missing_target", csv_text(), "label", ["data.csv", "'label'"]),
    ("nan_cell", csv_text("x2", 3, np.nan), "y", ["data.csv", "'x2'", "row 4"]),  # rows count from 1
    ("inf_cell", csv_text("x2", 3, np.inf), "y", ["data.csv", "'x2'", "inf"]),
    ("non_numeric_cell", csv_text("x2", 3, "abc"), "y", ["data.csv", "'x2'", "'abc'"]),
    ("target_value_2", csv_text("y", 3, 2), "y", ["data.csv", "'y'", "holds 2"]),
    ("target_all_0", csv_text("y", None, 0), "y", ["data.csv", "'y'", "only the value 0"]),
]


@pytest.mark.parametrize("content, target, names", [c[1:] for c in CSV_CASES], ids=[c[0] for c in CSV_CASES])
def test_bad_csv_is_one_line_exit_2_nothing_written(content, target, names, write_csv, tmp_path, capsys):
    path = tmp_path / "data.csv" if content is None else write_csv(content)
    out = tmp_path / "out"
    status, stdout, err = run_cli(["run", "--csv", str(path), "--target", target, "--out", str(out)], capsys)
    assert status == 2
    assert_one_line_error(err, *names)
    assert stdout == ""
    assert not out.exists()


ARG_CASES = [
    ("unknown_dataset", ["--datasets", "nope"], ["--datasets", "'nope'"]),
    ("unknown_model", ["--datasets", "spector", "--models", "nope"], ["--models", "'nope'"]),
    ("csv_without_target", ["--csv", "data.csv"], ["--csv", "--target"]),
    ("negative_C", ["--C", "-1"], ["--C", "-1"]),
    ("penalty_l3", ["--penalty", "l3"], ["--penalty", "l3"]),
]


@pytest.mark.parametrize("args, names", [c[1:] for c in ARG_CASES], ids=[c[0] for c in ARG_CASES])
def test_bad_argument_is_one_line_exit_2_nothing_written(args, names, tmp_path, capsys):
    out = tmp_path / "out"
    status, stdout, err = run_cli(["run", *args, "--out", str(out)], capsys)
    assert status == 2
    assert_one_line_error(err, *names)
    assert stdout == ""
    assert not out.exists()


@pytest.mark.parametrize(
    "args, names",
    [(["run", "--datasets", "nope"], ["'nope'"]), (["run", "--csv", "missing.csv", "--target", "y"], ["missing.csv"])],
    ids=["unknown_dataset", "missing_csv"],
)
def test_python_m_bench_bad_input_has_no_traceback(args, names, tmp_path):
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "bench", *args, "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert_one_line_error(proc.stderr, *names)
    assert not out.exists()


# --- the good path ------------------------------------------------------------------


def test_run_writes_every_report_file(tmp_path, capsys):
    out = tmp_path / "out"
    status, stdout, err = run_cli(["run", "--datasets", "spector", "--repeats", "1", "--out", str(out), "-q"], capsys)
    assert status == 0, err
    assert REPORT_FILES <= {p.name for p in out.iterdir()}
    assert str(out) in stdout
    assert err == ""  # -q: no progress, and nothing else


def test_datasets_lists_every_card(capsys):
    status, stdout, _ = run_cli(["datasets"], capsys)
    assert status == 0
    listed = [line.split()[0] for line in stdout.splitlines() if line.strip()]
    assert listed == sorted(p.stem for p in CARDS_DIR.glob("*.toml"))


def test_models_lists_every_registry_name(capsys):
    status, stdout, _ = run_cli(["models"], capsys)
    assert status == 0
    assert [line.split()[0] for line in stdout.splitlines() if line.strip()] == list(REGISTRY)


# --- dataset cards ------------------------------------------------------------------

GOOD_CARD = """name = "{name}"
description = "a test card"
source = "{source}"
target = "y"

[split]
method = "holdout"
test_fraction = 0.25

[penalty]
kind = "l2"
C = {C}
"""


def write_card(
    folder: Path,
    name: str = "mine",
    *,
    source: str = "csv:mine.csv",
    C: str = "1.0",
    text: str | None = None,
    stem: str | None = None,
) -> Path:
    path = folder / f"{stem or name}.toml"
    path.write_text(text if text is not None else GOOD_CARD.format(name=name, source=source, C=C), encoding="utf-8")
    return path


def test_good_csv_card_loads(tmp_path):
    logistic_frame(n=80, p=3).to_csv(tmp_path / "mine.csv", index=False)
    write_card(tmp_path)
    ds = datasets.load("mine", cards=tmp_path)
    assert ds.feature_names == ("x1", "x2", "x3")
    assert ds.n_train + ds.X_test.shape[0] == 80
    assert (ds.penalty, ds.C) == ("l2", 1.0)


CARD_CASES = [
    (
        "missing_field",
        lambda d: write_card(
            d,
            text=GOOD_CARD.format(name="mine", source="csv:mine.csv", C="1.0").replace(
                'description = "a test card"\n', ""
            ),
        ),
        ["'description'", "missing"],
    ),
    ("mistyped_field", lambda d: write_card(d, C='"one"'), ["'penalty.C'", "'one'"]),
    (
        "unknown_field",
        lambda d: write_card(
            d, text='colour = "red"\n' + GOOD_CARD.format(name="mine", source="csv:mine.csv", C="1.0")
        ),
        ["'colour'", "unknown field"],
    ),
    ("name_is_not_the_stem", lambda d: write_card(d, name="other", stem="mine"), ["'other'", "'mine'"]),
    ("invalid_toml", lambda d: write_card(d, text="name = \n[split"), ["not valid TOML"]),
]


@pytest.mark.parametrize("make, names", [c[1:] for c in CARD_CASES], ids=[c[0] for c in CARD_CASES])
def test_bad_card_is_one_line_input_error(make, names, tmp_path):
    path = make(tmp_path)
    for call in (lambda: parse_card(path), lambda: datasets.load("mine", cards=tmp_path)):
        with pytest.raises(BenchInputError) as info:
            call()
        message = str(info.value)
        assert "\n" not in message
        assert message.startswith(str(path))
        for name in names:
            assert name in message, (name, message)


def test_card_csv_outside_its_folder_is_refused(tmp_path):
    cards = tmp_path / "cards"
    cards.mkdir()
    logistic_frame(n=80).to_csv(tmp_path / "x.csv", index=False)  # exists, but outside
    write_card(cards, source="csv:../x.csv")
    parse_card(cards / "mine.toml")  # the card itself is well formed
    with pytest.raises(BenchInputError, match=r"'\.\./x\.csv' points outside") as info:
        datasets.load("mine", cards=cards)
    assert "\n" not in str(info.value)


def test_unknown_card_name_lists_the_cards(tmp_path):
    write_card(tmp_path)
    with pytest.raises(BenchInputError, match=r"--datasets: unknown dataset 'nope'; expected one of mine"):
        datasets.load("nope", cards=tmp_path)


def test_shipped_cards_all_parse():
    cards = datasets.available()
    assert set(cards) == {p.stem for p in CARDS_DIR.glob("*.toml")}
    assert {"spector", "breast_cancer", "synthetic"} <= set(cards)
