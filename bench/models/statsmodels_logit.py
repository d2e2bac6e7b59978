"""statsmodels logistic regression: the statistical reference.

Unpenalised: ``Logit(y, [1, X]).fit(method="newton")`` (K classes: ``MNLogit``, class 0
the reference), with standard errors.

L2: statsmodels' ``Logit.fit_regularized`` is L1 only, and
``GLM.fit_regularized(L1_wt=0)`` stops ~1e-3 short of the ridge optimum (bench/ARCHITECTURE.md,
tests/test_agreement.py). So L2 uses statsmodels' penalised-likelihood machinery
(``PenalizedMixin``) and Newton's method, which reaches the optimum to ~1e-15.

The mapping, binary: statsmodels maximises loglike - pen_weight * sum_j w_j beta_j^2;
scikit-learn's objective divided by C is loglike - 1/(2C) ||w||^2, so pen_weight = 1/(2C)
with weight 0 at the constant.

K classes: scikit-learn penalises every class row, 1/2 sum_{k=0}^{K-1} ||W_k||^2, in a
parameterisation where only the contrasts D_k = W_k - W_0 are identified; at the optimum
the free common shift makes sum_k W_k = 0, and the penalty in contrasts is
sum_k ||D_k||^2 - ||sum_k D_k||^2 / K (k = 1..K-1), a quadratic form
(I - 11^T/K) (x) I_p on the MNLogit weights. ``SymmetricL2`` below is that penalty, so
MNLogit solves scikit-learn's multinomial objective exactly; pen_weight = 1/(2C) again.

No standard errors are reported for penalised fits: the inverse penalised Hessian is
not the MLE's covariance.
"""

from __future__ import annotations

import warnings

import numpy as np

from bench.models.base import FitResult, Model

MAX_ITER = 100
TOL = 1e-12  # Newton's parameter-change criterion; it converges quadratically


def _symmetric_penalty_class():
    from statsmodels.base._penalties import Penalty

    class SymmetricL2(Penalty):
        """theta^T Q theta for MNLogit's flattened params (column-major (p+1, K-1), constant first)."""

        def __init__(self, n_exog: int, n_classes: int) -> None:
            super().__init__(weights=1.0)
            exog_weights = np.ones(n_exog)
            exog_weights[0] = 0.0  # intercepts are not penalised
            between = np.eye(n_classes - 1) - np.full((n_classes - 1, n_classes - 1), 1.0 / n_classes)
            self.Q = np.kron(between, np.diag(exog_weights))  # blocks per class, as params are stacked

        def func(self, params):
            return float(params @ self.Q @ params)

        def deriv(self, params):
            return 2.0 * self.Q @ params

        def deriv2(self, params):
            return 2.0 * self.Q

    return SymmetricL2


class StatsmodelsLogit(Model):
    name = "statsmodels_logit"
    description = "statsmodels Logit / MNLogit (Newton); L2 via PenalizedMixin"

    def __init__(self, max_iter: int = MAX_ITER) -> None:
        self.max_iter = max_iter  # a cap below MAX_ITER stops early on purpose (``bench curves``)

    def prepare(self, dataset, config) -> None:
        import statsmodels.api as sm
        from statsmodels.base._penalized import PenalizedMixin
        from statsmodels.base._penalties import L2
        from statsmodels.discrete.discrete_model import Logit, MNLogit

        self.dataset = dataset
        # constant first, as statsmodels users write it
        self.design_train = sm.add_constant(dataset.X_train, has_constant="add")
        self.design_test = sm.add_constant(dataset.X_test, has_constant="add")
        base = Logit if dataset.is_binary else MNLogit
        if dataset.penalty == "l2":
            if dataset.is_binary:
                penalty = L2(weights=np.r_[0.0, np.ones(dataset.n_features)])  # the intercept is not penalised
            else:
                penalty = _symmetric_penalty_class()(dataset.n_features + 1, dataset.n_classes)

            class Penalized(PenalizedMixin, base):
                pass

            self.make_model = lambda: Penalized(
                dataset.y_train, self.design_train, penal=penalty, pen_weight=1.0 / (2.0 * dataset.C)
            )
        else:
            self.make_model = lambda: base(dataset.y_train, self.design_train)

    def fit(self) -> None:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            self.fitted = self.make_model().fit(method="newton", maxiter=self.max_iter, tol=TOL, disp=0)
        self.warnings = [str(w.message).splitlines()[0] for w in caught]

    def _params(self) -> np.ndarray:
        """(p + 1, K - 1): column k-1 holds [intercept, coef...] of contrast k (binary: one column)."""
        return np.asarray(self.fitted.params).reshape(self.design_train.shape[1], -1, order="F")

    def predict(self) -> None:
        self.test_logits = self.design_test @ self._params()  # (m, K-1)

    def result(self) -> FitResult:
        params, ds = self._params(), self.dataset
        std_error = None
        if ds.penalty == "none":
            bse = np.asarray(self.fitted.bse).reshape(params.shape, order="F")
            std_error = np.c_[bse[1:].T, bse[0]]  # (K-1, p+1): [coef..., intercept]
        retvals = self.fitted.mle_retvals
        result = self.logits_result(
            ds,
            coef=params[1:].T,
            intercept=params[0],
            test_logits=self.test_logits,
            train_logits=self.design_train @ params,
            std_error=std_error,
            n_iter=int(retvals.get("iterations", 0)),
            converged=bool(retvals.get("converged", False)) and not self.warnings,
            solver=f"statsmodels {'Logit' if ds.is_binary else 'MNLogit'} newton"
            + (" (penalized L2)" if ds.penalty == "l2" else ""),
            message="; ".join(dict.fromkeys(self.warnings)),
        )
        if ds.penalty == "none" and result.converged:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # overflow in exp on extreme rows
                margins = self.fitted.get_margeff(at="overall", method="dydx")
            ame = (
                np.asarray(margins.margeff).reshape(-1, ds.n_features, order="F")
                if ds.is_binary
                else np.asarray(margins.margeff).T
            )  # binary (1, p); MNLogit (p, K) -> (K, p)
            se = (
                np.asarray(margins.margeff_se).reshape(ame.shape, order="F")
                if ds.is_binary
                else np.asarray(margins.margeff_se).T
            )
            result.extra["effects"] = (ame, se, (1,) if ds.is_binary else tuple(range(ds.n_classes)))
        return result
