"""glum_logit (bench/models/glum_logit.py): glum's penalty mapping, its standard errors, its
solvers and its place in the runs, each against an independent reference named in the test.

Measured here (glum 3.4.1): on spector (unpenalised) glum's default solver (irls-ls) agrees with
statsmodels' Logit to ~1e-14 in coefficients and ~1e-13 in standard errors; on breast_cancer
(L2, C = 1) with scikit-learn's newton-cholesky to ~3e-12 in coefficients and ~6e-11 in logits;
glum's lbfgs agrees with its default to ~2e-9 on spector.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from bench import datasets, models
from bench.cli import main
from bench.config import SUITES, TOLERANCES
from bench.runner import run_cell
from bench.stats.logistic import loglik


def fitted(spec: str, dataset, config):
    """Drive a model as the runner does (prepare, fit, predict, result)."""
    model = models.create(spec)
    model.prepare(dataset, config)
    model.fit()
    model.predict()
    return model, model.result()


def test_penalty_mapping_is_alpha_one_over_C_n(spector, breast_cancer, fast_config):
    """glum minimises (1/n) sum(log-loss) + alpha/2 ||w||^2 (its docstring: deviance / (2 n), and the
    binomial deviance is twice the log-loss); scikit-learn's C sum(log-loss) + 1/2 ||w||^2 divided by
    C n is that objective with alpha = 1/(C n). Reference: the Dataset's C and n_train."""
    model = models.create("glum_logit")
    model.prepare(breast_cancer, fast_config)
    assert breast_cancer.penalty == "l2"
    assert model.estimator.alpha == pytest.approx(1.0 / (breast_cancer.C * breast_cancer.n_train), rel=1e-15)
    assert model.estimator.l1_ratio == 0
    model.prepare(spector, fast_config)
    assert spector.penalty == "none" and model.estimator.alpha == 0.0


def test_spector_unpenalised_agrees_with_statsmodels(spector, fast_config):
    """Reference: statsmodels' Logit on [1, X] by Newton, fitted here (independent of bench's models):
    coefficients, intercept, standard errors (glum's own covariance_matrix, inverse Fisher
    information without its n / (n - p - 1) factor) and the log-likelihood, to 1e-6."""
    import statsmodels.api as sm

    reference = sm.Logit(spector.y_train, sm.add_constant(spector.X_train)).fit(
        method="newton", tol=1e-12, maxiter=100, disp=0
    )
    _, result = fitted("glum_logit", spector, fast_config)
    assert result.converged and result.solver == "glum irls-ls"
    params, bse = np.asarray(reference.params), np.asarray(reference.bse)
    assert_allclose(result.coef[0], params[1:], rtol=0, atol=TOLERANCES["coef"])
    assert_allclose(result.intercept, params[:1], rtol=0, atol=TOLERANCES["coef"])
    assert_allclose(result.std_error[0], np.r_[bse[1:], bse[0]], rtol=0, atol=TOLERANCES["std_error"])
    assert result.loglik == pytest.approx(reference.llf, abs=TOLERANCES["loglik"])
    # measured ~1e-14 and ~1e-13: the same optimum, not merely within the tolerance
    assert np.abs(result.coef[0] - params[1:]).max() < 1e-10
    assert np.abs(result.std_error[0] - np.r_[bse[1:], bse[0]]).max() < 1e-10
    ame, ame_se, _ = result.extra["effects"]  # from glum's covariance through bench's delta method
    margins = reference.get_margeff(at="overall", method="dydx")
    assert_allclose(ame[0], margins.margeff, rtol=0, atol=TOLERANCES["ame"])
    assert_allclose(ame_se[0], margins.margeff_se, rtol=0, atol=TOLERANCES["ame_std_error"])


def test_breast_cancer_l2_agrees_with_sklearn(breast_cancer, fast_config):
    """Reference: scikit-learn's LogisticRegression at the card's C = 1 (newton-cholesky, tol 1e-12),
    fitted here: coefficients, intercept, test logits, probabilities and train log-likelihood, to 1e-6.
    No standard errors under a penalty (the inverse penalised Hessian is not an MLE covariance)."""
    from sklearn.linear_model import LogisticRegression

    assert breast_cancer.penalty == "l2" and breast_cancer.C == 1.0
    reference = LogisticRegression(C=breast_cancer.C, solver="newton-cholesky", tol=1e-12, max_iter=1000)
    reference.fit(breast_cancer.X_train, breast_cancer.y_train)
    _, result = fitted("glum_logit", breast_cancer, fast_config)
    assert result.converged and result.std_error is None
    test_logits = reference.decision_function(breast_cancer.X_test)
    train_logits = reference.decision_function(breast_cancer.X_train)
    assert_allclose(result.coef[0], reference.coef_[0], rtol=0, atol=TOLERANCES["coef"])
    assert_allclose(result.intercept, reference.intercept_, rtol=0, atol=TOLERANCES["coef"])
    assert_allclose(result.test_logits[:, 0], test_logits, rtol=0, atol=TOLERANCES["logit"])
    assert_allclose(result.test_proba[:, 0], reference.predict_proba(breast_cancer.X_test)[:, 1], atol=1e-6, rtol=0)
    assert result.loglik == pytest.approx(loglik(breast_cancer.y_train, train_logits), abs=TOLERANCES["loglik"])
    assert np.abs(result.coef[0] - reference.coef_[0]).max() < 1e-9  # measured ~3e-12


def test_three_classes_are_skipped_with_the_reason(fast_config):
    """glum's binomial family has no multinomial: the runner reports the cell as skipped, with why."""
    iris = datasets.load("iris")
    assert iris.n_classes == 3
    supported, reason = models.create("glum_logit").supports(iris)
    assert not supported and "multinomial" in reason
    result = run_cell(iris, "glum_logit", fast_config)
    assert result.status == "skipped" and "no multinomial" in result.message


@pytest.mark.parametrize("name", ["spector", "synthetic"])
def test_default_and_lbfgs_solvers_agree(name, request, fast_config):
    """Reference: glum's own default solver (irls-ls, gradient_tol 1e-12) for its lbfgs; both
    are named in the FitResult. (On breast_cancer and digits glum's lbfgs stops ~1e-6 and ~1e-5
    from the ridge optimum on its objective-change criterion, like scikit-learn's lbfgs.)"""
    dataset = request.getfixturevalue(name)  # conftest's session fixtures
    _, default = fitted("glum_logit", dataset, fast_config)
    _, lbfgs = fitted("glum_logit[solver=lbfgs]", dataset, fast_config)
    assert (default.solver, lbfgs.solver) == ("glum irls-ls", "glum lbfgs")
    assert default.converged and lbfgs.converged
    assert_allclose(lbfgs.coef, default.coef, rtol=0, atol=TOLERANCES["coef"])
    assert_allclose(lbfgs.intercept, default.intercept, rtol=0, atol=TOLERANCES["coef"])
    assert_allclose(lbfgs.test_logits, default.test_logits, rtol=0, atol=TOLERANCES["logit"])
    assert lbfgs.loglik == pytest.approx(default.loglik, abs=TOLERANCES["loglik"])


def test_glum_runs_through_the_cli(tmp_path):
    """A small run (spector) with statsmodels_logit as the reference: every pair agrees in
    agreement.csv within bench/config.py TOLERANCES, standard errors included, and the cells are
    named as given with the solver that ran."""
    out = tmp_path / "out"
    spec = "statsmodels_logit,glum_logit,glum_logit[solver=lbfgs]"
    args = ["run", "--datasets", "spector", "--models", spec, "--out", str(out), "-q", "--no-history"]
    assert main([*args, "--repeats", "1"]) == 0
    fits = pd.read_csv(out / "fits.csv")
    assert list(fits["model"]) == spec.split(",") and (fits["status"] == "ok").all()
    agreement = pd.read_csv(out / "agreement.csv")
    assert {"coef", "logit", "proba", "loglik", "std_error"} <= set(agreement["quantity"])
    for row in agreement.itertuples():
        assert row.max_abs_diff <= TOLERANCES[row.quantity], row
    solvers = json.loads((out / "run.json").read_text(encoding="utf-8"))["solvers"]
    assert solvers["spector/glum_logit"] == "glum irls-ls"
    assert solvers["spector/glum_logit[solver=lbfgs]"] == "glum lbfgs"


def test_glum_is_in_the_quick_and_scale_suites():
    """The scale suite races every library's fastest exact solvers; each spec builds a model."""
    assert "glum_logit" in SUITES["quick"]["models"]
    scale = SUITES["scale"]["models"]
    assert {"glum_logit", "glum_logit[solver=lbfgs]", "sklearn_logit[solver=lbfgs]"} <= set(scale)
    for spec in scale:
        assert models.model_class(spec).exact
