"""The torch Newton solver converges all along a penalty path, not just at the cards' C.

Regression test: a stopping rule finer than float64 can resolve in the loss (half the
Newton decrement < 1e-20 with a loss ~0.4, whose spacing is ~5e-17) used to stall a hair
from the optimum at some C and report "no convergence" (found by the penalty path).
"""

from __future__ import annotations

import numpy as np
import pytest

from bench import datasets
from bench.config import RunConfig
from bench.runner import run_cell

GRID = np.logspace(-3, 3, 49)  # 49 values of C over six decades (where the stall was found)


@pytest.mark.parametrize("dataset_name", ["spector", "breast_cancer", "synthetic"])
@pytest.mark.parametrize("model_name", ["torch_linear", "torch_softmax2"])
def test_newton_converges_at_every_C(dataset_name, model_name):
    base = datasets.load(dataset_name)
    config = RunConfig(repeats=1)
    failures = []
    for C in GRID:
        result = run_cell(datasets.with_penalty(base, "l2", float(C)), model_name, config)
        if result.status != "ok" or not result.converged:
            failures.append((float(C), result.message))
    assert failures == []
