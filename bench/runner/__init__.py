"""Runs the grid: each (dataset, model) cell timed in isolation, on an executor (here,
joblib workers, a dask cluster), saved as it finishes, with provenance and progress.

``run_cell`` (one cell) and ``run_grid`` (every cell, in waves) are the entry points.
"""

from bench.runner.cell import run_cell
from bench.runner.grid import run_grid

__all__ = ["run_cell", "run_grid"]
