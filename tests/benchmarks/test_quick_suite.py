"""Fast feedback (pytest-benchmark): `tox -e bench`. Never part of the default test run.

- The quick suite's wall time, as a user runs it: `python -m bench run --suite quick` in a
  fresh process (imports, the fits, both reports); the target is 30 s on 2 cores. Three rounds:
  pytest-benchmark's min and median are the figures to quote.
- The report's render time: a quick-suite run's results (the committed baseline) written again,
  every figure drawn, in this process (`jobs=1`) and in two worker processes (`jobs=2`, what
  the quick suite does on 2 cores), side by side in one group.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.api import load

ROOT = Path(__file__).resolve().parents[2]
QUICK_SUITE_TARGET_SECONDS = 30.0  # the fast feedback issue: fits plus both reports, 2 cores
BASELINE = ROOT / "reports" / "baseline"


def test_quick_suite_wall_time(benchmark, tmp_path):
    rounds = iter(range(1000))

    def quick_suite() -> None:
        out = tmp_path / f"round{next(rounds)}" / "latest"
        command = [sys.executable, "-m", "bench", "run", "--suite", "quick", "--out", str(out), "--no-history", "-q"]
        env = os.environ | {"MPLBACKEND": "Agg"}
        done = subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr[-2000:]

    benchmark.group = "quick suite"
    benchmark.pedantic(quick_suite, rounds=3, iterations=1)
    benchmark.extra_info["cores"] = os.cpu_count()
    assert benchmark.stats.stats.median <= QUICK_SUITE_TARGET_SECONDS


@pytest.mark.skipif(not (BASELINE / "run.json").is_file(), reason="no committed baseline (reports/baseline)")
@pytest.mark.parametrize("jobs", [1, 2])
def test_report_render_time(benchmark, tmp_path, jobs):
    results = load(BASELINE)
    rounds = iter(range(1000))
    results.save(tmp_path / "warm-up", jobs=jobs)  # imports, and with jobs > 1 the workers started

    def render() -> None:
        results.save(tmp_path / f"round{next(rounds)}", jobs=jobs)  # sections and figures anew each time

    benchmark.group = "report render (the quick suite's results)"
    benchmark.pedantic(render, rounds=3, iterations=1)
    assert (tmp_path / "round0" / "index.html").stat().st_size < 5 * 2**20  # the issue: under 5 MB
