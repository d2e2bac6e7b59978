"""Convergence curves (``python -m bench curves``): every exact model reaches the optimum, and its
objective only falls as its iteration cap grows.

References: F* is recomputed here independently, by scipy's exact minimisation of the same
objective (``scipy.optimize.minimize``, Newton-CG with the closed-form gradient and Hessian),
and the monotone fall is a property of the solvers (each capped run is a prefix of the
uncapped one, and every solver here only accepts descent steps).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import minimize

from bench.cli import main
from bench.curves import run as curves
from bench.datasets import load

# the dataset's F is ~0.1-0.4: rounding in float64 is ~1e-16 of it; a capped run's F may tie
# or differ from the next by a few ulps when both sit at the optimum
ROUNDING = 1e-13


def scipy_f_star(dataset) -> float:
    X, y, lam = dataset.X_train, dataset.y_train, dataset.l2_lambda
    n, p = X.shape
    design = np.column_stack([X, np.ones(n)])

    def f(theta):
        return curves.objective(X, y, theta[:p], theta[p], lam)

    def grad(theta):
        prob = 1.0 / (1.0 + np.exp(-(design @ theta)))
        g = design.T @ (prob - y) / n
        g[:p] += lam * theta[:p]
        return g

    def hess(theta):
        prob = 1.0 / (1.0 + np.exp(-(design @ theta)))
        H = design.T @ (design * (prob * (1 - prob) / n)[:, None])
        H[np.arange(p), np.arange(p)] += lam
        return H

    out = minimize(f, np.zeros(p + 1), jac=grad, hess=hess, method="trust-exact", options={"gtol": 1e-12})
    return float(out.fun)


@pytest.fixture(scope="module", params=["spector", "breast_cancer"])
def curve_run(request):
    return curves.run(request.param, curves.DEFAULT_MODELS)


def test_every_exact_model_ends_within_1e_8_of_f_star(curve_run):
    assert set(curve_run.curves["model"]) == set(curves.DEFAULT_MODELS), curve_run.notes
    final = curve_run.curves.groupby("model").tail(1)
    assert (final["suboptimality"] <= 1e-8 * abs(curve_run.f_star)).all(), final
    assert (curve_run.curves["suboptimality"] >= -ROUNDING * abs(curve_run.f_star)).all()


def test_f_star_is_the_optimum_scipy_finds(curve_run):
    reference = scipy_f_star(load(curve_run.dataset))
    assert curve_run.f_star == pytest.approx(reference, rel=1e-10, abs=0)
    assert curve_run.f_star <= reference + ROUNDING * abs(reference)


def test_suboptimality_does_not_rise_along_a_curve(curve_run):
    for model, part in curve_run.curves.groupby("model"):
        rises = np.diff(part["objective"].to_numpy())
        assert (rises <= ROUNDING * abs(curve_run.f_star)).all(), (model, rises.max())


def test_caps_grow_and_every_point_is_a_capped_run(curve_run):
    assert curves.caps()[:6] == [1, 2, 4, 5, 8, 11]
    for _, part in curve_run.curves.groupby("model"):
        assert part["max_iter"].is_monotonic_increasing and (part["seconds"] > 0).all()


def test_time_to_reach_is_the_first_point_within_each_level(curve_run):
    reach = curve_run.reach.set_index("model")
    for model, part in curve_run.curves.groupby("model"):
        for level in curves.REACH_LEVELS:
            within = part[part["suboptimality"] <= level * abs(curve_run.f_star)]
            assert reach.loc[model, f"seconds_to_{level:g}"] == within["seconds"].min(), (model, level)


def test_the_cli_writes_the_curves_and_refuses_bad_input(tmp_path, capsys):
    out = tmp_path / "curves"
    assert (
        main(["curves", "--dataset", "spector", "--models", "sklearn_logit,torch_linear", "--out", str(out), "-q"]) == 0
    )
    frame = pd.read_csv(out / "curves.csv")
    assert list(frame.columns) == curves.CURVE_COLUMNS and set(frame["model"]) == {"sklearn_logit", "torch_linear"}
    assert (out / "curves.png").stat().st_size > 1000 and "Time to reach" in (out / "index.html").read_text()
    for args, says in [
        (["--dataset", "iris"], "curves need a binary dataset"),
        (["--dataset", "spector", "--models", "torch_cnn"], "not an exact (convex) fit"),
        (["--dataset", "nope"], "unknown dataset 'nope'"),
    ]:
        assert main(["curves", *args, "--out", str(tmp_path / "never"), "-q"]) == 2
        assert says in capsys.readouterr().err
        assert not (tmp_path / "never").exists()


def test_the_scale_suite_report_draws_the_curves(tmp_path):
    """The scale suite measures curves in the run itself (here on a small dataset, explicitly named)."""
    import bench
    from bench.config import RunConfig

    config = RunConfig(suite="scale", datasets=("breast_cancer",), models=("sklearn_logit", "torch_linear"))
    results = bench.run(config)
    assert set(results.curves["model"]) == {"sklearn_logit", "torch_linear"}
    f_star = results.run_info["curves"]["breast_cancer"]["f_star"]
    final = results.curves.groupby("model").tail(1)
    assert (final["suboptimality"] <= 1e-8 * abs(f_star)).all()
    out = results.save(tmp_path / "scale")
    text = (out / "report.md").read_text(encoding="utf-8")
    assert "## Convergence curves" in text and "seconds_to_1e-08" in text
    assert len(bench.load(out).curves) == len(results.curves)
