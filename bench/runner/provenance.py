"""What ``run.json`` records so that a run can be repeated and compared."""

from __future__ import annotations

import os
import platform
import subprocess
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

# 2: coefficients gain z, p_value, ci_low, ci_high; effects.csv. 3: fits.peak_extra_bytes. 4: training.csv.
# 5: timings.csv (every timed call; bench.tables.schema.ADDED_IN)
REPORT_FORMAT_VERSION = 5
PACKAGES = ("logitbench", "numpy", "scipy", "pandas", "scikit-learn", "statsmodels", "torch", "threadpoolctl")
ROOT = Path(__file__).resolve().parents[2]  # bench/runner/provenance.py -> the repository


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def package_versions() -> dict[str, str | None]:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> dict:
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "hostname": platform.node(),
    }


def reference_samples(repeats: int) -> list[float]:
    """Seconds of each of ``repeats`` runs of a short, fixed workload (~10 ms): ten 256 x 256
    float64 matrix products on one BLAS thread plus a pure-Python loop, the two kinds of work
    the fits do. Timed once for the run (``speed_reference_seconds``) and around every cell
    (``bench.runner.cell``), so that runtime rules compare times relative to the machine's
    speed at that moment."""
    import time

    import numpy as np
    from threadpoolctl import threadpool_limits

    a = np.linspace(0.0, 1.0, 256 * 256).reshape(256, 256)
    seconds = []
    with threadpool_limits(limits=1):
        for _ in range(repeats):
            start = time.perf_counter()
            for _ in range(10):
                a @ a
            total = 0
            for i in range(100_000):
                total += i
            seconds.append(time.perf_counter() - start)
    return seconds


def speed_reference_seconds(repeats: int = 7) -> float:
    """The median of ``repeats`` reference runs (~30 ms in all). The median, not the minimum:
    it should feel the load the fits feel."""
    import statistics

    return float(statistics.median(reference_samples(repeats)))


BANDWIDTH_BYTES = 256 * 2**20  # the array read to measure memory bandwidth: far larger than any cache
OUT_OF_CACHE_BYTES = 64 * 2**20  # a dataset whose X_train is at least this large gets passes_over_X


def memory_bandwidth(repeats: int = 3) -> float:
    """Bytes per second at which one thread streams a float64 array from memory: the fastest
    of ``repeats`` sums of a BANDWIDTH_BYTES array (numpy's sum is one pass, one thread). The
    floor under any fit that reads X: a fit's time over X.nbytes / this is how many reads of X
    it costs (``passes_over_X``)."""
    import time

    import numpy as np

    a = np.ones(BANDWIDTH_BYTES // 8)  # written once: its pages are resident before timing
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        a.sum()
        best = min(best, time.perf_counter() - start)
    return BANDWIDTH_BYTES / best


def git_commit() -> dict:
    def git(*args: str) -> str | None:
        try:
            out = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.SubprocessError):
            return None
        return out.stdout.strip() if out.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": commit, "dirty": bool(status) if status is not None else None}
