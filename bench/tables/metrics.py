"""Per-model test metrics and reliability bins (``metrics.csv``, ``calibration.csv``).

Pure functions of the fit results and datasets. Metric names (column ``metric``):

log_loss, brier, accuracy, roc_auc       test set, probabilities of class 1
ece, cox_intercept, cox_slope,            calibration (see ``bench.calibration``)
calibration_in_the_large
temperature, ece_temperature_scaled,      temperature scaling, cross-fitted on the test rows
log_loss_temperature_scaled
fit_seconds_median, predict_seconds_median, timed_repeats
train_images_per_second                   CNN: images trained / fit seconds
inference_images_per_second,              CNN (from the model): images/s, and that rate times the FLOPs
train_fraction_of_peak,                   per image (training 3x forward) over the float32 matmul
inference_fraction_of_peak,               peak measured in the same process (bench.peak)
matmul_peak_gflops
coef_max_abs_error_vs_truth               synthetic data: largest |estimate - true coefficient|
logit_rmse_vs_truth, log_loss_gap_to_bayes   data with known true log-odds
bayes_log_loss                            (model ``truth``) mean entropy of the true probabilities:
                                          the expected log loss of the best possible model
passes_over_X                             data too large for any cache (the scale suite): fit seconds
                                          over the time to stream X_train once at the memory
                                          bandwidth measured in the run (``passes_over_x_frame``)
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bench.datasets import Dataset
from bench.fit_result import FitResult
from bench.stats import calibration
from bench.stats.logistic import binary_entropy, sigmoid
from bench.tables.schema import CALIBRATION_COLUMNS, METRIC_COLUMNS, TRUTH


def _scores(y: np.ndarray, proba: np.ndarray) -> dict[str, float]:
    """Binary: ``proba`` (n,) of class 1. K classes: (n, K); Brier is the multi-class
    Brier score (mean over rows of sum_k (p_k - 1[y = k])^2), AUC one-vs-rest, macro."""
    from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score

    if proba.ndim == 1:
        return {
            "log_loss": float(log_loss(y, proba, labels=[0, 1])),
            "brier": float(brier_score_loss(y, proba)),
            "accuracy": float(np.mean((proba >= 0.5) == (y == 1))),
            "roc_auc": float(roc_auc_score(y, proba)),
        }
    labels = np.arange(proba.shape[1])
    onehot = (np.asarray(y, dtype=np.int64)[:, None] == labels[None, :]).astype(np.float64)
    return {
        "log_loss": float(log_loss(y, proba, labels=labels)),
        "brier": float(np.mean(np.sum((proba - onehot) ** 2, axis=1))),
        "accuracy": float(np.mean(proba.argmax(axis=1) == y)),
        "roc_auc": float(roc_auc_score(y, proba, multi_class="ovr", labels=labels)),
    }


def _calibration(y: np.ndarray, logit: np.ndarray, proba: np.ndarray, seed: int) -> dict[str, float]:
    from sklearn.metrics import log_loss

    scaled, temperature = calibration.cross_fitted_temperature(logit, y, seed)
    values = {"ece": calibration.ece(proba, y)}
    if proba.ndim == 1:  # Cox regression and calibration-in-the-large are binary notions
        intercept, slope = calibration.cox(y, logit)
        values |= {
            "cox_intercept": intercept,
            "cox_slope": slope,
            "calibration_in_the_large": float(np.mean(y) - np.mean(proba)),
        }
    labels = [0, 1] if proba.ndim == 1 else list(range(proba.shape[1]))
    return values | {
        "temperature": temperature,
        "ece_temperature_scaled": calibration.ece(scaled, y),
        "log_loss_temperature_scaled": float(log_loss(y, scaled, labels=labels)),
    }


def _columns(r: FitResult) -> tuple[np.ndarray, np.ndarray]:
    """Binary: the (n,) log-odds and probabilities of class 1. K classes: (n, K) each."""
    if r.test_logits.shape[1] == 1:
        return r.test_logits[:, 0], r.test_proba[:, 0]
    return r.test_logits, r.test_proba


def metrics_frame(
    results: list[FitResult], datasets: dict[str, Dataset], coefficients: pd.DataFrame, seed: int = 0
) -> pd.DataFrame:
    rows = []
    for r in results:
        if r.status != "ok" or r.test_logits is None:
            continue
        ds = datasets[r.dataset]
        logit, proba = _columns(r)
        values = _scores(ds.y_test, proba) | _calibration(ds.y_test, logit, proba, seed)
        values |= {
            "fit_seconds_median": r.fit_seconds_median,
            "predict_seconds_median": r.predict_seconds_median,
            "timed_repeats": float(r.repeats),
        }
        values |= r.extra.get("metrics", {})
        if "images_trained" in r.extra and r.fit_seconds > 0:
            values["train_images_per_second"] = r.extra["images_trained"] / r.fit_seconds
        if ds.truth is not None:
            true_logit = ds.true_test_logits
            values["logit_rmse_vs_truth"] = float(np.sqrt(np.mean((logit - true_logit) ** 2)))
            bayes = float(np.mean(binary_entropy(sigmoid(true_logit))))
            values["log_loss_gap_to_bayes"] = values["log_loss"] - bayes
            if r.coef is not None:
                truth = coefficients[(coefficients["dataset"] == ds.name) & (coefficients["model"] == TRUTH)]
                mine = coefficients[(coefficients["dataset"] == ds.name) & (coefficients["model"] == r.model)]
                joined = truth.merge(mine, on=["class", "term"], suffixes=("_true", ""))
                values["coef_max_abs_error_vs_truth"] = float(
                    np.max(np.abs(joined["estimate"] - joined["estimate_true"]))
                )
        rows += [{"dataset": r.dataset, "model": r.model, "metric": m, "value": float(v)} for m, v in values.items()]
    for ds in datasets.values():
        if ds.truth is not None:
            true_proba = sigmoid(ds.true_test_logits)
            rows.append(
                {
                    "dataset": ds.name,
                    "model": TRUTH,
                    "metric": "bayes_log_loss",
                    "value": float(np.mean(binary_entropy(true_proba))),
                }
            )
            rows += [
                {"dataset": ds.name, "model": TRUTH, "metric": m, "value": v}
                for m, v in _scores(ds.y_test, true_proba).items()
            ]
    return pd.DataFrame(rows, columns=METRIC_COLUMNS)


def calibration_frame(results: list[FitResult], datasets: dict[str, Dataset], seed: int = 0) -> pd.DataFrame:
    """Reliability-diagram bins per model, before and after temperature scaling."""
    rows = []
    for r in results:
        if r.status != "ok" or r.test_logits is None:
            continue
        y = datasets[r.dataset].y_test
        logit, proba = _columns(r)
        scaled, _ = calibration.cross_fitted_temperature(logit, y, seed)
        for scaling, proba in (("none", proba), ("temperature", scaled)):
            rows += [
                {"dataset": r.dataset, "model": r.model, "scaling": scaling, **b}
                for b in calibration.reliability(proba, y)
            ]
    return pd.DataFrame(rows, columns=CALIBRATION_COLUMNS)


def passes_over_x_frame(fits: pd.DataFrame, by_name: dict[str, Dataset], bandwidth: float | None) -> pd.DataFrame:
    """``passes_over_X`` rows: each ok fit's ``fit_seconds`` in units of one read of its dataset's
    X_train at ``bandwidth`` bytes/s (None: no dataset large enough to measure against)."""
    rows = []
    if bandwidth:
        for fit in fits[fits["status"] == "ok"].itertuples():
            dataset = by_name.get(fit.dataset)
            if dataset is not None and np.isfinite(fit.fit_seconds):
                one_read = dataset.X_train.nbytes / bandwidth
                rows.append(
                    {
                        "dataset": fit.dataset,
                        "model": fit.model,
                        "metric": "passes_over_X",
                        "value": fit.fit_seconds / one_read,
                    }
                )
    return pd.DataFrame(rows, columns=METRIC_COLUMNS)
