"""The scale suite's solvers and their memory, on small data (generation and the split:
tests/test_scale_data.py).

The scale datasets themselves (1.2 GB) are never loaded here; their timings and memory
live in tests/benchmarks/test_scale_timings.py. Each test below runs the same code on a few
thousand rows, with the thresholds that pick a solver lowered where needed.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose
from sklearn.linear_model import LogisticRegression

from bench.config import TOLERANCES
from bench.datasets import build
from bench.models import torch_linear
from bench.models._torch import lbfgs
from bench.models.torch_linear import TorchLinear, choose_solver
from bench.runner import memory
from tests.conftest import FAST, synthetic_dataset, tall_arrays

AGREE_ATOL = TOLERANCES["coef"]  # the issue: the same optimum as scikit-learn to <= 1e-6


def _sklearn_optimum(dataset) -> np.ndarray:
    """[coef..., intercept] by newton-cholesky at tol 1e-10: ~1e-12 from the optimum (bench/ARCHITECTURE.md)."""
    C = np.inf if dataset.penalty == "none" else dataset.C  # as bench/models/sklearn_logit.py
    fit = LogisticRegression(C=C, solver="newton-cholesky", tol=1e-10, max_iter=1000)
    fit.fit(dataset.X_train, dataset.y_train)
    return np.r_[fit.coef_[0], fit.intercept_]


def _torch_estimates(dataset) -> tuple[np.ndarray, TorchLinear]:
    model = TorchLinear()
    model.prepare(dataset, FAST)
    model.fit()
    model.predict()
    assert model.converged, model.message
    return np.r_[model.module.weight.detach().numpy()[0], model.module.bias.detach().numpy()], model


# --- the solver rule ------------------------------------------------------------------


def test_solver_choice_by_shape(small_datasets):
    for dataset in small_datasets.values():  # every card of the quick suite stays on full Newton
        assert choose_solver(*dataset.X_train.shape) == "newton", dataset.name
    assert choose_solver(40_000, 20) == "newton"  # synthetic_large
    assert choose_solver(800_000, 50) == "newton-sampled"  # synthetic_tall's training rows
    assert choose_solver(800_000, 127) == "newton-sampled"
    assert choose_solver(800_000, 128) == "lbfgs"
    assert choose_solver(160_000, 500) == "lbfgs"  # synthetic_wide's


def test_sample_is_spread_over_the_rows():
    chunks = torch_linear.chunk_ranges(800_000, 50)
    sample = torch_linear.sample_chunks(chunks, 50)
    rows = sum(b - a for a, b in sample)
    assert 51 * 1024 <= rows <= 0.1 * 800_000
    assert sample[0][0] == 0 and sample[-1][0] > 800_000 / 2  # from the start to the second half
    assert chunks[0][0] == 0 and chunks[-1][1] == 800_000
    assert all(a == b for (_, a), (b, _) in zip(chunks, chunks[1:]))  # contiguous, no gaps


# --- the chunked pass: Hessian and gradient -------------------------------------------


def test_chunked_hessian_and_gradient_match_the_full_ones(monkeypatch, breast_cancer):
    model = TorchLinear()
    model.prepare(breast_cancer, FAST)
    p = model.module.weight.shape[1]
    theta = 0.1 * torch.randn(p + 1, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    monkeypatch.setattr("bench.models._torch.newton.GRAM_ROWS", 10)  # 10-row products
    chunks = torch_linear.chunk_ranges(model.X_train.shape[0], p, chunk_bytes=8 * p * 37)  # 37-row chunks
    assert len(chunks) > 10
    loss, gradient, hessian = model.evaluate(theta, chunks, chunks)  # sets the module to theta
    objective = model.objective()
    autograd_gradient = torch.cat(
        [g.reshape(-1) for g in torch.autograd.grad(objective, [model.module.weight, model.module.bias])]
    )
    # sums of n float64 terms in other orders: rounding only (measured ~1e-16)
    assert_allclose(hessian.numpy(), model.hessian().numpy(), rtol=0, atol=1e-12)
    assert_allclose(gradient.numpy(), autograd_gradient.numpy(), rtol=0, atol=1e-12)
    assert loss == pytest.approx(float(objective.detach()), abs=1e-12)
    # the Hessian over a subset of the chunks (the sample) is the closed form over those rows
    subset = chunks[::3]
    no_loss, same_gradient, sampled = model.evaluate(theta, chunks, subset, with_loss=False)
    rows = np.concatenate([np.arange(a, b) for a, b in subset])
    X1 = np.c_[breast_cancer.X_train[rows], np.ones(rows.size)]
    prob = 1.0 / (1.0 + np.exp(-(X1 @ theta.numpy())))
    closed_form = (X1 * (prob * (1 - prob))[:, None]).T @ X1 / rows.size + np.diag([model.lam] * p + [0.0])
    assert no_loss is None
    assert torch.equal(same_gradient, gradient)
    assert_allclose(sampled.numpy(), closed_form, rtol=0, atol=1e-12)


# --- the solvers reach scikit-learn's optimum -----------------------------------------


def test_sampled_newton_reaches_the_optimum(monkeypatch):
    X, y = tall_arrays()
    dataset = synthetic_dataset(X, y, contiguous=True)
    monkeypatch.setattr(torch_linear, "FULL_NEWTON_MAX_NUMBERS", 0)  # as if the data were large
    monkeypatch.setattr(torch_linear, "PASS_CHUNK_BYTES", 8 * 5 * 1000)  # 1,000-row chunks
    monkeypatch.setattr(torch_linear, "SAMPLE_ROWS_PER_PARAM", 500)  # a sample of 1/10 of the rows
    estimates, model = _torch_estimates(dataset)
    assert model.solver == "newton-sampled"
    assert "sampled Hessian (float64; chunked X^T S X over 3000 of 30000 rows" in model.result().solver
    # measured 4e-9; the sample's optimum alone is ~1e-2 away, so the full passes did the work
    assert np.abs(estimates - _sklearn_optimum(dataset)).max() <= AGREE_ATOL


@pytest.mark.parametrize("penalty", ["l2", "none"])
def test_sampled_newton_on_rows_sorted_by_label(monkeypatch, penalty):
    """A file sorted by its label, 13 % positives: every sampled chunk holds one class only
    (its own MLE does not exist without a penalty), yet the full passes reach the optimum."""
    rng = np.random.default_rng(3)
    X = rng.standard_normal((40_000, 5))
    y = (rng.random(40_000) < 1 / (1 + np.exp(2.5 - X @ rng.normal(0, 0.6, 5)))).astype(np.float64)
    order = np.argsort(y, kind="stable")
    dataset = build(
        name="sorted",
        description="rows sorted by label",
        source="synthetic",
        X=X[order],
        y=y[order],
        feature_names=tuple(f"x{j}" for j in range(5)),
        split="none",
        test_fraction=0.0,
        standardize=False,
        penalty=penalty,
        C=1.0,
        seed=0,
        where="test",
    )  # no split: order kept
    monkeypatch.setattr(torch_linear, "FULL_NEWTON_MAX_NUMBERS", 0)
    monkeypatch.setattr(torch_linear, "PASS_CHUNK_BYTES", 8 * 5 * 1000)
    monkeypatch.setattr(torch_linear, "SAMPLE_ROWS_PER_PARAM", 500)
    estimates, model = _torch_estimates(dataset)
    assert model.solver == "newton-sampled"
    sample = torch_linear.sample_chunks(model.chunks, 5)
    assert all(np.unique(dataset.y_train[a:b]).size == 1 for a, b in sample)  # the hard case indeed
    assert np.abs(estimates - _sklearn_optimum(dataset)).max() <= AGREE_ATOL  # measured 7e-8


def test_lbfgs_reaches_the_optimum_on_a_wide_problem(monkeypatch):
    X, y = tall_arrays(n=3000, p=150, seed=2)
    dataset = synthetic_dataset(X, y)
    monkeypatch.setattr(torch_linear, "FULL_NEWTON_MAX_NUMBERS", 0)
    estimates, model = _torch_estimates(dataset)
    assert model.solver == "lbfgs" and "L-BFGS" in model.result().solver
    assert np.abs(estimates - _sklearn_optimum(dataset)).max() <= AGREE_ATOL  # measured 6e-8 (||g|| < 1e-8)


def test_lbfgs_line_search_finds_the_minimum_along_the_line():
    generator = torch.Generator().manual_seed(3)
    n = 500
    z, zd, u = (torch.randn(n, dtype=torch.float64, generator=generator) for _ in range(3))
    y = (u > 0).double()
    w, dw = torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)
    lam = 0.01

    def phi(t):  # the objective along the line, computed directly
        penalty = 0.5 * lam * float((w + t * dw) @ (w + t * dw))
        return float(torch.nn.functional.binary_cross_entropy_with_logits(z + t * zd, y)) + penalty

    slope0 = float((torch.sigmoid(z) - y) @ zd) / n  # phi'(0); the penalty's is 0 at w = 0
    if slope0 > 0:
        zd, dw, slope0 = -zd, -dw, -slope0
    t = lbfgs._line_search(z, zd, y, w, dw, lam, n, slope0)
    grid = np.linspace(0, 4 * t, 4001)
    assert phi(t) <= min(phi(s) for s in grid) + 1e-12


# --- no copies ------------------------------------------------------------------------


def test_torch_uses_the_datasets_memory(monkeypatch):
    X, y = tall_arrays(n=20_000, p=8)
    dataset = synthetic_dataset(X, y, contiguous=True)
    before = hashlib.sha256(dataset.X_train.tobytes() + dataset.X_test.tobytes()).hexdigest()
    monkeypatch.setattr(torch_linear, "FULL_NEWTON_MAX_NUMBERS", 0)
    _, model = _torch_estimates(dataset)
    assert model.X_train.data_ptr() == dataset.X_train.ctypes.data  # one tensor view, no copy
    assert model.X_test.data_ptr() == dataset.X_test.ctypes.data
    model.result()
    after = hashlib.sha256(dataset.X_train.tobytes() + dataset.X_test.tobytes()).hexdigest()
    assert after == before  # torch never wrote through the view of read-only memory


def _huge_page_bytes() -> int:
    """The transparent huge page size (2 MiB on x86-64), 0 where the kernel has none."""
    path = Path("/sys/kernel/mm/transparent_hugepage/hpage_pmd_size")
    try:
        return int(path.read_text())
    except (OSError, ValueError):
        return 0


@pytest.mark.skipif(not memory.available(), reason="cannot reset the peak RSS here")
def test_peak_extra_bytes_measures_a_known_temporary():
    size = 64 * 2**20
    # The error bound: 1 MiB for the kernel's per-CPU RSS batches and the allocator's own
    # pages, plus one transparent huge page: where THP is "always" (CI's kernel) the
    # allocator's first write into a fresh 64 MiB mapping faults in a whole 2 MiB page,
    # so even an untouched array shows 2 MiB (CI measured exactly 2,097,152 bytes).
    tolerance = 2**20 + _huge_page_bytes()

    def temporary():
        block = np.ones(size // 8)  # touched: resident
        del block

    assert abs(memory.peak_extra_bytes(temporary) - size) <= tolerance
    assert memory.peak_extra_bytes(lambda: None) <= tolerance
    untouched = memory.peak_extra_bytes(lambda: np.empty(size // 8))  # allocated, never touched
    assert untouched <= tolerance
    assert untouched < size // 8  # far below the 64 MiB a touched array holds


@pytest.mark.skipif(not memory.available(), reason="cannot reset the peak RSS here")
def test_young_only_measures_the_same_and_unfreezes_at_the_end():
    """Inside memory.young_only (a run's cells) each measurement freezes the survivors of its
    collection, so the next collects only what is new; the measurement is unchanged, and the
    block's end leaves nothing frozen."""
    import gc

    size = 64 * 2**20
    tolerance = 2**20 + _huge_page_bytes()  # as in the test above
    gc.unfreeze()
    with memory.young_only():
        first = memory.peak_extra_bytes(lambda: np.ones(size // 8))
        assert gc.get_freeze_count() > 0  # the process's objects are frozen
        cycle = []
        cycle.append(cycle)  # cyclic garbage made after the freeze is still collected
        del cycle
        assert gc.collect() >= 1
        second = memory.peak_extra_bytes(lambda: np.ones(size // 8))
    assert gc.get_freeze_count() == 0
    assert abs(first - size) <= tolerance and abs(second - size) <= tolerance


@pytest.mark.skipif(not memory.available(), reason="cannot reset the peak RSS here")
def test_torch_fit_needs_little_memory_beyond_X(monkeypatch):
    """The scale path's peak extra memory, on 64 MB of X (the issue: <= 0.25 x the bytes of X)."""
    monkeypatch.setattr(torch_linear, "FULL_NEWTON_MAX_NUMBERS", 0)
    X, y = tall_arrays(n=1_000_000, p=8)
    dataset = synthetic_dataset(X, y, contiguous=True)
    del X
    model = TorchLinear()
    extra = memory.peak_extra_bytes(lambda: (model.prepare(dataset, FAST), model.fit()))
    assert model.solver == "newton-sampled" and model.converged
    # measured 0.4 x in a fresh process: with p = 8 the label vector, the per-chunk vectors and
    # torch's first-use buffers are large next to X (on synthetic_tall, p = 50: 0.03 x)
    assert extra <= 0.5 * memory.data_bytes(dataset)
