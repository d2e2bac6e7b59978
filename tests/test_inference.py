"""``bench.inference`` and ``bench.effects``: standard errors, Wald tables and average marginal effects.

References: statsmodels (an independent implementation) fitted here on its own
datasets, and the published Stata results that statsmodels tests against
(statsmodels 0.15.0, statsmodels/discrete/tests/results/results_discrete.py). The
closed forms are computed at scikit-learn's optimum and the torch versions by autograd,
so each check compares two implementations that share no code.
"""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm
import torch
from numpy.testing import assert_allclose
from sklearn.linear_model import LogisticRegression
from statsmodels.datasets import anes96, spector
from torch.func import functional_call

from bench.stats import effects, inference

# The tolerances. sklearn (newton-cholesky) and statsmodels (Newton) reach the
# same MLE to ~3e-14 here, so any larger difference is in the inference code.
SE_RTOL = 1e-6  # standard errors, relative
AME_ATOL = 1e-8  # average marginal effects, absolute
WALD_ATOL = 1e-8  # p-values and confidence limits, absolute
# bench/ARCHITECTURE.md: published Stata numbers for spector are ~1.5e-6 from the exact MLE (float32
# data); compare with them at 5e-6. Stata's printed CIs have 7 significant figures:
# half a unit in the last place of -22.68657 is 5e-6 on top, hence 1e-5 there.
PUBLISHED_ATOL = 5e-6
PUBLISHED_CI_ATOL = 1e-5
# Stata's mlogit stops at its default tolerances, ~1e-7 from the anes MLE (its published
# params differ from statsmodels' by 1e-7): its margins are 1.6e-7 away (measured).
# statsmodels' own test compares them at 6 decimals; 1e-6 here.
PUBLISHED_MLOGIT_ATOL = 1e-6
# Penalised Hessians: closed form vs autograd of the same objective, rounding only,
# amplified by the inversion (anes' penalised information has condition number 6.5e5):
# measured <= 2.7e-10 relative entrywise.
AUTOGRAD_RTOL = 1e-8

# --- Spector & Mazzeo, `logit grade gpa tuce psi` and `margins, dydx(*)`, Stata 11 -----
# Copied from results_discrete.py, class Spector, logit(): bse, pvalues, conf_int,
# margeff_nodummy_dydx(_se). Order: GPA, TUCE, PSI, _cons.
STATA_BSE = [1.26294114526, 0.141554207662, 1.06456430165, 4.93132462871]
STATA_PVALUES = [0.0252390974, 0.5014342039, 0.0254552063, 0.0082774596]
STATA_CONF_INT = [[0.3507938, 5.301432], [-0.1822835, 0.3725988], [0.29218, 4.465195], [-22.68657, -3.35613]]
STATA_AME = [0.36258084688424, 0.01220841099085, 0.30517768382304]
STATA_AME_SE = [0.1094412, 0.0177942, 0.0923796]


def _const_last(frame_or_array) -> np.ndarray:
    """statsmodels' constant-first rows (p + 1, ...) -> the project's [coef..., intercept]."""
    values = np.asarray(frame_or_array)
    return np.concatenate([values[1:], values[:1]])


@pytest.fixture(scope="module")
def spector_fit():
    data = spector.load_pandas()
    X, y = data.exog.to_numpy(np.float64), data.endog.to_numpy(np.float64)  # GPA, TUCE, PSI
    statsmodels_fit = sm.Logit(y, sm.add_constant(X)).fit(method="newton", tol=1e-12, disp=0)
    sklearn_fit = LogisticRegression(C=np.inf, solver="newton-cholesky", tol=1e-10).fit(X, y)
    return X, y, statsmodels_fit, sklearn_fit.coef_[0], sklearn_fit.intercept_[0]


@pytest.fixture(scope="module")
def anes_fit():
    data = anes96.load_pandas()
    frame = data.data
    # PID (7 classes) on logpopul = log(popul + 0.1), selfLR, age, educ, income
    X = np.column_stack([np.log(frame.popul + 0.1), frame.selfLR, frame.age, frame.educ, frame.income])
    y = data.endog.to_numpy()
    statsmodels_fit = sm.MNLogit(y, sm.add_constant(X)).fit(method="newton", tol=1e-12, disp=0)
    sklearn_fit = LogisticRegression(C=np.inf, solver="newton-cholesky", tol=1e-10).fit(X, y)
    contrasts = sklearn_fit.coef_[1:] - sklearn_fit.coef_[0]  # (6, 5): W_k - W_0, class 0 the reference
    intercept_contrasts = sklearn_fit.intercept_[1:] - sklearn_fit.intercept_[0]  # (6,)
    return X, y, statsmodels_fit, contrasts, intercept_contrasts


def _bce_objective(X, y, linear):
    """Sum BCE-with-logits of ``linear`` with its parameters passed in: the negative loglik."""
    rows, targets = torch.tensor(X), torch.tensor(y)  # copies: pandas hands out read-only arrays
    loss = torch.nn.BCEWithLogitsLoss(reduction="sum")

    def objective(weight, bias):
        return loss(functional_call(linear, {"weight": weight, "bias": bias}, (rows,)).squeeze(1), targets)

    return objective


def _linear_at(coef, intercept):
    linear = torch.nn.utils.skip_init(torch.nn.Linear, len(coef), 1, dtype=torch.float64)
    with torch.no_grad():
        linear.weight.copy_(torch.as_tensor(coef).reshape(1, -1))
        linear.bias.fill_(float(intercept))
    return linear


# --- binary: covariance ------------------------------------------------------------------


def test_binary_covariance_at_the_sklearn_optimum_equals_statsmodels(spector_fit):
    X, _, reference, coef, intercept = spector_fit
    cov = inference.binary_covariance(X, coef, intercept)
    assert_allclose(np.sqrt(np.diag(cov)), _const_last(reference.bse), rtol=SE_RTOL)
    reference_cov = _const_last(_const_last(np.asarray(reference.cov_params())).T)
    assert_allclose(cov, reference_cov, rtol=SE_RTOL)


def test_torch_covariance_of_a_linear_layer_equals_statsmodels(spector_fit):
    X, y, reference, coef, intercept = spector_fit
    linear = _linear_at(coef, intercept)  # nn.Linear(3, 1), float64, at the sklearn optimum
    cov = inference.torch_covariance(_bce_objective(X, y, linear), [linear.weight, linear.bias])
    assert cov.shape == (4, 4)
    assert_allclose(np.sqrt(np.diag(cov)), _const_last(reference.bse), rtol=SE_RTOL)


def test_standard_errors_match_published_stata(spector_fit):
    X, _, _, coef, intercept = spector_fit
    std_error = np.sqrt(np.diag(inference.binary_covariance(X, coef, intercept)))
    assert_allclose(std_error, STATA_BSE, atol=PUBLISHED_ATOL)


def test_separated_data_raise_instead_of_returning_nonsense():
    # y = 1 exactly when x > 1.5: at coef 1e4 every p(1 - p) underflows to 0, H = 0
    X = np.array([[0.0], [1.0], [2.0], [3.0]])
    with pytest.raises(np.linalg.LinAlgError, match="separated"):
        inference.binary_covariance(X, [1e4], -1.5e4)


# --- binary: average marginal effects ------------------------------------------------------


@pytest.mark.parametrize("ame_function", [effects.binary_ame, effects.torch_ame], ids=["closed_form", "torch"])
def test_binary_ame_equals_statsmodels_margeff(spector_fit, ame_function):
    X, _, reference, coef, intercept = spector_fit
    margeff = reference.get_margeff(at="overall", method="dydx")
    cov = inference.binary_covariance(X, coef, intercept)
    ame, std_error = ame_function(X, coef, intercept, cov)
    assert_allclose(ame, margeff.margeff, rtol=0, atol=AME_ATOL)
    assert_allclose(std_error, margeff.margeff_se, rtol=SE_RTOL)
    assert_allclose(ame, STATA_AME, atol=PUBLISHED_ATOL)
    assert_allclose(std_error, STATA_AME_SE, atol=PUBLISHED_ATOL)


def test_torch_ame_leaves_the_global_generator_alone(spector_fit):
    X, _, _, coef, intercept = spector_fit
    state = torch.get_rng_state()
    effects.torch_ame(X, coef, intercept, np.eye(4))
    assert torch.equal(state, torch.get_rng_state())


def test_ame_rejects_a_covariance_of_the_wrong_shape(spector_fit):
    X, _, _, coef, intercept = spector_fit
    with pytest.raises(ValueError, match=r"cov: expected shape \(4, 4\)"):
        effects.binary_ame(X, coef, intercept, np.eye(3))


# --- Wald table ------------------------------------------------------------------------------


def test_wald_table_equals_statsmodels_summary(spector_fit):
    X, _, reference, coef, intercept = spector_fit
    estimates = np.append(coef, intercept)
    std_error = np.sqrt(np.diag(inference.binary_covariance(X, coef, intercept)))
    for level in (0.95, 0.9):
        table = inference.wald_table(estimates, std_error, level=level)
        conf_int = _const_last(reference.conf_int(alpha=1 - level))  # (4, 2)
        assert_allclose(table["ci_low"], conf_int[:, 0], rtol=0, atol=WALD_ATOL)
        assert_allclose(table["ci_high"], conf_int[:, 1], rtol=0, atol=WALD_ATOL)
    assert_allclose(table["p_value"], _const_last(reference.pvalues), rtol=0, atol=WALD_ATOL)
    assert_allclose(table["z"], _const_last(reference.tvalues), rtol=SE_RTOL)
    published = inference.wald_table(estimates, std_error)
    assert_allclose(published["p_value"], STATA_PVALUES, atol=PUBLISHED_ATOL)
    assert_allclose(
        np.column_stack([published["ci_low"], published["ci_high"]]), STATA_CONF_INT, atol=PUBLISHED_CI_ATOL
    )


def test_wald_table_is_nan_where_the_standard_error_is_missing_or_zero():
    table = inference.wald_table([1.0, 2.0, 3.0], [np.nan, 0.0, 1.0])
    for values in table.values():
        assert np.isnan(values[:2]).all()
        assert np.isfinite(values[2])
    assert table["p_value"][2] == pytest.approx(0.0026997960632601866, rel=1e-12)  # 2 * Phi(-3)


@pytest.mark.parametrize(
    ("std_errors", "level", "message"),
    [
        ([1.0], 0.95, "std_errors: expected shape"),
        ([1.0, -1.0], 0.95, "std_errors: expected values >= 0"),
        ([1.0, 1.0], 1.0, "level: expected a probability"),
    ],
)
def test_wald_table_rejects_bad_input(std_errors, level, message):
    with pytest.raises(ValueError, match=message):
        inference.wald_table([0.5, 0.5], std_errors, level=level)


# --- multinomial -----------------------------------------------------------------------------


def test_multinomial_covariance_equals_mnlogit(anes_fit):
    X, _, reference, contrasts, intercept_contrasts = anes_fit
    cov = inference.multinomial_covariance(X, contrasts, intercept_contrasts)
    std_error = np.sqrt(np.diag(cov)).reshape(6, 6)  # (K - 1, p + 1)
    assert_allclose(std_error, _const_last(reference.bse).T, rtol=SE_RTOL)
    # Stata 11 prints 10 significant figures; the anes data are integers, so no float32 loss
    from statsmodels.discrete.tests.results.results_discrete import Anes

    assert_allclose(std_error, Anes.mnlogit_basezero.bse.T, rtol=SE_RTOL)


def test_multinomial_ame_equals_mnlogit_margeff(anes_fit):
    X, _, reference, contrasts, intercept_contrasts = anes_fit
    cov = inference.multinomial_covariance(X, contrasts, intercept_contrasts)
    ame, std_error = effects.multinomial_ame(X, contrasts, intercept_contrasts, cov)  # (7, 5) each
    margeff = reference.get_margeff(at="overall", method="dydx")  # (5, 7): feature x class
    assert_allclose(ame, margeff.margeff.T, rtol=0, atol=AME_ATOL)
    assert_allclose(std_error, margeff.margeff_se.T, rtol=SE_RTOL)
    # Stata 11 `margins, dydx(*) predict(outcome(#))`, results_discrete.py, Anes.mnlogit_basezero:
    from statsmodels.discrete.tests.results.results_discrete import Anes

    published = Anes.mnlogit_basezero
    assert_allclose(ame, published.margeff_dydx_overall.T, rtol=0, atol=PUBLISHED_MLOGIT_ATOL)
    assert_allclose(std_error, published.margeff_dydx_overall_se.T, rtol=SE_RTOL)


@pytest.mark.parametrize("lam", [0.0, 0.01])
def test_two_class_multinomial_is_the_binary_model(spector_fit, lam):
    """K = 2: one contrast, the binary logit. The symmetric penalty in contrasts is
    (1 - 1/2) n lam ||w||^2 / 2, the binary penalty at lam / 2 (bench/ARCHITECTURE.md: C' = 2C)."""
    X, _, _, coef, intercept = spector_fit
    cov = inference.multinomial_covariance(X, coef[None, :], [intercept], lam=lam)
    assert_allclose(cov, inference.binary_covariance(X, coef, intercept, lam=lam / 2), rtol=1e-12)
    ame, std_error = effects.multinomial_ame(X, coef[None, :], [intercept], cov)
    binary_effect, binary_std_error = effects.binary_ame(X, coef, intercept, cov)
    assert_allclose(ame, [-binary_effect, binary_effect], rtol=1e-12)
    assert_allclose(std_error, [binary_std_error, binary_std_error], rtol=1e-12)


# --- penalised fits: inverse penalised Hessians, not MLE covariances ------------------------


def test_penalised_binary_covariance_inverts_the_sklearn_objective_hessian(spector_fit):
    X, y, _, _, _ = spector_fit
    C = 0.5
    fit = LogisticRegression(C=C, solver="newton-cholesky", tol=1e-10).fit(X, y)
    linear = _linear_at(fit.coef_[0], fit.intercept_[0])
    negative_loglik = _bce_objective(X, y, linear)

    def sklearn_objective(weight, bias):  # C * sum log-loss + 1/2 ||w||^2, intercept free
        return C * negative_loglik(weight, bias) + 0.5 * weight.square().sum()

    sklearn_cov = inference.torch_covariance(sklearn_objective, [linear.weight, linear.bias])
    # lam = 1 / (C n): the module's objective is sklearn's divided by C, so its Hessian is H / C
    cov = inference.binary_covariance(X, fit.coef_, fit.intercept_, lam=1.0 / (C * len(y)))
    assert_allclose(cov, C * sklearn_cov, rtol=AUTOGRAD_RTOL)
    assert not np.allclose(cov, inference.binary_covariance(X, fit.coef_, fit.intercept_), rtol=1e-3)


def test_penalised_multinomial_covariance_is_the_symmetric_penalty_in_contrasts(anes_fit):
    """sklearn penalises all K rows W_k. Write them as W_0 = c, W_k = D_k + c and take the
    autograd Hessian of sklearn's own objective over (D, d, c): the (D, d) block of its
    inverse is the inverse Hessian of the objective profiled over c, which is what
    ``multinomial_covariance`` claims to give in contrasts with the penalty
    (I - 11^T / K) kron I_p."""
    X, y, _, _, _ = anes_fit
    C = 0.01
    fit = LogisticRegression(C=C, solver="newton-cholesky", tol=1e-10).fit(X, y)
    n, p = X.shape
    K = fit.coef_.shape[0]
    rows, targets = torch.tensor(X), torch.tensor(y.astype(np.int64))
    loss = torch.nn.CrossEntropyLoss(reduction="sum")
    bias_0 = float(fit.intercept_[0])  # shifting every intercept changes nothing: hold b_0 fixed

    def sklearn_objective(contrasts, reference_row):  # (K - 1, p + 1), (p,)
        weight = torch.cat([reference_row[None, :], contrasts[:, :p] + reference_row], dim=0)  # (K, p)
        bias = torch.cat([torch.tensor([0.0], dtype=torch.float64), contrasts[:, p]]) + bias_0  # (K,)
        return C * loss(rows @ weight.T + bias, targets) + 0.5 * weight.square().sum()

    contrasts = np.column_stack([fit.coef_[1:] - fit.coef_[0], fit.intercept_[1:] - fit.intercept_[0]])
    point = [torch.tensor(contrasts), torch.tensor(fit.coef_[0])]  # D and d, then c = W_0
    full_cov = inference.torch_covariance(sklearn_objective, point)
    size = (K - 1) * (p + 1)
    cov = inference.multinomial_covariance(X, contrasts[:, :p], contrasts[:, p], lam=1.0 / (C * n))
    assert_allclose(cov, C * full_cov[:size, :size], rtol=AUTOGRAD_RTOL)
    # the naive penalty I kron I_p (only the contrasts penalised, W_0 = 0) is far off: 47x
    assert not np.allclose(cov, _naive_penalty_covariance(X, contrasts, lam=1.0 / (C * n)), rtol=1e-4)


def _naive_penalty_covariance(X, contrasts, lam):
    """Contrasts penalised by n lam ||D||^2 / 2 (as if W_0 = 0): the wrong quadratic form."""
    n, p = X.shape
    information = np.linalg.inv(inference.multinomial_covariance(X, contrasts[:, :p], contrasts[:, p]))
    information += n * lam * np.kron(np.eye(contrasts.shape[0]), np.diag(np.r_[np.ones(p), 0.0]))
    return np.linalg.inv(information)


# --- input validation ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda X: inference.binary_covariance(X, [1.0, 2.0], 0.0), r"coef: expected shape \(3,\)"),
        (lambda X: inference.binary_covariance(X, [1.0, 2.0, 3.0], [0.0, 1.0]), "intercept: expected a scalar"),
        (lambda X: inference.binary_covariance(X, [1.0, 2.0, 3.0], 0.0, lam=-1.0), "lam: expected a finite value"),
        (lambda X: inference.multinomial_covariance(X, np.zeros((2, 3)), [0.0]), r"intercept: expected shape \(2,\)"),
        (lambda X: inference.binary_covariance(X[:, 0], [1.0], 0.0), "X: expected a non-empty 2-D array"),
    ],
)
def test_bad_arguments_are_named(spector_fit, call, message):
    with pytest.raises(ValueError, match=message):
        call(spector_fit[0])
