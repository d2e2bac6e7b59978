"""Pure functions from fit results to tidy DataFrames (the report's tables).

Agreement is computed *from the coefficient, prediction and fit tables themselves*,
so every number in ``agreement.csv`` can be recomputed from the other CSVs.

Definitions (``agreement.csv``)
-------------------------------
For two models a, b and one quantity, over the aligned entries (same term and class
for coefficients; same test row and class for logits and probabilities):

    max_abs_diff = max |a_i - b_i|
    rel_diff     = max_abs_diff / max(max |a_i|, max |b_i|)   (0 when both are all zero)

``loglik`` compares the train log-likelihood in ``fits.csv`` the same way.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from bench.datasets import Dataset
from bench.fit_result import FitResult
from bench.stats.inference import wald_table
from bench.stats.logistic import sigmoid
from bench.tables.schema import (
    AGREEMENT_COLUMNS,
    COEFFICIENT_COLUMNS,
    EFFECT_COLUMNS,
    FITS_COLUMNS,
    LOSS_COLUMNS,
    PREDICTION_COLUMNS,
    TIMING_COLUMNS,
    TRAINING_COLUMNS,
    TRUTH,
)


def _shows_estimates(result: FitResult) -> bool:
    return result.status == "ok" and result.coef is not None


def _shows_predictions(result: FitResult) -> bool:
    return result.status == "ok" and result.test_logits is not None


def fits_frame(results: list[FitResult]) -> pd.DataFrame:
    rows = [
        {
            "dataset": r.dataset,
            "model": r.model,
            "status": r.status,
            "message": r.message,
            "fit_seconds": r.fit_seconds,
            "predict_seconds": r.predict_seconds,
            "n_iter": r.n_iter,
            "converged": r.converged,
            "loglik": r.loglik,
            "peak_extra_bytes": r.peak_extra_bytes,
        }
        for r in results
    ]
    frame = pd.DataFrame(rows, columns=FITS_COLUMNS)
    frame["n_iter"] = frame["n_iter"].astype("Int64")
    frame["converged"] = frame["converged"].astype("boolean")
    frame["peak_extra_bytes"] = frame["peak_extra_bytes"].astype("Int64")
    return frame


def coefficients_frame(results: list[FitResult], datasets: dict[str, Dataset]) -> pd.DataFrame:
    """One row per (dataset, model, class, term); binary models have class 1.
    Synthetic datasets add their true coefficients as model ``truth``."""
    rows = []
    for r in results:
        if not _shows_estimates(r):
            continue
        terms = (*datasets[r.dataset].feature_names, "intercept")
        row_classes = r.classes[len(r.classes) - r.coef.shape[0] :]  # binary (1,); K classes 1..K-1
        for k, label in enumerate(row_classes):
            estimates = np.r_[r.coef[k], r.intercept[k]]
            errors = r.std_error[k] if r.std_error is not None else np.full(len(terms), np.nan)
            rows += [
                {"dataset": r.dataset, "model": r.model, "class": label, "term": t, "estimate": e, "std_error": s}
                for t, e, s in zip(terms, estimates, errors)
            ]
    for ds in datasets.values():
        if ds.truth is not None:
            estimates = np.r_[ds.truth.coef, ds.truth.intercept]
            rows += [
                {"dataset": ds.name, "model": TRUTH, "class": 1, "term": t, "estimate": e, "std_error": np.nan}
                for t, e in zip((*ds.feature_names, "intercept"), estimates)
            ]
    frame = pd.DataFrame(rows, columns=COEFFICIENT_COLUMNS[:6])
    # Wald inference where a standard error exists (unpenalised fits): z = estimate / SE,
    # two-sided normal p-value, 95 % interval; empty otherwise
    wald = wald_table(frame["estimate"].to_numpy(dtype=float), frame["std_error"].to_numpy(dtype=float))
    for column in ("z", "p_value", "ci_low", "ci_high"):
        frame[column] = wald[column]
    return frame[COEFFICIENT_COLUMNS]


def effects_frame(results: list[FitResult], datasets: dict[str, Dataset]) -> pd.DataFrame:
    """Average marginal effects dP(y = class)/dx_j averaged over the training rows, with
    delta-method standard errors (unpenalised linear fits)."""
    rows = []
    for r in results:
        if r.status != "ok" or "effects" not in r.extra:
            continue
        ame, se, classes = r.extra["effects"]
        for k, label in enumerate(classes):
            rows += [
                {"dataset": r.dataset, "model": r.model, "class": label, "term": t, "ame": a, "std_error": s}
                for t, a, s in zip(datasets[r.dataset].feature_names, ame[k], se[k])
            ]
    return pd.DataFrame(rows, columns=EFFECT_COLUMNS)


def _prediction_rows(
    dataset: str, model: str, logits: np.ndarray, proba: np.ndarray, classes: tuple[int, ...] = (1,)
) -> pd.DataFrame:
    n, k = logits.shape
    return pd.DataFrame(
        {
            "dataset": dataset,
            "model": model,
            "row": np.repeat(np.arange(n), k),
            "class": np.tile(np.asarray(classes), n),
            "logit": logits.reshape(-1),
            "proba": proba.reshape(-1),
        }
    )


def predictions_frame(results: list[FitResult], datasets: dict[str, Dataset]) -> pd.DataFrame:
    """Test-set logits and probabilities: binary ``logit`` is the log-odds of class 1.
    Datasets with known truth add the generating log-odds as model ``truth``."""
    parts = [
        _prediction_rows(r.dataset, r.model, r.test_logits, r.test_proba, r.classes)
        for r in results
        if _shows_predictions(r)
    ]
    for ds in datasets.values():
        if ds.true_test_logits is not None:
            eta = ds.true_test_logits.reshape(-1, 1)
            parts.append(_prediction_rows(ds.name, TRUTH, eta, sigmoid(eta)))
    if not parts:
        return pd.DataFrame(columns=PREDICTION_COLUMNS)
    return pd.concat(parts, ignore_index=True)[PREDICTION_COLUMNS]


def _difference(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    if a.size == 0:
        return np.nan, np.nan
    max_abs = float(np.max(np.abs(a - b)))
    scale = float(max(np.max(np.abs(a)), np.max(np.abs(b))))
    return max_abs, (max_abs / scale if scale > 0 else 0.0)


def _pairwise(part: pd.DataFrame | None, keys: list[str], value: str, quantity: str, dataset: str) -> list[dict]:
    """One row per pair of models (in run order) for one dataset and quantity."""
    if part is None or part.empty:
        return []
    wide = part.pivot_table(index=keys, columns="model", values=value, aggfunc="first", sort=False)
    models = list(dict.fromkeys(part["model"]))
    values = wide[models].to_numpy(dtype=np.float64, na_value=np.nan)  # (entries, models)
    rows = []
    for i, j in itertools.combinations(range(len(models)), 2):
        both = ~(np.isnan(values[:, i]) | np.isnan(values[:, j]))  # entries both models have
        max_abs, rel = _difference(values[both, i], values[both, j])
        rows.append(
            {
                "dataset": dataset,
                "model_a": models[i],
                "model_b": models[j],
                "quantity": quantity,
                "max_abs_diff": max_abs,
                "rel_diff": rel,
            }
        )
    return rows


def _by_dataset(frame: pd.DataFrame) -> dict[str, pd.DataFrame]:
    return dict(tuple(frame.groupby("dataset", sort=False)))


def agreement_frame(
    fits: pd.DataFrame, coefficients: pd.DataFrame, predictions: pd.DataFrame, effects: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Every pair of models (itertools.combinations, in run order) on every quantity,
    dataset by dataset in run order. Standard errors and average marginal effects are
    compared where both models report them (unpenalised fits)."""
    estimated = _by_dataset(coefficients[coefficients["model"] != TRUTH])
    with_se = _by_dataset(coefficients[(coefficients["model"] != TRUTH) & coefficients["std_error"].notna()])
    predicted = _by_dataset(predictions[predictions["model"] != TRUTH])
    ok_fits = _by_dataset(fits[fits["status"] == "ok"].assign(_key=0))
    effects = _by_dataset(effects) if effects is not None else {}
    rows = []
    for dataset in dict.fromkeys(fits["dataset"]):
        rows += _pairwise(estimated.get(dataset), ["class", "term"], "estimate", "coef", dataset)
        rows += _pairwise(predicted.get(dataset), ["row", "class"], "logit", "logit", dataset)
        rows += _pairwise(predicted.get(dataset), ["row", "class"], "proba", "proba", dataset)
        rows += _pairwise(ok_fits.get(dataset), ["_key"], "loglik", "loglik", dataset)
        rows += _pairwise(with_se.get(dataset), ["class", "term"], "std_error", "std_error", dataset)
        rows += _pairwise(effects.get(dataset), ["class", "term"], "ame", "ame", dataset)
        rows += _pairwise(effects.get(dataset), ["class", "term"], "std_error", "ame_std_error", dataset)
    return pd.DataFrame(rows, columns=AGREEMENT_COLUMNS)


def training_frame(results: list[FitResult]) -> pd.DataFrame:
    """The learning curve of every model that reported one (the CNN): loss and accuracy per epoch."""
    rows = [
        {"dataset": r.dataset, "model": r.model, **row} for r in results for row in r.extra.get("training_curve", [])
    ]
    return pd.DataFrame(rows, columns=TRAINING_COLUMNS).astype({"epoch": "int64"})


def losses_frame(results: list[FitResult]) -> pd.DataFrame:
    """The loss-equivalence table of every model that reported one (the CNN, on its real logits)."""
    rows = [{"dataset": r.dataset, "model": r.model, **row} for r in results for row in r.extra.get("losses", [])]
    return pd.DataFrame(rows, columns=LOSS_COLUMNS)


def timings_frame(results: list[FitResult]) -> pd.DataFrame:
    """Every timed call of every cell, in the order they ran: the samples behind ``fits.csv``'s
    minima and ``metrics.csv``'s medians (``bench compare`` tests them). A fit timed by its
    model alone (the CNN's fc3 refit) is one sample of its ``fit_seconds``. Phase ``reference``:
    the machine-speed workload timed around the cell (``bench.runner.cell.REFERENCE_CALLS``)."""
    rows = []
    for r in results:
        for phase, samples, single in (
            ("fit", r.fit_times, r.fit_seconds),
            ("predict", r.predict_times, r.predict_seconds),
            ("reference", r.reference_times, np.nan),
        ):
            if not samples and np.isfinite(single):
                samples = [single]
            rows += [
                {"dataset": r.dataset, "model": r.model, "phase": phase, "repeat": i, "seconds": float(s)}
                for i, s in enumerate(samples)
            ]
    return pd.DataFrame(rows, columns=TIMING_COLUMNS).astype({"repeat": "int64", "seconds": "float64"})
