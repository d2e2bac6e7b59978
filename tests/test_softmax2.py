"""Two logits for two classes (``torch_softmax2``): w1 - w0 is the binary logistic regression.

References are the libraries themselves, called here (statsmodels ``Logit`` with Newton,
scikit-learn ``LogisticRegression`` with newton-cholesky), not the bench wrappers; the
Hessian is checked against autograd (``torch.func.jacrev(torch.func.grad(f))``; not
``torch.func.hessian``, whose forward-mode AD warns in torch 2.13).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from bench.config import RunConfig
from bench.models._torch import newton
from bench.models._torch.two_logit import contrast, fit_two_logit
from bench.runner import run_cell

COEF_TOL = 1e-6  # the issue: torch_softmax2 w1 - w0 agrees with the binary models to 1e-6
MAPPING_GAP = 1e-3  # the wrong mapping must miss by more than this (measured 0.47 on breast_cancer)
HESSIAN_TOL = 1e-10  # the brief's; both sides are float64 sums of O(1) terms (rounding ~1e-15)

CONFIG = RunConfig(repeats=1, models=("torch_softmax2",))


def _statsmodels_mle(ds) -> tuple[np.ndarray, float]:
    import statsmodels.api as sm

    fitted = sm.Logit(ds.y_train, sm.add_constant(ds.X_train)).fit(method="newton", tol=1e-12, maxiter=100, disp=0)
    params = np.asarray(fitted.params)
    return params[1:], float(params[0])


def _sklearn_l2(ds, C: float) -> tuple[np.ndarray, float]:
    from sklearn.linear_model import LogisticRegression

    # newton-cholesky, not lbfgs: lbfgs stops ~1e-6 short of the optimum (bench/ARCHITECTURE.md)
    est = LogisticRegression(C=C, solver="newton-cholesky", tol=1e-10, max_iter=1000).fit(ds.X_train, ds.y_train)
    return est.coef_[0], float(est.intercept_[0])


def _two_logit(ds, lam: float) -> tuple[torch.nn.Linear, newton.NewtonOutcome]:
    module = torch.nn.Linear(ds.n_features, 2, dtype=torch.float64)
    outcome = fit_two_logit(module, torch.tensor(ds.X_train), torch.tensor(ds.y_train, dtype=torch.int64), lam)
    return module, outcome


def test_unpenalised_contrast_matches_statsmodels_on_spector(spector):
    assert spector.penalty == "none"
    result = run_cell(spector, "torch_softmax2", CONFIG)
    assert result.status == "ok", result.message
    coef, intercept = _statsmodels_mle(spector)
    np.testing.assert_allclose(result.coef[0], coef, rtol=0, atol=COEF_TOL)
    np.testing.assert_allclose(result.intercept[0], intercept, rtol=0, atol=COEF_TOL)


def test_l2_contrast_matches_sklearn_at_C(breast_cancer):
    """The model fits lambda2 = 2 lambda on both rows (C' = C / 2): the binary fit at C."""
    assert breast_cancer.penalty == "l2"
    result = run_cell(breast_cancer, "torch_softmax2", CONFIG)
    assert result.status == "ok", result.message
    coef, intercept = _sklearn_l2(breast_cancer, breast_cancer.C)
    np.testing.assert_allclose(result.coef[0], coef, rtol=0, atol=COEF_TOL)
    np.testing.assert_allclose(result.intercept[0], intercept, rtol=0, atol=COEF_TOL)


def test_reported_logits_are_the_contrast(breast_cancer):
    result = run_cell(breast_cancer, "torch_softmax2", CONFIG)
    expected = breast_cancer.X_test @ result.coef[0] + result.intercept[0]
    # the same float64 numbers by two routes (torch z1 - z0 vs numpy X @ d + c): rounding only
    np.testing.assert_allclose(result.test_logits[:, 0], expected, rtol=0, atol=1e-10)


def test_same_lambda_on_two_rows_is_the_binary_fit_at_2C(breast_cancer):
    """Why the mapping is needed: lambda on both rows halves the effective penalty."""
    module, outcome = _two_logit(breast_cancer, breast_cancer.l2_lambda)  # lam2 = lambda, not 2 lambda
    assert outcome.converged, outcome.message
    coef, intercept = contrast(module)
    at_2C, at_2C_intercept = _sklearn_l2(breast_cancer, 2.0 * breast_cancer.C)
    np.testing.assert_allclose(coef, at_2C, rtol=0, atol=COEF_TOL)
    assert intercept == pytest.approx(at_2C_intercept, abs=COEF_TOL)
    at_C, _ = _sklearn_l2(breast_cancer, breast_cancer.C)
    assert np.max(np.abs(coef - at_C)) > MAPPING_GAP


def test_l2_optimum_splits_the_difference_symmetrically(breast_cancer):
    """The docstring's argument: at the optimum w1 = -w0 = d / 2 (the minimum-norm split)."""
    module, outcome = _two_logit(breast_cancer, 2.0 * breast_cancer.l2_lambda)
    assert outcome.converged, outcome.message
    W = module.weight.detach().numpy()
    # the gradient of the penalised objective along w0 + w1 is lam2 (w0 + w1): Newton to a
    # decrement < 1e-20 leaves it at rounding level; 1e-10 is the Newton docstring's bound
    np.testing.assert_allclose(W[0] + W[1], 0.0, atol=1e-10)


def _objective(X: torch.Tensor, y: torch.Tensor, K: int, lam: float):
    """Mean cross-entropy + lam/2 ||W||^2 of theta = [W (K, p) row by row, b (K,)]."""
    p = X.shape[1]

    def f(theta: torch.Tensor) -> torch.Tensor:
        W, b = theta[: K * p].reshape(K, p), theta[K * p :]
        return torch.nn.functional.cross_entropy(X @ W.T + b, y) + 0.5 * lam * W.square().sum()

    return f


@pytest.mark.parametrize("K", [2, 3])
@pytest.mark.parametrize("lam", [0.0, 0.3])
def test_softmax_hessian_matches_autograd(K, lam):
    generator = torch.Generator().manual_seed(K)
    n, p = 60, 4
    X = torch.randn(n, p, dtype=torch.float64, generator=generator)  # (n, p)
    y = torch.randint(0, K, (n,), generator=generator)  # (n,)
    theta = torch.randn(K * p + K, dtype=torch.float64, generator=generator)
    W, b = theta[: K * p].reshape(K, p), theta[K * p :]
    proba = torch.softmax(X @ W.T + b, dim=1)  # (n, K)

    closed_form = newton.softmax_hessian(X, proba, lam)
    autograd = torch.func.jacrev(torch.func.grad(_objective(X, y, K, lam)))(theta)
    assert closed_form.shape == autograd.shape == (K * p + K, K * p + K)
    torch.testing.assert_close(closed_form, autograd, rtol=0, atol=HESSIAN_TOL)
    # the flat direction the pseudo-inverse handles: shifting every class by the same vector
    shift = torch.cat([torch.ones(p, dtype=torch.float64).repeat(K), torch.ones(K, dtype=torch.float64)])
    if lam == 0.0:
        torch.testing.assert_close(closed_form @ shift, torch.zeros_like(shift), rtol=0, atol=HESSIAN_TOL)
