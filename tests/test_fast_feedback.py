"""Fast feedback: the quick suite's workers by default, long cells first, figures drawn in workers.

What is checked here is what a run computes and writes, never how long it takes: the quick
suite's wall time and the report's render time are in tests/benchmarks/test_quick_suite.py.
"""

from __future__ import annotations

import pytest

from bench import config as config_module
from bench.api import load
from bench.config import RunConfig
from bench.runner.grid import _longest_first


@pytest.mark.parametrize(("cores", "expected"), [(1, 1), (2, 2), (16, 2)])
def test_the_quick_suite_runs_its_own_datasets_on_two_workers(monkeypatch, cores, expected):
    monkeypatch.setattr(config_module.os, "cpu_count", lambda: cores)
    assert RunConfig(suite="quick").n_jobs == expected
    assert RunConfig(suite="quick", threads=cores).n_jobs == 1  # workers x threads <= cores
    assert RunConfig(suite="quick", jobs=1).n_jobs == 1  # -j as given
    # a run that names its data is the user's own: serial unless asked
    assert RunConfig(suite="quick", datasets=("spector",)).n_jobs == 1
    assert RunConfig(suite="quick", scheduler="tcp://127.0.0.1:1").n_jobs == 1
    assert RunConfig(suite="standard").n_jobs == 1  # its timings stay serial
    assert RunConfig(suite="quick").to_dict()["jobs"] == RunConfig(suite="quick").n_jobs  # run.json says which


def test_parallel_cells_start_with_the_long_single_runs():
    class Fast:
        max_repeats = None

    class Long:  # the CNN: one training run
        max_repeats = 1

    class PlugIn:  # a plug-in need not subclass bench.models.base.Model
        pass

    tasks = [("a", "fast", Fast), ("a", "long", Long), ("b", "plug", PlugIn), ("b", "long", Long)]
    ordered, slots = _longest_first(tasks, [10, 11, 12, 13])
    assert [t[1] for t in ordered] == ["long", "long", "fast", "plug"]  # stable otherwise
    assert slots == [11, 13, 10, 12]  # each result still goes back to its own place


def test_figures_drawn_in_worker_processes_are_the_ones_drawn_here(saved_small_run, tmp_path):
    results = load(saved_small_run)
    here = results.save(tmp_path / "here", jobs=1)
    workers = load(saved_small_run).save(tmp_path / "workers", jobs=2)
    page = (here / "index.html").read_bytes()
    assert page.count(b"data:image/png;base64,") >= 4  # the small run's figures, inlined
    assert (workers / "index.html").read_bytes() == page
