"""Where the cells run: here, in joblib worker processes (``-j N``), or on a dask cluster.

Each executor takes a list of cell tasks and yields ``(index, FitResult)`` as cells
finish, in any order; the runner puts them back in grid order, so a parallel run's
tables equal a serial run's apart from the timing columns.
"""

from __future__ import annotations

from bench.config import RunConfig
from bench.fit_result import FitResult
from bench.runner import memory
from bench.runner.cell import execute_cell

CLUSTER_ATTEMPTS = 3  # a cell whose worker (or result) is lost is sent again, then reported failed


def _indexed(index: int, task: tuple):
    return index, execute_cell(*task)


def _indexed_on(index: int, dataset, rest: tuple):
    """``_indexed`` with the dataset passed apart: a scattered future that dask resolves on the worker."""
    return _indexed(index, (dataset, *rest))


def _indexed_in_worker(index: int, task: tuple):
    """``_indexed`` in a joblib worker, a process of this run's own: what survives each cell's
    collection stays frozen for the worker's life (memory.young_only). Not on a dask cluster,
    whose workers are the user's and long-lived: a cell there collects in full."""
    memory.freeze_survivors_from_now_on()
    return _indexed(index, task)


def serial(tasks: list[tuple]):
    with memory.young_only():
        for index, task in enumerate(tasks):
            yield _indexed(index, task)


def joblib_workers(tasks: list[tuple], n_jobs: int):
    """Worker processes through joblib's loky backend (fresh interpreters, not forks)."""
    from joblib import Parallel, delayed

    parallel = Parallel(n_jobs=n_jobs, backend="loky", return_as="generator_unordered")
    yield from parallel(delayed(_indexed_in_worker)(index, task) for index, task in enumerate(tasks))


def dask_cluster(tasks: list[tuple], address: str):
    """A dask.distributed cluster the user started (``dask scheduler`` / ``dask worker``).

    Each dataset is sent to every worker once (``scatter``, broadcast) and the tasks carry a
    reference to it, not the arrays: a task graph of a few kilobytes whatever the data. When a
    worker dies, the scheduler runs its cells again on the others; a cell whose result (or
    whose dataset's last copy: the scheduler's memory manager keeps one replica once no task
    waits elsewhere) died with the worker is sent again, the dataset scattered anew, up to
    ``CLUSTER_ATTEMPTS`` times, and then reported failed.
    """
    from distributed import Client, as_completed

    with Client(address) as client:
        shared = {}
        for task in tasks:
            if id(task[0]) not in shared:
                shared[id(task[0])] = client.scatter(task[0], broadcast=True, hash=False)

        def submit(index: int):
            return client.submit(_indexed_on, index, shared[id(tasks[index][0])], tasks[index][1:], pure=False)

        pending = {submit(index): index for index in range(len(tasks))}
        attempts = dict.fromkeys(range(len(tasks)), 1)
        finished = as_completed(list(pending))
        for future in finished:
            index = pending.pop(future)
            try:
                yield future.result()
            except Exception as exc:  # noqa: BLE001 - a lost worker or result; a model's own error is a result
                # a worker that died with the cell, or with its result before it was fetched
                if attempts[index] < CLUSTER_ATTEMPTS:
                    attempts[index] += 1
                    dataset = tasks[index][0]
                    if shared[id(dataset)].status != "finished":  # its last copy died with a worker
                        shared[id(dataset)] = client.scatter(dataset, broadcast=True, hash=False)
                    retry = submit(index)
                    pending[retry] = index
                    finished.add(retry)
                else:
                    dataset, model = tasks[index][0], tasks[index][1]
                    message = f"lost on the cluster after {CLUSTER_ATTEMPTS} attempts: {type(exc).__name__}: {exc}"
                    yield index, FitResult(model=model, dataset=dataset.name, status="failed", message=message)


def executor_for(config: RunConfig):
    if config.scheduler:
        return lambda tasks: dask_cluster(tasks, config.scheduler)
    if config.jobs > 1:
        return lambda tasks: joblib_workers(tasks, config.jobs)
    return serial
