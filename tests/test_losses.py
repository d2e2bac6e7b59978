"""The four losses of ``bench.models.losses.loss_equivalence``: three are one loss, one is wrong.

Reference values are computed here in float64 numpy from the same float32 logits, not
by torch: cross-entropy = mean(logsumexp(z) - z_y), and the wrong "softmax + NLLLoss"
= -mean(p_y) (NLLLoss only negates the entry of the true class).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import logsumexp, softmax

from bench.models._torch.losses import loss_equivalence

EQUIVALENT = ("CrossEntropyLoss(z)", "NLLLoss(log_softmax(z))", "BCEWithLogitsLoss(z1 - z0)")
WRONG = "NLLLoss(softmax(z))"

# The tolerance is 1e-6. The losses are float32: one ulp of a value near 16 is
# 1.9e-6 (eps32 = 1.2e-7 times the log-sum-exp magnitude), so the bound is relative
# above 1: 1e-6 * max(1, |loss|), about 8 ulps.
TOL = 1e-6


def _tolerance(value: float) -> float:
    return TOL * max(1.0, abs(value))


def _case(kind: str) -> tuple[np.ndarray, np.ndarray]:
    """float32 logits (n, 2) and int64 labels (n,), seeded."""
    rng = np.random.default_rng({"moderate": 1, "extreme": 2, "wide": 3, "confident_wrong": 4}[kind])
    n = 400
    y = rng.integers(0, 2, size=n).astype(np.int64)
    if kind == "moderate":
        z = rng.normal(0.0, 3.0, size=(n, 2))
    elif kind == "extreme":  # CNN-like saturated logits of +-30
        z = rng.choice([-30.0, 30.0], size=(n, 2))
    elif kind == "wide":
        z = rng.normal(0.0, 30.0, size=(n, 2))
    else:  # every row confidently wrong: the true class 30 below the other
        z = np.zeros((n, 2))
        z[np.arange(n), 1 - y] = 30.0
    return z.astype(np.float32), y


CASES = ("moderate", "extreme", "wide", "confident_wrong")


def _by_name(rows: list[dict]) -> dict[str, dict]:
    return {row["loss"]: row for row in rows}


def _numpy_reference(z: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """(cross-entropy, -mean(p_true)) in float64 from the float32 logits."""
    z64 = z.astype(np.float64)
    rows = np.arange(len(y))
    cross_entropy = float(np.mean(logsumexp(z64, axis=1) - z64[rows, y]))
    minus_mean_p_true = float(-np.mean(softmax(z64, axis=1)[rows, y]))
    return cross_entropy, minus_mean_p_true


def test_four_losses_are_reported_with_their_verdicts():
    z, y = _case("moderate")
    rows = _by_name(loss_equivalence(z, y))
    assert set(rows) == {*EQUIVALENT, WRONG}
    assert all(rows[name]["equivalent"] for name in EQUIVALENT)
    assert rows[WRONG]["equivalent"] is False
    assert rows["CrossEntropyLoss(z)"]["abs_diff_vs_cross_entropy"] == 0.0  # the reference itself


@pytest.mark.parametrize("kind", CASES)
def test_equivalent_losses_agree(kind):
    z, y = _case(kind)
    rows = _by_name(loss_equivalence(z, y))
    reference = rows["CrossEntropyLoss(z)"]["value"]
    for name in EQUIVALENT:
        assert rows[name]["abs_diff_vs_cross_entropy"] <= _tolerance(reference), name
        assert abs(rows[name]["value"] - reference) <= _tolerance(reference), name


@pytest.mark.parametrize("kind", CASES)
def test_cross_entropy_matches_numpy_float64(kind):
    z, y = _case(kind)
    rows = _by_name(loss_equivalence(z, y))
    cross_entropy, _ = _numpy_reference(z, y)
    for name in EQUIVALENT:
        # float32 evaluation against float64 of the same float32 inputs: relative float32 error
        assert rows[name]["value"] == pytest.approx(cross_entropy, rel=TOL, abs=TOL), name


@pytest.mark.parametrize("kind", CASES)
def test_nll_of_softmax_is_minus_mean_true_class_probability(kind):
    z, y = _case(kind)
    wrong = _by_name(loss_equivalence(z, y))[WRONG]["value"]
    _, minus_mean_p_true = _numpy_reference(z, y)
    # a mean of probabilities in [0, 1], computed in float32: absolute 1e-6 (issue tolerance)
    assert wrong == pytest.approx(minus_mean_p_true, abs=TOL)
    assert -1.0 <= wrong <= 0.0


@pytest.mark.parametrize("kind", CASES)
def test_nll_of_softmax_is_far_from_cross_entropy(kind):
    z, y = _case(kind)
    rows = _by_name(loss_equivalence(z, y))
    gap = rows[WRONG]["abs_diff_vs_cross_entropy"]
    assert gap > 1e-3  # the brief's "must show as wrong" threshold
    # Sharper: per row, -log p - (-p) = p - log p >= 1 on (0, 1] (minimum at p = 1), so the
    # two means differ by at least 1 on any input; 1e-6 allows float32 rounding.
    assert gap >= 1.0 - TOL
    assert gap == pytest.approx(rows["CrossEntropyLoss(z)"]["value"] - rows[WRONG]["value"], abs=TOL)


def test_wrong_loss_does_not_grow_with_confident_mistakes():
    """The defect in one number: 400 confident mistakes score near 0, the log loss near 30."""
    z, y = _case("confident_wrong")
    rows = _by_name(loss_equivalence(z, y))
    assert rows["CrossEntropyLoss(z)"]["value"] == pytest.approx(30.0, rel=TOL)  # log(1 + e^30) ~ 30 + 1e-13
    assert rows[WRONG]["value"] == pytest.approx(0.0, abs=TOL)  # -mean(p_y), p_y = sigmoid(-30) ~ 9e-14
