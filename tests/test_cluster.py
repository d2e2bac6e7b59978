"""A real dask cluster, started as users start one: ``dask scheduler`` and two ``dask worker``
processes on 127.0.0.1, in a temporary folder outside the checkout. The run on it equals the
serial run apart from timings (to float64 rounding), each dataset travels to each worker once (no large task graph:
distributed's "Sending large graph" warning would fail the test, warnings being errors), and a
worker killed mid-run costs no result."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

import bench
from bench import models
from tests.test_reliability import LINEAR, TABLES, _run, drop_timings

ROOT = Path(__file__).resolve().parents[1]
DASK = Path(sys.executable).with_name("dask")
START_TIMEOUT = 120  # seconds for the scheduler and workers to come up on a slow machine


def _wait_for(condition, what: str, timeout: float = START_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} did not happen within {timeout} s")
        time.sleep(0.2)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    if not DASK.exists():
        pytest.skip("the dask command is not installed (pip install 'logitbench[dask]')")
    from distributed import Client

    work = tmp_path_factory.mktemp("cluster")
    scheduler_file = work / "scheduler.json"
    # the installed logitbench (tox installs the wheel); tests/ for the test doubles the tasks name
    env = os.environ | {"PYTHONPATH": os.pathsep.join([str(Path(bench.__file__).parents[1]), str(ROOT)])}
    log = open(work / "cluster.log", "w")  # noqa: SIM115 - closed below
    common = {"cwd": work, "env": env, "stdout": log, "stderr": subprocess.STDOUT}
    processes = [
        subprocess.Popen(
            [
                DASK,
                "scheduler",
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--no-dashboard",
                "--scheduler-file",
                scheduler_file,
            ],
            **common,
        )
    ]
    try:
        _wait_for(scheduler_file.exists, "the scheduler file")
        for name in ("w1", "w2"):  # no nanny: a killed worker stays dead, as a lost machine would
            processes.append(
                subprocess.Popen(
                    [
                        DASK,
                        "worker",
                        "--scheduler-file",
                        scheduler_file,
                        "--name",
                        name,
                        "--nthreads",
                        "1",
                        "--no-nanny",
                        "--no-dashboard",
                        "--host",
                        "127.0.0.1",
                    ],
                    **common,
                )
            )
        address = json.loads(scheduler_file.read_text())["address"]
        with Client(address, timeout=START_TIMEOUT) as client:
            client.wait_for_workers(2, timeout=START_TIMEOUT)
        yield address, processes
    finally:
        for process in reversed(processes):
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        log.close()


@pytest.fixture(scope="module")
def serial(tmp_path_factory):
    out = tmp_path_factory.mktemp("serial") / "out"
    assert (
        _run("--datasets", "spector,breast_cancer,separated", "--models", LINEAR, "--repeats", "1", "--out", str(out))
        == 0
    )
    return out


def test_a_real_cluster_gives_the_serial_report(cluster, serial, tmp_path):
    address, _ = cluster
    out = tmp_path / "dask"
    assert (
        _run(
            "--datasets",
            "spector,breast_cancer,separated",
            "--models",
            LINEAR,
            "--repeats",
            "1",
            "--scheduler",
            address,
            "--out",
            str(out),
        )
        == 0
    )
    # the same cells in other processes: equal to float64 rounding (a cell's BLAS temporaries are
    # placed as that process's allocator has them; measured: loglik within 1 ulp), and the
    # temperature, a bounded scalar minimisation of those logits, within 1.4e-8: held to the
    # agreement tolerance, 1e-6
    first, second = bench.load(serial), bench.load(out)
    for table in TABLES:
        a, b = (drop_timings(getattr(r, table)) for r in (first, second))
        pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-6, atol=1e-9, obj=table)


def test_a_worker_killed_mid_run_costs_no_cell(cluster, tmp_path, monkeypatch, capsys):
    address, processes = cluster
    monkeypatch.setitem(models.REGISTRY, "fault_slow", "tests.fault_models:Slow")
    out = tmp_path / "killed"
    killer = threading.Timer(2.5, lambda: os.kill(processes[-1].pid, signal.SIGKILL))
    killer.start()
    try:
        code = _run(
            "--datasets",
            "spector,breast_cancer,synthetic",
            "--models",
            "fault_slow,sklearn_logit",
            "--repeats",
            "1",
            "--scheduler",
            address,
            "--out",
            str(out),
        )
    finally:
        killer.join()
    assert processes[-1].wait(timeout=30) == -signal.SIGKILL  # the worker did die mid-run
    err = capsys.readouterr().err
    assert "Traceback" not in err
    fits = bench.load(out).fits
    assert code == 0 and (fits["status"] == "ok").all(), fits[["dataset", "model", "status", "message"]]
