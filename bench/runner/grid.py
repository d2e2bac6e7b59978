"""The grid: every (dataset, model) cell, in waves, on the chosen executor."""

from __future__ import annotations

from bench import models
from bench.config import RunConfig
from bench.datasets import Dataset
from bench.fit_result import FitResult
from bench.runner.cell import TIME_BUDGET_SECONDS
from bench.runner.executors import executor_for
from bench.runner.findings import pre_fit_finding
from bench.runner.progress import Progress


def _longest_first(tasks: list[tuple], slots: list[int]) -> tuple[list[tuple], list[int]]:
    """The cells of models that run once and long (``max_repeats``: the CNN's training) first,
    so that parallel workers do not end a wave waiting on one of them started last."""
    order = sorted(range(len(tasks)), key=lambda i: getattr(tasks[i][2], "max_repeats", None) is None)
    return [tasks[i] for i in order], [slots[i] for i in order]


def run_grid(
    datasets: list[Dataset], config: RunConfig, progress: Progress | None = None, store=None
) -> tuple[list[FitResult], list[Dataset]]:
    """Run every model on every dataset; results in grid order whatever the executor.

    A model may hand back datasets it derived (the CNN's penultimate features and its
    probes) and results on them (its last layer); derived datasets form the next wave, so every model
    of the run that supports them fits them too. With a ``store`` (a CellStore) each
    finished cell is saved as it finishes and cells already there are not rerun.
    Returns the results and all datasets.
    """
    names = config.model_names
    classes = {name: models.model_factory(name) for name in names}
    execute = executor_for(config)
    progress = progress or Progress(len(datasets) * len(names), enabled=False)
    where = (
        f"{config.n_jobs} worker processes"
        if config.n_jobs > 1
        else (f"dask at {config.scheduler}" if config.scheduler else "serial")
    )
    progress.header(
        f"logitbench: {len(datasets)} datasets x {len(names)} models, 1 warm-up + {config.n_repeats} timed "
        f"repeats per fit (fast ones until they add up to {TIME_BUDGET_SECONDS:g} s), {config.threads} thread(s) "
        f"per fit, {where}"
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
        if config.n_jobs > 1 or config.scheduler:
            tasks, slots = _longest_first(tasks, slots)
        for index, result in execute(tasks):
            if store is not None:
                store.save(result)
            ordered[slots[index]] = result
            progress.done(count, result)
            count += 1
        wave = []
        for result in ordered:
            results.append(result)
            for derived in result.extra.pop("derived_datasets", []):
                wave.append(derived)
                progress.total += len(names)
            results.extend(result.extra.pop("derived_results", []))
    progress.footer()
    return results, seen
