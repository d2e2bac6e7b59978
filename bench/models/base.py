"""The model interface every plug-in implements, and the result it returns.

The runner calls, per (dataset, model) cell::

    ok, reason = model.supports(dataset)
    model.prepare(dataset, config)   # untimed: arrays, tensors, design matrix, warm-up
    model.fit()                      # timed, repeated; must start from the same state each time
    model.predict()                  # timed, repeated: test logits
    result = model.result()          # untimed: FitResult

so a model never times itself and never sees another model.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field

import numpy as np

from bench.config import RunConfig
from bench.datasets import Dataset


@dataclass
class FitResult:
    """What one model produced on one dataset (see DESIGN.md, "FitResult").

    coef : ndarray of shape (n_classes_out, n_features) or None
        Binary models report one row: the log-odds coefficients of class 1.
    intercept : ndarray of shape (n_classes_out,) or None
    std_error : ndarray of shape (n_classes_out, n_features + 1) or None
        Standard errors of [coef..., intercept] where the model gives them.
    test_logits : ndarray of shape (n_test, n_classes_out); binary: log-odds of class 1.
    test_proba : ndarray of shape (n_test, n_classes_out); binary: P(y = 1).
    loglik : train log-likelihood at the fitted parameters (unpenalised).
    """

    model: str
    dataset: str
    status: str = "ok"  # ok | failed | skipped
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
    repeats: int = 0
    exact: bool = True  # solves the dataset's convex objective, so must agree with the others
    extra: dict = field(default_factory=dict)


def sigmoid(z: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-z)) without overflow for large |z|; NaN stays NaN, silently
    (a diverged fit is reported as failed by the runner, not as a warning)."""
    with np.errstate(invalid="ignore", over="ignore"):
        return np.exp(-np.logaddexp(0.0, -z))


def binary_loglik(y: np.ndarray, logits: np.ndarray) -> float:
    """sum_i y_i * eta_i - log(1 + exp(eta_i)): the Bernoulli log-likelihood on the logit scale."""
    eta = np.asarray(logits, dtype=np.float64).reshape(-1)
    with np.errstate(invalid="ignore", over="ignore"):
        return float(np.sum(y * eta - np.logaddexp(0.0, eta)))


class Model(abc.ABC):
    """Base class of every model plug-in. Subclasses set ``name`` and ``description``."""

    name: str = ""
    description: str = ""
    exact = True  # False: a stochastic or non-convex fit, compared but not held to the tolerances
    max_repeats: int | None = None  # cap on timed repeats (a CNN training run is measured once)
    warm_up_fit = True  # the runner fits once untimed first; False if prepare() warms up itself

    def supports(self, dataset: Dataset) -> tuple[bool, str]:
        """Whether this model can fit the dataset, and if not, why (shown in the report)."""
        return True, ""

    @abc.abstractmethod
    def prepare(self, dataset: Dataset, config: RunConfig) -> None:
        """Everything that should not be timed: conversions, allocation, imports."""

    @abc.abstractmethod
    def fit(self) -> None:
        """Fit from a fixed starting state. The only call whose time is the fit time."""

    @abc.abstractmethod
    def predict(self) -> None:
        """Compute test logits (timed separately as predict time)."""

    @abc.abstractmethod
    def result(self) -> FitResult:
        """Package what the last fit and predict produced."""

    def synchronize(self) -> None:
        """Wait for asynchronous work (a CUDA stream) before the clock is read."""

    def binary_result(
        self,
        dataset: Dataset,
        coef: np.ndarray,
        intercept: float,
        test_logits: np.ndarray,
        train_logits: np.ndarray,
        **fields,
    ) -> FitResult:
        """A FitResult for a binary model from its own coefficients and logits."""
        test_logits = np.asarray(test_logits, dtype=np.float64).reshape(-1, 1)
        return FitResult(
            model=self.name,
            dataset=dataset.name,
            coef=np.asarray(coef, dtype=np.float64).reshape(1, -1),
            intercept=np.array([float(intercept)]),
            test_logits=test_logits,
            test_proba=sigmoid(test_logits),
            loglik=binary_loglik(dataset.y_train, train_logits),
            **fields,
        )
