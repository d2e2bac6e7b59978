"""The torch Newton solver converges all along a penalty path, not just at the cards' C.

Regression test: a stopping rule finer than float64 can resolve in the loss (half the
Newton decrement < 1e-20 with a loss ~0.4, whose spacing is ~5e-17) used to stall a hair
from the optimum at some C and report "no convergence" (found by the penalty path).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from bench import datasets
from bench.config import RunConfig
from bench.models._torch import newton
from bench.runner import run_cell
from tests.conftest import fits_only

GRID = np.logspace(-3, 3, 49)  # 49 values of C over six decades (where the stall was found)


@pytest.mark.parametrize("dataset_name", ["spector", "breast_cancer", "synthetic"])
@pytest.mark.parametrize("model_name", ["torch_linear", "torch_softmax2"])
def test_newton_converges_at_every_C(dataset_name, model_name, cells_as_in_a_run):
    # 49 cells a case (294 in all), measured as a run's cells are (cells_as_in_a_run) and without the
    # machine-speed timings (fits_only): ~19 s -> ~2 s a case; each fit and what run_cell checks of it
    # (status, converged) are unchanged
    base = fits_only(datasets.load(dataset_name))
    config = RunConfig(repeats=1)
    failures = []
    for C in GRID:
        result = run_cell(datasets.with_penalty(base, "l2", float(C)), model_name, config)
        if result.status != "ok" or not result.converged:
            failures.append((float(C), result.message))
    assert failures == []


# --- newton.minimize_evaluated: the passes of the scale path --------------------------


def _spector_evaluate(spector, calls):
    """Mean logistic loss on spector's [X 1], its gradient and Hessian, closed forms."""
    X = torch.from_numpy(np.c_[spector.X_train, np.ones(len(spector.y_train))])
    y = torch.tensor(spector.y_train)

    def evaluate(theta, with_hessian, with_loss):
        calls.append((with_hessian, with_loss))
        z = X @ theta
        p = torch.sigmoid(z)
        loss = float((torch.nn.functional.softplus(z) - y * z).mean()) if with_loss else None
        H = (X * (p * (1 - p))[:, None]).T @ X / len(y) if with_hessian else None
        return loss, X.T @ (p - y) / len(y), H

    return evaluate


@pytest.mark.parametrize("scale", [1.0, 0.2, 5.0])
def test_quasi_newton_reaches_statsmodels_optimum_without_the_loss(spector, scale):
    """The quasi-Newton stage keeps its first Hessian (here scaled by 0.2: steps five times
    too long, or by 5), corrects it by BFGS and accepts steps on the Newton decrement
    alone: it must still land on the MLE, and never ask for the loss."""
    import statsmodels.api as sm

    reference = (
        sm.Logit(spector.y_train, np.c_[spector.X_train, np.ones(len(spector.y_train))])
        .fit(method="newton", tol=1e-14, disp=0)
        .params
    )  # the independent reference
    calls = []
    evaluate = _spector_evaluate(spector, calls)
    start = torch.tensor([0.5, 0.0, 0.5, -5.0], dtype=torch.float64)  # near the MLE, not at it

    def scaled(theta, with_hessian, with_loss):
        loss, g, H = evaluate(theta, with_hessian, with_loss)
        return loss, g, None if H is None else scale * H

    theta, outcome = newton.minimize_evaluated(scaled, start, quasi_newton=True, max_iter=200, decrement_tol=1e-20)
    assert outcome.converged, outcome.message
    assert np.abs(theta.numpy() - reference).max() < 1e-8  # statsmodels' MLE (float64 Newton)
    assert all(not with_loss for _, with_loss in calls)
    assert [with_hessian for with_hessian, _ in calls] == [True] + [False] * (len(calls) - 1)
    if scale == 0.2:  # the first full steps overshoot: the monotonicity test must have halved some
        assert len(calls) > outcome.n_iter + 1
