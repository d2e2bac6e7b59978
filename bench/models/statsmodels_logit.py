"""statsmodels logistic regression: the statistical reference.

Unpenalised: ``Logit(y, [1, X]).fit(method="newton")``, with standard errors.

L2: statsmodels' ``Logit.fit_regularized`` is L1 only, and
``GLM.fit_regularized(L1_wt=0)`` stops ~3e-5 short of the ridge optimum (DESIGN.md).
So L2 uses statsmodels' penalised-likelihood machinery on ``Logit``
(``PenalizedMixin`` with an ``L2`` penalty) and Newton's method, which reaches the
optimum to ~1e-15 (measured on breast_cancer). The mapping: statsmodels maximises
loglike - pen_weight * sum(weight_j * beta_j^2); dividing scikit-learn's objective by C
gives loglike - 1/(2C) ||w||^2, so pen_weight = 1 / (2C) and weight 0 at the constant.
No standard errors are reported for the penalised fit: the inverse penalised Hessian
is not the MLE's covariance.
"""

from __future__ import annotations

import warnings

import numpy as np

from bench.models.base import FitResult, Model

MAX_ITER = 100
TOL = 1e-12  # Newton's parameter-change criterion; it converges quadratically


class StatsmodelsLogit(Model):
    name = "statsmodels_logit"
    description = "statsmodels Logit (Newton); L2 via PenalizedMixin + L2 penalty"

    def prepare(self, dataset, config) -> None:
        import statsmodels.api as sm
        from statsmodels.base._penalized import PenalizedMixin
        from statsmodels.base._penalties import L2
        from statsmodels.discrete.discrete_model import Logit

        self.dataset = dataset
        # constant first, as statsmodels users write it
        self.design_train = sm.add_constant(dataset.X_train, has_constant="add")
        self.design_test = sm.add_constant(dataset.X_test, has_constant="add")
        if dataset.penalty == "l2":
            weights = np.ones(self.design_train.shape[1])
            weights[0] = 0.0  # the intercept is not penalised

            class PenalizedLogit(PenalizedMixin, Logit):
                pass

            self.make_model = lambda: PenalizedLogit(
                dataset.y_train, self.design_train, penal=L2(weights=weights), pen_weight=1.0 / (2.0 * dataset.C)
            )
        else:
            self.make_model = lambda: Logit(dataset.y_train, self.design_train)

    def fit(self) -> None:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            self.fitted = self.make_model().fit(method="newton", maxiter=MAX_ITER, tol=TOL, disp=0)
        self.warnings = [str(w.message).splitlines()[0] for w in caught]

    def predict(self) -> None:
        self.test_logits = self.design_test @ self.fitted.params

    def result(self) -> FitResult:
        params, ds = np.asarray(self.fitted.params), self.dataset
        std_error = None
        if ds.penalty == "none":
            bse = np.asarray(self.fitted.bse)
            std_error = np.r_[bse[1:], bse[0]].reshape(1, -1)  # [coef..., intercept]
        retvals = self.fitted.mle_retvals
        return self.binary_result(
            ds,
            coef=params[1:],
            intercept=params[0],
            test_logits=self.test_logits,
            train_logits=self.design_train @ params,
            std_error=std_error,
            n_iter=int(retvals.get("iterations", 0)),
            converged=bool(retvals.get("converged", False)) and not self.warnings,
            solver="statsmodels newton" + (" (penalized L2)" if ds.penalty == "l2" else ""),
            message="; ".join(dict.fromkeys(self.warnings)),
        )
