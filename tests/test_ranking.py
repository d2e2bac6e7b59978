"""The scale report's ranking: fit time against the fastest peer, reads of X (``passes_over_X``) and
each exact model's distance to the optimum (``objective_gap``).

Reference for the objective: F computed here directly from each model's coefficients on the
training rows (``bench.curves.run.objective``, numpy), not from the log-likelihood the ranking uses.
"""

from __future__ import annotations

import pandas as pd
import pytest

import bench
from bench.config import RunConfig
from bench.curves.run import objective
from bench.datasets import load
from bench.runner import provenance
from bench.tables.metrics import passes_over_x_frame
from bench.tables.ranking import ranking_frame

MODELS = ("sklearn_logit", "sklearn_logit[solver=lbfgs]", "torch_linear", "glum_logit")


@pytest.fixture(scope="module")
def run():
    return bench.run(RunConfig(datasets=("breast_cancer",), models=MODELS, repeats=1, time_budget=0))


def test_objective_gap_is_f_minus_the_best_f(run):
    dataset = load("breast_cancer")
    metrics = pd.concat(
        [
            run.metrics,
            pd.DataFrame(
                {
                    "dataset": "breast_cancer",
                    "model": list(MODELS),
                    "metric": "passes_over_X",
                    "value": [1.0, 2.0, 3.0, 4.0],
                }
            ),
        ],
        ignore_index=True,
    )
    ranking = ranking_frame(run.fits, run.coefficients, metrics, run.run_info["datasets"], run.run_info["inexact"])
    assert list(ranking["rank"]) == [1, 2, 3, 4] and ranking["fit_seconds"].is_monotonic_increasing
    direct = {}
    for model in MODELS:
        part = run.coefficients[(run.coefficients["model"] == model)].set_index("term")["estimate"]
        coef = part.loc[list(dataset.feature_names)].to_numpy()
        direct[model] = objective(dataset.X_train, dataset.y_train, coef, part.loc["intercept"], dataset.l2_lambda)
    best = min(direct.values())
    for row in ranking.itertuples():
        assert row.objective_gap == pytest.approx(direct[row.model] - best, abs=1e-12), row.model
        assert row.objective_gap >= -1e-15
        peers = ranking.loc[ranking["model"] != row.model, "fit_seconds"].min()
        assert row.ratio_to_fastest_peer == pytest.approx(row.fit_seconds / peers)
    # the exact solvers stop within 1e-8 of the optimum; lbfgs a little further than Newton
    assert ranking["objective_gap"].max() < 1e-8 * abs(best)


def test_passes_over_x_is_fit_time_over_one_read():
    dataset = load("synthetic")
    fits = pd.DataFrame({"dataset": ["synthetic"], "model": ["m"], "status": ["ok"], "fit_seconds": [0.5]})
    frame = passes_over_x_frame(fits, {"synthetic": dataset}, bandwidth=1e9)
    assert frame["value"].iloc[0] == pytest.approx(0.5 / (dataset.X_train.nbytes / 1e9))
    assert passes_over_x_frame(fits, {"synthetic": dataset}, bandwidth=None).empty


def test_memory_bandwidth_is_a_plausible_rate():
    rate = provenance.memory_bandwidth(repeats=2)
    assert 1e8 < rate < 1e12  # bytes/s: between 100 MB/s and 1 TB/s on anything that runs this


def test_small_data_has_no_passes_over_x(run):
    assert not (run.metrics["metric"] == "passes_over_X").any()
    assert run.run_info["memory_bandwidth_bytes_per_second"] is None
