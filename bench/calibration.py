"""Calibration of binary probabilities: ECE, reliability bins, Cox slope, temperature.

- ECE (Guo et al. 2017, "On Calibration of Modern Neural Networks"): confidence is the
  probability of the predicted class, max(p, 1 - p); 15 equal-width bins over [0, 1];
  ECE = sum_b (n_b / n) |accuracy_b - confidence_b|.
- Cox (1958) calibration: regress y on logit(p_hat) by maximum likelihood; slope 1 and
  intercept 0 mean calibrated, slope < 1 over-confident. Calibration-in-the-large is
  mean(y) - mean(p_hat).
- Temperature scaling: p = sigmoid(z / T) with T minimising the log loss. Fitted on
  held-out logits by two-fold cross-fitting on the test rows (fit T on one half, apply
  to the other), so the "after" figures are never scored on the rows T was fitted on.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize_scalar

N_BINS = 15


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return np.exp(-np.logaddexp(0.0, -z))


def reliability(proba: np.ndarray, y: np.ndarray, n_bins: int = N_BINS) -> list[dict]:
    """Per-bin count, mean confidence and accuracy (empty bins omitted)."""
    confidence = np.maximum(proba, 1.0 - proba)
    correct = ((proba >= 0.5) == (y == 1)).astype(np.float64)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, n_bins - 1)
    rows = []
    for b in range(n_bins):
        mask = which == b
        if mask.any():
            rows.append({"bin": b, "bin_lower": edges[b], "bin_upper": edges[b + 1], "count": int(mask.sum()),
                         "confidence": float(confidence[mask].mean()), "accuracy": float(correct[mask].mean())})
    return rows


def ece(proba: np.ndarray, y: np.ndarray, n_bins: int = N_BINS) -> float:
    n = len(y)
    return float(sum(r["count"] / n * abs(r["accuracy"] - r["confidence"]) for r in reliability(proba, y, n_bins)))


def cox(y: np.ndarray, logit: np.ndarray, max_iter: int = 50) -> tuple[float, float]:
    """(intercept, slope) of the logistic regression of y on the predicted logit; NaN
    when it does not exist (the predicted logits separate the classes)."""
    X = np.column_stack([np.ones_like(logit), logit])
    beta = np.zeros(2)
    for _ in range(max_iter):
        p = _sigmoid(X @ beta)
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
    """T > 0 minimising the mean log loss of sigmoid(logit / T)."""
    def loss(log_t: float) -> float:
        z = logit / np.exp(log_t)
        return float(np.mean(np.logaddexp(0.0, z) - y * z))

    return float(np.exp(minimize_scalar(loss, bounds=(-6.0, 6.0), method="bounded", options={"xatol": 1e-10}).x))


def cross_fitted_temperature(logit: np.ndarray, y: np.ndarray, seed: int) -> tuple[np.ndarray, float]:
    """Out-of-fold temperature-scaled probabilities and the mean of the two fitted T."""
    rng = np.random.default_rng(seed)
    fold = rng.permutation(len(y)) % 2
    scaled = np.empty_like(logit, dtype=np.float64)
    temperatures = []
    for k in (0, 1):
        fit_rows, apply_rows = fold != k, fold == k
        T = fit_temperature(logit[fit_rows], y[fit_rows])
        temperatures.append(T)
        scaled[apply_rows] = _sigmoid(logit[apply_rows] / T)
    return scaled, float(np.mean(temperatures))
