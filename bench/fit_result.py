"""``FitResult``: what one model produced on one dataset.

A leaf: the runner, the tables and the models all use it, and it imports nothing of
bench's, so the tables can read results without importing a model.
``bench.models.base.FitResult`` is the same class.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class FitResult:
    """What one model produced on one dataset (``bench/ARCHITECTURE.md``, "FitResult").

    coef : ndarray of shape (K - 1, n_features) or None
        Binary models report one row: the log-odds coefficients of class 1. K classes:
        the contrasts W_k - W_0 (class 0 the reference), the only identified quantities.
    intercept : ndarray of shape (K - 1,) or None
    std_error : ndarray of shape (K - 1, n_features + 1) or None
        Standard errors of [coef..., intercept] where the model gives them.
    test_logits : binary (n_test, 1), the log-odds of class 1; K classes (n_test, K),
        z_k - z_0 (column 0 is zero).
    test_proba : binary (n_test, 1), P(y = 1); K classes (n_test, K), the softmax.
    classes : the class code of each column of test_logits (binary (1,)).
    loglik : train log-likelihood at the fitted parameters (unpenalised).
    """

    model: str
    dataset: str
    status: str = "ok"  # ok | failed | skipped | separated, singular (findings: no unique MLE)
    message: str = ""
    coef: np.ndarray | None = None
    intercept: np.ndarray | None = None
    std_error: np.ndarray | None = None
    test_logits: np.ndarray | None = None
    test_proba: np.ndarray | None = None
    loglik: float = float("nan")
    n_iter: int | None = None
    converged: bool | None = None
    solver: str = ""
    fit_seconds: float = float("nan")
    fit_seconds_median: float = float("nan")
    predict_seconds: float = float("nan")
    predict_seconds_median: float = float("nan")
    repeats: int = 0  # timed fits (adaptive: bench.runner.cell)
    fit_times: list[float] = field(default_factory=list)  # every timed fit, in the order they ran
    predict_times: list[float] = field(default_factory=list)  # every timed predict
    # the machine-speed workload (bench.runner.provenance.reference_samples) timed just before
    # the fits and just after the predicts: what load the cell's timings felt
    reference_times: list[float] = field(default_factory=list)
    classes: tuple[int, ...] = (1,)  # the class code of each column of test_logits
    peak_extra_bytes: int | None = None  # peak RSS of prepare() + the first fit beyond the data held
    exact: bool = True  # solves the dataset's convex objective, so must agree with the others
    extra: dict = field(default_factory=dict)
