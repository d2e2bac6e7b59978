"""Throw-away model plug-ins that misbehave on purpose, for the runner's failure isolation.

Registered only inside a test, by monkeypatching ``bench.models.REGISTRY`` with
"tests.fault_models:<Class>" entries. Each fails in exactly one documented way.
"""

from __future__ import annotations

import numpy as np

from bench.models.base import FitResult, Model

RAISE_MESSAGE = "deliberate failure inside fit()"
NOT_CONVERGED_MESSAGE = "stopped after 3 iterations (test double)"


class _Constant(Model):
    """Predicts log-odds 0 for every row: well defined, finite, and wrong."""

    description = "test double"

    def prepare(self, dataset, config) -> None:
        self.dataset = dataset

    def fit(self) -> None:
        pass

    def predict(self) -> None:
        self.test_logits = np.zeros(self.dataset.X_test.shape[0])  # (n_test,)

    def coefficients(self) -> np.ndarray:
        return np.zeros(self.dataset.n_features)  # (p,)

    def result(self, **fields) -> FitResult:
        coef = self.coefficients()
        return self.logits_result(
            self.dataset,
            coef=coef,
            intercept=0.0,
            test_logits=self.test_logits,
            train_logits=self.dataset.X_train @ coef,
            **({"n_iter": 1, "converged": True} | fields),
        )


class Raises(_Constant):
    """``fit()`` raises: the cell must fail with the exception's type and message."""

    name = "fault_raises"

    def fit(self) -> None:
        raise RuntimeError(RAISE_MESSAGE)


class NaNCoefficients(_Constant):
    """Reports NaN coefficients (a diverged fit) while claiming convergence."""

    name = "fault_nan"

    def coefficients(self) -> np.ndarray:
        return np.full(self.dataset.n_features, np.nan)


class NotConverged(_Constant):
    """Finite numbers, but ``converged=False``: the cell must fail, keeping the message."""

    name = "fault_unconverged"

    def result(self) -> FitResult:
        return super().result(n_iter=3, converged=False, message=NOT_CONVERGED_MESSAGE)


class Unsupported(_Constant):
    """Declines every dataset: the cell is ``skipped`` (not failed) with the reason."""

    name = "fault_unsupported"
    REASON = "supports nothing (test double)"

    def supports(self, dataset) -> tuple[bool, str]:
        return False, self.REASON


class Diverges(_Constant):
    """The loss runs off to infinity: infinite coefficients and logits."""

    name = "fault_diverges"

    def coefficients(self) -> np.ndarray:
        return np.full(self.dataset.n_features, np.inf)

    def predict(self) -> None:
        self.test_logits = np.full(self.dataset.X_test.shape[0], np.inf)

    def result(self, **fields) -> FitResult:
        with np.errstate(invalid="ignore"):  # inf * 0 in X @ coef: what a diverged fit computes
            return super().result(**fields)


class Hangs(_Constant):
    """``fit()`` never returns: only ``--cell-timeout`` can end the cell."""

    name = "fault_hangs"

    def fit(self) -> None:
        import time

        while True:
            time.sleep(0.05)


class Slow(_Constant):
    """``fit()`` takes a second: long enough to kill a worker while cells are running."""

    name = "fault_slow"

    def fit(self) -> None:
        import time

        time.sleep(1.0)
