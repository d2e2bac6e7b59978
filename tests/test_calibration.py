"""``bench.calibration``: ECE and reliability bins, the Cox slope, temperature scaling.

References: closed forms where one exists (a constant predictor), statsmodels ``Logit``
fitted here on the same data for the maximum-likelihood quantities (Cox intercept and
slope; 1/T as the no-intercept slope on the logits), and sampling error from the
generating model for recovery of known parameters.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import expit

from bench.stats import calibration

MLE_TOL = 1e-8  # two Newton solutions of the same likelihood (steps < 1e-12): the brief's 1e-8
SIGMAS = 4.0  # recovery of a generating parameter: within 4 standard errors (p ~ 6e-5 per check)


def _statsmodels_params(y: np.ndarray, design: np.ndarray):
    import statsmodels.api as sm

    fitted = sm.Logit(y, design).fit(method="newton", tol=1e-14, maxiter=100, disp=0)
    return np.asarray(fitted.params), np.asarray(fitted.bse)


# --- ECE and reliability bins -------------------------------------------------------------


def test_ece_of_a_perfectly_calibrated_sample_is_small():
    """p ~ U(0, 1), y ~ Bernoulli(p): confidence max(p, 1 - p) is exactly P(correct).

    Per bin b with m_b rows, accuracy - confidence has mean 0 and sd <= 0.5 / sqrt(m_b).
    Allowing SIGMAS sd per bin, ECE <= sum_b (m_b / n) SIGMAS 0.5 / sqrt(m_b)
    = (SIGMAS / 2n) sum_b sqrt(m_b) <= (SIGMAS / 2) sqrt(B / n) (Cauchy-Schwarz).
    """
    rng = np.random.default_rng(2017)
    n = 100_000
    proba = rng.random(n)
    y = (rng.random(n) < proba).astype(np.float64)
    bound = SIGMAS / 2 * np.sqrt(calibration.N_BINS / n)  # 0.0245
    assert calibration.ece(proba, y) < bound


def test_ece_of_a_constant_overconfident_predictor_is_the_gap():
    """Always 0.9 confident, right 60% of the time: ECE = |0.6 - 0.9| = 0.3 (one bin)."""
    proba = np.full(10, 0.9)
    y = np.array([1, 1, 1, 1, 1, 1, 0, 0, 0, 0], dtype=np.float64)
    # the bin's mean confidence is a float mean of ten 0.9s: exact up to rounding
    assert calibration.ece(proba, y) == pytest.approx(0.3, abs=1e-15)
    # and the same for the mirrored predictor (P(y = 1) = 0.1, confidence 0.9 in class 0)
    assert calibration.ece(1.0 - proba, 1.0 - y) == pytest.approx(0.3, abs=1e-15)


def test_reliability_bins_partition_the_sample():
    rng = np.random.default_rng(5)
    n = 1_000
    proba = rng.random(n)
    y = (rng.random(n) < proba).astype(np.float64)
    bins = calibration.reliability(proba, y)
    assert sum(b["count"] for b in bins) == n
    for b in bins:
        assert b["bin_lower"] <= b["confidence"] <= b["bin_upper"]
        assert 0.0 <= b["accuracy"] <= 1.0
    # confidence max(p, 1 - p) >= 0.5: only the bins from [7/15, 8/15) upward can hold rows
    assert min(b["bin"] for b in bins) >= 7
    # ECE is the count-weighted gap over these very bins
    weighted = sum(b["count"] / n * abs(b["accuracy"] - b["confidence"]) for b in bins)
    assert calibration.ece(proba, y) == pytest.approx(weighted, abs=1e-15)


# --- Cox calibration intercept and slope --------------------------------------------------


def test_cox_matches_statsmodels_and_recovers_the_generating_model():
    rng = np.random.default_rng(1958)
    n = 20_000
    a, b = 0.4, 0.7  # y ~ Bernoulli(sigmoid(a + b * logit)): over-confident logits
    logit = rng.normal(0.0, 2.0, size=n)
    y = (rng.random(n) < expit(a + b * logit)).astype(np.float64)

    intercept, slope = calibration.cox(y, logit)
    params, se = _statsmodels_params(y, np.column_stack([np.ones(n), logit]))
    assert intercept == pytest.approx(params[0], abs=MLE_TOL)
    assert slope == pytest.approx(params[1], abs=MLE_TOL)
    assert abs(intercept - a) < SIGMAS * se[0]
    assert abs(slope - b) < SIGMAS * se[1]


def test_cox_is_nan_when_the_logits_separate_the_classes():
    """The MLE does not exist for separated data; the docstring promises NaN."""
    logit = np.linspace(-3.0, 3.0, 40)
    y = (logit > 0).astype(np.float64)
    intercept, slope = calibration.cox(y, logit)
    assert np.isnan(intercept) and np.isnan(slope)


# --- temperature scaling -----------------------------------------------------------------


@pytest.fixture(scope="module")
def tempered():
    """logits z * T_true with y ~ Bernoulli(sigmoid(z)): the best temperature is T_true."""
    rng = np.random.default_rng(2)
    n, T_true = 5_000, 2.5
    z = rng.normal(0.0, 2.0, size=n)
    y = (rng.random(n) < expit(z)).astype(np.float64)
    return z * T_true, y, T_true


def test_fit_temperature_is_the_mle_of_one_over_T(tempered):
    """sigmoid(logit / T) is a no-intercept logistic regression on the logit with slope 1/T."""
    logit, y, T_true = tempered
    T = calibration.fit_temperature(logit, y)
    params, se = _statsmodels_params(y, logit[:, None])
    # Brent's method on log T with xatol 1e-10 vs Newton on 1/T: 1e-6 (the brief's) is ample
    assert 1.0 / T == pytest.approx(params[0], abs=1e-6)
    assert abs(1.0 / T - 1.0 / T_true) < SIGMAS * se[0]


def test_fit_temperature_agrees_with_a_brute_force_grid(tempered):
    logit, y, _ = tempered
    grid = np.linspace(1.5, 3.5, 2001)  # step 1e-3
    losses = [np.mean(np.logaddexp(0.0, logit / t) - y * logit / t) for t in grid]
    # the loss is smooth and unimodal here: the argmin lies within one grid step
    assert calibration.fit_temperature(logit, y) == pytest.approx(grid[int(np.argmin(losses))], abs=1e-3)


def test_cross_fitted_temperature_gives_out_of_fold_probabilities(tempered):
    logit, y, T_true = tempered
    scaled, T = calibration.cross_fitted_temperature(logit, y, seed=0)
    assert scaled.shape == logit.shape
    assert np.all((scaled > 0.0) & (scaled < 1.0))
    # each row is sigmoid(logit / T_k) for the T_k of the half it was not fitted on
    implied_T = logit / np.log(scaled / (1.0 - scaled))
    folds = np.unique(np.round(implied_T, 6))  # float round trip ~1e-12 relative; 6 decimals
    assert folds.size == 2
    assert T == pytest.approx(folds.mean(), abs=1e-6)
    assert T == pytest.approx(T_true, rel=0.1)  # two halves of 2,500 rows: se(1/T) ~ 2%
    again, T_again = calibration.cross_fitted_temperature(logit, y, seed=0)
    assert np.array_equal(scaled, again) and T == T_again
