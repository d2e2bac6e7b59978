"""The penalty path's comparisons: every pair of models at each C, and the uncorrected
two-logit fit against the binary path at C and at 2C (see ``bench.path``)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd

UNCORRECTED = "torch_softmax2_uncorrected"
# The binary path the uncorrected softmax is read against at 2C (the first exact model
# of the run if sklearn is not in it).
REFERENCE = "sklearn_logit"
# The contract: "every C has the three linear models within 1e-5 of one another".
# The float64 Newton fits land ~1e-10 or closer to the optimum (bench.config.TOLERANCES),
# so 1e-5 leaves room for the ill-conditioned end of a wide grid (large C on
# quasi-separated data, where coefficients grow large).
TOLERANCE = 1e-5
PATH_AGREEMENT_COLUMNS = [
    "dataset",
    "C",
    "model_a",
    "model_b",
    "C_b",
    "comparison",
    "max_abs_diff",
    "tolerance",
    "verdict",
]
SAME_C, AT_2C, AT_2C_INTERPOLATED, UNCORRECTED_SAME_C = (
    "same C",
    "2C on the grid",
    "2C from a cubic spline in log C",
    "same C (expected to differ)",
)


def _wide(path: pd.DataFrame, model: str) -> pd.DataFrame:
    """One model's path as a table: C (increasing) x (class, term) -> estimate."""
    part = path[path["model"] == model]
    return part.pivot(index="C", columns=["class", "term"], values="estimate").sort_index()


def _max_abs_diff(a: pd.Series, b: pd.Series) -> float:
    """max |a - b| over the (class, term) entries both have."""
    joined = pd.concat([a, b], axis=1, join="inner")
    return float((joined.iloc[:, 0] - joined.iloc[:, 1]).abs().max()) if len(joined) else math.nan


def _spline(wide: pd.DataFrame):
    """A cubic spline of each estimate in log C through the C values where the model has
    estimates, or None with fewer than 3 of them. On these paths it reads a grid with
    factor 10**0.5 between values to ~1e-3 at small C (about 10 times closer than linear
    interpolation; measured on breast_cancer and synthetic), but not to the tolerance:
    such rows are shown, not judged."""
    from scipy.interpolate import CubicSpline

    complete = wide.dropna()
    if len(complete) < 3:
        return None
    return complete, CubicSpline(np.log(complete.index.to_numpy()), complete.to_numpy(), axis=0)


def _row(dataset, C, model_a, model_b, C_b, comparison, diff, judged: bool) -> dict:
    verdict = ("pass" if diff <= TOLERANCE else "FAIL") if judged else "compared"
    return {
        "dataset": dataset,
        "C": C,
        "model_a": model_a,
        "model_b": model_b,
        "C_b": C_b,
        "comparison": comparison,
        "max_abs_diff": diff,
        "tolerance": TOLERANCE if judged else math.nan,
        "verdict": verdict,
    }


def path_agreement_frame(path: pd.DataFrame, model_names: tuple[str, ...], grid: np.ndarray) -> pd.DataFrame:
    """Max |difference| of estimates (over classes and terms) for, at each C:

    * every pair of the registered models (all exact): judged against ``TOLERANCE``;
    * the uncorrected softmax at C against the reference binary model at the same C:
      shown, not judged (it is a different model there, which is the point);
    * the uncorrected softmax at C against the reference at 2C: judged where 2C is on
      the grid; where it is only inside the grid, the reference is read off a cubic
      spline in log C and the row is shown, not judged.

    A model with no estimates at some C (a failed cell) has no pairs there; the failed
    cell itself is the finding.
    """
    dataset = path["dataset"].iloc[0] if len(path) else ""
    present = [m for m in model_names if m in set(path["model"])]
    wide = {m: _wide(path, m) for m in (*present, UNCORRECTED) if m in set(path["model"])}
    at = lambda m, C: wide[m].loc[C] if m in wide and C in wide[m].index else None  # noqa: E731
    reference = REFERENCE if REFERENCE in present else (present[0] if present else None)
    curve = _spline(wide[reference]) if reference is not None else None
    rows = []
    for C in map(float, grid):
        for a, b in itertools.combinations(present, 2):
            if at(a, C) is not None and at(b, C) is not None:
                rows.append(_row(dataset, C, a, b, C, SAME_C, _max_abs_diff(at(a, C), at(b, C)), True))
        uncorrected = at(UNCORRECTED, C)
        if uncorrected is None or reference is None:
            continue
        if at(reference, C) is not None:
            rows.append(
                _row(
                    dataset,
                    C,
                    UNCORRECTED,
                    reference,
                    C,
                    UNCORRECTED_SAME_C,
                    _max_abs_diff(uncorrected, at(reference, C)),
                    False,
                )
            )
        twice = 2.0 * C
        on_grid = [c for c in map(float, grid) if math.isclose(c, twice, rel_tol=1e-9)]
        if on_grid and at(reference, on_grid[0]) is not None:
            rows.append(
                _row(
                    dataset,
                    C,
                    UNCORRECTED,
                    reference,
                    on_grid[0],
                    AT_2C,
                    _max_abs_diff(uncorrected, at(reference, on_grid[0])),
                    True,
                )
            )
        elif not on_grid and curve is not None and curve[0].index[0] < twice < curve[0].index[-1]:
            complete, spline = curve
            read = pd.Series(spline(math.log(twice)), index=complete.columns)
            rows.append(
                _row(
                    dataset,
                    C,
                    UNCORRECTED,
                    reference,
                    twice,
                    AT_2C_INTERPOLATED,
                    _max_abs_diff(uncorrected, read),
                    False,
                )
            )
    return pd.DataFrame(rows, columns=PATH_AGREEMENT_COLUMNS)


def summary_frame(agreement: pd.DataFrame, grid: np.ndarray) -> pd.DataFrame:
    """One row per C: the worst pair of registered models and its verdict, and the
    uncorrected softmax against the reference at C and at 2C."""
    rows = []
    for C in grid:
        part = agreement[agreement["C"] == C]
        pairs = part[part["comparison"] == SAME_C]
        same = part[part["comparison"] == UNCORRECTED_SAME_C]
        twice = part[part["comparison"].isin([AT_2C, AT_2C_INTERPOLATED])]
        row = {
            "C": float(C),
            "worst_pair": "",
            "max_abs_diff": math.nan,
            "verdict": "none",
            "uncorrected_vs_ref_at_C": same["max_abs_diff"].iloc[0] if len(same) else math.nan,
            "uncorrected_vs_ref_at_2C": twice["max_abs_diff"].iloc[0] if len(twice) else math.nan,
            "at_2C": twice["comparison"].iloc[0].replace("2C ", "") if len(twice) else "outside the grid",
            "at_2C_verdict": twice["verdict"].iloc[0] if len(twice) else "",
        }
        if len(pairs):
            worst = pairs.loc[pairs["max_abs_diff"].fillna(np.inf).idxmax()]
            row |= {
                "worst_pair": f"{worst['model_a']} vs {worst['model_b']}",
                "max_abs_diff": worst["max_abs_diff"],
                "verdict": "FAIL" if (pairs["verdict"] == "FAIL").any() else "pass",
            }
        rows.append(row)
    return pd.DataFrame(rows)


def runtime_frame(fits: pd.DataFrame) -> pd.DataFrame:
    """Per model: cells ok / failed / skipped, and the summed and largest fit seconds."""
    grouped = fits.groupby("model", sort=False)
    return pd.DataFrame(
        {
            "ok": grouped["status"].apply(lambda s: int((s == "ok").sum())),
            "failed": grouped["status"].apply(lambda s: int((s == "failed").sum())),
            "skipped": grouped["status"].apply(lambda s: int((s == "skipped").sum())),
            "total_fit_seconds": grouped["fit_seconds"].sum(),
            "max_fit_seconds": grouped["fit_seconds"].max(),
        }
    ).reset_index()
