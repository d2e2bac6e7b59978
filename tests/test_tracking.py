"""`bench compare`: the committed baseline against itself and against broken copies.

Each broken copy changes one thing by an amount the rules in bench/rules.toml must
catch (a coefficient by 1e-3 > 1e-6; a CNN fit time x3 > x2.5 on the minima of a baseline
without timings.csv, x4 > x3 on its one timed call otherwise; a log loss +0.05 > 0.01).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from bench.cli import main

BASELINE = Path(__file__).resolve().parents[1] / "reports" / "baseline"


@pytest.fixture
def copy_of_baseline(tmp_path):
    target = tmp_path / "current"
    shutil.copytree(BASELINE, target)
    return target


def _edit(path: Path, change) -> None:
    frame = pd.read_csv(path, keep_default_na=False, na_values={"value": [""], "estimate": [""], "fit_seconds": [""]})
    changed = change(frame)  # edits in place, or returns a new frame
    (frame if changed is None else changed).to_csv(path, index=False)


def _compare(capsys, *args) -> tuple[int, str, str]:
    code = main(["compare", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


def test_baseline_is_a_quick_suite_run():
    info = json.loads((BASELINE / "run.json").read_text())
    assert info["config"]["suite"] == "quick"
    fits = pd.read_csv(BASELINE / "fits.csv", keep_default_na=False)
    assert "failed" not in set(fits["status"])
    assert {"digits", "digits:cnn_features", "spector"} <= set(fits["dataset"])


def test_baseline_against_itself_passes(capsys, copy_of_baseline):
    code, out, _ = _compare(capsys, BASELINE, copy_of_baseline)
    assert code == 0
    assert "no regression" in out
    assert (copy_of_baseline / "comparison.md").is_file()


def test_moved_coefficient_regresses(capsys, copy_of_baseline):
    def move(frame):
        rows = (frame["dataset"] == "spector") & (frame["model"] == "torch_linear") & (frame["term"] == "GPA")
        assert rows.sum() == 1
        frame.loc[rows, "estimate"] += 1e-3

    _edit(copy_of_baseline / "coefficients.csv", move)
    code, out, _ = _compare(capsys, BASELINE, copy_of_baseline)
    assert code == 1
    line = next(row for row in out.splitlines() if "REGRESSED" in row and "coefficients" in row)
    assert "spector" in line and "torch_linear" in line and "estimate[GPA]" in line


def test_slower_cnn_fit_regresses(capsys, copy_of_baseline):
    samples = (copy_of_baseline / "timings.csv").exists()  # report format 5: compare judges every timed call
    factor = 4 if samples else 3  # one training run: the ratio alone, against the wider x3; minima: x2.5

    def slow_down(frame):
        rows = (frame["dataset"] == "digits") & (frame["model"] == "torch_cnn")
        frame.loc[rows, "fit_seconds"] = frame.loc[rows, "fit_seconds"].astype(float) * factor

    _edit(copy_of_baseline / "fits.csv", slow_down)
    if samples:

        def slow_samples(frame):
            rows = (frame["dataset"] == "digits") & (frame["model"] == "torch_cnn") & (frame["phase"] == "fit")
            assert rows.sum() == 1
            frame.loc[rows, "seconds"] *= factor

        _edit(copy_of_baseline / "timings.csv", slow_samples)
    code, out, _ = _compare(capsys, BASELINE, copy_of_baseline)
    assert code == 1
    line = next(row for row in out.splitlines() if "REGRESSED" in row)
    assert "digits" in line and "torch_cnn" in line and "fit_seconds" in line


def test_worse_metric_regresses_and_json_names_it(capsys, copy_of_baseline):
    def worsen(frame):
        rows = (
            (frame["dataset"] == "breast_cancer")
            & (frame["model"] == "sklearn_logit")
            & (frame["metric"] == "log_loss")
        )
        frame.loc[rows, "value"] += 0.05

    _edit(copy_of_baseline / "metrics.csv", worsen)
    code, out, _ = _compare(capsys, BASELINE, copy_of_baseline, "--json")
    assert code == 1
    result = json.loads(out)
    assert result["regressed"] is True
    assert [(r["dataset"], r["model"], r["quantity"]) for r in result["regressions"]] == [
        ("breast_cancer", "sklearn_logit", "metrics.log_loss")
    ]


def test_missing_model_is_named(capsys, copy_of_baseline):
    _edit(
        copy_of_baseline / "fits.csv",
        lambda f: f.drop(f.index[(f["dataset"] == "spector") & (f["model"] == "torch_linear")]),
    )
    code, out, _ = _compare(capsys, BASELINE, copy_of_baseline)
    assert code == 1
    assert "missing: spector/torch_linear" in out


@pytest.mark.parametrize(
    "breakage", ["missing_file", "other_columns", "malformed_json", "other_suite", "old_format", "no_directory"]
)
def test_bad_baseline_is_bad_input(capsys, copy_of_baseline, breakage):
    if breakage == "missing_file":
        (copy_of_baseline / "metrics.csv").unlink()
    elif breakage == "other_columns":
        _edit(copy_of_baseline / "fits.csv", lambda f: f.rename(columns={"loglik": "log_likelihood"}))
    elif breakage == "malformed_json":
        (copy_of_baseline / "run.json").write_text("{not json")
    elif breakage == "other_suite":
        info = json.loads((copy_of_baseline / "run.json").read_text())
        info["config"]["suite"] = "standard"
        (copy_of_baseline / "run.json").write_text(json.dumps(info))
    elif breakage == "old_format":
        info = json.loads((copy_of_baseline / "run.json").read_text())
        info["report_format_version"] = 1
        (copy_of_baseline / "run.json").write_text(json.dumps(info))
    else:
        shutil.rmtree(copy_of_baseline)
    code, out, err = _compare(capsys, copy_of_baseline, BASELINE)
    assert code == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1 and err.startswith("bench: error:")


@pytest.mark.parametrize(
    "rules, named",
    [
        ('[metrics.perplexity]\ndirection = "lower_is_better"\nthreshold = 1\n', "perplexity"),
        ('[metrics.log_loss]\ndirection = "sideways"\nthreshold = 1\n', "sideways"),
        ('[speed.fit]\ndirection = "max"\nthreshold = 1\n', "speed"),
        ('[metrics.log_loss]\ndirection = "max"\nthreshold = "high"\n', "threshold"),
        ("not toml [", "TOML"),
    ],
)
def test_bad_rules_are_bad_input(capsys, tmp_path, rules, named):
    path = tmp_path / "rules.toml"
    path.write_text(rules)
    code, out, err = _compare(capsys, BASELINE, BASELINE, "--rules", path)
    assert code == 2
    assert named in err and str(path) in err
    assert len(err.strip().splitlines()) == 1


def test_probe_cells_are_timed_once_and_not_judged_on_runtime(copy_of_baseline, capsys):
    """The CNN's probe datasets are timed once on purpose: a probe fit 10x slower is no regression;
    the same slowdown on the probe's parent dataset is."""
    probe = "digits:probe:trained:fc2"

    def slower(dataset):
        def change(frame):
            rows = (frame["dataset"] == dataset) & (frame["model"] == "sklearn_logit") & (frame["phase"] == "fit")
            assert rows.any()
            frame.loc[rows, "seconds"] *= 10

        return change

    _edit(copy_of_baseline / "timings.csv", slower(probe))
    code, out, _ = _compare(capsys, BASELINE, copy_of_baseline)
    assert code == 0, out
    _edit(copy_of_baseline / "timings.csv", slower("digits"))
    code, out, _ = _compare(capsys, BASELINE, copy_of_baseline)
    assert code == 1 and "digits" in out and probe not in out
