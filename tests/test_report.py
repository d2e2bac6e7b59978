"""The report directory: its files, their columns, and that every number in
``agreement.csv`` can be recomputed from the other CSVs (bench/ARCHITECTURE.md, "Report files").

The CSVs are read back with plain pandas, not ``bench.load``, so that the checks do
not rely on the code under test; ``bench.load`` gets its own round-trip tests.
"""

from __future__ import annotations

import json
import os
import shutil
from datetime import datetime
from itertools import combinations
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy.special import expit

import bench
import bench.files
import bench.report.writer
import bench.tables.schema

# bench/ARCHITECTURE.md, "Report files": the columns, spelled out here rather than imported.
DESIGN_COLUMNS = {
    "fits.csv": [
        "dataset",
        "model",
        "status",
        "message",
        "fit_seconds",
        "predict_seconds",
        "n_iter",
        "converged",
        "loglik",
        "peak_extra_bytes",
    ],
    # bench/ARCHITECTURE.md's six, then the Wald columns the statistical-depth issue adds after them
    "coefficients.csv": [
        "dataset",
        "model",
        "class",
        "term",
        "estimate",
        "std_error",
        "z",
        "p_value",
        "ci_low",
        "ci_high",
    ],
    # fits.csv: bench/ARCHITECTURE.md's nine, then the speed issue's peak_extra_bytes (below)
    "predictions.csv": ["dataset", "model", "row", "class", "logit", "proba"],
    "agreement.csv": ["dataset", "model_a", "model_b", "quantity", "max_abs_diff", "rel_diff"],
    "metrics.csv": ["dataset", "model", "metric", "value"],
}
RUN_JSON_KEYS = {"config", "seed", "versions", "machine", "git", "started", "finished"}
TABLES = list(bench.tables.schema.TABLES)  # every table Results carries (a superset of the original five)
# Two float64 sigmoids differ by a few ulps of 1 (measured 1.1e-16); values are written
# with %.17g, which round-trips float64 exactly.
SIGMOID_ATOL = 1e-15


def read(directory, name: str) -> pd.DataFrame:
    # keep_default_na=False: a term or dataset called "NA" stays a string; only empty cells are missing
    return pd.read_csv(directory / name, keep_default_na=False, na_values=[""])


def test_every_csv_has_exactly_the_design_columns(saved_small_run):
    for name, columns in DESIGN_COLUMNS.items():
        assert list(read(saved_small_run, name).columns) == columns, name


def test_report_md_is_written(saved_small_run):
    text = (saved_small_run / "report.md").read_text(encoding="utf-8")
    assert text.startswith("# logitbench report")
    assert "spector" in text and "synthetic" in text


def test_index_html_is_written(saved_small_run):
    assert (saved_small_run / "index.html").is_file()


def test_run_json_has_provenance(saved_small_run, small_run):
    info = json.loads((saved_small_run / "run.json").read_text(encoding="utf-8"))
    assert RUN_JSON_KEYS <= set(info)
    assert info["config"]["datasets"] == ["spector", "synthetic"]
    assert info["config"]["repeats"] == 1
    assert info["seed"] == info["config"]["seed"] == 0
    assert {"numpy", "pandas", "scikit-learn", "statsmodels", "torch"} <= set(info["versions"])
    assert info["versions"]["numpy"] == np.__version__
    assert {"cpu", "cores", "python"} <= set(info["machine"])
    assert {"commit", "dirty"} <= set(info["git"])
    assert datetime.fromisoformat(info["started"]) <= datetime.fromisoformat(info["finished"])
    assert info == json.loads(json.dumps(small_run.run_info, default=str))


def test_all_cells_ok(small_run):
    fits = small_run.fits
    assert len(fits) == 2 * 3
    assert (fits["status"] == "ok").all(), fits[["dataset", "model", "message"]]


def _aligned(frame: pd.DataFrame, keys: list[str], value: str, a: str, b: str) -> tuple[np.ndarray, np.ndarray]:
    left = frame[frame["model"] == a][[*keys, value]]
    right = frame[frame["model"] == b][[*keys, value]]
    both = left.merge(right, on=keys, suffixes=("_a", "_b"), validate="one_to_one")
    assert len(both) == len(left) == len(right)  # the same entries on both sides
    return both[f"{value}_a"].to_numpy(), both[f"{value}_b"].to_numpy()


def test_agreement_rows_are_recomputable_from_the_other_csvs(saved_small_run):
    fits, coefficients = read(saved_small_run, "fits.csv"), read(saved_small_run, "coefficients.csv")
    predictions, agreement = read(saved_small_run, "predictions.csv"), read(saved_small_run, "agreement.csv")
    effects = read(saved_small_run, "effects.csv")
    sources = {
        "coef": (coefficients[coefficients["model"] != "truth"], ["class", "term"], "estimate"),
        "logit": (predictions, ["row", "class"], "logit"),
        "proba": (predictions, ["row", "class"], "proba"),
        "loglik": (fits.assign(key=0), ["key"], "loglik"),
        "std_error": (coefficients[coefficients["std_error"].notna()], ["class", "term"], "std_error"),
        "ame": (effects, ["class", "term"], "ame"),
        "ame_std_error": (effects, ["class", "term"], "std_error"),
    }
    for dataset in ("spector", "synthetic"):
        models = fits[(fits["dataset"] == dataset) & (fits["status"] == "ok")]["model"].tolist()
        rows = agreement[agreement["dataset"] == dataset]
        # inference quantities exist for unpenalised fits only (spector), point ones everywhere
        quantities = sources if dataset == "spector" else ("coef", "logit", "proba", "loglik")
        expected_keys = {(a, b, q) for a, b in combinations(models, 2) for q in quantities}
        assert set(zip(rows["model_a"], rows["model_b"], rows["quantity"])) == expected_keys
        assert len(rows) == len(expected_keys)
        for row in rows.itertuples():
            frame, keys, value = sources[row.quantity]
            a, b = _aligned(frame[frame["dataset"] == dataset], keys, value, row.model_a, row.model_b)
            max_abs = np.max(np.abs(a - b))
            scale = max(np.max(np.abs(a)), np.max(np.abs(b)))
            # max and abs are exact on the same (losslessly written) float64 values: equality
            assert row.max_abs_diff == max_abs, row
            assert row.rel_diff == (max_abs / scale if scale > 0 else 0.0), row


def test_predictions_proba_is_sigmoid_of_logit(saved_small_run):
    predictions = read(saved_small_run, "predictions.csv")
    assert len(predictions) > 0
    assert set(predictions["class"]) == {1}  # binary models report class 1
    assert_allclose(predictions["proba"], expit(predictions["logit"]), rtol=0, atol=SIGMOID_ATOL)


def test_coefficients_carry_the_synthetic_truth(saved_small_run, synthetic):
    coefficients = read(saved_small_run, "coefficients.csv")
    truth = coefficients[coefficients["model"] == "truth"]
    assert set(truth["dataset"]) == {"synthetic"}  # spector has no known truth
    assert truth["term"].tolist() == [*synthetic.feature_names, "intercept"]
    assert_array_equal(truth["estimate"], np.r_[synthetic.truth.coef, synthetic.truth.intercept])
    assert truth["std_error"].isna().all()


# --- bench.load ---------------------------------------------------------------------


def test_load_emits_no_warning(saved_small_run):
    bench.load(saved_small_run)


def test_load_round_trips_the_frames(saved_small_run, small_run):
    loaded = bench.load(saved_small_run)
    for name in TABLES:
        # dtypes differ on the way back (nullable Int64 / boolean / str become numpy ones)
        pd.testing.assert_frame_equal(getattr(loaded, name), getattr(small_run, name), check_dtype=False, obj=name)
    assert loaded.run_info == json.loads(json.dumps(small_run.run_info, default=str))


def test_load_keeps_a_term_named_NA(tmp_path, write_csv, make_config):
    from tests.conftest import logistic_frame

    frame = logistic_frame(n=200, p=2).rename(columns={"x1": "NA", "x2": "null"})
    results = bench.run(make_config(csv=write_csv(frame), target="y", models=("sklearn_logit",)))
    loaded = bench.load(results.save(tmp_path / "out"))
    assert loaded.coefficients["term"].tolist() == ["NA", "null", "intercept"]


# --- writing: whole-directory replacement -------------------------------------------


def test_saving_over_an_existing_report_replaces_it_whole(small_run, saved_small_run, tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "run.json").write_text("{}")  # an older report ...
    (out / "stale.txt").write_text("from an older run")  # ... with a file this one does not write
    assert small_run.save(out) == out
    # exactly what a save into a fresh directory writes: the stale file is gone
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in saved_small_run.iterdir())
    assert {*DESIGN_COLUMNS, "run.json", "report.md"} <= {p.name for p in out.iterdir()}
    assert [p.name for p in tmp_path.iterdir()] == ["run"]  # no staging or retired directories left


def test_a_failed_write_leaves_the_old_report_intact(small_run, saved_small_run, tmp_path, monkeypatch):
    out = Path(shutil.copytree(saved_small_run, tmp_path / "run"))  # the old report: a save, copied (~2 s less)
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def broken(results, parts=None):
        raise RuntimeError("disk full")

    monkeypatch.setattr(bench.report.writer, "render_markdown", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        small_run.save(out)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert [p.name for p in tmp_path.iterdir()] == ["run"]


def test_a_failed_final_move_restores_the_old_report(small_run, saved_small_run, tmp_path, monkeypatch):
    out = Path(shutil.copytree(saved_small_run, tmp_path / "run"))  # the old report: a save, copied (~2 s less)
    real_replace = os.replace

    def replace(src, dst):
        if str(src).startswith(str(tmp_path / ".run.")) and not str(src).startswith(str(tmp_path / ".run.old.")):
            raise OSError("simulated failure moving the new report in")
        return real_replace(src, dst)

    monkeypatch.setattr(bench.files.os, "replace", replace)
    with pytest.raises(OSError):
        small_run.save(out)
    assert (out / "fits.csv").is_file()


def test_report_directory_has_ordinary_permissions(small_run, tmp_path):
    umask = os.umask(0o022)
    os.umask(umask)  # read the umask back unchanged
    out = small_run.save(tmp_path / "run")
    assert out.stat().st_mode & 0o777 == 0o777 & ~umask


def test_results_failed_is_empty_for_a_clean_run(small_run):
    assert small_run.failed.empty
    # 3 model pairs x (4 point quantities on both datasets + 3 inference ones on unpenalised spector)
    assert len(small_run.agreement) == 3 * (2 * 4 + 3)


def test_single_files_have_ordinary_permissions(tmp_path):
    """files.write_file (the history, comparison.md, the trend page, the cell store) follows the
    umask, as open() would: mkstemp alone would leave them readable by their owner only."""
    from bench import files

    umask = os.umask(0o022)
    try:
        files.write_text(tmp_path / "comparison.md", "text\n")
    finally:
        os.umask(umask)
    assert (tmp_path / "comparison.md").stat().st_mode & 0o777 == 0o644
