"""Convergence curves (``python -m bench curves``): how fast each exact solver reaches the optimum.

benchopt's "iteration" sampling strategy: each model is fitted again and again from its own
fixed start with a growing iteration cap (``max_iter`` = 1, 2, 4, 5, 8, 11, 16, 22, ...: a
factor ~1.4), until it stops by itself before the cap. Each point is one whole capped run:
its fit time (the fastest of a few runs when a run is short) and the objective at the
coefficients it returned. A model whose constructor takes no ``max_iter`` (a user's plug-in)
gives one point, its own stop. Nothing here trusts a solver's own report of its objective.

The objective, for every model alike, is scikit-learn's divided by C n:
    F(w, b) = mean_i [log(1 + e^{z_i}) - y_i z_i] + lambda/2 ||w||^2,  z = X w + b,
with lambda = 1/(C n) under L2 and 0 unpenalised (``Dataset.l2_lambda``), in float64 numpy.
F* is the lowest F any model reached, polished by one exact Newton step (closed-form
gradient and Hessian; kept only if it lowers F). Suboptimality is F - F*; the "time to
reach" table gives, per model, the first time it is within 1e-4, 1e-6 and 1e-8 of F*,
relative to |F*|.
"""

from __future__ import annotations

import inspect
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from bench import datasets, models
from bench.config import RunConfig
from bench.errors import BenchInputError
from bench.runner import provenance
from bench.runner.progress import Progress
from bench.tables.ranking import REACH_LEVELS, time_to_reach
from bench.tables.schema import CURVE_COLUMNS

__all__ = ["CURVE_COLUMNS", "REACH_LEVELS", "CurveRun", "caps", "measure", "objective", "run"]

DEFAULT_MODELS = (
    "sklearn_logit",
    "sklearn_logit[solver=lbfgs]",
    "statsmodels_logit",
    "glum_logit",
    "glum_logit[solver=lbfgs]",
    "torch_linear",
)
MAX_CAP = 1000  # beyond this a solver that has not stopped is reported as such
SHORT_RUN = 0.05  # seconds: a capped run shorter than this is timed as the fastest of REPEATS runs
REPEATS = 3


def caps(limit: int = MAX_CAP) -> list[int]:
    """1, 2, 4, 5, 8, 11, 16, 22, 32, ...: the integer parts of powers of sqrt(2), distinct, up to ``limit``."""
    out, value = [], 1.0
    while value <= limit:
        if not out or int(value) > out[-1]:
            out.append(int(value))
        value *= 2**0.5
    return out


def objective(X: np.ndarray, y: np.ndarray, coef: np.ndarray, intercept: float, lam: float) -> float:
    """F(w, b) above. X (n, p), y (n,) of 0/1, coef (p,)."""
    z = X @ coef + intercept  # (n,)
    return float(np.mean(np.logaddexp(0.0, z) - y * z) + 0.5 * lam * coef @ coef)


def newton_polish(X, y, coef, intercept, lam) -> tuple[np.ndarray, float]:
    """One exact Newton step on F from (coef, intercept): closed-form gradient and Hessian."""
    n, p = X.shape
    z = X @ coef + intercept
    prob = 0.5 * (1.0 + np.tanh(0.5 * z))  # sigmoid without overflow
    design = np.column_stack([X, np.ones(n)])  # (n, p + 1)
    grad = design.T @ (prob - y) / n
    grad[:p] += lam * coef
    H = design.T @ (design * (prob * (1.0 - prob) / n)[:, None])
    H[np.arange(p), np.arange(p)] += lam
    step = np.linalg.lstsq(H, grad, rcond=None)[0]
    theta = np.r_[coef, intercept] - step
    return theta[:p], float(theta[p])


def _binary_coefficients(result) -> tuple[np.ndarray, float]:
    coef = np.asarray(result.coef, dtype=np.float64).reshape(-1)
    return coef, float(np.asarray(result.intercept).reshape(-1)[0])


def _with_cap(spec: str, cap: int | None) -> str:
    if cap is None:
        return spec
    base, params = models.parse_spec(spec)
    params["max_iter"] = cap
    return f"{base}[{','.join(f'{k}={v}' for k, v in params.items())}]"


def _fit_once(spec: str, dataset, config: RunConfig):
    """(seconds, FitResult) of one capped run; short runs are timed as the fastest of REPEATS."""
    model = models.create(spec)
    model.prepare(dataset, config)
    times = []
    while True:
        start = time.perf_counter()
        model.fit()
        getattr(model, "synchronize", lambda: None)()  # waits for a CUDA stream; a plug-in may lack it
        times.append(time.perf_counter() - start)
        if times[0] >= SHORT_RUN or len(times) >= REPEATS:
            break
    model.predict()
    return min(times), model.result()


def model_curve(spec: str, dataset, config: RunConfig) -> tuple[list[dict], str]:
    """The points of one model (dicts of CURVE_COLUMNS but suboptimality), and a note."""
    cls = models.model_class(spec)
    capped = "max_iter" in inspect.signature(cls).parameters
    points: list[dict] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a capped run warns that it did not converge: it is meant not to
        _fit_once(_with_cap(spec, 1 if capped else None), dataset, config)  # untimed warm-up: imports, caches
        for cap in caps() if capped else [None]:
            seconds, result = _fit_once(_with_cap(spec, cap), dataset, config)
            if result.coef is None:
                return points, result.message or "no coefficients"
            coef, intercept = _binary_coefficients(result)
            points.append(
                {
                    "solver": result.solver,
                    "max_iter": cap,
                    "seconds": seconds,
                    "objective": objective(dataset.X_train, dataset.y_train, coef, intercept, dataset.l2_lambda),
                    "coef": coef,
                    "intercept": intercept,
                    "n_iter": result.n_iter,
                }
            )
            if cap is None or (result.converged and (result.n_iter is None or result.n_iter < cap)):
                return points, "stopped by itself"
    return points, f"had not stopped by max_iter = {MAX_CAP}"


@dataclass
class CurveRun:
    dataset: str
    curves: pd.DataFrame  # CURVE_COLUMNS
    reach: pd.DataFrame  # model, solver, final_suboptimality, and seconds to each REACH_LEVELS
    f_star: float
    notes: dict = field(default_factory=dict)  # model -> how its curve ended, or why it has none
    info: dict = field(default_factory=dict)


def check(dataset_name: str, specs: tuple[str, ...], cards: tuple[Path, ...], seed: int):
    if len(set(specs)) != len(specs) or not specs:
        raise BenchInputError(f"--models: expected distinct model names, got {', '.join(specs) or 'none'}")
    for spec in specs:
        if not getattr(models.model_class(spec), "exact", True):
            raise BenchInputError(f"--models: {spec} is not an exact (convex) fit; curves need one")
    dataset = datasets.load(dataset_name, seed=seed, cards=cards)
    if not dataset.is_binary:
        raise BenchInputError(f"--dataset {dataset_name}: {dataset.n_classes} classes; curves need a binary dataset")
    return dataset


def run(
    dataset_name: str,
    specs: tuple[str, ...] = DEFAULT_MODELS,
    *,
    seed: int = 0,
    threads: int = 1,
    progress: bool = False,
    cards: tuple[Path, ...] = (),
) -> CurveRun:
    """Every model's curve on one binary dataset. Bad input raises BenchInputError before any fit."""
    dataset = check(dataset_name, tuple(specs), tuple(cards), seed)
    return measure(dataset, tuple(specs), seed=seed, threads=threads, progress=progress)


def measure(dataset, specs: tuple[str, ...], *, seed: int = 0, threads: int = 1, progress: bool = False) -> CurveRun:
    """Every model's curve on ``dataset`` (binary; the models already checked), F* and the table."""
    config = RunConfig(models=tuple(specs), repeats=1, seed=seed, threads=threads)
    meter = Progress(len(specs), enabled=progress)
    meter.header(f"logitbench curves: {dataset.name}, {len(specs)} models, {threads} thread(s) per fit")
    started, by_model, notes = provenance.now(), {}, {}
    with threadpool_limits(limits=threads):
        import torch

        torch.set_num_threads(threads)
        for spec in specs:
            begin = time.perf_counter()
            try:
                ok, why = models.create(spec).supports(dataset)
                by_model[spec], notes[spec] = model_curve(spec, dataset, config) if ok else ([], f"skipped: {why}")
            except Exception as exc:  # noqa: BLE001 - one model failing must not stop the others
                by_model[spec], notes[spec] = [], f"failed: {type(exc).__name__}: {exc}"
            took = time.perf_counter() - begin
            meter.header(f"  {spec:<32} {len(by_model[spec]):>3} points in {took:.1f} s: {notes[spec]}")
    finals = [(pts[-1]["objective"], pts[-1]) for pts in by_model.values() if pts]
    if not finals:
        raise BenchInputError(f"--models: no model produced a curve on {dataset.name} ({notes})")
    best = min(finals, key=lambda item: item[0])[1]
    X, y, lam = dataset.X_train, dataset.y_train, dataset.l2_lambda
    polished = objective(X, y, *newton_polish(X, y, best["coef"], best["intercept"], lam), lam)
    f_star = min(best["objective"], polished)
    rows = [
        {
            "dataset": dataset.name,
            "model": spec,
            "solver": pt["solver"],
            "point": i,
            "max_iter": pt["max_iter"],
            "seconds": pt["seconds"],
            "objective": pt["objective"],
            "suboptimality": pt["objective"] - f_star,
        }
        for spec, pts in by_model.items()
        for i, pt in enumerate(pts)
    ]
    curves = pd.DataFrame(rows, columns=CURVE_COLUMNS).astype({"max_iter": "Int64"})
    info = {
        "dataset": dataset.describe(),
        "models": list(specs),
        "threads": threads,
        "seed": seed,
        "f_star": f_star,
        "f_star_from": f"{'one Newton step from ' if polished < best['objective'] else ''}the best final fit",
        "started": started,
        "finished": provenance.now(),
        "versions": provenance.package_versions(),
        "machine": provenance.machine(),
        "notes": notes,
    }
    return CurveRun(dataset.name, curves, time_to_reach(curves, f_star), f_star, notes, info)
