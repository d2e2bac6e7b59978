"""The grid: every (dataset, model) cell, timed, each failure kept to its own cell."""

from __future__ import annotations

import statistics
import time
import traceback
from dataclasses import dataclass

import numpy as np
from threadpoolctl import threadpool_limits

from bench import memory, models
from bench.config import RunConfig
from bench.datasets import Dataset
from bench.models.base import FitResult
from bench.progress import Progress


def _timed(call, synchronize, repeats: int) -> list[float]:
    """Wall time of ``repeats`` calls (perf_counter; the model syncs any device first)."""
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        synchronize()
        seconds.append(time.perf_counter() - start)
    return seconds


def _check_finite(result: FitResult) -> str:
    for label, value in (("coefficients", result.coef), ("intercept", result.intercept), ("test logits", result.test_logits)):
        if value is not None and not np.all(np.isfinite(value)):
            return f"non-finite {label} (the fit diverged)"
    if not np.isfinite(result.loglik):
        return "non-finite log-likelihood (the fit diverged)"
    return ""


@dataclass(frozen=True)
class Finding:
    """Why an unpenalised maximum-likelihood fit of this dataset has no unique answer."""

    status: str  # "singular" (coefficients not identified) or "separated" (no maximum)
    message: str


FINDINGS = ("singular", "separated")


def singular_design(X: np.ndarray, names: tuple[str, ...]) -> str | None:
    """A message naming the columns that make [X, 1] rank-deficient, or None.

    Constant columns are named as such (each duplicates the intercept); other dependent
    columns come from a QR decomposition with column pivoting: the columns pivoted last,
    beyond the numerical rank, are combinations of the others.
    """
    from scipy.linalg import qr

    constant = [n for n, s in zip(names, np.ptp(X, axis=0)) if s == 0]
    if constant:
        listed = ", ".join(repr(c) for c in constant[:5]) + (f" and {len(constant) - 5} more" if len(constant) > 5 else "")
        return (f"singular information matrix: column{'s' if len(constant) > 1 else ''} {listed} "
                f"{'are' if len(constant) > 1 else 'is'} constant, a copy of the intercept; the coefficients are not "
                "identified (drop it, or use --penalty l2)")
    design = np.column_stack([X, np.ones(X.shape[0])])
    scaled = design / np.maximum(np.abs(design).max(axis=0), 1e-300)  # column scale does not change rank
    R, pivot = qr(scaled, mode="r", pivoting=True)
    diagonal = np.abs(np.diag(R))
    # numerical rank, as numpy.linalg.matrix_rank: singular values below max * max(n, p) * eps
    rank = int(np.sum(diagonal > diagonal.max() * max(design.shape) * np.finfo(float).eps))
    if rank == design.shape[1]:
        return None
    labels = (*names, "intercept")
    columns = [repr(labels[j]) for j in sorted(pivot[rank:])]
    dependent = ", ".join(columns[:5]) + (f" and {len(columns) - 5} more" if len(columns) > 5 else "")
    return (f"singular information matrix: {dependent} {'is a' if design.shape[1] - rank == 1 else 'are'} linear "
            "combination(s) of the other columns; the coefficients are not identified (drop one, or use --penalty l2)")


def pre_fit_finding(dataset: Dataset) -> Finding | None:
    """Checks before an unpenalised fit (with L2 the optimum exists and is unique whatever
    the data): a rank-deficient design, then separation (``bench.separation``)."""
    if dataset.penalty != "none":
        return None
    message = singular_design(dataset.X_train, dataset.feature_names)
    if message:
        return Finding("singular", message)
    from bench.separation import detect_separation

    separation = detect_separation(dataset.X_train, dataset.y_train, dataset.feature_names)
    return Finding("separated", separation.message) if separation is not None else None


def run_cell(dataset: Dataset, model_name: str, config: RunConfig, finding: Finding | None = None,
             model_class=None) -> FitResult:
    """Prepare, warm up once, time ``config.n_repeats`` fits and predicts, collect.

    A model that raises, diverges or does not converge gives a ``failed`` result with
    its message; nothing it does can stop the other cells. When ``finding`` says the
    unpenalised objective has no unique optimum (separated or singular data), an exact
    fit is not attempted: the cell reports the finding, which is not a failure.
    """
    model = (model_class or models.model_class(model_name))()
    supported, reason = model.supports(dataset)
    if not supported:
        return FitResult(model=model_name, dataset=dataset.name, status="skipped", message=reason)
    if finding is not None and model.exact:
        return FitResult(model=model_name, dataset=dataset.name, status=finding.status, message=finding.message)
    repeats = min(config.n_repeats, model.max_repeats or config.n_repeats)
    try:
        with threadpool_limits(limits=config.threads):
            # peak memory of preparing and the first (untimed) fit, beyond the data already held
            with memory.PeakMemory() as peak:
                model.prepare(dataset, config)
                if model.warm_up_fit:
                    model.fit()  # warm-up: imports, kernel selection and caches stay out of the timings
            if model.warm_up_fit:
                model.predict()
                model.synchronize()
            fit_times = _timed(model.fit, model.synchronize, repeats)
            predict_times = _timed(model.predict, model.synchronize, repeats)
            result = model.result()
    except Exception as exc:  # noqa: BLE001 - a broken model must not stop the run
        where = traceback.extract_tb(exc.__traceback__)[-1]
        return FitResult(
            model=model_name,
            dataset=dataset.name,
            status="failed",
            message=f"{type(exc).__name__}: {exc} (at {where.filename.rsplit('/', 1)[-1]}:{where.lineno})",
        )
    result.fit_seconds, result.fit_seconds_median = min(fit_times), statistics.median(fit_times)
    result.predict_seconds, result.predict_seconds_median = min(predict_times), statistics.median(predict_times)
    result.repeats = repeats
    result.peak_extra_bytes = peak.extra_bytes
    problem = _check_finite(result)
    if problem or result.converged is False:
        result.status = "failed"
        fallback = "did not converge" if result.converged is False else ""
        result.message = "; ".join(m for m in (problem, result.message or fallback) if m)
    return result


def execute_cell(dataset: Dataset, model_name: str, model_class, config: RunConfig, finding) -> FitResult:
    """One cell here, or with ``config.cell_timeout`` in a child process that is killed at the limit."""
    if config.cell_timeout is None:
        return run_cell(dataset, model_name, config, finding, model_class)
    from bench.isolation import CellTimeout, call_with_timeout

    try:
        return call_with_timeout(run_cell, (dataset, model_name, config, finding, model_class), config.cell_timeout)
    except (CellTimeout, RuntimeError) as exc:
        return FitResult(model=model_name, dataset=dataset.name, status="failed", message=str(exc))


def run_grid(datasets: list[Dataset], config: RunConfig, progress: Progress | None = None, store=None
             ) -> tuple[list[FitResult], list[Dataset]]:
    """Run every model on every dataset; results in grid order whatever the executor.

    A model may hand back a dataset it derived (the CNN's penultimate features) and
    results on it (its last layer); derived datasets form the next wave, so every model
    of the run that supports them fits them too. With a ``store`` (a CellStore) each
    finished cell is saved as it finishes and cells already there are not rerun.
    Returns the results and all datasets.
    """
    from bench.executors import executor_for

    names = config.model_names
    classes = {name: models.model_class(name) for name in names}
    execute = executor_for(config)
    progress = progress or Progress(len(datasets) * len(names), enabled=False)
    where = f"{config.jobs} worker processes" if config.jobs > 1 else (f"dask at {config.scheduler}" if config.scheduler else "serial")
    progress.header(
        f"logitbench: {len(datasets)} datasets x {len(names)} models, 1 warm-up + {config.n_repeats} timed "
        f"repeats per fit, {config.threads} thread(s) per fit, {where}"
    )
    wave, seen, results, count = list(datasets), [], [], 0
    while wave:
        seen += wave
        cells = [(dataset, name) for dataset in wave for name in names]
        ordered: list[FitResult | None] = [None] * len(cells)
        tasks, slots, findings = [], [], {}
        for slot, (dataset, name) in enumerate(cells):
            cached = store.load(dataset.name, name) if store is not None else None
            if cached is not None:
                ordered[slot] = cached
                progress.done(count, cached, note="(finished before the interruption)")
                count += 1
                continue
            if dataset.name not in findings:
                findings[dataset.name] = pre_fit_finding(dataset)
            tasks.append((dataset, name, classes[name], config, findings[dataset.name]))
            slots.append(slot)
        for index, result in execute(tasks):
            if store is not None:
                store.save(result)
            ordered[slots[index]] = result
            progress.done(count, result)
            count += 1
        wave = []
        for result in ordered:
            results.append(result)
            derived = result.extra.pop("derived_dataset", None)
            if derived is not None:
                wave.append(derived)
                progress.total += len(names)
            results.extend(result.extra.pop("derived_results", []))
    progress.footer()
    return results, seen
