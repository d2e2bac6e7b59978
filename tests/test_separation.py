"""bench.stats.separation: complete / quasi-complete separation found by linear programming.

References, one per test, are independent of the LP: Albert & Anderson's (1984)
definitions worked by hand on textbook data, the UCLA OARC FAQ "What is complete
or quasi-complete separation in logistic regression" (its SAS output names the
kind), statsmodels' own fits (a diverging or converging likelihood), and the UCI
iris description. A separating direction is also a certificate: where one is
returned, the tests check its margins directly with numpy, in the caller's units.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import statsmodels.api as sm
from numpy.testing import assert_allclose
from sklearn.datasets import load_breast_cancer, load_iris
from statsmodels.tools.sm_exceptions import (
    ConvergenceWarning,
    HessianInversionWarning,
    PerfectSeparationWarning,
)

from bench import datasets
from bench.stats.separation import SCREEN_ROWS, Separation, detect_separation

# Margins of a returned direction, recomputed in the caller's units: >= -1e-9 is
# "on the boundary" (the direction is normalised to max |entry| = 1, the data are O(1)
# to O(1e3), so float64 rounding is ~1e-12; 1e-9 leaves room for HiGHS's 1e-10 slack).
MARGIN_ATOL = 1e-9

# Textbook data (Albert & Anderson's definitions; the same shapes as the UCLA FAQ).
X_COMPLETE = np.arange(1.0, 7.0)[:, None]  # x = 1..6
Y_COMPLETE = np.array([0, 0, 0, 1, 1, 1])
X_QUASI = np.array([1.0, 2, 3, 4, 4, 5, 6])[:, None]  # the two rows at x = 4 disagree
Y_QUASI = np.array([0, 0, 0, 0, 1, 1, 1])
# UCLA OARC FAQ, "complete or quasi-complete separation": columns X1, X2.
UCLA_COMPLETE_X = np.array([[1, 3], [2, 2], [3, -1], [3, -1], [5, 2], [6, 4], [10, 1], [11, 0]], dtype=float)
UCLA_COMPLETE_Y = np.array([0, 0, 0, 0, 1, 1, 1, 1])
UCLA_QUASI_X = np.array(
    [[1, 3], [2, 0], [3, -1], [3, 4], [3, 1], [4, 0], [5, 2], [6, 7], [10, 3], [11, 4]], dtype=float
)
UCLA_QUASI_Y = np.array([0, 0, 0, 0, 1, 1, 1, 1, 1, 1])


def binary_margins(X, y, direction) -> np.ndarray:
    """(2 y_i - 1) [x_i, 1] . d for every row: (n,)."""
    design = np.column_stack([X, np.ones(len(X))])  # (n, p + 1)
    return (2 * np.asarray(y) - 1) * (design @ direction[0])


def multinomial_margins(X, y, direction) -> np.ndarray:
    """(W[y_i] - W[k]) . [x_i, 1] for every row i and class k != y_i: (n, K - 1)."""
    logits = np.column_stack([X, np.ones(len(X))]) @ direction.T  # (n, K)
    own = logits[np.arange(len(X)), y]  # (n,)
    gaps = own[:, None] - logits  # (n, K)
    return gaps[np.arange(gaps.shape[1])[None, :] != np.asarray(y)[:, None]].reshape(len(X), -1)


def fit_logit(X, y, **fit_args):
    """statsmodels Logit with every warning recorded (warnings are errors in this suite)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = sm.Logit(y, sm.add_constant(X, has_constant="add")).fit(disp=0, **fit_args)
    return result, {w.category for w in caught}


@pytest.fixture(scope="module")
def spector_data():
    frame = sm.datasets.spector.load_pandas().data
    return frame[["GPA", "TUCE", "PSI"]].to_numpy(), frame["GRADE"].to_numpy(), ("GPA", "TUCE", "PSI")


@pytest.fixture(scope="module")
def breast_cancer_data():
    bunch = load_breast_cancer()
    X = (bunch.data - bunch.data.mean(axis=0)) / bunch.data.std(axis=0)  # (569, 30)
    return X, bunch.target, tuple(bunch.feature_names)


@pytest.fixture(scope="module")
def iris_data():
    bunch = load_iris()
    return bunch.data, bunch.target, tuple(bunch.feature_names)


# --- textbook examples ----------------------------------------------------------------


def test_complete_separation_of_x_1_to_6():
    """x <= 3 are all 0 and x >= 4 all 1: complete (Albert & Anderson). Along the
    unpenalised fit's path the coefficients diverge towards the max-margin direction,
    threshold 3.5; statsmodels, stopped after 35 Newton steps, is already there."""
    found = detect_separation(X_COMPLETE, Y_COMPLETE, ["x"])
    assert isinstance(found, Separation)
    assert found.kind == "complete"
    assert found.features == ("x",)
    assert found.direction.shape == (1, 2)
    assert np.abs(found.direction).max() == 1.0
    assert (binary_margins(X_COMPLETE, Y_COMPLETE, found.direction) > 0).all()
    assert_allclose(-found.direction[0, 1] / found.direction[0, 0], 3.5, rtol=1e-12)

    fit, caught = fit_logit(X_COMPLETE, Y_COMPLETE)
    assert PerfectSeparationWarning in caught
    assert fit.llf > -1e-6  # the supremum of the likelihood is 1: log-likelihood -> 0
    # 35 Newton steps leave the threshold within 1e-2 of the limit (measured 3.497)
    assert_allclose(-fit.params[0] / fit.params[1], 3.5, atol=1e-2)
    assert found.message.startswith("complete separation: the classes are separated by a threshold on x")


def test_quasi_complete_separation_with_a_tie_at_the_boundary():
    """The rows at x = 4 have both classes: only the hyperplane x = 4 separates, so the
    direction is unique, d ∝ (1, -4) (by hand from the definition). statsmodels' diverging
    fit heads the same way and its log-likelihood tends to 2 log(1/2), the tied pair's."""
    found = detect_separation(X_QUASI, Y_QUASI, ["x"])
    assert found.kind == "quasi-complete"
    assert found.features == ("x", "intercept")
    assert_allclose(found.direction, [[0.25, -1.0]], atol=1e-12)
    margins = binary_margins(X_QUASI, Y_QUASI, found.direction)
    assert_allclose(margins[[3, 4]], 0.0, atol=MARGIN_ATOL)
    assert (margins >= -MARGIN_ATOL).all() and (margins > 0).sum() == 5

    fit, caught = fit_logit(X_QUASI, Y_QUASI)
    assert ConvergenceWarning in caught
    assert_allclose(fit.llf, 2 * np.log(0.5), atol=1e-6)
    assert_allclose(fit.params[1] / -fit.params[0], 0.25, rtol=1e-6)
    assert "quasi-complete separation" in found.message and "x" in found.message


def test_ucla_faq_complete_example():
    """The FAQ's first table: X1 <= 3 for Y = 0, X1 >= 5 for Y = 1; SAS reports
    "Complete separation of data points detected"; X1 is the culprit."""
    found = detect_separation(UCLA_COMPLETE_X, UCLA_COMPLETE_Y, ["X1", "X2"])
    assert found.kind == "complete"
    assert found.features[0] == "X1"
    assert "X2" not in found.features
    assert 3 < -found.direction[0, 2] / found.direction[0, 0] < 5
    assert (binary_margins(UCLA_COMPLETE_X, UCLA_COMPLETE_Y, found.direction) > 0).all()


def test_ucla_faq_quasi_complete_example():
    """The FAQ's second table: three rows at X1 = 3 of both classes; SAS reports
    "Quasi-complete separation of data points detected". By hand, the three X1 = 3
    rows force the X2 weight to 0 and the boundary to X1 = 3: d ∝ (1, 0, -3)."""
    found = detect_separation(UCLA_QUASI_X, UCLA_QUASI_Y, ["X1", "X2"])
    assert found.kind == "quasi-complete"
    assert found.features == ("X1", "intercept")
    assert_allclose(found.direction, [[1 / 3, 0.0, -1.0]], atol=1e-12)


# --- overlap: the MLE exists ---------------------------------------------------------


def test_spector_overlaps(spector_data):
    """statsmodels' Logit converges on spector (Greene's textbook fit): the MLE exists."""
    X, y, names = spector_data
    assert detect_separation(X, y, names) is None
    fit, caught = fit_logit(X, y)
    assert fit.mle_retvals["converged"] and not caught


def test_a_duplicated_column_is_not_separation(spector_data):
    """Collinear columns give directions with every margin 0 (the null space); that is
    not separation, though a test of |beta| > tol alone would call it one."""
    X, y, names = spector_data
    doubled = np.column_stack([X, 2.0 * X[:, 0], np.full(len(X), 3.0)])  # GPA again, a constant
    assert detect_separation(doubled, y, (*names, "GPA2", "three")) is None


def test_three_overlapping_gaussians():
    """Three classes, means 1 apart, unit variance: they overlap, and statsmodels'
    MNLogit converges (the multinomial MLE exists)."""
    rng = np.random.default_rng(20260414)
    means = np.array([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.5, 0.87, 0.0]])  # (3, 3)
    y = rng.integers(0, 3, 300)  # (300,)
    X = means[y] + rng.standard_normal((300, 3))  # (300, 3)
    assert detect_separation(X, y, ["a", "b", "c"]) is None
    fit = sm.MNLogit(y, sm.add_constant(X)).fit(disp=0)
    assert fit.mle_retvals["converged"]


# --- real data that separate ---------------------------------------------------------


def test_breast_cancer_is_completely_separated(breast_cancer_data):
    """All 30 standardised features: some hyperplane separates benign from malignant.
    Independent evidence: statsmodels' BFGS drives the log-likelihood to ~0 (its
    supremum under complete separation only; quasi-complete keeps it below 0) while
    the coefficient norm grows past 1e4, and it cannot invert the Hessian."""
    X, y, names = breast_cancer_data
    found = detect_separation(X, y, names)
    assert found.kind == "complete"
    assert (binary_margins(X, y, found.direction) > 0).all()
    assert len(found.features) > 10  # no small subset: most of the 30 features take part
    assert found.message.endswith("(the MLE does not exist; use --penalty l2)")

    fit, caught = fit_logit(X, y, method="bfgs", maxiter=1000)
    assert fit.llf > -0.05
    assert np.linalg.norm(fit.params) > 1e3
    assert caught & {HessianInversionWarning, ConvergenceWarning, PerfectSeparationWarning}
    assert caught <= {HessianInversionWarning, ConvergenceWarning, PerfectSeparationWarning, RuntimeWarning}


def test_breast_cancer_card_training_split_is_separated():
    """The project's card (standardised, 75 % training rows): a subset of completely
    separated rows stays completely separated, so the card's L2 penalty is needed."""
    data = datasets.load("breast_cancer")
    found = detect_separation(data.X_train, data.y_train, data.feature_names)
    assert found is not None and found.kind == "complete"


def test_a_feature_that_alone_separates_is_named_first():
    """One column puts every 0 below -0.2 and every 1 above 0.2; five noise columns."""
    rng = np.random.default_rng(11)
    y = rng.integers(0, 2, 200)  # (200,)
    signal = np.where(y == 1, rng.uniform(0.2, 3.0, 200), rng.uniform(-3.0, -0.2, 200))
    X = rng.standard_normal((200, 6))  # (200, 6)
    X[:, 3] = signal
    names = ["n0", "n1", "n2", "signal", "n4", "n5"]
    found = detect_separation(X, y, names)
    assert found.kind == "complete"
    assert found.features[0] == "signal"
    assert_allclose(found.direction[0, [0, 1, 2, 4, 5]], 0.0, atol=1e-12)
    assert "threshold on signal" in found.message

    # add one row twice, labelled 0 and 1, on the threshold: quasi-complete, still named first
    X_tied, y_tied = np.vstack([X, X[:1], X[:1]]), np.concatenate([y, [0, 1]])
    X_tied[-2:, 3] = 0.0
    tied = detect_separation(X_tied, y_tied, names)
    assert tied.kind == "quasi-complete"
    assert tied.features[0] == "signal"


def test_two_features_that_separate_together_lead_the_list():
    """y = 1 iff x1 + x2 > 0, rows near the line dropped; neither column alone separates."""
    rng = np.random.default_rng(5)
    X = rng.standard_normal((400, 6))  # (400, 6)
    X = X[np.abs(X[:, 0] + X[:, 1]) > 0.3]
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    found = detect_separation(X, y, [f"x{j + 1}" for j in range(6)])
    assert found.kind == "complete"
    assert set(found.features[:2]) == {"x1", "x2"}
    assert (binary_margins(X, y, found.direction) > 0).all()


# --- multinomial ----------------------------------------------------------------------


def test_iris_setosa_separates_from_the_others(iris_data):
    """UCI's iris description: "One class is linearly separable from the other 2; the
    latter are NOT linearly separable from each other". So the multinomial MLE does not
    exist, but the separation is quasi-complete, not complete."""
    X, y, names = iris_data
    found = detect_separation(X, y, names)
    assert found.kind == "quasi-complete"
    assert found.direction.shape == (3, 5)
    assert_allclose(found.direction[0], 0.0)  # the reference class's row
    margins = multinomial_margins(X, y, found.direction)  # (150, 2)
    assert (margins >= -MARGIN_ATOL).all()
    assert (margins[y == 0] > 0).all()  # setosa strictly on its side
    assert found.features[0].startswith("petal")
    assert "class 0 is separated from the other classes" in found.message


def test_iris_versicolor_and_virginica_overlap(iris_data):
    """The same description: the other two classes are not linearly separable."""
    X, y, names = iris_data
    keep = y > 0
    assert detect_separation(X[keep], y[keep] - 1, names) is None
    assert detect_separation(X[keep], y[keep], names) is None  # labels 1 / 2, no recoding


def test_classes_argument_orders_the_labels(iris_data):
    """classes names the order: the binary direction is the log-odds of classes[1]."""
    X, y, names = iris_data
    labels = np.array(["setosa", "versicolor", "virginica"])[y]
    forward = detect_separation(X, labels == "setosa", names)
    backward = detect_separation(X, labels == "setosa", names, classes=[True, False])
    assert forward.kind == backward.kind == "complete"
    assert_allclose(forward.direction, -backward.direction)
    named = detect_separation(X, labels, names)
    assert "class setosa is separated" in named.message


# --- invariances ----------------------------------------------------------------------


CASES = {
    "complete": (X_COMPLETE, Y_COMPLETE, ["x"]),
    "quasi": (UCLA_QUASI_X, UCLA_QUASI_Y, ["X1", "X2"]),
    "iris": (load_iris().data, load_iris().target, ["sl", "sw", "pl", "pw"]),
    "spector": (
        sm.datasets.spector.load_pandas().data[["GPA", "TUCE", "PSI"]].to_numpy(),
        sm.datasets.spector.load_pandas().data["GRADE"].to_numpy(),
        ["GPA", "TUCE", "PSI"],
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_invariant_to_row_order_and_column_scale(case):
    """Separation is a property of the set of rows, and a positive column scale c maps
    a separating d to one with d_j / c: the kind, the features and (after the same
    map) the direction must not change."""
    X, y, names = CASES[case]
    before = detect_separation(X, y, names)
    order = np.random.default_rng(3).permutation(len(y))
    permuted = detect_separation(X[order], y[order], names)
    scale = np.ones(X.shape[1])
    scale[0] = 1000.0
    rescaled = detect_separation(X * scale, y, names)
    if before is None:
        assert permuted is None and rescaled is None
        return
    for after in (permuted, rescaled):
        assert after.kind == before.kind
        assert after.features == before.features
    assert_allclose(permuted.direction, before.direction, atol=1e-9)
    mapped = rescaled.direction.copy()
    mapped[:, :-1] *= scale  # back to the original columns
    assert_allclose(mapped / np.abs(mapped).max(), before.direction, atol=1e-9)


def test_large_overlapping_data_is_quick_to_clear():
    """n = 5000, p = 30 overlapping logistic data: one LP of 5000 rows (about 0.3 s)."""
    rng = np.random.default_rng(2026)
    X = rng.standard_normal((5000, 30))  # (5000, 30)
    eta = X @ rng.normal(0.0, 0.3, 30)  # (5000,)
    y = (rng.random(5000) < 1.0 / (1.0 + np.exp(-eta))).astype(int)
    assert detect_separation(X, y, [f"x{j}" for j in range(30)]) is None


@pytest.mark.parametrize("in_screen", [True, False], ids=["rows-in-screen", "rows-off-screen"])
def test_a_rare_dummy_seen_only_in_one_class_is_found_among_many_rows(in_screen):
    """The commonest cause in practice: an indicator that is 1 on three rows, all y = 1,
    makes its coefficient diverge (quasi-complete: its 0 rows hold both classes). Above
    SCREEN_ROWS rows an evenly spaced subset is tried first; whether or not it holds the
    three rows, the answer must be the same."""
    n = 3000
    rng = np.random.default_rng(2027)
    X = rng.standard_normal((n, 30))  # (n, 30)
    y = (rng.random(n) < 1.0 / (1.0 + np.exp(-X @ rng.normal(0.0, 0.3, 30)))).astype(int)
    screened = np.linspace(0, n - 1, SCREEN_ROWS).round().astype(int)
    rows = screened[[0, 700, 1400]] if in_screen else np.setdiff1d(np.arange(n), screened)[[0, 300, 600]]
    rare = np.zeros(n)
    rare[rows] = 1.0
    y[rows] = 1
    found = detect_separation(np.column_stack([X, rare]), y, [*(f"x{j}" for j in range(30)), "rare"])
    assert found.kind == "quasi-complete"
    assert found.features[0] == "rare"
    assert "threshold on rare" in found.message


# --- edges and bad input --------------------------------------------------------------


def test_a_class_without_rows_is_separated_by_the_intercept():
    """Every row is 1 but classes says (0, 1): the intercept alone goes to +infinity."""
    found = detect_separation(X_COMPLETE, np.ones(6), ["x"], classes=[0, 1])
    assert found.kind == "complete"
    assert found.features == ("intercept",)
    assert_allclose(found.direction, [[0.0, 1.0]])
    assert "intercept alone" in found.message


@pytest.mark.parametrize(
    ("X", "y", "names", "classes", "match"),
    [
        (np.arange(6.0), Y_COMPLETE, ["x"], None, r"X: expected a 2-D array"),
        (X_COMPLETE, Y_COMPLETE[:5], ["x"], None, r"y: expected shape \(6,\)"),
        (X_COMPLETE, Y_COMPLETE, ["x", "z"], None, r"feature_names: expected 1 names"),
        (np.full((6, 1), np.nan), Y_COMPLETE, ["x"], None, r"X: row 0 column 0 is nan"),
        (X_COMPLETE, np.zeros(6), ["x"], None, r"classes: expected at least two distinct labels"),
        (X_COMPLETE, Y_COMPLETE + 1, ["x"], [0, 1], r"y: holds 2, which is not one of classes"),
    ],
)
def test_bad_input_names_the_argument(X, y, names, classes, match):
    with pytest.raises(ValueError, match=match):
        detect_separation(X, y, names, classes=classes)


def test_separated_card_demonstrates_complete_separation():
    """datasets/separated.toml: 40 rows, unpenalised, all rows train and test; the
    dose column alone separates (responders above 2.6 mg, the others below 2.4 mg)."""
    data = datasets.load("separated")
    assert (data.penalty, data.n_train, data.feature_names) == ("none", 40, ("dose_mg", "age_years", "weight_kg"))
    assert data.X_train[data.y_train == 0, 0].max() < 2.4 < 2.6 < data.X_train[data.y_train == 1, 0].min()
    found = detect_separation(data.X_train, data.y_train, data.feature_names)
    assert found.kind == "complete"
    assert found.features == ("dose_mg", "intercept")
    assert "threshold on dose_mg" in found.message
