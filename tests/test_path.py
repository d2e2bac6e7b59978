"""Penalty paths (``python -m bench path``): the exact models agree at every C, the path
shrinks as C falls, the uncorrected two-logit fit at C is the binary fit at 2C, bad input
is one line and exit 2 with nothing written, and the page is self-contained.

Tolerances: 1e-5 between the exact models is the issue's contract ("every C has the
three linear models within 1e-5 of one another"); 1e-6 for the C' = 2C mapping is the
project's agreement tolerance for float64 fits of one convex objective (bench.config).
The runs are small (5 values of C; spector 32 rows, breast_cancer 569) and shared.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from bench import datasets, models
from bench.cli import main
from bench.config import RunConfig
from bench.penalty_path import agreement as path_agreement
from bench.penalty_path import report as path_report
from bench.penalty_path import run as path
from tests.conftest import html_tags

PATH_COLUMNS = ["dataset", "model", "C", "class", "term", "estimate"]  # the issue's, in order
EXACT = ("sklearn_logit", "statsmodels_logit", "torch_linear", "torch_softmax2")
AGREEMENT_TOL = 1e-5  # the issue's
MAPPING_TOL = 1e-6  # bench.config.TOLERANCES["coef"]
SMALL_GRID = "1e-2:1e2:5"  # 0.01, 0.1, 1, 10, 100
FACTOR_2_GRID = "0.25:4:5"  # 0.25, 0.5, 1, 2, 4: 2C is on the grid for all but the last


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """``written(dataset, grid) -> (exit status, report directory)``, each run once."""
    cache = {}

    def get(dataset: str, grid: str):
        if (dataset, grid) not in cache:
            out = tmp_path_factory.mktemp("path") / f"{dataset}-{grid.replace(':', '_')}"
            # the path measures its cells as a run does (memory.young_only, bench.penalty_path.run)
            status = main(["path", "--dataset", dataset, "--C-grid", grid, "--out", str(out), "-q"])
            cache[dataset, grid] = status, out
        return cache[dataset, grid]

    return get


def read_path(out) -> pd.DataFrame:
    return pd.read_csv(out / "path.csv")


def wide(frame: pd.DataFrame, model: str) -> pd.DataFrame:
    """C x term -> estimate for one model (binary: class 1 only)."""
    return frame[frame["model"] == model].pivot(index="C", columns="term", values="estimate").sort_index()


CASES = [("spector", SMALL_GRID), ("breast_cancer", SMALL_GRID), ("breast_cancer", FACTOR_2_GRID)]


@pytest.mark.parametrize("dataset,grid", CASES)
def test_path_csv_has_exactly_the_issue_columns(written, dataset, grid):
    _, out = written(dataset, grid)
    frame = read_path(out)
    assert list(frame.columns) == PATH_COLUMNS
    typed = pd.read_parquet(out / "path.parquet")
    assert list(typed.columns) == PATH_COLUMNS and len(typed) == len(frame)
    np.testing.assert_array_equal(typed["estimate"].to_numpy(), frame["estimate"].to_numpy())  # %.17g round-trips
    assert set(frame["dataset"]) == {dataset}
    assert set(frame["model"]) == {*EXACT, path_agreement.UNCORRECTED}
    n_terms = datasets.load(dataset).n_features + 1
    assert (frame.groupby(["model", "C"]).size() == n_terms).all()


@pytest.mark.parametrize("dataset,grid", CASES)
def test_exact_models_agree_within_1e5_at_every_C(written, dataset, grid):
    """Recomputed from path.csv, and checked against path_agreement.csv."""
    _, out = written(dataset, grid)
    frame = read_path(out)
    grid_values = path.parse_grid(grid)
    filed = pd.read_csv(out / "path_agreement.csv")
    filed = filed[filed["comparison"] == path_agreement.SAME_C].set_index(["C", "model_a", "model_b"])["max_abs_diff"]
    for a, b in itertools.combinations(EXACT, 2):
        wa, wb = wide(frame, a), wide(frame, b)
        np.testing.assert_array_equal(wa.index, grid_values)  # every model has every C: no cell failed
        np.testing.assert_array_equal(wb.index, grid_values)
        diff = (wa - wb).abs().max(axis=1)  # (n_C,) max over terms
        assert (diff <= AGREEMENT_TOL).all(), (a, b, diff.to_dict())
        for C, value in diff.items():
            assert filed[(C, a, b)] == pytest.approx(value, rel=0, abs=1e-15), (a, b, C)


@pytest.mark.parametrize("dataset,grid", CASES)
def test_coefficients_shrink_toward_zero_as_C_falls(written, dataset, grid):
    """The ridge path: ||w(C)|| is non-increasing as C falls (compare the objectives at two
    values of C); strictly here, since no coefficient is zero. The intercept is unpenalised
    and left out. At the smallest C every weight is small next to the largest C's."""
    _, out = written(dataset, grid)
    frame = read_path(out)
    for model in EXACT:
        weights = wide(frame, model).drop(columns="intercept")
        norms = np.linalg.norm(weights.to_numpy(), axis=1)  # (n_C,), C increasing
        assert np.all(np.diff(norms) > 0), (model, norms)
        if grid == SMALL_GRID:  # four decades: the smallest C's weights are near 0
            assert norms[0] < 0.1 * norms[-1], (model, norms)


@pytest.mark.parametrize("dataset", ["spector", "breast_cancer"])
def test_uncorrected_softmax_at_C_is_sklearn_at_2C(written, dataset):
    _, out = written(dataset, FACTOR_2_GRID)
    frame = read_path(out)
    uncorrected, reference = wide(frame, path_agreement.UNCORRECTED), wide(frame, "sklearn_logit")
    checked = 0
    for C in uncorrected.index:
        if 2 * C in reference.index:
            np.testing.assert_allclose(uncorrected.loc[C], reference.loc[2 * C], rtol=0, atol=MAPPING_TOL)
            checked += 1
    assert checked == 4  # 0.25, 0.5, 1, 2
    # and it really is a different model at the same C: the mapping is not vacuous
    gap = (uncorrected - reference).abs().max(axis=1)
    assert (gap > 1e-2).all(), gap.to_dict()
    filed = pd.read_csv(out / "path_agreement.csv")
    judged = filed[filed["comparison"] == path_agreement.AT_2C]
    assert len(judged) == 4 and (judged["verdict"] == "pass").all()
    np.testing.assert_allclose(judged["C_b"], 2 * judged["C"])


def test_wide_grid_shows_the_mapping_by_spline(written):
    """1e-2:1e2:5 has no 2C on the grid: the rows are shown, not judged."""
    _, out = written("breast_cancer", SMALL_GRID)
    filed = pd.read_csv(out / "path_agreement.csv")
    shown = filed[filed["comparison"] == path_agreement.AT_2C_INTERPOLATED]
    assert len(shown) == 4 and (shown["verdict"] == "compared").all() and shown["tolerance"].isna().all()
    assert not (filed["comparison"] == path_agreement.AT_2C).any()


@pytest.mark.parametrize("dataset,grid", CASES)
def test_exit_status_says_whether_everything_agreed(written, dataset, grid):
    status, out = written(dataset, grid)
    fits = pd.read_csv(out / "path_fits.csv")
    agreement = pd.read_csv(out / "path_agreement.csv")
    expected = 0 if (fits["status"] != "failed").all() and (agreement["verdict"] != "FAIL").all() else 1
    assert status == expected
    assert (fits.loc[fits["model"].isin(EXACT), "status"] == "ok").all()  # the exact models never fail here


def test_breast_cancer_path_passes(written):
    status, out = written("breast_cancer", SMALL_GRID)
    assert status == 0
    assert "**pass**" in (out / "path.md").read_text(encoding="utf-8")


def test_a_failed_cell_is_isolated_and_exits_1(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(models.REGISTRY, "fault_raises", "tests.fault_models:Raises")
    out = tmp_path / "out"
    status = main(
        [
            "path",
            "--dataset",
            "spector",
            "--C-grid",
            "0.5:1:2",
            "--models",
            "fault_raises,sklearn_logit",
            "--out",
            str(out),
            "-q",
        ]
    )
    err = capsys.readouterr().err
    assert status == 1
    fits = pd.read_csv(out / "path_fits.csv")
    assert (fits.loc[fits["model"] == "fault_raises", "status"] == "failed").all()
    assert (fits.loc[fits["model"] == "sklearn_logit", "status"] == "ok").all()
    assert set(read_path(out)["model"]) == {"sklearn_logit", path_agreement.UNCORRECTED}
    assert err.count("failed: fault_raises") == 2


def test_grid_is_log_spaced_and_inclusive():
    np.testing.assert_array_equal(path.parse_grid(FACTOR_2_GRID), [0.25, 0.5, 1.0, 2.0, 4.0])
    grid = path.parse_grid("1e-3:1e3:13")
    assert grid[0] == 1e-3 and grid[-1] == 1e3 and len(grid) == 13
    np.testing.assert_allclose(grid[1:] / grid[:-1], 10**0.5, rtol=1e-11)


BAD = [
    (["--C-grid", "0:1:5"], ["--C-grid", "LOW"]),
    (["--C-grid=-1:3:5"], ["--C-grid", "LOW"]),
    (["--C-grid", "1:1:5"], ["--C-grid", "HIGH"]),
    (["--C-grid", "10:1:5"], ["--C-grid", "HIGH"]),
    (["--C-grid", "1e-2:1e2:1"], ["--C-grid", "N"]),
    (["--C-grid", "1e-2:1e2:2.5"], ["--C-grid", "N"]),
    (["--C-grid", "1e-2:1e2"], ["--C-grid", "LOW:HIGH:N"]),
    (["--C-grid", "a:b:3"], ["--C-grid", "numbers"]),
    (["--C-grid", "1:inf:3"], ["--C-grid", "HIGH"]),
    (["--C-grid", "nan:1:3"], ["--C-grid", "LOW"]),
    (["--models", "torch_cnn"], ["--models", "torch_cnn"]),
    (["--models", "nope"], ["--models", "'nope'"]),
    (["--threads", "0"], ["--threads"]),
]


@pytest.mark.parametrize("extra,names", BAD, ids=[" ".join(e) for e, _ in BAD])
def test_bad_input_is_one_line_exit_2_nothing_written(tmp_path, capsys, extra, names):
    out = tmp_path / "out"
    status = main(["path", "--dataset", "spector", "--out", str(out), *extra])
    assert_bad_input(status, capsys, tmp_path, names)


def test_unknown_dataset_is_bad_input(tmp_path, capsys):
    status = main(["path", "--dataset", "nosuch", "--C-grid", SMALL_GRID, "--out", str(tmp_path / "out")])
    assert_bad_input(status, capsys, tmp_path, ["--dataset", "'nosuch'", "spector"])


def assert_bad_input(status, capsys, tmp_path, names):
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert status == 2
    assert len(lines) == 1 and lines[0].startswith("bench: error: "), captured.err
    for name in names:
        assert name in lines[0], (name, lines[0])
    assert captured.out == ""
    assert list(tmp_path.iterdir()) == []  # nothing written, not even the directory


def test_page_has_images_and_no_scripts(written):
    _, out = written("breast_cancer", SMALL_GRID)
    text = (out / "index.html").read_text(encoding="utf-8")
    tags = html_tags(text)
    assert not [t for t, _ in tags if t in ("script", "link", "iframe")]
    images = [a["src"] for t, a in tags if t == "img"]
    assert len(images) == 2 and all(src.startswith("data:image/png;base64,") for src in images)
    assert not re.search(r"https?://", text)
    assert "tolerance" in text and "pass" in text


def test_names_from_the_data_are_escaped():
    hostile = "<img src=x onerror=alert(1)>"
    run = path.run("spector", path.parse_grid("0.5:1:2"), ("sklearn_logit", "torch_linear"))
    run = replace(
        run,
        dataset=hostile,
        path=run.path.assign(term=run.path["term"].replace("GPA", hostile)),
        fits=run.fits.assign(message=hostile),
    )
    text = path_report.render_path_html(run)
    assert hostile not in text and "&lt;img src=x onerror=alert(1)&gt;" in text


def test_two_logit_fit_converges_on_spector_at_C_10():
    at_10 = datasets.with_penalty(datasets.load("spector"), "l2", 10.0)
    assert path.fit_uncorrected(at_10, RunConfig(repeats=1)).status == "ok"
