"""The grid: every (dataset, model) cell, timed, each failure kept to its own cell."""

from __future__ import annotations

import statistics
import time
import traceback

import numpy as np
from threadpoolctl import threadpool_limits

from bench import models
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


def separation_of(dataset: Dataset):
    """The dataset's separation (``bench.separation``) when it is fit unpenalised, else None:
    with L2 the optimum exists whatever the data."""
    if dataset.penalty != "none":
        return None
    from bench.separation import detect_separation

    return detect_separation(dataset.X_train, dataset.y_train, dataset.feature_names)


def run_cell(dataset: Dataset, model_name: str, config: RunConfig, separation=None, model_class=None) -> FitResult:
    """Prepare, warm up once, time ``config.n_repeats`` fits and predicts, collect.

    A model that raises, diverges or does not converge gives a ``failed`` result with
    its message; nothing it does can stop the other cells. On separated data
    (``separation`` given) an exact fit of the unpenalised objective is not attempted:
    its maximum does not exist, so the cell is ``separated``, a finding, not a failure.
    """
    model = (model_class or models.model_class(model_name))()
    supported, reason = model.supports(dataset)
    if not supported:
        return FitResult(model=model_name, dataset=dataset.name, status="skipped", message=reason)
    if separation is not None and model.exact:
        return FitResult(model=model_name, dataset=dataset.name, status="separated", message=separation.message)
    repeats = min(config.n_repeats, model.max_repeats or config.n_repeats)
    try:
        with threadpool_limits(limits=config.threads):
            model.prepare(dataset, config)
            if model.warm_up_fit:
                model.fit()  # warm-up: imports, kernel selection and caches stay out of the timings
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
    problem = _check_finite(result)
    if problem or result.converged is False:
        result.status = "failed"
        fallback = "did not converge" if result.converged is False else ""
        result.message = "; ".join(m for m in (problem, result.message or fallback) if m)
    return result


def execute_cell(dataset: Dataset, model_name: str, model_class, config: RunConfig, separation) -> FitResult:
    """One cell here, or with ``config.cell_timeout`` in a child process that is killed at the limit."""
    if config.cell_timeout is None:
        return run_cell(dataset, model_name, config, separation, model_class)
    from bench.isolation import CellTimeout, call_with_timeout

    try:
        return call_with_timeout(run_cell, (dataset, model_name, config, separation, model_class), config.cell_timeout)
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
        tasks, slots, separations = [], [], {}
        for slot, (dataset, name) in enumerate(cells):
            cached = store.load(dataset.name, name) if store is not None else None
            if cached is not None:
                ordered[slot] = cached
                progress.done(count, cached, note="(finished before the interruption)")
                count += 1
                continue
            if dataset.name not in separations:
                separations[dataset.name] = separation_of(dataset)
            tasks.append((dataset, name, classes[name], config, separations[dataset.name]))
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
