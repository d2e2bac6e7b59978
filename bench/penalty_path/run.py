"""Penalty paths (``python -m bench path``): every linear model refit along a log grid of C.

The dataset's own penalty is replaced by L2 at each C of the grid, and each (C, model)
cell goes through ``bench.runner.run_cell`` with one timed repeat, so a model that
raises, diverges or does not converge fails its own cell exactly as in ``bench run``.

Beside the registered models the path holds one pseudo-model,
``torch_softmax2_uncorrected``: the two-logit layer with L2 at C on *both* weight rows
(lambda2 = lambda = 1/(C n)), fitted with ``fit_two_logit`` and reported as w1 - w0.
``torch_softmax2`` fits the binary objective by using lambda2 = 2 lambda (C' = C/2, see
its docstring); the uncorrected fit does not, so its path is the binary path at 2C: the
same curve shifted left by a factor 2 in C. The agreement table checks that exactly
where 2C is on the grid (choose a grid with factor-2 spacing, e.g. 0.25:4:5) and shows
it by a cubic spline in log C elsewhere.

Everything here fits; ``bench.penalty_path.agreement`` compares the fits, ``bench.penalty_path.report``
writes the files.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from bench import datasets, models
from bench.config import RunConfig
from bench.datasets.cards import card_paths
from bench.errors import BenchInputError
from bench.fit_result import FitResult
from bench.penalty_path.agreement import TOLERANCE, UNCORRECTED, path_agreement_frame
from bench.runner import memory, provenance, run_cell
from bench.runner.progress import Progress

DEFAULT_MODELS = ("sklearn_logit", "statsmodels_logit", "torch_linear", "torch_softmax2")
# Grid values are rounded to this many significant digits, so that 0.25:4:5 is exactly
# 0.25, 0.5, 1, 2, 4 (logspace gives 0.49999999999999994) and 2C is found on the grid.
GRID_DIGITS = 12
MAX_GRID = 1000  # a typo guard: 1e-3:1e3:13000 is almost certainly not meant

PATH_COLUMNS = ["dataset", "model", "C", "class", "term", "estimate"]
PATH_FITS_COLUMNS = ["dataset", "model", "C", "status", "message", "fit_seconds", "n_iter", "converged"]


def parse_grid(text: str) -> np.ndarray:
    """``LOW:HIGH:N`` -> N log-spaced values of C from LOW to HIGH inclusive, increasing.

    Raises BenchInputError with a one-line message naming ``--C-grid`` on bad input.
    """
    parts = text.split(":")
    if len(parts) != 3:
        raise BenchInputError(f"--C-grid: expected LOW:HIGH:N (e.g. 1e-3:1e3:13), got {text!r}")
    try:
        low, high = float(parts[0]), float(parts[1])
    except ValueError:
        raise BenchInputError(
            f"--C-grid: LOW and HIGH must be numbers, got {text!r}; expected LOW:HIGH:N (e.g. 1e-3:1e3:13)"
        ) from None
    try:
        n = int(parts[2])
    except ValueError:
        raise BenchInputError(f"--C-grid: N must be an integer from 2 to {MAX_GRID}, got {parts[2]!r}") from None
    if not (math.isfinite(low) and low > 0):
        raise BenchInputError(f"--C-grid: LOW must be a finite number > 0, got {parts[0]!r}")
    if not (math.isfinite(high) and high > low):
        raise BenchInputError(f"--C-grid: HIGH must be a finite number > LOW ({low:g}), got {parts[1]!r}")
    if not 2 <= n <= MAX_GRID:
        raise BenchInputError(f"--C-grid: N must be an integer from 2 to {MAX_GRID}, got {n}")
    grid = np.array([float(f"{c:.{GRID_DIGITS}g}") for c in np.logspace(math.log10(low), math.log10(high), n)])
    grid[0], grid[-1] = low, high
    if not np.all(np.diff(grid) > 0):
        raise BenchInputError(f"--C-grid: LOW and HIGH are too close for {n} distinct values, got {text!r}")
    return grid


def check_models(names: tuple[str, ...]) -> tuple[str, ...]:
    """The models of a path, validated: registered, convex (exact) fits, each once."""
    if len(set(names)) != len(names):
        raise BenchInputError(f"--models: a model appears twice ({', '.join(names)})")
    for name in names:
        if name == UNCORRECTED:
            raise BenchInputError(f"--models: {UNCORRECTED} is always on the path; expected registered models only")
        if not getattr(models.model_class(name), "exact", True):  # unknown names raise here
            raise BenchInputError(
                f"--models: {name} has no penalty path (not a convex fit); expected some of {', '.join(DEFAULT_MODELS)}"
            )
    if not names:
        raise BenchInputError("--models: no models to run")
    return names


def fit_uncorrected(dataset: datasets.Dataset, config: RunConfig) -> FitResult:
    """The two-logit layer with L2 at C on both rows (lambda2 = lambda), reported as w1 - w0.

    Not a registered model: it exists to show the C' = 2C mapping. Its fit is the
    binary fit at 2C. Failures are kept to this cell, as ``run_cell`` does.
    """
    import torch

    from bench.models._torch.two_logit import contrast, fit_two_logit

    if len(dataset.labels) != 2:
        return FitResult(
            model=UNCORRECTED,
            dataset=dataset.name,
            status="skipped",
            message="two logits for two classes; the dataset has more",
        )
    try:
        with threadpool_limits(limits=config.threads):
            torch.set_num_threads(config.threads)
            X = torch.tensor(dataset.X_train, dtype=torch.float64)  # (n, p)
            y = torch.tensor(dataset.y_train, dtype=torch.int64)  # (n,) class indices
            with torch.random.fork_rng(devices=[]):  # fit_two_logit zeroes it; keep global RNG untouched
                module = torch.nn.Linear(dataset.n_features, 2, dtype=torch.float64)
            start = time.perf_counter()
            outcome = fit_two_logit(module, X, y, dataset.l2_lambda)  # lambda2 = lambda: no C/2
            seconds = time.perf_counter() - start
            coef, intercept = contrast(module)
    except Exception as exc:  # noqa: BLE001 - the pseudo-model must not stop the path
        return FitResult(
            model=UNCORRECTED, dataset=dataset.name, status="failed", message=f"{type(exc).__name__}: {exc}"
        )
    result = FitResult(
        model=UNCORRECTED,
        dataset=dataset.name,
        coef=coef.reshape(1, -1),
        intercept=np.array([intercept]),
        n_iter=outcome.n_iter,
        converged=outcome.converged,
        message=outcome.message,
        fit_seconds=seconds,
        repeats=1,
        solver="torch Newton, 2 logits, L2 at C on both rows (no C/2 correction)",
    )
    if not (np.all(np.isfinite(coef)) and math.isfinite(intercept)):
        result.status, result.message = "failed", "non-finite coefficients (the fit diverged)"
    elif not outcome.converged:
        result.status, result.message = "failed", outcome.message or "did not converge"
    return result


@dataclass
class PathRun:
    """A path's tables (the files' contents) and what produced them."""

    dataset: str
    grid: np.ndarray  # (n_C,)
    models: tuple[str, ...]  # the registered models; UNCORRECTED comes on top
    path: pd.DataFrame  # PATH_COLUMNS
    fits: pd.DataFrame  # PATH_FITS_COLUMNS
    agreement: pd.DataFrame  # PATH_AGREEMENT_COLUMNS
    info: dict = field(default_factory=dict)

    @property
    def failed(self) -> pd.DataFrame:
        return self.fits[self.fits["status"] == "failed"]

    @property
    def disagreements(self) -> pd.DataFrame:
        return self.agreement[self.agreement["verdict"] == "FAIL"]

    @property
    def ok(self) -> bool:
        """Every judged pair within tolerance at every C, and no failed cell."""
        return self.failed.empty and self.disagreements.empty


def run(
    dataset_name: str,
    grid: np.ndarray,
    model_names: tuple[str, ...] = DEFAULT_MODELS,
    *,
    seed: int = 0,
    threads: int = 1,
    progress: bool = False,
    cards: tuple[Path, ...] = (),
) -> PathRun:
    """Fit every model at every C of ``grid`` on ``dataset_name`` (L2 at C).

    Bad input (names, grid, threads) raises BenchInputError before anything is fitted.
    """
    grid = np.asarray(grid, dtype=np.float64)
    if grid.ndim != 1 or grid.size < 2 or not np.all(np.isfinite(grid) & (grid > 0)) or not np.all(np.diff(grid) > 0):
        raise BenchInputError("--C-grid: expected at least 2 increasing finite values of C > 0")
    model_names = check_models(tuple(model_names))
    config = RunConfig(datasets=(dataset_name,), models=model_names, repeats=1, seed=seed, threads=threads)
    known = card_paths(tuple(cards))
    if dataset_name not in known:
        raise BenchInputError(f"--dataset: unknown dataset {dataset_name!r}; expected one of {', '.join(known)}")
    base = datasets.load(dataset_name, seed=seed, cards=tuple(cards))
    meter = Progress(len(grid) * (len(model_names) + 1), enabled=progress)
    meter.header(
        f"logitbench path: {base.name}, {len(grid)} values of C from {grid[0]:g} to {grid[-1]:g}, "
        f"{len(model_names)} models + {UNCORRECTED}, {threads} thread(s) per fit"
    )
    started, clock = provenance.now(), time.perf_counter()
    cells: list[tuple[float, FitResult]] = []
    with memory.young_only():  # as a run's cells: each cell's gc.collect scans only what is new
        for C in grid:
            at_C = datasets.with_penalty(base, "l2", float(C))
            meter.header(f"C = {C:g}")
            for name in model_names:
                meter.start(len(cells), base.name, name)
                result = run_cell(at_C, name, config, time_budget=0)  # one timed fit per cell: no statistics here
                meter.done(len(cells), result)
                cells.append((float(C), result))
            meter.start(len(cells), base.name, UNCORRECTED)
            result = fit_uncorrected(at_C, config)
            meter.done(len(cells), result)
            cells.append((float(C), result))
    path_seconds = time.perf_counter() - clock
    meter.footer()
    path = path_frame(cells, base)
    info = {
        "dataset": base.describe(),
        "grid": [float(c) for c in grid],
        "models": list(model_names),
        "pseudo_models": {UNCORRECTED: "two logits, L2 at C on both rows: the binary fit at 2C"},
        "seed": seed,
        "threads": threads,
        "tolerance": TOLERANCE,
        "started": started,
        "finished": provenance.now(),
        "path_seconds": path_seconds,
        "solvers": {r.model: r.solver for _, r in cells if r.solver},
        "versions": provenance.package_versions(),
        "git": provenance.git_commit(),
    }
    return PathRun(
        dataset=base.name,
        grid=grid,
        models=model_names,
        path=path,
        fits=path_fits_frame(cells, base.name),
        agreement=path_agreement_frame(path, model_names, grid),
        info=info,
    )


def path_frame(cells: list[tuple[float, FitResult]], dataset: datasets.Dataset) -> pd.DataFrame:
    """One row per (model, C, class, term) of every cell with estimates; binary: class 1."""
    terms = (*dataset.feature_names, "intercept")
    rows = []
    for C, r in cells:
        if r.status != "ok" or r.coef is None:
            continue
        for k in range(r.coef.shape[0]):
            estimates = np.r_[r.coef[k], r.intercept[k]]
            rows += [
                {"dataset": dataset.name, "model": r.model, "C": C, "class": k + 1, "term": t, "estimate": float(e)}
                for t, e in zip(terms, estimates)
            ]
    return pd.DataFrame(rows, columns=PATH_COLUMNS)


def path_fits_frame(cells: list[tuple[float, FitResult]], dataset_name: str) -> pd.DataFrame:
    rows = [
        {
            "dataset": dataset_name,
            "model": r.model,
            "C": C,
            "status": r.status,
            "message": r.message,
            "fit_seconds": r.fit_seconds,
            "n_iter": r.n_iter,
            "converged": r.converged,
        }
        for C, r in cells
    ]
    frame = pd.DataFrame(rows, columns=PATH_FITS_COLUMNS)
    frame["n_iter"] = frame["n_iter"].astype("Int64")
    frame["converged"] = frame["converged"].astype("boolean")
    return frame
