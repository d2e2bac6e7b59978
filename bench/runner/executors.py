"""Where the cells run: here, in joblib worker processes (``-j N``), or on a dask cluster.

Each executor takes a list of cell tasks and yields ``(index, FitResult)`` as cells
finish, in any order; the runner puts them back in grid order, so a parallel run's
tables equal a serial run's apart from the timing columns.
"""

from __future__ import annotations

from bench.config import RunConfig
from bench.runner.cell import execute_cell


def _indexed(index: int, task: tuple):
    return index, execute_cell(*task)


def serial(tasks: list[tuple]):
    for index, task in enumerate(tasks):
        yield _indexed(index, task)


def joblib_workers(tasks: list[tuple], n_jobs: int):
    """Worker processes through joblib's loky backend (fresh interpreters, not forks)."""
    from joblib import Parallel, delayed

    parallel = Parallel(n_jobs=n_jobs, backend="loky", return_as="generator_unordered")
    yield from parallel(delayed(_indexed)(index, task) for index, task in enumerate(tasks))


def dask_cluster(tasks: list[tuple], address: str):
    """A dask.distributed cluster the user started (``dask scheduler`` / ``dask worker``)."""
    from distributed import Client, as_completed

    with Client(address) as client:
        futures = [client.submit(_indexed, index, task, pure=False) for index, task in enumerate(tasks)]
        for future in as_completed(futures):
            yield future.result()


def executor_for(config: RunConfig):
    if config.scheduler:
        return lambda tasks: dask_cluster(tasks, config.scheduler)
    if config.jobs > 1:
        return lambda tasks: joblib_workers(tasks, config.jobs)
    return serial
