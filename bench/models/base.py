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

import numpy as np

from bench.config import RunConfig
from bench.datasets import Dataset
from bench.fit_result import FitResult
from bench.stats import effects as marginal
from bench.stats import inference
from bench.stats.logistic import loglik, sigmoid, softmax

__all__ = ["FitResult", "Model"]  # FitResult lives in bench.fit_result; imported here for plug-ins


class Model(abc.ABC):
    """Base class of every model plug-in. Subclasses set ``name`` and ``description``."""

    name: str = ""
    description: str = ""
    exact = True  # False: a stochastic or non-convex fit, compared but not held to the tolerances
    max_repeats: int | None = None  # cap on timed repeats (a CNN training run is measured once)
    warm_up_fit = True  # the runner fits once untimed first; False if prepare() warms up itself

    @classmethod
    def preload(cls) -> None:
        """Import, ahead of any cell, what ``prepare()`` would import on first use (``-j N``
        workers do this while the data load). Optional; the default does nothing."""

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

    def attach_inference(
        self,
        result: FitResult,
        dataset: Dataset,
        cov: np.ndarray | None = None,
        effects: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> FitResult:
        """Standard errors and average marginal effects of an unpenalised linear fit.

        ``cov``: the covariance of [coef..., intercept] per contrast row (from the model's
        own Hessian); None means the closed form X~^T W X~ at the fitted coefficients.
        ``effects``: (ame, std_error) from the model's own machinery; None means the
        closed form (``bench.effects``). Penalised fits get neither: the inverse
        penalised Hessian is not the covariance of an MLE, and is not presented as one.
        """
        if dataset.penalty != "none" or result.coef is None or result.converged is False:
            return result
        X, coef, intercept = dataset.X_train, result.coef, result.intercept
        binary = dataset.is_binary
        if cov is None:
            try:
                cov = (inference.binary_covariance if binary else inference.multinomial_covariance)(X, coef, intercept)
            except np.linalg.LinAlgError:  # a singular information matrix: no standard errors exist
                result.message = "; ".join(
                    m for m in (result.message, "singular information matrix: no standard errors") if m
                )
                return result
        if result.std_error is None:
            result.std_error = np.sqrt(np.diag(cov)).reshape(coef.shape[0], -1)
        if effects is None:
            effects = (marginal.binary_ame if binary else marginal.multinomial_ame)(X, coef, intercept, cov)
        ame, se = (np.atleast_2d(a) for a in effects)  # binary (1, p): class 1; K classes (K, p)
        result.extra["effects"] = (ame, se, (1,) if binary else tuple(range(dataset.n_classes)))
        return result

    def synchronize(self) -> None:
        """Wait for asynchronous work (a CUDA stream) before the clock is read."""

    def logits_result(
        self,
        dataset: Dataset,
        test_logits: np.ndarray,
        train_logits: np.ndarray,
        coef: np.ndarray | None = None,
        intercept: np.ndarray | float | None = None,
        **fields,
    ) -> FitResult:
        """A FitResult from a model's own logits (and coefficients, for a linear model).

        Binary: ``test_logits`` (m,) or (m, 1) are log-odds of class 1; ``coef`` (p,).
        K classes: logit contrasts z_k - z_0 for k = 1..K-1, shape (m, K-1); ``coef`` the
        contrasts W_k - W_0, shape (K-1, p), ``intercept`` (K-1,). Only contrasts are
        identified; class 0 is the reference, as in statsmodels' MNLogit.
        """
        k = dataset.n_classes - 1
        test = np.asarray(test_logits, dtype=np.float64).reshape(-1, k)
        train = np.asarray(train_logits, dtype=np.float64).reshape(-1, k)
        if k == 1:
            test_logits, test_proba, classes = test, sigmoid(test), (1,)
        else:  # one column per class, the reference's logit 0
            test_logits = np.hstack([np.zeros((test.shape[0], 1)), test])
            test_proba, classes = softmax(test_logits), tuple(range(dataset.n_classes))
        if coef is not None:
            coef = np.asarray(coef, dtype=np.float64).reshape(k, -1)
            intercept = np.asarray(intercept, dtype=np.float64).reshape(k)
        return FitResult(
            model=self.name,
            dataset=dataset.name,
            coef=coef,
            intercept=intercept,
            test_logits=test_logits,
            test_proba=test_proba,
            loglik=loglik(dataset.y_train, train),
            classes=classes,
            **fields,
        )
