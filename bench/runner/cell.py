"""One (dataset, model) cell: prepare, warm up, time the fits and predicts, collect.

Everything a model does stays inside its cell: an exception, a divergence or (with
``--cell-timeout``) a hang becomes a ``failed`` result, and the other cells still run.
"""

from __future__ import annotations

import statistics
import time
import traceback

import numpy as np
from threadpoolctl import threadpool_limits

from bench import models
from bench.config import RunConfig
from bench.datasets import Dataset
from bench.fit_result import FitResult
from bench.runner import memory
from bench.runner.findings import Finding
from bench.runner.isolation import CellTimeout, call_with_timeout
from bench.runner.matmul_peak import matmul_peak_flops
from bench.runner.provenance import reference_samples

# Adaptive repeats (as timeit.autorange and pytest-benchmark's calibration): a phase whose
# ``--repeats`` timed calls add up to less than TIME_BUDGET_SECONDS is fast, and is repeated
# until its calls add up to the budget and number at least MIN_REPEATS, at most MAX_REPEATS.
# A slow phase gets ``--repeats`` calls; a model with ``max_repeats`` (the CNN: 1) no more.
# 0.15 s and 6 calls (fast feedback; were 0.25 s and 5): the quick suite's 37 fast fits cost 2.2 s
# less, and every fast phase gets the 6 samples a side with which the Mann-Whitney U test can reach
# p < 0.002 (6 against 6: p >= 1/924; 5 against 5 could not, p >= 1/252).
TIME_BUDGET_SECONDS = 0.15
MIN_REPEATS = 6
MAX_REPEATS = 200
# The machine-speed workload (provenance.reference_samples, ~10 ms) is timed REFERENCE_CALLS
# times just before a cell's fits and just after its predicts: ``bench compare`` divides the
# cell's samples by their median, so load that comes and goes during a run (another process
# on a shared machine) slows the reference with the fits and is not read as a regression.
REFERENCE_CALLS = 2  # 4 per cell, ~40 ms on a calm machine (9.5 ms each, measured)


def adaptive_repeats(budget: float | None = None) -> dict:
    """The budget (``RunConfig.time_budget``, default TIME_BUDGET_SECONDS), as run.json records it."""
    budget = TIME_BUDGET_SECONDS if budget is None else budget
    return {"budget_seconds": budget, "min_repeats": MIN_REPEATS, "max_repeats": MAX_REPEATS}


def _timed(call, synchronize, repeats: int, cap: int, budget: float = TIME_BUDGET_SECONDS) -> list[float]:
    """Wall time of each call (perf_counter; the model syncs any device first): ``repeats``
    calls, then, if they took less than ``budget`` seconds, more until they reach it (``cap``
    at most; a budget of 0 turns this off)."""
    seconds: list[float] = []

    def once() -> None:
        start = time.perf_counter()
        call()
        synchronize()
        seconds.append(time.perf_counter() - start)

    for _ in range(repeats):
        once()
    if sum(seconds) < budget:  # a fast phase
        while len(seconds) < cap and (sum(seconds) < budget or len(seconds) < MIN_REPEATS):
            once()
    return seconds


def _check_finite(result: FitResult) -> str:
    for label, value in (
        ("coefficients", result.coef),
        ("intercept", result.intercept),
        ("test logits", result.test_logits),
    ):
        if value is not None and not np.all(np.isfinite(value)):
            return f"non-finite {label} (the fit diverged)"
    if not np.isfinite(result.loglik):
        return "non-finite log-likelihood (the fit diverged)"
    return ""


def _add_fractions_of_peak(result: FitResult) -> None:
    """A model that reports the FLOP rates of its work (``extra["flop_rates"]``: the CNN's
    training and inference FLOP/s) gets them as fractions of this machine's float32 matmul
    peak, measured here with the fit's threads (cached per process and thread count)."""
    rates = result.extra.pop("flop_rates", None)
    if rates is None:
        return
    peak = matmul_peak_flops(rates["device"])
    result.extra.setdefault("metrics", {}).update(
        {
            "train_fraction_of_peak": rates["train"] / peak,
            "inference_fraction_of_peak": rates["inference"] / peak,
            "matmul_peak_gflops": peak / 1e9,
        }
    )


def run_cell(
    dataset: Dataset,
    model_name: str,
    config: RunConfig,
    finding: Finding | None = None,
    model_class=None,
    time_budget: float | None = None,
) -> FitResult:
    """Prepare, warm up once, time ``config.n_repeats`` fits and predicts (more when they are
    fast: ``time_budget``, default TIME_BUDGET_SECONDS; 0 for exactly ``config.n_repeats``), collect.

    A model that raises, diverges or does not converge gives a ``failed`` result with
    its message; nothing it does can stop the other cells. When ``finding`` says the
    unpenalised objective has no unique optimum (separated or singular data), an exact
    fit is not attempted: the cell reports the finding, which is not a failure.
    """
    model = (model_class or models.model_factory(model_name))()
    supported, reason = model.supports(dataset)
    if not supported:
        return FitResult(model=model_name, dataset=dataset.name, status="skipped", message=reason)
    if finding is not None and model.exact:
        return FitResult(model=model_name, dataset=dataset.name, status=finding.status, message=finding.message)
    repeats = min(config.n_repeats, model.max_repeats or config.n_repeats)
    cap = model.max_repeats or max(MAX_REPEATS, repeats)  # a CNN training run stays single
    if dataset.time_once:  # a probe dataset: its fits matter, not their timings
        repeats = cap = 1
    try:
        with threadpool_limits(limits=config.threads):
            # peak memory of preparing and the first fit (the untimed warm-up; a probe dataset's one
            # timed call, which is not judged, so it is also the first), beyond the data already held
            warm_up = model.warm_up_fit and not dataset.time_once
            fit_times = None
            with memory.PeakMemory() as peak:
                model.prepare(dataset, config)
                if warm_up:
                    model.fit()  # warm-up: imports, kernel selection and caches stay out of the timings
                elif dataset.time_once:
                    fit_times = _timed(model.fit, model.synchronize, 1, 1, 0)
            if warm_up:
                model.predict()
                model.synchronize()
            budget = config.budget if time_budget is None else time_budget
            budget = TIME_BUDGET_SECONDS if budget is None else budget
            reference_times = [] if dataset.time_once else reference_samples(REFERENCE_CALLS)
            fit_times = fit_times or _timed(model.fit, model.synchronize, repeats, cap, budget)
            predict_times = _timed(model.predict, model.synchronize, repeats, cap, budget)
            reference_times += [] if dataset.time_once else reference_samples(REFERENCE_CALLS)
            result = model.result()
            result.model = model_name  # the cell is named as the run names it: sklearn_logit[solver=lbfgs]
            _add_fractions_of_peak(result)
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
    result.repeats = len(fit_times)
    result.fit_times, result.predict_times = fit_times, predict_times
    result.reference_times = reference_times
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
    try:
        return call_with_timeout(run_cell, (dataset, model_name, config, finding, model_class), config.cell_timeout)
    except (CellTimeout, RuntimeError) as exc:
        return FitResult(model=model_name, dataset=dataset.name, status="failed", message=str(exc))
