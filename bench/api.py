"""The Python API (for notebooks): ``bench.run(config) -> Results``. The CLI is a shell over it."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from bench.config import TOLERANCES, RunConfig
from bench.errors import BenchInputError
from bench.report.writer import write_report
from bench.tables import results as tables

# ``load`` and ``Results.save`` need only the tables and the report writer (pandas): ``bench
# compare`` stays light. ``run`` imports the fitting side (datasets, models, runner: scipy,
# statsmodels, torch) when it is called.


class Results(tables.Results):
    """A run's tables (``fits``, ``coefficients``, ... as DataFrames, the same as the CSV
    files) and its ``run.json`` dictionary, which can write its own report."""

    def save(self, directory: str | Path, jobs: int = 1) -> Path:
        """Write every report file into ``directory`` (replaced as a whole, atomically); ``jobs``
        worker processes draw the figures."""
        return write_report(self, Path(directory), jobs)


def load(directory: str | Path) -> Results:
    """Read a report directory written by ``Results.save`` or ``python -m bench run``."""
    return tables.load(directory, cls=Results)


def load_datasets(config: RunConfig) -> list:
    """Every dataset of the run (``bench.datasets.Dataset``), loaded and validated before anything runs."""
    from bench import datasets

    loaded = [datasets.load(name, seed=config.seed, cards=config.cards) for name in config.dataset_names]
    own = {"penalty": config.penalty or "l2", "C": config.C or 1.0, "seed": config.seed}
    own["test_fraction"] = config.test_fraction
    if config.csv is not None:
        features = config.features or None
        loaded.append(datasets.load_csv(config.csv, config.target, formula=config.formula, features=features, **own))
    if config.images is not None:
        loaded.append(datasets.load_image_folder(config.images, **own))
    loaded = [datasets.with_penalty(ds, config.penalty, config.C) for ds in loaded]
    names = [ds.name for ds in loaded]
    if len(set(names)) != len(names):
        raise BenchInputError(f"--datasets: a dataset appears twice ({names})")
    if not loaded:
        raise BenchInputError("--datasets: no datasets to run")
    return loaded


def _curves(loaded: list, config: RunConfig, progress: bool):
    """Each exact model's convergence curve on each binary dataset of the run (``bench.curves``)."""
    from bench import models
    from bench.curves import run as curves

    specs = tuple(m for m in config.model_names if getattr(models.model_class(m), "exact", True))
    frames, info = [], {}
    for dataset in (ds for ds in loaded if ds.is_binary):
        measured = curves.measure(dataset, specs, seed=config.seed, threads=config.threads, progress=progress)
        frames.append(measured.curves)
        info[dataset.name] = {"f_star": measured.f_star, "notes": measured.notes}
    frame = pd.concat(frames, ignore_index=True) if frames else None
    return frame, info


def run(
    config: RunConfig | None = None, *, progress: bool = False, checkpoint: Path | None = None, resume: bool = False
) -> Results:
    """Fit every model on every dataset of ``config`` and compare them.

    Bad input (unknown names, unreadable data) raises ``BenchInputError`` before any
    model runs. A model that fails is a ``failed`` row; the others still run.
    ``checkpoint``: the report directory-to-be; finished cells are saved beside it as
    they finish (``bench.cellstore``), and with ``resume`` cells saved there are reused.
    """
    from bench import models
    from bench.runner import provenance, run_grid
    from bench.runner.cell import adaptive_repeats
    from bench.runner.cellstore import CellStore
    from bench.runner.executors import start_workers
    from bench.runner.progress import Progress
    from bench.tables import frames, metrics, probes

    config = config or RunConfig()
    start_workers(config)  # -j N: the workers start while the names are checked and the data load
    for name in config.model_names:
        models.model_class(name)  # unknown names fail before any data is loaded
    loaded = load_datasets(config)
    started = provenance.now()
    speed_reference = provenance.speed_reference_seconds()
    cells = len(loaded) * len(config.model_names)
    store = None
    if checkpoint is not None:
        store = CellStore.existing(checkpoint)[0] if resume else CellStore.fresh(checkpoint, config.to_json())
    results, every_dataset = run_grid(loaded, config, Progress(cells, enabled=progress), store)
    by_name = {ds.name: ds for ds in every_dataset}
    # data too large for any cache: each fit's time in reads of X at the measured bandwidth
    large = {n: ds for n, ds in by_name.items() if ds.X_train.nbytes >= provenance.OUT_OF_CACHE_BYTES}
    bandwidth = provenance.memory_bandwidth() if large else None
    fits = frames.fits_frame(results)
    coefficients = frames.coefficients_frame(results, by_name)
    predictions = frames.predictions_frame(results, by_name)
    effects = frames.effects_frame(results, by_name)
    curve_frame, curve_info = _curves(loaded, config, progress) if config.with_curves else (None, {})
    run_info = {
        "report_format_version": provenance.REPORT_FORMAT_VERSION,
        "config": config.to_dict(),
        "seed": config.seed,
        "started": started,
        "finished": provenance.now(),
        "versions": provenance.package_versions(),
        "machine": provenance.machine(),
        # the slower of two measurements, before and after the cells: load that lasts the
        # whole run shows in both, and a run that got slower part-way is not blamed on code
        "speed_reference_seconds": max(speed_reference, provenance.speed_reference_seconds()),
        "memory_bandwidth_bytes_per_second": bandwidth,
        # adaptive repeats (bench.runner.cell): a fit or predict whose --repeats calls take less than
        # budget_seconds is repeated until they add up to it, min_repeats at least, max_repeats at most
        "adaptive_repeats": adaptive_repeats(config.budget),
        "git": provenance.git_commit(),
        "datasets": {ds.name: ds.describe() for ds in every_dataset},
        "solvers": {f"{r.dataset}/{r.model}": r.solver for r in results if r.solver},
        "tolerances": dict(TOLERANCES),
        # fits that are compared but not held to the tolerances (stochastic, non-convex, or
        # a last layer as trained rather than refit to the optimum)
        "inexact": [f"{r.dataset}/{r.model}" for r in results if not r.exact],
        # what a model says about its own structure (the CNN: its layer-by-layer shape trace)
        "architectures": {r.model: r.extra["architecture"] for r in results if "architecture" in r.extra},
        # how each trained network was trained: settings, rows, statistics, the kept epoch and why
        "training": {f"{r.dataset}/{r.model}": r.extra["training"] for r in results if "training" in r.extra},
        # the scale suite: each exact model's convergence curve per dataset (bench.curves): F* and notes
        "curves": curve_info,
    }
    agreement = frames.agreement_frame(fits, coefficients, predictions, effects)
    metric_rows = pd.concat(
        [
            metrics.metrics_frame(results, by_name, coefficients, config.seed),
            metrics.passes_over_x_frame(fits, large, bandwidth),
        ],
        ignore_index=True,
    )
    return Results(
        fits=fits,
        coefficients=coefficients,
        predictions=predictions,
        agreement=agreement,
        metrics=metric_rows,
        calibration=metrics.calibration_frame(results, by_name, config.seed),
        losses=frames.losses_frame(results),
        effects=effects,
        training=frames.training_frame(results),
        timings=frames.timings_frame(results),
        probes=probes.probes_frame(run_info["datasets"], fits, metric_rows, agreement, run_info["inexact"]),
        **({"curves": curve_frame} if curve_frame is not None else {}),
        run_info=run_info,
    )
