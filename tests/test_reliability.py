"""Runs that survive faults, a kill, and parallel execution, and give the same numbers.

Timing columns differ between any two runs; everything else must be identical:
another executor (joblib workers, a dask cluster), an interruption and --resume, or
simply a second run with the same seed.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from bench import models
from bench.cli import main

ROOT = Path(__file__).resolve().parents[1]
TABLES = ("fits", "coefficients", "predictions", "agreement", "metrics", "effects", "calibration", "losses")
TIMING = (
    "seconds",
    "per_second",
    "fraction_of_peak",
    "peak_gflops",
    "peak_extra_bytes",
    "timed_repeats",  # adaptive: a fast fit is repeated until it has spent the time budget
)  # measurements: timings, memory


def _without_timings(directory: Path, table: str) -> pd.DataFrame:
    return drop_timings(pd.read_csv(directory / f"{table}.csv", keep_default_na=False))


def drop_timings(frame: pd.DataFrame) -> pd.DataFrame:
    """A report table without its timing and memory columns and metrics."""
    frame = frame[[c for c in frame.columns if not any(t in c for t in TIMING)]]
    if "metric" in frame.columns:
        frame = frame[~frame["metric"].str.contains("|".join(TIMING))]
    return frame.reset_index(drop=True)


def assert_same_report(a: Path, b: Path) -> None:
    for table in TABLES:
        pd.testing.assert_frame_equal(_without_timings(a, table), _without_timings(b, table), obj=table)


def _run(*args: str) -> int:
    return main(["run", *args, "-q", "--no-history"])


LINEAR = "sklearn_logit,statsmodels_logit,torch_linear"


@pytest.fixture(scope="module")
def serial_report(tmp_path_factory):
    out = tmp_path_factory.mktemp("serial") / "out"
    assert _run("--datasets", "spector,synthetic", "--models", LINEAR, "--repeats", "1", "--out", str(out)) == 0
    return out


# --- fault injection ------------------------------------------------------------------------


@pytest.fixture
def faults(monkeypatch):
    for name, cls in (
        ("fault_raises", "Raises"),
        ("fault_nan", "NaNCoefficients"),
        ("fault_diverges", "Diverges"),
        ("fault_hangs", "Hangs"),
    ):
        monkeypatch.setitem(models.REGISTRY, name, f"tests.fault_models:{cls}")


def test_every_fault_is_contained(faults, tmp_path, capsys):
    out = tmp_path / "out"
    code = _run(
        "--datasets",
        "spector",
        "--models",
        "sklearn_logit,fault_raises,fault_nan,fault_diverges",
        "--repeats",
        "1",
        "--out",
        str(out),
    )
    assert code == 1  # failed cells; the report is still written
    fits = pd.read_csv(out / "fits.csv", keep_default_na=False).set_index("model")
    assert fits.loc["sklearn_logit", "status"] == "ok"
    assert (fits.drop(index="sklearn_logit")["status"] == "failed").all()
    assert "deliberate failure" in fits.loc["fault_raises", "message"]
    assert fits.loc["fault_nan", "message"].startswith("non-finite coefficients")
    assert fits.loc["fault_diverges", "message"].startswith("non-finite coefficients")
    assert "Traceback" not in capsys.readouterr().err


def test_a_hung_cell_is_stopped_by_the_cell_timeout(faults, tmp_path, capsys):
    out = tmp_path / "out"
    start = time.monotonic()
    code = _run(
        "--datasets",
        "spector",
        "--models",
        "fault_hangs,sklearn_logit",
        "--repeats",
        "1",
        "--cell-timeout",
        "30",
        "--out",
        str(out),
    )
    # 30 s: each cell runs in a spawned child that imports sklearn/torch first (~5 s here), so the
    # sklearn cell that follows the hung one must fit in the limit on a slower CI machine too
    assert code == 1
    assert time.monotonic() - start < 120  # the hang was cut, not waited out
    fits = pd.read_csv(out / "fits.csv", keep_default_na=False).set_index("model")
    assert fits.loc["fault_hangs", "status"] == "failed"
    assert "no result after 30 s" in fits.loc["fault_hangs", "message"]
    assert fits.loc["sklearn_logit", "status"] == "ok"  # the cell after the hung one still ran
    assert "Traceback" not in capsys.readouterr().err


# --- determinism and executors -------------------------------------------------------------


def test_same_seed_same_report(serial_report, tmp_path):
    again = tmp_path / "again"
    assert _run("--datasets", "spector,synthetic", "--models", LINEAR, "--repeats", "1", "--out", str(again)) == 0
    assert_same_report(serial_report, again)


def test_run_json_records_how_to_repeat_the_run(serial_report):
    info = json.loads((serial_report / "run.json").read_text())
    assert info["seed"] == 0 and info["config"]["models"] == LINEAR.split(",")
    assert {"versions", "machine", "git", "report_format_version", "speed_reference_seconds"} <= set(info)


def test_cnn_is_deterministic_on_cpu(saved_digits_cnn_run, tmp_path):
    """The same run again, through the CLI: the CNN, its derived datasets (features, probes) and every
    fit on them give the same report. The first of the two runs is conftest's digits_cnn_run, which
    the recipe and probe tests read too (one end-to-end CNN run fewer)."""
    out = tmp_path / "again"
    models = f"{LINEAR},torch_cnn"
    assert _run("--datasets", "digits", "--models", models, "--epochs", "2", "--repeats", "1", "--out", str(out)) == 0
    assert_same_report(saved_digits_cnn_run, out)


def test_joblib_workers_give_the_serial_report(serial_report, tmp_path):
    out = tmp_path / "parallel"
    assert (
        _run("--datasets", "spector,synthetic", "--models", LINEAR, "--repeats", "1", "-j", "2", "--out", str(out)) == 0
    )
    assert_same_report(serial_report, out)


def test_dask_cluster_gives_the_serial_report(serial_report, tmp_path):
    from distributed import LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        out = tmp_path / "dask"
        code = _run(
            "--datasets",
            "spector,synthetic",
            "--models",
            LINEAR,
            "--repeats",
            "1",
            "--scheduler",
            cluster.scheduler_address,
            "--out",
            str(out),
        )
    assert code == 0
    assert_same_report(serial_report, out)


def test_too_many_threads_is_bad_input(tmp_path, capsys):
    cores = os.cpu_count()
    assert _run("--datasets", "spector", "-j", str(cores), "--threads", "2", "--out", str(tmp_path / "x")) == 2
    assert "cores" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


# --- kill and resume ---------------------------------------------------------------------------


def test_killed_run_resumes_to_the_same_report(serial_report, tmp_path):
    out = tmp_path / "killed"
    cells = tmp_path / ".killed.cells"
    command = [
        sys.executable,
        "-m",
        "bench",
        "run",
        "--datasets",
        "spector,synthetic",
        "--models",
        LINEAR,
        "--repeats",
        "1",
        "--out",
        str(out),
        "-q",
        "--no-history",
    ]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(list(cells.glob("*.json"))) < 3:  # config + two cells
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    finished = [p for p in cells.glob("*.json") if p.name != "config.json"]
    assert 1 <= len(finished) < 6, "the kill landed part-way"
    assert not out.exists(), "no report until the run is whole"
    assert not [p for p in tmp_path.rglob(".*.tmp*")], "no half-written file"
    for path in finished:  # every saved cell is whole
        json.loads(path.read_text())
    assert main(["run", "--resume", str(out), "-q", "--no-history"]) == 0
    assert not cells.exists()
    assert_same_report(serial_report, out)


def test_resume_without_an_unfinished_run_is_bad_input(tmp_path, capsys):
    assert main(["run", "--resume", str(tmp_path / "nothing")]) == 2
    assert "no unfinished run" in capsys.readouterr().err
