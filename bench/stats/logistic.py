"""The logistic link and its relatives, written once: sigmoid, softmax, the multinomial
log-likelihood from logit contrasts, and the binary entropy."""

from __future__ import annotations

import numpy as np


def sigmoid(z: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-z)) without overflow for large |z|; NaN stays NaN, silently
    (a diverged fit is reported as failed by the runner, not as a warning)."""
    with np.errstate(invalid="ignore", over="ignore"):
        return np.exp(-np.logaddexp(0.0, -z))


def softmax(z: np.ndarray) -> np.ndarray:
    """Row-wise softmax of (n, K) logits."""
    with np.errstate(invalid="ignore", over="ignore"):
        shifted = z - np.max(z, axis=1, keepdims=True)
        e = np.exp(shifted)
        return e / e.sum(axis=1, keepdims=True)


def loglik(y: np.ndarray, contrasts: np.ndarray) -> float:
    """Log-likelihood sum_i log P(y_i) from logit contrasts (n, K-1) (binary: log-odds (n, 1)):
    log P(y = k) = c_k - log(1 + sum_j exp(c_j)) with c_0 = 0. Binary: y eta - log(1 + e^eta)."""
    c = np.asarray(contrasts, dtype=np.float64)
    c = c.reshape(len(y), -1)
    z = np.hstack([np.zeros((c.shape[0], 1)), c])  # (n, K)
    with np.errstate(invalid="ignore", over="ignore"):
        log_norm = np.logaddexp.reduce(z, axis=1)
        return float(np.sum(z[np.arange(len(y)), np.asarray(y, dtype=np.int64)] - log_norm))


def binary_entropy(p: np.ndarray) -> np.ndarray:
    """-(p log p + (1 - p) log(1 - p)), elementwise; 0 at p = 0 and p = 1. The mean over test
    rows of the true probabilities' entropy is the Bayes log loss."""
    q = np.clip(p, 1e-300, 1.0)
    r = np.clip(1.0 - p, 1e-300, 1.0)
    return -(p * np.log(q) + (1.0 - p) * np.log(r))
