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
    _allow_model_imports()
    try:
        return _indexed(index, task)
    finally:
        memory.trim_heap()  # freed memory back to the system (the CNN keeps what it frees: torch_cnn)


# loky restarts a worker whose resident size grew by more than 300 MB over its size after its
# first task, taking it for a leak. A worker's first cell may be a skipped one and a later one the
# CNN, whose imports (torch, oneDNN's kernels, scipy) and images hold ~330 MB for good: each
# restart was a new interpreter importing them again (~3 s) and a warning on stderr.
WORKER_GROWTH_BYTES = 2 * 2**30


def _allow_model_imports() -> None:
    from joblib.externals.loky import process_executor

    if getattr(process_executor, "_MAX_MEMORY_LEAK_SIZE", WORKER_GROWTH_BYTES) < WORKER_GROWTH_BYTES:
        process_executor._MAX_MEMORY_LEAK_SIZE = WORKER_GROWTH_BYTES


def _preload(classes: tuple[str, ...]) -> int:
    """Import the run's built-in model classes ("module:Class") and call each one's ``preload``,
    which imports what its ``prepare`` would (the CNN: torch._dynamo)."""
    from importlib import import_module

    for path in classes:
        module, _, name = path.partition(":")
        getattr(import_module(module), name).preload()
    return len(classes)


def start_workers(config: RunConfig) -> None:
    """With ``-j N`` (not a cluster), start the N joblib worker processes now, in the background,
    each importing the run's built-in models, while this process checks the model names and loads
    the data: the grid's joblib call reuses them (loky's reusable executor). Measured on the
    quick suite (2 cores): each imports torch and torch._dynamo (~3 s), beside this process.
    Plug-ins load with their first cell (a worker kept from an earlier run may have another
    working directory, where a relative plug-in path does not load)."""
    if config.n_jobs <= 1:  # serial, or a cluster (n_jobs is 1 there)
        return
    import threading

    from bench import models

    bases = dict.fromkeys(models.parse_spec(spec)[0] for spec in config.model_names)
    classes = tuple(models.REGISTRY[base] for base in bases if base in models.REGISTRY)

    def start() -> None:
        from joblib import Parallel, delayed

        try:
            Parallel(n_jobs=config.n_jobs, backend="loky")(delayed(_preload)(classes) for _ in range(config.n_jobs))
        except Exception:  # noqa: BLE001 - only a head start: the grid's own call reports what fails
            pass

    threading.Thread(target=start, name="logitbench-start-workers", daemon=True).start()


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
    if config.n_jobs > 1:
        return lambda tasks: joblib_workers(tasks, config.n_jobs)
    return serial
