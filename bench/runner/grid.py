"""The grid: every (dataset, model) cell, and the cells of the datasets models derive, on the chosen executor."""

from __future__ import annotations

import queue
import threading
from collections import deque

from bench import models
from bench.config import RunConfig
from bench.datasets import Dataset
from bench.fit_result import FitResult
from bench.runner.cell import TIME_BUDGET_SECONDS
from bench.runner.executors import executor_for
from bench.runner.findings import pre_fit_finding
from bench.runner.progress import Progress


def _longest_first(tasks: list[tuple], keys: list) -> tuple[list[tuple], list]:
    """The cells of models that run once and long (``max_repeats``: the CNN's training) first,
    so that parallel workers do not end a batch waiting on one of them started last."""
    order = sorted(range(len(tasks)), key=lambda i: getattr(tasks[i][2], "max_repeats", None) is None)
    return [tasks[i] for i in order], [keys[i] for i in order]


class _Cells:
    """Cells submitted in batches, their results yielded as they finish.

    Serial: the batches run one after another, each in order, in this process. Parallel (joblib
    workers, a dask cluster): each batch is consumed by a thread of its own, so a batch submitted
    while others run (the CNN's derived datasets, as soon as its cell finishes) starts at once
    instead of after the last cell of its wave.
    """

    def __init__(self, execute, parallel: bool) -> None:
        self.execute, self.parallel = execute, parallel
        self.batches = deque()  # serial: the batches not run yet
        self.outstanding, self.finished = 0, queue.Queue()  # parallel: cells not yet back, and those back

    def submit(self, keys: list[tuple], tasks: list[tuple]) -> None:
        if not tasks:
            return
        if not self.parallel:
            self.batches.append((keys, tasks))
            return
        self.outstanding += len(tasks)
        tasks, keys = _longest_first(tasks, keys)

        def consume() -> None:
            try:
                for index, result in self.execute(tasks):
                    self.finished.put((keys[index], result, None))
            except BaseException as exc:  # noqa: BLE001 - raised again in the run's own thread
                self.finished.put((None, None, exc))

        threading.Thread(target=consume, name="logitbench-cells", daemon=True).start()

    def results(self):
        while self.batches:  # serial; batches submitted meanwhile are appended
            keys, tasks = self.batches.popleft()
            for index, result in self.execute(tasks):
                yield keys[index], result
        while self.outstanding:  # parallel
            key, result, error = self.finished.get()
            if error is not None:
                raise error
            self.outstanding -= 1
            yield key, result


def run_grid(
    datasets: list[Dataset], config: RunConfig, progress: Progress | None = None, store=None
) -> tuple[list[FitResult], list[Dataset]]:
    """Run every model on every dataset; results in grid order whatever the executor.

    A model may hand back datasets it derived (the CNN's penultimate features and its
    probes) and results on them (its last layer); every model of the run that supports them
    fits them too, after the cells of the datasets given (their cells start as soon as the
    cell that derived them finishes). With a ``store`` (a CellStore) each finished cell is
    saved as it finishes and cells already there are not rerun. Returns the results (grid
    order: the given datasets' cells, each followed by the results it derived, then the
    derived datasets' cells in the order they were derived) and all datasets.
    """
    names = config.model_names
    classes = {name: models.model_factory(name) for name in names}
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
    cells = _Cells(executor_for(config), parallel=config.n_jobs > 1 or bool(config.scheduler))
    # keys sort into grid order: (depth, index of the dataset) for a given dataset, (depth,
    # key of the cell that derived it without its depth, index among what it derived) for a
    # derived one; a cell's key is its dataset's plus the index of the model
    seen: dict[tuple, Dataset] = {}
    finished: dict[tuple, FitResult] = {}
    after: dict[tuple, list[FitResult]] = {}
    count = 0

    def add(keyed: list[tuple[tuple, Dataset]]) -> None:
        nonlocal count
        keys, tasks = [], []
        for dataset_key, dataset in keyed:
            seen[dataset_key] = dataset
            finding = None
            for m, name in enumerate(names):
                key = (*dataset_key, m)
                cached = store.load(dataset.name, name) if store is not None else None
                if cached is not None:
                    progress.done(count, cached, note="(finished before the interruption)")
                    count += 1
                    collect(key, cached)
                    continue
                if finding is None:
                    finding = (pre_fit_finding(dataset),)
                keys.append(key)
                tasks.append((dataset, name, classes[name], config, finding[0]))
        cells.submit(keys, tasks)

    def collect(key: tuple, result: FitResult) -> None:
        finished[key] = result
        after[key] = result.extra.pop("derived_results", [])
        derived = result.extra.pop("derived_datasets", [])
        if derived:
            progress.total += len(names) * len(derived)
            add([((key[0] + 1, *key[1:], j), dataset) for j, dataset in enumerate(derived)])

    add([((0, i), dataset) for i, dataset in enumerate(datasets)])
    for key, result in cells.results():
        if store is not None:
            store.save(result)
        progress.done(count, result)
        count += 1
        collect(key, result)
    progress.footer()
    results = [r for key in sorted(finished) for r in (finished[key], *after[key])]
    return results, [seen[key] for key in sorted(seen)]
