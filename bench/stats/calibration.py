"""Calibration of predicted probabilities: ECE, reliability bins, Cox slope, temperature.

Every function takes either binary inputs (1-D: the probability or log-odds of class 1)
or K-class inputs (2-D, one column per class: probabilities, or logits z_k - z_0).

- ECE (Guo et al. 2017, "On Calibration of Modern Neural Networks"): confidence is the
  probability of the predicted class (binary: max(p, 1 - p)); 15 equal-width bins over
  [0, 1]; ECE = sum_b (n_b / n) |accuracy_b - confidence_b|.
- Cox (1958) calibration, binary: regress y on logit(p_hat) by maximum likelihood; slope 1
  and intercept 0 mean calibrated, slope < 1 over-confident. Calibration-in-the-large is
  mean(y) - mean(p_hat).
- Temperature scaling: p = softmax(z / T) (binary: sigmoid(z / T)) with T minimising the
  log loss. Fitted on held-out logits by two-fold cross-fitting on the test rows (fit T
  on one half, apply it to the other), so the "after" figures never score the rows T was
  fitted on.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize_scalar

from bench.stats.logistic import sigmoid, softmax

N_BINS = 15


def _proba_matrix(proba: np.ndarray) -> np.ndarray:
    """(n,) probabilities of class 1 -> (n, 2); (n, K) unchanged."""
    proba = np.asarray(proba, dtype=np.float64)
    return np.column_stack([1.0 - proba, proba]) if proba.ndim == 1 else proba


def _logit_matrix(logit: np.ndarray) -> np.ndarray:
    """(n,) log-odds -> (n, 2) logits [0, eta]; (n, K) unchanged."""
    logit = np.asarray(logit, dtype=np.float64)
    return np.column_stack([np.zeros_like(logit), logit]) if logit.ndim == 1 else logit


def reliability(proba: np.ndarray, y: np.ndarray, n_bins: int = N_BINS) -> list[dict]:
    """Per-bin count, mean confidence and accuracy (empty bins omitted)."""
    matrix = _proba_matrix(proba)
    confidence = matrix.max(axis=1)
    correct = (matrix.argmax(axis=1) == np.asarray(y, dtype=np.int64)).astype(np.float64)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, n_bins - 1)
    rows = []
    for b in range(n_bins):
        mask = which == b
        if mask.any():
            rows.append(
                {
                    "bin": b,
                    "bin_lower": edges[b],
                    "bin_upper": edges[b + 1],
                    "count": int(mask.sum()),
                    "confidence": float(confidence[mask].mean()),
                    "accuracy": float(correct[mask].mean()),
                }
            )
    return rows


def ece(proba: np.ndarray, y: np.ndarray, n_bins: int = N_BINS) -> float:
    n = len(y)
    return float(sum(r["count"] / n * abs(r["accuracy"] - r["confidence"]) for r in reliability(proba, y, n_bins)))


def cox(y: np.ndarray, logit: np.ndarray, max_iter: int = 50) -> tuple[float, float]:
    """(intercept, slope) of the logistic regression of y on the predicted logit; NaN
    when it does not exist (the predicted logits separate the classes). Binary only."""
    X = np.column_stack([np.ones_like(logit), logit])
    beta = np.zeros(2)
    for _ in range(max_iter):
        p = sigmoid(X @ beta)
        g = X.T @ (y - p)
        H = X.T @ (X * (p * (1 - p))[:, None])
        try:
            step = np.linalg.solve(H, g)
        except np.linalg.LinAlgError:
            return float("nan"), float("nan")
        beta = beta + step
        if not np.all(np.isfinite(beta)) or np.abs(beta).max() > 1e6:
            return float("nan"), float("nan")
        if np.abs(step).max() < 1e-12:
            return float(beta[0]), float(beta[1])
    return float("nan"), float("nan")


def fit_temperature(logit: np.ndarray, y: np.ndarray) -> float:
    """T > 0 minimising the mean log loss of softmax(logit / T) (binary: sigmoid)."""
    z = _logit_matrix(logit)
    labels = np.asarray(y, dtype=np.int64)
    picked = z[np.arange(len(labels)), labels]

    def loss(log_t: float) -> float:
        t = np.exp(log_t)
        return float(np.mean(np.logaddexp.reduce(z / t, axis=1) - picked / t))

    return float(np.exp(minimize_scalar(loss, bounds=(-6.0, 6.0), method="bounded", options={"xatol": 1e-10}).x))


def cross_fitted_temperature(logit: np.ndarray, y: np.ndarray, seed: int) -> tuple[np.ndarray, float]:
    """Out-of-fold temperature-scaled probabilities (the input's shape: binary (n,),
    K classes (n, K)) and the mean of the two fitted temperatures."""
    binary = np.asarray(logit).ndim == 1
    z = _logit_matrix(logit)
    rng = np.random.default_rng(seed)
    fold = rng.permutation(len(y)) % 2
    scaled = np.empty_like(z)
    temperatures = []
    for k in (0, 1):
        fit_rows, apply_rows = fold != k, fold == k
        T = fit_temperature(z[fit_rows], y[fit_rows])
        temperatures.append(T)
        scaled[apply_rows] = softmax(z[apply_rows] / T)
    return (scaled[:, 1] if binary else scaled), float(np.mean(temperatures))
