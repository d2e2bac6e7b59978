"""`python -m bench --help` must start fast: it imports none of the heavy libraries.

A structural check (which modules load), not a timing assertion: timings belong in the
benchmark suite. Measured: ~0.1 s for --help against ~1.5 s when pandas, torch and
statsmodels were imported eagerly.
"""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("torch", "pandas", "statsmodels", "sklearn", "matplotlib", "scipy")


def test_help_imports_no_heavy_library():
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "bench", "--help"], capture_output=True, text=True, check=True
    )
    imported = {line.split("|")[-1].strip().split(".")[0] for line in out.stderr.splitlines() if "|" in line}
    assert "bench" in imported  # the probe works
    assert imported.isdisjoint(HEAVY), sorted(imported & set(HEAVY))
    assert "usage:" in out.stdout
