"""What ``run.json`` records so that a run can be repeated and compared."""

from __future__ import annotations

import os
import platform
import subprocess
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

# 2: coefficients gain z, p_value, ci_low, ci_high; effects.csv. 3: fits.peak_extra_bytes. 4: training.csv
REPORT_FORMAT_VERSION = 4
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


def speed_reference_seconds(repeats: int = 7) -> float:
    """A short, fixed workload timed in every run (median of ``repeats``, ~30 ms in all),
    so that runtime rules compare times relative to the machine they ran on: ten
    256 x 256 float64 matrix products on one BLAS thread plus a pure-Python loop. The
    median, not the minimum: it should feel the load the fits feel."""
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
    return float(np.median(seconds))


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
