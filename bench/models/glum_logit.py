"""glum's ``GeneralizedLinearRegressor(family="binomial", link="logit")``: QuantCo's GLM solvers.

Objective (glum's docstring, ``glum/_glm.py`` of glum 3.4, with sample weights 1)::

    1/(2 n) * deviance(y, expit(X w + b)) + alpha * l1_ratio * ||w||_1 + alpha/2 * (1 - l1_ratio) * ||w||^2

intercept b unpenalised. The binomial unit deviance is -2 (y log mu + (1 - y) log(1 - mu)),
twice the log-loss, so with ``l1_ratio = 0`` glum minimises

    (1/n) sum(log-loss) + alpha/2 ||w||^2.

scikit-learn minimises C sum(log-loss) + 1/2 ||w||^2; divided by C n that is
(1/n) sum(log-loss) + 1/(2 C n) ||w||^2, the same minimiser, so ``alpha = 1/(C n_train)``
(``Dataset.l2_lambda``) and ``l1_ratio = 0``. Unpenalised: ``alpha = 0``.

Solver: glum's default ``auto``, which for a pure L2 (or no) penalty resolves to ``irls-ls``
(IRLS, a Newton method, with a least-squares inner solve); ``irls-cd`` (coordinate-descent inner
solve) and ``lbfgs`` (scipy's L-BFGS-B) are selectable (``glum_logit[solver=lbfgs]``). The
FitResult names the solver that ran (``glum irls-ls``). IRLS stops when the L1 norm of the
gradient of the objective above falls below ``gradient_tol`` = 1e-12, or when a step is shorter
than ``step_size_tol`` = 1e-7 (L2 norm). On the quick suite's data the gradient test ends it,
~1e-13 from the optimum the built-ins reach (IRLS converges quadratically: 1e-12 costs at most one
iteration more than 1e-10). On large data glum's gradient has a rounding floor far above 1e-12
(L1 norm ~3e-10 on synthetic_tall, ~6e-8 on synthetic_wide, ~4e-11 on synthetic_large): with the
gradient test alone IRLS took 86 iterations on synthetic_tall (53 s) instead of 6, inching along
at steps of ~1e-12, and its coefficients did not move closer (measured on synthetic_wide: 1.1e-8
from scikit-learn's newton-cholesky after 6 iterations and after 14). A full Newton step of length
s leaves ~s^2 to go, so after a step under 1e-7 the fit is at glum's floor: measured 2.6e-10 from
newton-cholesky on synthetic_tall (6 iterations) and 1.1e-8 on synthetic_wide (6), whose logits
are then 3e-7 from the others', inside the 1e-6 tolerance but the farthest of the exact solvers.

``lbfgs`` stops on the objective's relative change too (glum passes ``factr=1e2`` to
``fmin_l_bfgs_b``, ~2e-14), whatever ``gradient_tol`` says, like scikit-learn's lbfgs: measured, it
ends 1.5e-6 from the ridge optimum on breast_cancer and 1.2e-5 on digits, outside the 1e-6
agreement tolerance; it stays selectable so the gap can be shown, as ``sklearn_logit[solver=lbfgs]``.

Standard errors (unpenalised fits): glum's own ``covariance_matrix(X, y, robust=False,
dispersion=1)``, the inverse Fisher information [1 X]^T diag(mu (1 - mu)) [1 X] (the binomial's
dispersion is 1; glum would otherwise estimate it from Pearson residuals, and its default is the
robust sandwich), which glum multiplies by n / (n - p - 1); that factor is taken out here so it is
the MLE covariance statsmodels' ``Logit`` reports, and reordered from glum's [intercept, coef...]
to [coef..., intercept].

glum's binomial family is for 0/1 outcomes: it has no multinomial, so K > 2 classes are skipped.
"""

from __future__ import annotations

import warnings

import numpy as np

from bench.models.base import FitResult, Model

MAX_ITER = 1000  # IRLS takes 6-12 iterations here; lbfgs up to ~230 (digits)
GRADIENT_TOL = 1e-12
STEP_SIZE_TOL = 1e-7  # IRLS only; the gradient's rounding floor on large data is above GRADIENT_TOL
# glum calls scipy's fmin_l_bfgs_b with iprint, which scipy 1.17 deprecates: not the fit's concern
_SCIPY_IPRINT = "scipy.optimize: The `disp` and `iprint` options"


class GlumLogit(Model):
    name = "glum_logit"
    description = "glum GeneralizedLinearRegressor, binomial / logit (auto: irls-ls, gradient_tol 1e-12)"

    def __init__(self, solver: str = "auto", max_iter: int = MAX_ITER) -> None:
        self.solver = solver
        self.max_iter = max_iter  # a cap below MAX_ITER stops early on purpose (``bench curves``)

    def supports(self, dataset) -> tuple[bool, str]:
        if not dataset.is_binary:
            return False, f"glum has no multinomial family: binary outcomes only ({dataset.n_classes} classes here)"
        return True, ""

    def prepare(self, dataset, config) -> None:
        from glum import GeneralizedLinearRegressor
        from threadpoolctl import ThreadpoolController

        self.dataset, self.threads = dataset, config.threads
        # glum and tabmat parallelise with OpenMP (the runner's BLAS limit may predate their import)
        self.openmp = ThreadpoolController().select(user_api="openmp")
        # irls-cd copies a C-ordered X on every fit (glum's docstring): give it Fortran order once, here
        self.X_train = np.asfortranarray(dataset.X_train) if self.solver == "irls-cd" else dataset.X_train
        self.y_train = np.asarray(dataset.y_train, dtype=np.float64)
        self.estimator = GeneralizedLinearRegressor(
            family="binomial",
            link="logit",
            alpha=dataset.l2_lambda,  # 1/(C n_train) under L2, 0 unpenalised (the module's docstring)
            l1_ratio=0.0,
            solver=self.solver,
            gradient_tol=GRADIENT_TOL,
            step_size_tol=STEP_SIZE_TOL,
            max_iter=self.max_iter,
            warm_start=False,  # every fit starts from glum's own start (coefficients 0, intercept from the mean of y)
        )
        self.warnings: list[str] = []
        self.failed: list[str] = []

    def fit(self) -> None:
        from sklearn.exceptions import ConvergenceWarning

        with self.openmp.limit(limits=self.threads), warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            self.estimator.fit(self.X_train, self.y_train)
        caught = [w for w in caught if not str(w.message).startswith(_SCIPY_IPRINT)]
        self.warnings = list(dict.fromkeys(str(w.message).splitlines()[0] for w in caught))
        # lbfgs reports a stop other than convergence as a plain UserWarning "lbfgs failed ..."
        self.failed = [
            str(w.message).splitlines()[0]
            for w in caught
            if issubclass(w.category, ConvergenceWarning) or str(w.message).startswith("lbfgs failed")
        ]

    def predict(self) -> None:
        self.test_logits = self.estimator.linear_predictor(self.dataset.X_test)

    def _covariance(self) -> np.ndarray:
        """glum's inverse Fisher information at the fit, without its n / (n - p - 1), as [coef..., intercept]."""
        n, p = self.dataset.X_train.shape
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # overflow in exp on extreme rows
            cov = self.estimator.covariance_matrix(X=self.dataset.X_train, y=self.y_train, robust=False, dispersion=1.0)
        cov = np.asarray(cov) * ((n - p - 1) / n)
        order = np.r_[1 : p + 1, 0]
        return cov[np.ix_(order, order)]

    def result(self) -> FitResult:
        est, ds = self.estimator, self.dataset
        n_iter = int(est.n_iter_)
        converged = not self.failed  # glum warns whenever it stops short (IRLS at max_iter, lbfgs' warnflag)
        result = self.logits_result(
            ds,
            coef=est.coef_,
            intercept=est.intercept_,
            test_logits=self.test_logits,
            train_logits=est.linear_predictor(ds.X_train),
            n_iter=n_iter,
            converged=converged,
            solver=f"glum {getattr(est, '_solver', self.solver)}",  # auto resolved at fit
            message="; ".join(self.warnings),
        )
        if ds.penalty != "none" or not converged:
            return result
        try:
            cov = self._covariance()
        except np.linalg.LinAlgError:  # glum: "Matrix is singular. Cannot estimate standard errors."
            return self.attach_inference(result, ds)  # the closed form says so in the message
        return self.attach_inference(result, ds, cov=cov)
