"""Runtime regressions at milliseconds: raw samples (timings.csv), adaptive repeats, a
Mann-Whitney U test in `bench compare`, and steps in the history (`bench history --regressions`).

One small real run gives the report layout; the comparisons edit its timings.csv with samples
drawn here, so nothing below depends on how fast this machine is (no timed asserts).
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import bench
from bench.cli import main
from bench.runner import cell
from bench.tables.schema import TIMING_COLUMNS
from bench.tracking import compare, history
from bench.tracking.rules import load_rules
from bench.tracking.steps import detect_steps

CELL = ("spector", "statsmodels_logit")


@pytest.fixture(scope="module")
def small_report(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("runtime") / "run"
    models = "sklearn_logit,statsmodels_logit"
    assert main(["run", "--datasets", "spector", "--models", models, "--out", str(out), "-q", "--no-history"]) == 0
    return out


def _copy(report: Path, target: Path, samples: dict | None = None, speed: float | None = None) -> Path:
    """A copy of ``report`` whose timings.csv has ``samples`` ({(dataset, model, phase): seconds})
    in place of those cells' rows, and run.json ``speed`` as its speed reference."""
    shutil.copytree(report, target)
    timings = pd.read_csv(target / "timings.csv")
    for (dataset, model, phase), seconds in (samples or {}).items():
        mine = (timings["dataset"] == dataset) & (timings["model"] == model) & (timings["phase"] == phase)
        new = pd.DataFrame(
            {"dataset": dataset, "model": model, "phase": phase, "repeat": range(len(seconds)), "seconds": seconds}
        )
        timings = pd.concat([timings[~mine], new], ignore_index=True)
    timings.to_csv(target / "timings.csv", index=False)
    (target / "timings.parquet").unlink()  # stale; compare reads the CSVs
    if speed is not None:
        info = json.loads((target / "run.json").read_text())
        info["speed_reference_seconds"] = speed
        (target / "run.json").write_text(json.dumps(info))
    return target


def _compare(capsys, *args) -> tuple[int, str]:
    code = main(["compare", *map(str, args)])
    return code, capsys.readouterr().out


def _draws(rng, median: float, n: int) -> np.ndarray:
    """Timings as a loaded machine gives them: log-normal, and now and then a call 1-4x slower."""
    seconds = median * rng.lognormal(0.0, 0.15, n)
    slow = rng.random(n) < 0.05
    seconds[slow] *= rng.uniform(1, 4, slow.sum())
    return seconds


# --- the raw samples and adaptive repeats -------------------------------------------------


def test_every_timed_call_is_in_timings_csv(small_report):
    timings = pd.read_csv(small_report / "timings.csv")
    assert list(timings.columns) == TIMING_COLUMNS
    fits = pd.read_csv(small_report / "fits.csv")
    metrics = pd.read_csv(small_report / "metrics.csv")
    for (dataset, model, phase), part in timings.groupby(["dataset", "model", "phase"]):
        assert list(part["repeat"]) == list(range(len(part)))
        if phase == "reference":  # the speed workload, before the fits and after the predicts
            assert len(part) == 2 * cell.REFERENCE_CALLS
            continue
        # fast phases reach the budget, or the cap; --repeats (5) calls at least
        assert part["seconds"].sum() >= cell.TIME_BUDGET_SECONDS or len(part) == cell.MAX_REPEATS
        assert cell.MIN_REPEATS <= len(part) <= cell.MAX_REPEATS
        row = fits[(fits["dataset"] == dataset) & (fits["model"] == model)].iloc[0]
        assert row[f"{phase}_seconds"] == pytest.approx(part["seconds"].min(), rel=1e-12)
        median = metrics[(metrics["model"] == model) & (metrics["metric"] == f"{phase}_seconds_median")]["value"]
        assert median.iloc[0] == pytest.approx(part["seconds"].median(), rel=1e-12)
    loaded = bench.load(small_report)
    assert loaded.run_info["report_format_version"] == 5
    assert loaded.run_info["adaptive_repeats"]["budget_seconds"] == cell.TIME_BUDGET_SECONDS
    assert len(loaded.timings) == len(timings)


class _Clock:
    """perf_counter for a model whose every call takes ``seconds``."""

    def __init__(self, seconds: float) -> None:
        self.now, self.seconds = 0.0, seconds

    def __call__(self) -> float:
        return self.now

    def call(self) -> None:
        self.now += self.seconds


@pytest.mark.parametrize(
    "seconds, repeats, cap, expected",
    [
        (0.003, 5, 200, 50),  # fast: until 0.15 s are spent
        (0.0001, 5, 200, 200),  # very fast: the cap
        (0.1, 5, 200, 5),  # slow: --repeats, as before
        (0.05, 1, 200, 6),  # one repeat asked, 0.05 s: fast, until the budget and 6 calls
        (0.2, 1, 200, 1),  # one repeat asked, over the budget: one
        (0.001, 1, 1, 1),  # max_repeats = 1 (the CNN) stays single
        (0.001, 300, 300, 300),  # --repeats above the cap wins
    ],
)
def test_adaptive_repeats(monkeypatch, seconds, repeats, cap, expected):
    clock = _Clock(seconds)
    monkeypatch.setattr(cell.time, "perf_counter", clock)
    samples = cell._timed(clock.call, lambda: None, repeats, cap)
    assert len(samples) == expected
    assert samples == pytest.approx([seconds] * expected)


def test_a_budget_of_zero_times_exactly_the_repeats_asked(monkeypatch):
    clock = _Clock(0.001)  # the penalty path: one timed fit per cell
    monkeypatch.setattr(cell.time, "perf_counter", clock)
    assert len(cell._timed(clock.call, lambda: None, 1, cell.MAX_REPEATS, budget=0)) == 1


# --- bench compare on the samples ---------------------------------------------------------


def test_tripled_3ms_fit_regresses_and_is_named(capsys, small_report, tmp_path):
    rng = np.random.default_rng(1)
    base = _copy(small_report, tmp_path / "base", {(*CELL, "fit"): _draws(rng, 0.003, 84)}, speed=0.03)
    cur = _copy(small_report, tmp_path / "cur", {(*CELL, "fit"): _draws(rng, 0.009, 28)}, speed=0.03)
    code, out = _compare(capsys, base, cur)
    assert code == 1
    header = next(line for line in out.splitlines() if line.lstrip().startswith("dataset"))
    assert {"baseline", "current", "ratio", "p", "verdict"} <= set(header.split())
    flagged = [line for line in out.splitlines() if "REGRESSED" in line]
    assert len(flagged) == 2  # the row, and the final verdict
    assert all(word in flagged[0] for word in ("spector", "statsmodels_logit", "fit_seconds"))


def test_20_percent_slower_fit_passes(capsys, small_report, tmp_path):
    rng = np.random.default_rng(2)
    base = _copy(small_report, tmp_path / "base", {(*CELL, "fit"): _draws(rng, 0.003, 84)}, speed=0.03)
    cur = _copy(small_report, tmp_path / "cur", {(*CELL, "fit"): _draws(rng, 0.0036, 70)}, speed=0.03)
    code, out = _compare(capsys, base, cur, "--json")
    assert code == 0
    row = next(r for r in json.loads(out)["changed"] if (r["dataset"], r["model"]) == CELL and "fit" in r["quantity"])
    assert 1.1 < row["ratio"] < 1.35 and row["p"] < 0.002  # significant, but within the factor


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_unchanged_timings_pass_in_any_order(capsys, small_report, tmp_path, seed):
    current = _copy(small_report, tmp_path / "cur")
    timings = pd.read_csv(current / "timings.csv").sample(frac=1.0, random_state=seed)  # every row, shuffled
    timings["repeat"] = timings.groupby(["dataset", "model", "phase"]).cumcount()
    timings.to_csv(current / "timings.csv", index=False)
    code, out = _compare(capsys, small_report, current)
    assert code == 0 and "no regression" in out


def test_200_comparisons_of_one_distribution_raise_at_most_one_false_alarm(small_report):
    """Each simulated run has its own machine load, which scales its samples and its speed
    reference alike; the cells: a 3 ms fit (84 samples), a 60 ms fit (5: ratio alone) and a
    predict (200)."""
    template = bench.load(small_report)
    rules = [r for r in load_rules() if r.table == "fits"]
    rng = np.random.default_rng(12345)

    def simulated_run():
        load = rng.uniform(0.8, 1.25)
        rows = [
            (dataset, model, phase, i, s)
            for (dataset, model, phase, median, n) in (
                ("spector", "statsmodels_logit", "fit", 0.003, 84),
                ("spector", "sklearn_logit", "fit", 0.06, 5),
                ("spector", "statsmodels_logit", "predict", 0.00002, 200),
                ("spector", "sklearn_logit", "predict", 0.0002, 200),
            )
            for i, s in enumerate(load * _draws(rng, median, n))
        ]
        info = dict(template.run_info, speed_reference_seconds=0.03 * load * rng.lognormal(0, 0.05))
        return dataclasses.replace(template, timings=pd.DataFrame(rows, columns=TIMING_COLUMNS), run_info=info)

    alarms = sum(compare.compare(simulated_run(), simulated_run(), rules).regressed for _ in range(200))
    assert alarms <= 1


def test_one_sample_falls_back_to_the_ratio_and_says_so(capsys, small_report, tmp_path):
    base = _copy(small_report, tmp_path / "base", {(*CELL, "fit"): [2.0]}, speed=0.03)
    slower = _copy(small_report, tmp_path / "slower", {(*CELL, "fit"): [5.6]}, speed=0.03)  # x2.8: within x3
    code, out = _compare(capsys, base, slower, "--json")
    assert code == 0
    result = json.loads(out)
    row = next(r for r in result["changed"] if (r["dataset"], r["model"]) == CELL and "fit" in r["quantity"])
    assert "ratio alone" in row["rule"] and "1 vs 1" in row["rule"] and "x<=3" in row["rule"]
    assert any("too few samples" in note for note in result["notes"])
    much = _copy(small_report, tmp_path / "much", {(*CELL, "fit"): [8.0]}, speed=0.03)  # x4
    code, out = _compare(capsys, base, much)
    assert code == 1
    line = next(line for line in out.splitlines() if "REGRESSED" in line and "spector" in line)
    assert "ratio alone" in line


def test_old_format_baseline_is_judged_the_old_way_and_says_so(capsys, small_report, tmp_path):
    old = _copy(small_report, tmp_path / "old")
    (old / "timings.csv").unlink()
    info = json.loads((old / "run.json").read_text())
    info["report_format_version"] = 4
    (old / "run.json").write_text(json.dumps(info))
    code, out = _compare(capsys, old, small_report)
    assert code == 0
    assert "note: the baseline (report format 4) has no timings.csv" in out
    # a format-5 report without timings.csv is damaged: bad input
    info["report_format_version"] = 5
    (old / "run.json").write_text(json.dumps(info))
    assert main(["compare", str(old), str(small_report)]) == 2
    assert "timings.csv" in capsys.readouterr().err


# --- steps in the history -----------------------------------------------------------------


def _history(n_runs: int = 30, seed: int = 0) -> pd.DataFrame:
    """A synthetic history: one fit time that doubles at run 19 (index 18) and has one wild run
    (index 7, x3); one log loss that moves at run 12 (index 11); one fit time that is only noise."""
    rng = np.random.default_rng(seed)
    stepped = 0.01 * rng.lognormal(0, 0.08, n_runs)
    stepped[18:] *= 2
    stepped[7] *= 3
    loss = np.full(n_runs, 0.4321)
    loss[11:] += 0.003
    rows = []
    for i in range(n_runs):
        run = {
            "started": f"2027-01-{1 + i // 24:02d}T{i % 24:02d}:00:00.000+00:00",
            "commit": f"{i:02d}" + "c" * 38,
            "dirty": False,
            "suite": "quick",
            "cpu": "cpu",
            "python": "3.11",
            "torch": "t",
            "sklearn": "s",
            "statsmodels": "m",
        }
        for dataset, model, metric, value in (
            ("spector", "statsmodels_logit", "fit_seconds", stepped[i]),
            ("spector", "statsmodels_logit", "log_loss", loss[i]),
            ("spector", "sklearn_logit", "fit_seconds", 0.004 * rng.lognormal(0, 0.1)),
            ("", "", history.SPEED_METRIC, 0.03 * rng.lognormal(0, 0.02)),
        ):
            rows.append({**run, "dataset": dataset, "model": model, "metric": metric, "value": value})
    return pd.DataFrame(rows, columns=history.HISTORY_COLUMNS)


def test_planted_steps_are_found_at_the_right_run(tmp_path, capsys):
    frame = _history()
    steps = history.find_steps(frame)
    found = {(s.metric, s.model): (s.run, s.commit[:2], s.verdict) for s in steps.itertuples()}
    assert found == {
        ("fit_seconds", "statsmodels_logit"): (19, "18", "worse"),
        ("log_loss", "statsmodels_logit"): (12, "11", "worse"),
    }
    path = tmp_path / "history.parquet"
    frame.to_parquet(path, index=False)
    page = tmp_path / "history.html"
    assert main(["history", "--history", str(path), "--out", str(page), "--regressions"]) == 0
    out = capsys.readouterr().out
    line = next(line for line in out.splitlines() if "fit_seconds" in line)
    assert "statsmodels_logit" in line and "run 19" in line and "18cccc" in line
    text = page.read_text()
    assert "<h2>Steps</h2>" in text and text.count("<img") == 2  # fit_seconds and log_loss, steps marked


def test_a_step_needs_two_runs_at_the_new_level():
    values = [1.0] * 10 + [2.0]
    assert not detect_steps(values)
    assert [s.position for s in detect_steps([*values, 2.0])] == [10]


def test_repeats_given_means_exactly_that_many(tmp_path):
    from bench.config import RunConfig

    assert RunConfig().budget is None  # the runner's default budget
    assert RunConfig(repeats=3).budget == 0.0  # asked for 3, a user gets 3
    assert RunConfig(repeats=3, time_budget=0.1).budget == 0.1
    out = tmp_path / "two"
    argv = ["run", "--datasets", "spector", "--models", "sklearn_logit", "--repeats", "2", "--out", str(out)]
    assert main([*argv, "-q", "--no-history"]) == 0
    timings = pd.read_csv(out / "timings.csv")
    assert timings.groupby("phase").size().to_dict() == {"fit": 2, "predict": 2, "reference": 2 * cell.REFERENCE_CALLS}
