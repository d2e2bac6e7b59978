"""Properties drawn by hypothesis: the fits, the comparison functions, and the two loaders.

The fits (sklearn_logit, statsmodels_logit, torch_linear through ``run_cell``) must obey
what maximum likelihood implies: row order changes nothing, swapping the labels negates
coefficients and logits, scaling a feature by c divides its (unpenalised) coefficient by
c, and duplicating every row doubles the log-likelihood at the same optimum. The data
are drawn so that the MLE exists (n >= 60, overlapping classes, checked not separated).

The loaders (``load_csv``, ``parse_card`` / ``load``) are fed junk: they must return a
Dataset / Card or raise ``BenchInputError`` with one line naming the file, never any
other exception. Inputs that once crashed a loader are pinned in
test_hostile_input.py (CARD_CASES); the fuzz here covers them too.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from bench import datasets
from bench.config import LINEAR_MODELS, TOLERANCES, RunConfig
from bench.datasets import build
from bench.datasets.cards import parse_card
from bench.errors import BenchInputError
from bench.runner import run_cell
from bench.stats.separation import detect_separation
from bench.tables import frames as compare
from tests.conftest import fits_only

# the fits' tests make 60 cells each: measured as a run's cells are (conftest.cells_as_in_a_run)
pytestmark = pytest.mark.usefixtures("cells_as_in_a_run")
FITS = settings(max_examples=10, deadline=None)
FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
CONFIG = RunConfig(repeats=1)
# The project's float64 agreement tolerance (bench.config: the Newton solvers stop ~1e-10
# from the optimum on well-conditioned data, so a broken property shows far above it).
ATOL = TOLERANCES["coef"]


@st.composite
def logistic_data(draw):
    """(X, y): n in [60, 120] rows, 1-3 standard-normal features, |beta| <= 1: overlapping classes."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    n, p = draw(st.integers(60, 120)), draw(st.integers(1, 3))
    X = rng.standard_normal((n, p))  # (n, p)
    eta = rng.uniform(-0.5, 0.5) + X @ rng.uniform(-1.0, 1.0, p)  # (n,)
    y = (rng.random(n) < 1.0 / (1.0 + np.exp(-eta))).astype(np.float64)
    assume(10 <= y.sum() <= n - 10)
    assume(detect_separation(X, y, [f"x{j}" for j in range(p)]) is None)  # the MLE exists
    return X, y


def fit_all(X: np.ndarray, y: np.ndarray, penalty: str = "none") -> dict:
    """Every linear model on all rows (split "none": train = test, in the given order)."""
    ds = build(
        name="prop",
        description="hypothesis",
        source="generated",
        X=X,
        y=y,
        feature_names=tuple(f"x{j}" for j in range(X.shape[1])),
        split="none",
        test_fraction=0.25,
        standardize=False,
        penalty=penalty,
        C=1.0,
        seed=0,
        where="hypothesis",
    )
    ds = fits_only(ds)  # the properties read the fits, never the machine-speed timings around them
    results = {name: run_cell(ds, name, CONFIG) for name in LINEAR_MODELS}
    for r in results.values():
        assert r.status == "ok", (r.model, r.message)
    return results


def assert_close(actual, expected) -> None:
    np.testing.assert_allclose(actual, expected, rtol=0, atol=ATOL)


@FITS
@given(logistic_data(), st.integers(0, 2**32 - 1), st.sampled_from(["none", "l2"]))
def test_row_order_does_not_change_the_fit(data, perm_seed, penalty):
    X, y = data
    order = np.random.default_rng(perm_seed).permutation(y.size)
    plain, shuffled = fit_all(X, y, penalty), fit_all(X[order], y[order], penalty)
    for a, b in ((plain[m], shuffled[m]) for m in LINEAR_MODELS):
        assert_close(b.coef, a.coef)
        assert_close(b.intercept, a.intercept)
        assert_close(b.test_logits, a.test_logits[order])
        np.testing.assert_allclose(b.loglik, a.loglik, rtol=1e-8)


@FITS
@given(logistic_data(), st.sampled_from(["none", "l2"]))
def test_swapping_the_labels_negates_coefficients_and_logits(data, penalty):
    # the L2 penalty is symmetric and spares the intercept, so this holds under it too
    X, y = data
    plain, swapped = fit_all(X, y, penalty), fit_all(X, 1.0 - y, penalty)
    for a, b in ((plain[m], swapped[m]) for m in LINEAR_MODELS):
        assert_close(b.coef, -a.coef)
        assert_close(b.intercept, -a.intercept)
        assert_close(b.test_logits, -a.test_logits)
        np.testing.assert_allclose(b.loglik, a.loglik, rtol=1e-8)


@FITS
@given(logistic_data(), st.data(), st.sampled_from([0.01, 0.1, 3.0, 10.0, 100.0]))
def test_scaling_a_feature_divides_its_unpenalised_coefficient(data, draw, c):
    X, y = data
    units = np.ones(X.shape[1])
    units[draw.draw(st.integers(0, X.shape[1] - 1))] = c
    plain, scaled = fit_all(X, y), fit_all(X * units, y)
    for a, b in ((plain[m], scaled[m]) for m in LINEAR_MODELS):
        assert_close(b.coef * units, a.coef)  # b = a / c, compared in a's units, where ATOL is measured
        assert_close(b.intercept, a.intercept)
        assert_close(b.test_logits, a.test_logits)  # the same linear predictor


@FITS
@given(logistic_data())
def test_duplicated_rows_keep_the_mle_and_double_the_loglik(data):
    X, y = data
    plain, doubled = fit_all(X, y), fit_all(np.vstack([X, X]), np.r_[y, y])
    for a, b in ((plain[m], doubled[m]) for m in LINEAR_MODELS):
        assert_close(b.coef, a.coef)
        assert_close(b.intercept, a.intercept)
        np.testing.assert_allclose(b.loglik, 2.0 * a.loglik, rtol=1e-8)


# --- the comparison functions -------------------------------------------------------------

VALUES = st.floats(-1e3, 1e3, allow_nan=False)


@st.composite
def report_tables(draw):
    """fits, coefficients, predictions for 2-3 models on one dataset, random numbers."""
    models = [f"m{i}" for i in range(draw(st.integers(2, 3)))]
    terms, rows = draw(st.integers(1, 4)), draw(st.integers(1, 5))
    fits = pd.DataFrame(
        [{"dataset": "d", "model": m, "status": "ok", "loglik": draw(VALUES)} for m in models],
        columns=compare.FITS_COLUMNS,
    )
    coefficients = pd.DataFrame(
        [
            {
                "dataset": "d",
                "model": m,
                "class": 1,
                "term": f"t{t}",
                "estimate": draw(VALUES),
                "std_error": draw(VALUES | st.just(np.nan)),
            }
            for m in models
            for t in range(terms)
        ],
        columns=compare.COEFFICIENT_COLUMNS,
    )
    predictions = pd.DataFrame(
        [
            {"dataset": "d", "model": m, "row": r, "class": 1, "logit": draw(VALUES), "proba": draw(st.floats(0, 1))}
            for m in models
            for r in range(rows)
        ],
        columns=compare.PREDICTION_COLUMNS,
    )
    return fits, coefficients, predictions


def _by_pair(agreement: pd.DataFrame) -> dict:
    """(pair, quantity) -> (max_abs_diff, rel_diff), NaN (no common entries) as -1 to compare."""
    return {
        (frozenset((r.model_a, r.model_b)), r.quantity): tuple(np.nan_to_num([r.max_abs_diff, r.rel_diff], nan=-1))
        for r in agreement.itertuples()
    }


@settings(max_examples=15, deadline=None)
@given(report_tables())
def test_agreement_is_symmetric_and_recomputable(tables):
    fits, coefficients, predictions = tables
    forward = compare.agreement_frame(fits, coefficients, predictions)
    backward = compare.agreement_frame(*(t.iloc[::-1] for t in tables))  # the other model order
    assert _by_pair(forward) == _by_pair(backward)
    wide = coefficients.pivot(index="term", columns="model", values="estimate")
    for row in forward[forward["quantity"] == "coef"].itertuples():
        a, b = wide[row.model_a].to_numpy(), wide[row.model_b].to_numpy()
        assert row.max_abs_diff == np.max(np.abs(a - b))
        scale = max(np.max(np.abs(a)), np.max(np.abs(b)))
        assert row.rel_diff == (row.max_abs_diff / scale if scale > 0 else 0.0)
    same = [
        t.assign(
            **{
                c: t.loc[t["model"] == "m0", c].tolist() * t["model"].nunique()
                for c in ("loglik", "estimate", "std_error", "logit", "proba")
                if c in t
            }
        )
        for t in tables
    ]
    identical = compare.agreement_frame(*same)
    assert len(identical) and (identical["max_abs_diff"] == 0).all() and (identical["rel_diff"] == 0).all()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(VALUES, VALUES), min_size=1, max_size=8), st.sampled_from([0.25, 2.0, 8.0]))
def test_difference_is_symmetric_bounded_and_scale_equivariant(pairs, k):
    a, b = (np.array(v) for v in zip(*pairs))
    max_abs, rel = compare._difference(a, b)
    assert (max_abs, rel) == compare._difference(b, a)
    assert compare._difference(a, a) == (0.0, 0.0)
    assert 0.0 <= rel <= 2.0  # |a - b| <= |a| + |b| <= 2 max(|a|, |b|)
    assert compare._difference(k * a, k * b) == (k * max_abs, rel)  # powers of two scale exactly


# --- the CSV loader -----------------------------------------------------------------------

CELLS = st.sampled_from(
    [
        "0",
        "1",
        "1",
        "0",
        "0.5",
        "-3e2",
        "",
        "nan",
        "inf",
        "-inf",
        "1e309",
        "abc",
        "True",
        "NA",
        "0x1F",
        '"',
        "1;2",
        " 7 ",
        "\ufeff1",
        "\x00",
        "é",
        "1,5",
    ]
)
NAMES = st.sampled_from(["y", "x1", "x2", "", "\ufeffy", "y ", "<b>x</b>", "Unnamed: 0", "x1.1"]) | st.text(max_size=4)


@st.composite
def csv_bytes(draw) -> bytes:
    """A 40-row numeric table with a few cells, names or bytes made hostile, or raw bytes."""
    if draw(st.integers(0, 4)) == 0:
        return draw(st.binary(max_size=300))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    p = draw(st.integers(1, 3))
    names = [f"x{j + 1}" for j in range(p)] + ["y"]
    cells = [[f"{v:.4g}" for v in row] + [str(int(rng.random() < 0.5))] for row in rng.standard_normal((40, p))]
    for _ in range(draw(st.integers(0, 3))):  # hostile cells
        cells[draw(st.integers(0, 39))][draw(st.integers(0, p))] = draw(CELLS)
    for _ in range(draw(st.integers(0, 1))):  # a hostile column name
        names[draw(st.integers(0, p))] = draw(NAMES)
    rows = cells[: draw(st.sampled_from([40, 40, 5, 1, 0]))]
    sep, end = draw(st.sampled_from([","] * 4 + [";", "\t"])), draw(st.sampled_from(["\n", "\r\n", "\r"]))
    text = draw(st.sampled_from(["", "\ufeff"])) + end.join(sep.join(r) for r in [names, *rows]) + end
    return text.encode(draw(st.sampled_from(["utf-8", "utf-8", "utf-16"])), errors="replace")


@FUZZ
@given(csv_bytes())
def test_csv_loader_returns_a_dataset_or_one_line_error(tmp_path_factory, content):
    path = tmp_path_factory.mktemp("csv") / "data.csv"
    path.write_bytes(content)
    try:
        ds = datasets.load_csv(path, "y", penalty="none")
    except BenchInputError as exc:
        message = str(exc)
        event("BenchInputError: " + re.sub(r"'.*'|\(.*|-?\d[\d.]*", "_", message[len(str(path)) + 2 :])[:40])
        assert message.startswith(str(path)) and "\n" not in message, message
        return
    event("Dataset")
    assert np.isfinite(ds.X_train).all() and np.isfinite(ds.X_test).all()
    assert set(np.unique(ds.y_train)) == set(np.unique(ds.y_test)) == {0.0, 1.0}
    assert "y" not in ds.feature_names and len(set(ds.feature_names)) == ds.n_features


# --- the TOML card loader -----------------------------------------------------------------

BASES = [
    {
        "name": "mine",
        "description": "fuzz",
        "source": "csv:mine.csv",
        "target": "y",
        "split": {"method": "holdout", "test_fraction": 0.25},
        "penalty": {"kind": "l2", "C": 1.0},
    },
    {
        "name": "mine",
        "description": "fuzz",
        "source": "synthetic",
        "split": {"method": "none"},
        "penalty": {"kind": "none"},
        "synthetic": {"n": 40, "p": 2, "seed": 1},
    },
]
# field -> values a card might plausibly hold (edges included); junk is drawn beside them
PLAUSIBLE = {
    ("name",): ["mine", "other"],
    ("description",): ["", "x"],
    ("target",): ["y", "x1", "Y", ""],
    ("source",): [
        "csv:mine.csv",
        "csv:./mine.csv",
        "csv:sub/../mine.csv",
        "csv:../mine.csv",
        "csv:/etc/passwd",
        "csv:../../etc/passwd",
        "csv:..",
        "csv:",
        "csv:mine.toml",
        "synthetic",
        "shapes",
        "statsmodels:spector",
        "sklearn:breast_cancer",
        "sklearn:nope",
        "statsmodels:nope",
    ],
    ("features",): ["all", ["x1"], ["x1", "x2"], ["x1", "x1"], [], ["y"], ["nope"]],
    ("labels",): [[0, 1], [1, 0], [0, 0], [0, 2], ["0", "1"], [0.0, 1.0]],
    ("multiclass",): [True, False],
    ("split", "method"): ["none", "holdout", ""],
    ("split", "test_fraction"): [0.5, 0.01, 0.99, 1e-9],
    ("split", "contiguous"): [True, False],
    ("penalty", "kind"): ["none", "l2"],
    ("penalty", "C"): [1e-300, 1e300, 0.5, float("inf")],
    ("preprocess", "standardize"): [True, False],
    ("synthetic", "n"): [10, 12, 40],
    ("synthetic", "p"): [1, 2, 3],
    ("synthetic", "seed"): [0, 1],
    ("synthetic", "intercept"): [0.0, 5.0, -30.0, float("nan"), float("inf")],
    ("synthetic", "coef_scale"): [0.0, 1.0, 10.0],
    ("images", "from"): ["pixels", "rgb"],
    ("images", "height"): [1, 2],
    ("images", "width"): [1, 2],
    ("images", "size"): [2, 4],
    ("cnn", "epochs"): [1, 0],
    ("cnn", "lr"): [0.1, 0.0],
    ("colour",): ["red"],
    ("split", "shuffle"): [True],
}
SCALARS = (
    st.text(max_size=6)
    | st.integers(-3, 30)
    | st.sampled_from([2**63 - 1, -(2**63)])
    | st.floats(allow_nan=True)
    | st.booleans()
)
JUNK = SCALARS | st.lists(SCALARS, max_size=3) | st.dictionaries(st.text(max_size=3), SCALARS, max_size=2)


@st.composite
def card_mutations(draw) -> list:
    """(field, value) pairs: a plausible value, junk, or None (delete the field)."""
    fields = draw(st.lists(st.sampled_from(sorted(PLAUSIBLE)), max_size=4))
    return [(f, draw(st.sampled_from(PLAUSIBLE[f]) | JUNK | st.none())) for f in fields]


def toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return {"nan": "nan", "inf": "inf", "-inf": "-inf"}.get(repr(value), repr(value))
    if isinstance(value, list):
        return "[" + ", ".join(map(toml_value, value)) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in value.items()) + "}"
    return json.dumps(value, ensure_ascii=False) if isinstance(value, str) else str(value)


@FUZZ
@given(st.sampled_from(BASES), card_mutations())
def test_card_loader_returns_a_dataset_or_one_line_error(tmp_path_factory, base, mutations):
    folder = tmp_path_factory.mktemp("cards")
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.standard_normal((80, 2)), columns=["x1", "x2"]).assign(y=np.arange(80) % 2)
    frame.to_csv(folder / "mine.csv", index=False)
    card = json.loads(json.dumps(base))
    for field, value in mutations:  # None deletes the field
        table = card
        if len(field) == 2:
            table = card.setdefault(field[0], {}) if isinstance(card.get(field[0], {}), dict) else {}
        if value is None:
            table.pop(field[-1], None)
        else:
            table[field[-1]] = value
    path = folder / "mine.toml"
    path.write_text("\n".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in card.items()) + "\n", encoding="utf-8")
    for stage, call in (
        ("card", lambda: parse_card(path)),
        ("dataset", lambda: datasets.load("mine", cards=folder)),
    ):
        try:
            call()
        except BenchInputError as exc:
            assert "\n" not in str(exc) and str(folder) in str(exc), str(exc)
            event(f"BenchInputError at the {stage}")
            return
    event("a Dataset")
